"""Defect: a REMOVE accepted before an INCLUDE blocked the item forever.

Any curator could pre-empt an item by getting a REMOVE accepted before anyone proposed it; no later INCLUDE
could ever bring it in. Promised: the latest accepted decision naming an item (directly or through its batch)
wins. An item whose latest decision is a REMOVE is excluded as `removed`; one included again after a REMOVE
counts in the first INCLUDE accepted after that REMOVE.
"""

from __future__ import annotations

from pathlib import Path

from backend.release import build_release
from curation.governance import ProposalKind
from tests.backend.release.release_helpers import Story
from tests.conftest import Chain

REMOVE = ProposalKind.REMOVE


def _sources(s: Story, ds: int) -> dict[str, int]:
    return {row["item_id"]: row["source"] for row in build_release(s.session(), ds).manifest.items}


def test_an_include_accepted_after_a_remove_wins(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    yes = s.curator(1, 1000)
    alice = s.contributor(4)
    item = s.item(alice, b"pre-empted item " * 8)
    ds = s.dataset()
    s.decide(ds, [item], {yes: 1}, kind=REMOVE)
    assert _sources(s, ds) == {}
    pid = s.decide(ds, [item], {yes: 1})
    assert _sources(s, ds) == {str(item): pid}


def test_include_remove_include_counts_in_the_include_after_the_remove(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    yes = s.curator(1, 1000)
    alice = s.contributor(4)
    item = s.item(alice, b"contested item " * 8)
    ds = s.dataset()
    s.decide(ds, [item], {yes: 1})
    s.decide(ds, [item], {yes: 1}, kind=REMOVE)
    built = build_release(s.session(), ds)
    assert [(e["item_id"], e["reason"]) for e in built.manifest.doc["exclusions"]] == [(str(item), "removed")]
    again = s.decide(ds, [item], {yes: 1})
    assert _sources(s, ds) == {str(item): again}


def test_batches_follow_the_same_rule(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    yes = s.curator(1, 1000)
    bob = s.contributor(5)
    batch, _ = s.batch(bob, [b"leaf a " * 9, b"leaf b " * 9])
    ds = s.dataset()
    s.decide(ds, [], {yes: 1}, batches=[batch], kind=REMOVE)
    assert _sources(s, ds) == {}
    pid = s.decide(ds, [], {yes: 1}, batches=[batch])
    assert set(_sources(s, ds).values()) == {pid}
    assert len(_sources(s, ds)) == 2
