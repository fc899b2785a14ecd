"""Attack: releases going back in time.

ReleaseRegistry used to accept any past state block, so a publisher (by mistake or on purpose) could anchor a
newer release built from an older state than the latest one: `latestRelease` would then go back in time, and
trainers who follow it would silently get a dataset that drops later votes, removals and consent revocations.

Promised behaviour: ReleaseRegistry refuses a state block older than the dataset's latest release's
(ReleaseRegistryStateBlockBeforeLatest, naming both blocks); the same state block again is allowed. It already
refused a state block that is not in the past (ReleaseRegistryStateBlockInFuture, pinned in
tests/contracts/test_releases.py). The Python client refuses both before sending, with a message that says which
block to build at.
"""

from __future__ import annotations

import pytest

from backend.chain.releases import ReleaseClient
from backend.errors import ContractRevert
from curation.errors import InvalidInput
from tests.contracts.test_releases import CID, DIGEST, _releases, world
from tests.contracts.voting_helpers import World

__all__ = ["world"]  # the fixture, shared with tests/contracts/test_releases.py


def _raw_publish(rel: ReleaseClient, dataset: int, state_block: int) -> None:
    """publishRelease straight to the contract, past the client's checks (what any other client can send)."""
    rel._transact("publishRelease", dataset, CID.to_bytes(), DIGEST, state_block, "commons-v1", gas=300_000)


def test_the_registry_refuses_a_release_older_than_the_latest(world: World) -> None:
    rel = _releases(world)
    ds, other = world.dataset(name="a"), world.dataset(name="b")
    world.w3.testing.mine(10)
    newer = world.block - 2
    rel.publish_release(ds, CID, DIGEST, newer, "commons-v1")
    with pytest.raises(
        ContractRevert,
        match=rf"ReleaseRegistryStateBlockBeforeLatest\(stateBlock={newer - 5}, latestStateBlock={newer}\)"
        r".*cannot anchor an older state block",
    ):
        _raw_publish(rel, ds, newer - 5)
    latest = rel.latest_release(ds)
    assert (latest.number, latest.state_block) == (1, newer)
    # The same state block again is not going back in time; another dataset has its own history.
    _raw_publish(rel, ds, newer)
    _raw_publish(rel, other, newer - 5)
    assert (rel.release_count(ds), rel.latest_release(ds).state_block) == (2, newer)


def test_the_client_refuses_both_before_sending(world: World) -> None:
    rel = _releases(world)
    ds = world.dataset()
    world.w3.testing.mine(10)
    state = world.block - 2
    rel.publish_release(ds, CID, DIGEST, state, "commons-v1")
    head = world.block
    with pytest.raises(
        InvalidInput,
        match=rf"state block {state - 1} is older than block {state}, the state of release 1 of dataset {ds}: "
        rf"a newer release cannot go back in time; build it at block {state} or later",
    ):
        rel.publish_release(ds, CID, DIGEST, state - 1, "commons-v1")
    with pytest.raises(
        InvalidInput, match=rf"state block {head + 1} is not in the past: the chain is at block {head}"
    ):
        rel.publish_release(ds, CID, DIGEST, head + 1, "commons-v1")
    assert world.block == head  # nothing was sent
    assert rel.release_count(ds) == 1
