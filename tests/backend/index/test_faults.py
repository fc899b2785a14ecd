"""RPC faults from a fault-injecting proxy in front of a real Hardhat node: no missed, no duplicate logs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.chain.deployment import Deployment
from backend.chain.logs import RawLog, RpcLogFetcher, Verify
from backend.chain.rpc import InconsistentAnswerError, RpcFaultError
from backend.index import Indexer
from tests.backend.index.index_helpers import deploy_with_traffic, stored_prefix
from tests.integration.hardhat import HardhatNode
from tests.integration.rpc_fault_proxy import FaultPlan, FaultProxy, start_proxy

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Truth:
    deployment: Deployment
    end: int
    dump: bytes
    logs: list[RawLog]

    @property
    def addresses(self) -> list[str]:
        return list(self.deployment.contracts.values())


@pytest.fixture(scope="module")
def truth(hardhat: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Truth]:
    """A deployment with ~40 blocks of 0-6 transactions each, indexed straight from the node."""
    deployment, traffic = deploy_with_traffic(hardhat)
    traffic.blocks(random.Random(3), 40, max_txs=6)
    end = int(str(hardhat.rpc("eth_blockNumber")), 16)
    traffic.close()
    addresses = list(deployment.contracts.values())
    db = f"sqlite:///{tmp_path_factory.mktemp('truth') / 'truth.sqlite'}"
    indexer = Indexer(
        db, RpcLogFetcher(hardhat.url, addresses, verify="receipts"), addresses, deployment.deploy_block
    )
    indexer.sync(to_block=end)
    logs = indexer.logs()
    assert len(logs) > 150
    assert len({log.block_number for log in logs}) > 30
    yield Truth(deployment, end, indexer.dump(), logs)
    indexer.close()


def _index(
    proxy: FaultProxy, truth: Truth, db: Path, verify: Verify, max_range: int = 50, retries: int = 12
) -> tuple[Indexer, RpcLogFetcher]:
    fetcher = RpcLogFetcher(
        proxy.url, truth.addresses, timeout=0.3, retries=retries, backoff=0.002, verify=verify
    )
    indexer = Indexer(
        f"sqlite:///{db}", fetcher, truth.addresses, truth.deployment.deploy_block, max_range=max_range
    )
    return indexer, fetcher


def _assert_complete_prefix(db: Path, truth: Truth) -> None:
    """What a failed sync left: every block up to the cursor complete, nothing above it."""
    stored, limit = stored_prefix(db)
    assert stored == [log for log in truth.logs if log.block_number <= limit]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mixed_faults_miss_nothing_and_duplicate_nothing(
    hardhat: HardhatNode, truth: Truth, tmp_path: Path, seed: int
) -> None:
    plan = FaultPlan(
        seed=seed,
        error=0.08,
        http_error=0.04,
        hang=0.03,
        truncate=0.06,
        disconnect=0.04,
        drop_logs=0.35,
        max_range=8,
        hang_seconds=0.8,
    )
    with start_proxy(hardhat.url, plan) as proxy:
        indexer, fetcher = _index(proxy, truth, tmp_path / "i.sqlite", "receipts")
        indexer.sync(to_block=truth.end)
        indexer.sync(to_block=truth.end)  # idempotent: a second pass changes nothing
    assert indexer.dump() == truth.dump
    assert proxy.injected["range_limit"] > 0
    assert fetcher.stats.halvings > 0
    assert proxy.injected["drop_logs"] > 0
    assert fetcher.stats.rejected_answers > 0
    transport = sum(proxy.injected[k] for k in ("error", "http_error", "hang", "truncate", "disconnect"))
    assert transport > 0
    # a drop on a kept-alive connection is retried once silently, as urllib3 does
    assert fetcher.stats.faults >= transport - proxy.injected["disconnect"]


def test_every_transport_fault_kind_is_survived(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    plan = FaultPlan(
        seed=8, error=0.1, http_error=0.1, hang=0.1, truncate=0.1, disconnect=0.1, hang_seconds=0.8
    )
    with start_proxy(hardhat.url, plan) as proxy:
        indexer, _ = _index(proxy, truth, tmp_path / "i.sqlite", "bloom", max_range=10, retries=20)
        indexer.sync(to_block=truth.end)
    assert indexer.dump() == truth.dump
    assert all(proxy.injected[k] > 0 for k in ("error", "http_error", "hang", "truncate", "disconnect"))


def test_result_size_limit_makes_the_range_halve(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    with start_proxy(hardhat.url, FaultPlan(max_results=25)) as proxy:
        indexer, fetcher = _index(proxy, truth, tmp_path / "i.sqlite", "bloom", max_range=10_000)
        indexer.sync(to_block=truth.end)
    assert indexer.dump() == truth.dump
    assert proxy.injected["result_limit"] > 0
    assert fetcher.stats.halvings > 0


def test_bloom_check_catches_a_silent_result_cap(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    with start_proxy(hardhat.url, FaultPlan(seed=4, drop_logs=0.5, drop_style="tail")) as proxy:
        indexer, fetcher = _index(proxy, truth, tmp_path / "i.sqlite", "bloom", max_range=16)
        indexer.sync(to_block=truth.end)
    assert proxy.injected["drop_logs"] > 0
    assert fetcher.stats.rejected_answers > 0
    assert indexer.dump() == truth.dump


def test_without_verification_dropped_logs_go_unnoticed(
    hardhat: HardhatNode, truth: Truth, tmp_path: Path
) -> None:
    # The control: the same faults with checks off lose logs, so the tests above test the checks.
    with start_proxy(hardhat.url, FaultPlan(seed=4, drop_logs=0.5, drop_style="tail")) as proxy:
        indexer, _ = _index(proxy, truth, tmp_path / "i.sqlite", "none", max_range=16)
        indexer.sync(to_block=truth.end)
    assert len(indexer.logs()) < len(truth.logs)


def test_persistent_errors_end_in_a_clear_error_and_no_partial_block(
    hardhat: HardhatNode, truth: Truth, tmp_path: Path
) -> None:
    db = tmp_path / "i.sqlite"
    with start_proxy(hardhat.url, FaultPlan(error=1.0, healthy_requests=12)) as proxy:
        indexer, _ = _index(proxy, truth, db, "bloom", max_range=4, retries=3)
        with pytest.raises(RpcFaultError, match=r"failed 4 times; last error: .*injected internal error"):
            indexer.sync(to_block=truth.end)
    assert indexer.state_block() is not None  # some batches landed before the node went bad
    _assert_complete_prefix(db, truth)


def test_truncated_bodies_are_named_in_the_error(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    with (
        start_proxy(hardhat.url, FaultPlan(truncate=1.0)) as proxy,
        pytest.raises(RpcFaultError, match=r"failed 3 times; last error: answer is not complete JSON"),
    ):
        _index(proxy, truth, tmp_path / "i.sqlite", "bloom", retries=2)  # the chain id probe already fails


def test_a_node_lying_about_ranges_is_refused(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    db = tmp_path / "i.sqlite"
    with start_proxy(hardhat.url, FaultPlan(lie_range=1.0, healthy_requests=20)) as proxy:
        indexer, _ = _index(proxy, truth, db, "bloom", max_range=4, retries=3)
        with pytest.raises(InconsistentAnswerError, match=r"returned a log of block \d+"):
            indexer.sync(to_block=truth.end)
    _assert_complete_prefix(db, truth)


def test_a_node_that_always_drops_logs_is_refused(hardhat: HardhatNode, truth: Truth, tmp_path: Path) -> None:
    db = tmp_path / "i.sqlite"
    with start_proxy(
        hardhat.url, FaultPlan(drop_logs=1.0, drop_style="random", healthy_requests=20)
    ) as proxy:
        indexer, _ = _index(proxy, truth, db, "receipts", max_range=4, retries=3)
        with pytest.raises(InconsistentAnswerError, match="receipts hold"):
            indexer.sync(to_block=truth.end)
    _assert_complete_prefix(db, truth)
