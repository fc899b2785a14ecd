"""Folding decoded events: batches verified against their root, first CID wins, consent, tallies, checkpoints."""

from __future__ import annotations

import hashlib

import pytest

from curation import events as ev
from curation.batches import (
    BatchManifestMismatch,
    build_batch_manifest,
    item_ref,
    leaf_for_bytes,
    leaf_item_id,
    split_item_id,
    verify_batch_manifest,
)
from curation.cid import CID
from curation.errors import InvalidInput
from curation.governance import ProposalKind, ProposalStatus
from curation.merkle import merkle_root
from curation.selection import admit_needed, dataset_inputs
from curation.state import ChainState, UnknownDataset, fold_events
from curation.unixfs import compute_cid
from tests.curation.content_helpers import fold_checked

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
CURATOR = "0x" + "c0" * 20
ZERO = "0x" + "00" * 20


class Log:
    """Hands out increasing log positions."""

    def __init__(self) -> None:
        self.block, self.index = 1, 0

    def at(self, next_block: bool = False) -> ev.LogPosition:
        if next_block:
            self.block, self.index = self.block + 1, 0
        self.index += 1
        return ev.LogPosition(self.block, self.index)


def _item(log: Log, item_id: int, content: bytes, who: str = ALICE, license_id: int = 1) -> ev.ItemSubmitted:
    cid = compute_cid(content).cid.to_bytes()
    return ev.ItemSubmitted(
        log.at(), item_id, who, cid, hashlib.sha256(content).digest(), len(content), license_id, 0x3F, 0
    )


def story(batch_data: bytes | None = None) -> tuple[list[ev.ChainEvent], dict[bytes, bytes]]:
    """Licenses, two items, a batch of three leaves (leaf 1 repeats item 1), a dataset, one accepted source."""
    log = Log()
    leaves = [leaf_for_bytes(i, c, 2, 0x3F) for i, c in enumerate([b"leaf zero", b"first item", b"leaf two"])]
    manifest = build_batch_manifest(leaves)
    manifest_cid = compute_cid(manifest).cid.to_bytes()
    store = {manifest_cid: batch_data if batch_data is not None else manifest}
    for content in (b"first item", b"second item", b"leaf zero", b"leaf two"):
        store[compute_cid(content).cid.to_bytes()] = content
    events: list[ev.ChainEvent] = [
        ev.Transfer(log.at(), ZERO, CURATOR, 1000),
        ev.DelegateVotesChanged(log.at(), CURATOR, 0, 1000),
        ev.LicenseSet(log.at(), 1, "CC0-1.0", 1, True),
        ev.LicenseSet(log.at(), 2, "CC-BY-4.0", 5, True),
        ev.ContributorRegistered(log.at(), ALICE, 1, "https://alice.example"),
        ev.ContributorRegistered(log.at(), BOB, 2, ""),
        _item(log, 1, b"first item"),
        _item(log, 2, b"second item"),
        ev.BatchSubmitted(log.at(True), 1, BOB, merkle_root(leaves), 3, manifest_cid, 2, 0x3F, 0),
        ev.DatasetCreated(log.at(), 1, CURATOR, "text", b"", 3),
        ev.ProposalCreated(log.at(True), 1, 1, CURATOR, 0, (1, 2), (1,), b"", 4, 8, 400, 5000, 0),
        ev.VoteCast(log.at(True), CURATOR, 1, 1, 1000, ""),
        ev.ProposalFinalized(log.at(True), 1, 3, 1000, 0, 0, 1000),
        ev.ItemConsentChanged(log.at(True), 2, ALICE, 0, 0),
    ]
    return events, store


def _fold(events: list[ev.ChainEvent], store: dict[bytes, bytes], block: int = 100) -> ChainState:
    return fold_checked(events, block, store)


def test_leaf_ids_are_stable_and_above_every_single_item_id() -> None:
    assert leaf_item_id(1, 0) == 2**64 + 2**32
    assert split_item_id(leaf_item_id(7, 5)) == (7, 5)
    assert split_item_id(12) is None
    assert (item_ref(3), item_ref(leaf_item_id(2, 9))) == ("item:3", "batch:2:9")
    with pytest.raises(InvalidInput):
        leaf_item_id(0, 1)


def test_batch_manifest_round_trips_and_must_match_root_and_count() -> None:
    leaves = [leaf_for_bytes(i, bytes([i]) * 10, 1, 1) for i in range(3)]
    data = build_batch_manifest(leaves)
    assert verify_batch_manifest(data, merkle_root(leaves), 3).leaves == tuple(leaves)
    with pytest.raises(BatchManifestMismatch, match="lists 3 leaves, the on-chain batch has 4"):
        verify_batch_manifest(data, merkle_root(leaves), 4)
    with pytest.raises(BatchManifestMismatch, match="on-chain root is 0x00"):
        verify_batch_manifest(data, b"\0" * 32, 3)
    with pytest.raises(BatchManifestMismatch, match="not UTF-8 JSON"):
        verify_batch_manifest(b"\xff", merkle_root(leaves), 3)


def test_fold_admits_leaves_drops_a_duplicate_cid_and_records_revocation() -> None:
    events, store = story()
    state = _fold(events, store)
    batch = state.batches[1]
    assert batch.problem is None
    assert batch.leaf_ids == (leaf_item_id(1, 0), leaf_item_id(1, 1), leaf_item_id(1, 2))
    assert batch.dropped == {}  # duplicates are a dataset's selection rule, decided in dataset_inputs
    assert state.items[2].revoked
    assert [r.item_id for r in state.revocations] == [2]
    p = state.proposals[1]
    assert (p.for_votes, p.voters, p.accepted) == (1000, 1, True)
    assert state.voting_power_at(1) == {CURATOR: 1000}
    assert state.supply.at(1) == 1000
    din = dataset_inputs(state, 1, 10**9)
    assert din.inputs.sources[0].item_ids == (1, 2, leaf_item_id(1, 0), leaf_item_id(1, 2))
    assert din.not_admitted[leaf_item_id(1, 1)] == (
        "duplicate-cid",
        "duplicate CID: already registered as item:1",
        1,
    )


def test_fold_ignores_events_after_the_state_block() -> None:
    events, store = story()
    state = _fold(events, store, block=4)
    assert not state.items[2].revoked
    assert state.proposals[1].outcome is None


def test_a_batch_manifest_that_does_not_prove_against_the_root_admits_no_leaf() -> None:
    other = build_batch_manifest([leaf_for_bytes(0, b"x", 1, 1)])
    state = _fold(*story(batch_data=other))
    assert state.batches[1].leaf_ids == ()
    assert "lists 1 leaves, the on-chain batch has 3" in (state.batches[1].problem or "")
    assert dataset_inputs(state, 1, 0).invalid_batches == {1: (state.batches[1].problem, 1)}


def test_store_failures_are_not_mistaken_for_bad_batches() -> None:
    events, _ = story()

    def missing(cid: bytes) -> bytes:
        raise KeyError(str(CID.parse(cid)))

    state = fold_events(events, 100)
    with pytest.raises(KeyError):
        admit_needed(state, missing)


def test_unknown_dataset_is_a_clear_error() -> None:
    state = _fold(*story())
    with pytest.raises(UnknownDataset, match="dataset 5 does not exist at block 100"):
        dataset_inputs(state, 5, 0)


def test_fold_is_independent_of_input_order() -> None:
    events, store = story()
    a = _fold(events, store)
    b = _fold(list(reversed(events)), store)
    assert a.items.keys() == b.items.keys()
    assert a.batches[1].leaf_ids == b.batches[1].leaf_ids


def test_the_fold_records_the_thresholds_each_proposal_was_created_with() -> None:
    """ProposalCreated carries the thresholds the contract froze; later parameter changes do not touch them."""
    log = Log()
    events: list[ev.ChainEvent] = [
        ev.DatasetCreated(log.at(), 1, CURATOR, "text", b"", 3),
        ev.DatasetParamsSet(log.at(), 1, 1, 10, 2500, 6000, 7, 0),
        ev.ProposalCreated(log.at(True), 1, 1, CURATOR, 1, (1,), (), b"", 4, 14, 2500, 6000, 7),
        ev.DatasetParamsSet(log.at(True), 1, 1, 10, 100, 9000, 0, 0),  # later changes bind later proposals
        ev.ProposalCreated(log.at(True), 2, 1, CURATOR, 0, (1,), (), b"", 6, 16, 100, 9000, 0),
        ev.ProposalCreated(log.at(), 3, 9, CURATOR, 0, (1,), (), b"", 6, 16, 0, 0, 0),  # no such dataset
        ev.VoteCast(log.at(True), CURATOR, 1, 0, 5, ""),
        ev.VoteCast(log.at(), BOB, 1, 1, 7, ""),
        ev.VoteCast(log.at(), ALICE, 1, 2, 11, ""),
        ev.ProposalFinalized(log.at(True), 1, 4, 7, 5, 11, 100),
    ]
    state = fold_events(events, 100)
    first, second, orphan = (state.proposals[i] for i in (1, 2, 3))
    assert (first.quorum_bps, first.approval_bps, first.late_quorum_extension) == (2500, 6000, 7)
    assert (second.quorum_bps, second.approval_bps, second.late_quorum_extension) == (100, 9000, 0)
    assert (orphan.quorum_bps, orphan.approval_bps, orphan.late_quorum_extension) == (0, 0, 0)
    assert first.kind is ProposalKind.REMOVE
    assert second.kind is ProposalKind.INCLUDE
    assert (first.against_votes, first.for_votes, first.abstain_votes, first.voters) == (5, 7, 11, 3)
    assert first.outcome is ProposalStatus.REJECTED
    assert not first.accepted
    assert second.outcome is None
