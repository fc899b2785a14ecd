"""Reorgs on a real Hardhat node: after each, the index equals a from-scratch rebuild, byte for byte."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.chain.deployment import Deployment
from backend.chain.logs import BlockRef, LogBatch, RpcLogFetcher
from backend.index import Indexer
from benchmarks.index import TokenTraffic
from tests.backend.index.index_helpers import deploy_with_traffic, indexer_opener, node_logs
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration

#: Scenarios run in CI (each: index a fork of 1..MAX_DEPTH blocks, revert it, mine another, index again).
SCENARIOS = 24
MAX_DEPTH = 6


@dataclass(frozen=True)
class ScenarioReport:
    index: int
    depth: int
    new_length: int
    rollbacks: int
    logs_removed: int


def run_reorg_scenarios(
    rpc: Callable[[str, list[Any]], Any],
    mine: Callable[[random.Random, int], None],
    open_indexer: Callable[[str], Indexer],
    derive: Callable[[Indexer], object],
    workdir: Path,
    count: int = SCENARIOS,
    max_depth: int = MAX_DEPTH,
    seed: int = 0,
) -> list[ScenarioReport]:
    """Drive `count` seeded reorgs under one long-lived indexer and check it against fresh rebuilds.

    `rpc` calls the node (evm_snapshot / evm_revert); `mine(rng, n)` mines n blocks of random traffic whose
    first block differs from any earlier fork's; `open_indexer(db_url)` builds an indexer on the node;
    `derive(indexer)` is what must not depend on history (the canonical dump here, a manifest later).
    Each scenario: some blocks, sync; snapshot; a fork of 1..max_depth blocks, synced once or twice;
    revert; a different fork of 1..max_depth+2 blocks (shorter, equal or longer); sync; then
    `derive(incremental) == derive(rebuilt from scratch)`. Returns what each scenario did.
    """
    incremental = open_indexer(f"sqlite:///{workdir / 'incremental.sqlite'}")
    reports = []
    for i in range(count):
        rng = random.Random(seed * 100_003 + i)
        mine(rng, rng.randint(0, 2))
        incremental.sync()
        snapshot = rpc("evm_snapshot", [])
        depth = rng.randint(1, max_depth)
        split = rng.randint(1, depth)
        mine(rng, split)
        incremental.sync()
        if split < depth:
            mine(rng, depth - split)
            incremental.sync()
        assert rpc("evm_revert", [snapshot]) is True
        new_length = rng.randint(1, max_depth + 2)
        mine(rng, new_length)
        result = incremental.sync()
        assert result.reorgs, f"scenario {i}: a replaced fork of {depth} blocks went unnoticed"
        fresh = open_indexer(f"sqlite:///{workdir / f'fresh-{i}.sqlite'}")
        fresh.sync()
        assert derive(incremental) == derive(fresh), f"scenario {i} (depth {depth}, new fork {new_length})"
        fresh.close()
        reports.append(ScenarioReport(i, depth, new_length, len(result.reorgs), result.logs_removed))
    incremental.close()
    return reports


@pytest.fixture(scope="module")
def deployed(hardhat: HardhatNode) -> Iterator[tuple[Deployment, TokenTraffic]]:
    deployment, traffic = deploy_with_traffic(hardhat)
    yield deployment, traffic
    traffic.close()


def test_randomized_reorgs_end_identical_to_a_rebuild(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed

    def mine(rng: random.Random, blocks: int) -> None:
        # The first block carries a mint of a never-repeated amount, so every fork has its own hashes.
        marker = traffic.mint_tx(traffic.holders[0], 10**9 + rng.getrandbits(40))
        traffic.mine([marker] + [traffic.random_tx(rng) for _ in range(rng.randint(0, 3))])
        traffic.blocks(rng, blocks - 1, max_txs=3)

    def derive(indexer: Indexer) -> bytes:
        return indexer.dump()

    reports = run_reorg_scenarios(
        hardhat.rpc,
        mine,
        indexer_opener(hardhat.url, deployment),
        derive,
        tmp_path,
        SCENARIOS,
        MAX_DEPTH,
        seed=11,
    )
    assert len(reports) == SCENARIOS >= 20
    assert {r.depth for r in reports} == set(range(1, MAX_DEPTH + 1))
    assert any(r.new_length < r.depth for r in reports)  # the chain got shorter
    assert any(r.new_length > r.depth for r in reports)  # and longer
    assert sum(r.logs_removed for r in reports) > 0
    # Independent oracle: the last state equals what the node itself says.
    final = indexer_opener(hardhat.url, deployment)(f"sqlite:///{tmp_path / 'incremental.sqlite'}")
    assert [(x.block_number, x.log_index, x.block_hash) for x in final.logs()] == node_logs(
        traffic, deployment
    )


class _ForkingSource:
    """Wraps a fetcher; after the first batch it replaces the chain's top, as a node can between two calls."""

    def __init__(self, inner: RpcLogFetcher, on_second_fetch: Callable[[], None]) -> None:
        self.inner = inner
        self.addresses = inner.addresses
        self.fetches = 0
        self.block_lookups = 0
        self._hook = on_second_fetch

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def head(self) -> int:
        return self.inner.head()

    def block(self, number: int) -> BlockRef | None:
        self.block_lookups += 1
        return self.inner.block(number)

    def fetch(self, from_block: int, to_block: int) -> LogBatch:
        self.fetches += 1
        if self.fetches == 2:
            self._hook()
        return self.inner.fetch(from_block, to_block)


def test_reorg_between_two_batches_is_caught_by_the_parent_hash(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed
    addresses = list(deployment.contracts.values())
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Indexer(db, RpcLogFetcher(hardhat.url, addresses), addresses, deployment.deploy_block).sync()
    rng = random.Random(5)
    base = int(str(hardhat.rpc("eth_blockNumber")), 16)
    snapshot = hardhat.rpc("evm_snapshot")
    traffic.blocks(rng, 6, max_txs=2)

    def fork() -> None:
        assert hardhat.rpc("evm_revert", [snapshot]) is True
        traffic.mine([traffic.mint_tx(traffic.holders[1], 777_777_777)])
        traffic.blocks(rng, 7, max_txs=2)

    source = _ForkingSource(RpcLogFetcher(hardhat.url, addresses), fork)
    indexer = Indexer(db, source, addresses, deployment.deploy_block, max_range=3)
    result = indexer.sync()  # batch base+1..base+3 of the old fork; the node forks; batch base+4.. is new
    assert [(r.old_block, r.ancestor <= base) for r in result.reorgs] == [(base + 3, True)]
    indexer.sync()
    rebuilt = Indexer(
        f"sqlite:///{tmp_path / 'b.sqlite'}",
        RpcLogFetcher(hardhat.url, addresses),
        addresses,
        deployment.deploy_block,
    )
    rebuilt.sync()
    assert indexer.dump() == rebuilt.dump()


def test_common_ancestor_is_found_with_few_block_lookups(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], tmp_path: Path
) -> None:
    deployment, traffic = deployed
    for i in range(64):  # many recorded blocks (each with a log) below the fork
        traffic.mine([traffic.mint_tx(traffic.holders[i % 5], i + 1)])
    addresses = list(deployment.contracts.values())
    source = _ForkingSource(RpcLogFetcher(hardhat.url, addresses), lambda: None)
    indexer = Indexer(
        f"sqlite:///{tmp_path / 'a.sqlite'}", source, addresses, deployment.deploy_block, max_range=10**6
    )
    indexer.sync()
    snapshot = hardhat.rpc("evm_snapshot")
    traffic.mine([traffic.mint_tx(traffic.holders[2], 5)])
    indexer.sync()
    assert hardhat.rpc("evm_revert", [snapshot]) is True
    traffic.mine([traffic.mint_tx(traffic.holders[3], 6)])
    source.block_lookups = 0
    result = indexer.sync()
    assert [r.depth for r in result.reorgs] == [1]
    assert source.block_lookups <= 4  # cursor check, gallop one step down, done: O(log depth), not O(blocks)
