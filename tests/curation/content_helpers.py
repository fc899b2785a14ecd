"""Fold a test story and check every candidate item's bytes, as the release path does (no tests here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from curation import events as ev
from curation.content import ContentChecker
from curation.selection import admit_needed, content_candidates
from curation.state import ChainState, fold_events


def check_contents(state: ChainState, blobs: Mapping[bytes, bytes]) -> ChainState:
    """Fill `state.content` for every dataset's candidates from `blobs` (binary CID -> bytes)."""
    for dataset_id in state.datasets:
        for item_id in content_candidates(state, dataset_id, 0):  # time 0: nothing has expired, a superset
            item = state.items[item_id]
            checker = ContentChecker(item_id, item.size, item.sha256)
            checker.feed(blobs[item.cid])
            state.content[item_id] = checker.finish()
    return state


def fold_checked(events: Iterable[ev.ChainEvent], block: int, blobs: Mapping[bytes, bytes]) -> ChainState:
    """fold_events with every needed batch admitted and every candidate's bytes checked."""
    state = fold_events(events, block)
    admit_needed(state, lambda cid: blobs[cid])
    return check_contents(state, blobs)
