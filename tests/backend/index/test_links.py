"""Parent-hash links between and inside batches, on a real Hardhat node.

A parentHash that does not name the block before is a reorg only if the node's hashes change when read again
by number: unchanged hashes (Hardhat's `hardhat_mine`) let the sync proceed. A chain that keeps moving stops
after a bounded number of turns with ChainUnsettledError, and a reorg deeper than `max_reorg_depth` with
ReorgTooDeepError; both name the blocks and hashes, and neither changes the index.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from backend.chain.deployment import Deployment
from backend.chain.logs import BlockRef, LogBatch, RpcLogFetcher, Verify
from backend.errors import ConfigError
from backend.index import DEFAULT_MAX_REORG_DEPTH, ChainUnsettledError, Indexer, ReorgTooDeepError
from benchmarks.index import TokenTraffic
from tests.backend.index.index_helpers import deploy_with_traffic, node_logs
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration

T = TypeVar("T")
ZERO_HASH = "0x" + "00" * 32


def _within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, failing the test (instead of hanging the suite) when it runs longer than `seconds`."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # handed to the test thread below
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the sync loops")
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def deployed(hardhat: HardhatNode) -> Iterator[tuple[Deployment, TokenTraffic]]:
    snapshot = hardhat.rpc("evm_snapshot")
    deployment, traffic = deploy_with_traffic(hardhat)
    try:
        yield deployment, traffic
    finally:
        traffic.close()
        hardhat.rpc("evm_revert", [snapshot])


def _indexer(
    url: str,
    deployment: Deployment,
    db: Path,
    *,
    max_range: int = 2000,
    verify: Verify = "bloom",
    max_reorg_depth: int = DEFAULT_MAX_REORG_DEPTH,
) -> tuple[Indexer, RpcLogFetcher]:
    addresses = list(deployment.contracts.values())
    fetcher = RpcLogFetcher(url, addresses, verify=verify)
    indexer = Indexer(
        f"sqlite:///{db}",
        fetcher,
        addresses,
        deployment.deploy_block,
        max_range=max_range,
        max_reorg_depth=max_reorg_depth,
    )
    return indexer, fetcher


def test_unlinked_blocks_are_checked_again_and_indexed(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed
    traffic.blocks(random.Random(1), 3, max_txs=3)
    hardhat.rpc("hardhat_mine", [hex(40)])
    traffic.blocks(random.Random(2), 3, max_txs=3)
    head = int(str(hardhat.rpc("eth_blockNumber")), 16)
    # Inside one range (the fetcher's check) and at batch boundaries (the indexer's check).
    whole, whole_fetcher = _indexer(hardhat.url, deployment, tmp_path / "whole.sqlite")
    _within(120, whole.sync)
    assert whole_fetcher.stats.unlinked > 0
    assert whole_fetcher.stats.rejected_answers == 0
    small, _ = _indexer(hardhat.url, deployment, tmp_path / "small.sqlite", max_range=1, verify="none")
    result = _within(120, small.sync)
    assert result.unlinked
    assert result.reorgs == []
    assert small.dump() == whole.dump()
    assert [(x.block_number, x.log_index, x.block_hash) for x in small.logs()] == node_logs(
        traffic, deployment
    )
    state = small.state_block()
    assert state == whole.state_block()
    assert state is not None
    assert state.number == head


class _MovingSource:
    """A real fetcher, except that the chain above the cursor seems to change between any two answers."""

    def __init__(self, inner: RpcLogFetcher, moving: int) -> None:
        self.inner = inner
        self.addresses = inner.addresses
        self.moving = moving
        self.reads = 0

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def head(self) -> int:
        return self.inner.head()

    def block(self, number: int) -> BlockRef | None:
        ref = self.inner.block(number)
        if number != self.moving or ref is None:
            return ref
        self.reads += 1
        return dataclasses.replace(ref, hash="0x" + f"{self.reads:064x}")

    def fetch(self, from_block: int, to_block: int) -> LogBatch:
        batch = self.inner.fetch(from_block, to_block)
        if from_block != self.moving:
            return batch
        first = dataclasses.replace(batch.first, parent_hash="0x" + "ee" * 32)
        return dataclasses.replace(batch, first=first)


def test_a_chain_that_keeps_moving_stops_with_the_blocks_named(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed
    db = tmp_path / "a.sqlite"
    indexer, _ = _indexer(hardhat.url, deployment, db)
    indexer.sync()
    cursor = indexer.state_block()
    assert cursor is not None
    before = indexer.dump()
    traffic.blocks(random.Random(3), 4, max_txs=2)
    addresses = list(deployment.contracts.values())
    source = _MovingSource(RpcLogFetcher(hardhat.url, addresses), cursor.number + 1)
    moving = Indexer(f"sqlite:///{db}", source, addresses, deployment.deploy_block)
    with pytest.raises(ChainUnsettledError) as caught:
        _within(120, moving.sync)
    message = str(caught.value)
    assert "the chain changed 16 times during one sync (0 rollbacks, 16 batches read again" in message
    assert f"block {cursor.number + 1} was " in message
    assert f"above the unchanged block {cursor.number} {cursor.hash}" in message
    assert "eth_syncing" in message
    assert source.reads == 16
    assert moving.dump() == before


def test_a_reorg_deeper_than_the_limit_stops_and_rolls_nothing_back(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed
    db = tmp_path / "a.sqlite"
    indexer, _ = _indexer(hardhat.url, deployment, db, max_reorg_depth=3)
    indexer.sync()
    snapshot = hardhat.rpc("evm_snapshot")
    holder = traffic.holders[0]
    for i in range(6):  # six blocks, each with a log, so each is recorded for reorg checks
        traffic.mine([traffic.mint_tx(holder, 1_000_001 + i)])
    indexer.sync()
    cursor = indexer.state_block()
    assert cursor is not None
    before = indexer.dump()
    assert hardhat.rpc("evm_revert", [snapshot]) is True
    traffic.mine([traffic.mint_tx(holder, 424_242)])  # another fork, longer than the old one
    traffic.blocks(random.Random(4), 7, max_txs=1)
    with pytest.raises(ReorgTooDeepError) as caught:
        _within(120, indexer.sync)
    message = str(caught.value)
    assert "more than max_reorg_depth (3)" in message
    assert f"below the index's block {cursor.number} {cursor.hash}" in message
    assert "the index recorded block " in message
    assert "CURATION_MAX_REORG_DEPTH" in message
    assert indexer.dump() == before
    # With a higher limit the same index rolls back and ends as a rebuild does.
    deeper, _ = _indexer(hardhat.url, deployment, db, max_reorg_depth=16)
    result = _within(120, deeper.sync)
    assert [r.old_block for r in result.reorgs] == [cursor.number]
    rebuilt, _ = _indexer(hardhat.url, deployment, tmp_path / "b.sqlite")
    _within(120, rebuilt.sync)
    assert deeper.dump() == rebuilt.dump()


def test_max_reorg_depth_must_be_positive(
    deployed: tuple[Deployment, TokenTraffic], hardhat: HardhatNode, tmp_path: Path
) -> None:
    deployment, _ = deployed
    with pytest.raises(ConfigError, match="max_reorg_depth must be >= 1"):
        _indexer(hardhat.url, deployment, tmp_path / "a.sqlite", max_reorg_depth=0)
