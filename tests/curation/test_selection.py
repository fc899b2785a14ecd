"""curation.selection: which batches a release reads, whose bytes are checked, and what the scheme gets."""

from __future__ import annotations

import pytest

from curation import events as ev
from curation.batches import leaf_item_id
from curation.governance import ProposalKind, ProposalStatus
from curation.selection import (
    BatchNotAdmitted,
    ContentNotChecked,
    admit_needed,
    content_candidates,
    dataset_inputs,
    needed_batches,
)
from curation.state import ChainState, fold_events
from tests.curation.content_helpers import check_contents
from tests.curation.test_state_fold import CURATOR, story

LATER = 10**9  # a state timestamp after every expiry in the story (none expire)


def _removal(kind: ProposalKind, items: tuple[int, ...], batches: tuple[int, ...]) -> list[ev.ChainEvent]:
    """Proposal 2 of dataset 1, accepted in blocks 20..22 (after everything in `story`)."""
    return [
        ev.ProposalCreated(
            ev.LogPosition(20, 0), 2, 1, CURATOR, int(kind), items, batches, b"", 21, 22, 400, 5000, 0
        ),
        ev.VoteCast(ev.LogPosition(22, 0), CURATOR, 2, 1, 1000, ""),
        ev.ProposalFinalized(ev.LogPosition(23, 0), 2, int(ProposalStatus.ACCEPTED), 1000, 0, 0, 1000),
    ]


def _admitted(extra: list[ev.ChainEvent] | None = None) -> tuple[ChainState, dict[bytes, bytes]]:
    events, store = story()
    state = fold_events([*events, *(extra or [])], 100)
    admit_needed(state, lambda cid: store[cid])
    return state, store


def test_a_release_reads_only_the_batches_an_accepted_include_names() -> None:
    events, store = story()
    state = fold_events(events, 100)
    assert needed_batches(state, 1) == {1: 1}  # batch 1, named by proposal 1
    assert not state.batches[1].loaded  # the fold read nothing
    admit_needed(state, lambda cid: store[cid])
    assert state.batches[1].loaded
    assert state.batches[1].leaf_ids == tuple(leaf_item_id(1, i) for i in range(3))
    assert needed_batches(fold_events(events, 4), 1) == {}  # before the proposal was accepted: nothing


def test_a_batch_whose_latest_decision_is_a_remove_is_never_read() -> None:
    events, _ = story()
    state = fold_events([*events, *_removal(ProposalKind.REMOVE, (), (1,))], 100)
    assert needed_batches(state, 1) == {}

    def unreadable(cid: bytes) -> bytes:
        raise AssertionError("a removed batch must not be read")

    admit_needed(state, unreadable)
    din = dataset_inputs(check_contents(state, {**story()[1]}), 1, LATER)
    assert din.removed_batches == {1: (2, 1)}  # removed by proposal 2, first included by proposal 1
    assert not state.batches[1].loaded


def test_content_candidates_are_the_items_every_other_gate_admits() -> None:
    state, _ = _admitted()
    # item 2 is revoked and leaf 1 repeats item 1's CID: their bytes are never read
    assert content_candidates(state, 1, LATER) == {1: 1, leaf_item_id(1, 0): 1, leaf_item_id(1, 2): 1}


def test_selection_refuses_to_guess_about_what_was_not_read() -> None:
    events, _ = story()
    unread = fold_events(events, 100)
    with pytest.raises(
        BatchNotAdmitted, match="proposal 1 includes batch 1, whose manifest has not been read"
    ):
        content_candidates(unread, 1, LATER)
    state, _ = _admitted()
    with pytest.raises(ContentNotChecked, match=r"item item:1 \(proposal 1\) would be weighted"):
        dataset_inputs(state, 1, LATER)


def test_dataset_inputs_lists_sources_removals_and_why_items_are_left_out() -> None:
    state, store = _admitted(_removal(ProposalKind.REMOVE, (1,), ()))
    din = dataset_inputs(check_contents(state, store), 1, LATER)
    assert [p.proposal_id for p in din.sources] == [1]
    assert [p.proposal_id for p in din.removals] == [2]
    assert din.inputs.removed_item_ids == {1}
    assert din.not_admitted[leaf_item_id(1, 1)][0] == "duplicate-cid"
    assert din.included == {1, 2, leaf_item_id(1, 0), leaf_item_id(1, 1), leaf_item_id(1, 2)}
    source = din.inputs.sources[0]
    assert (source.proposal_id, source.for_votes, source.total_supply) == (1, 1000, 1000)
