"""The indexer on PostgreSQL (a throwaway server) against a real Hardhat node: same bytes as on SQLite.

Backfill, idempotent re-sync, reorg rollbacks, deployment keying, two writers racing for one database and
`curation index --db postgresql+psycopg://...`. Every PostgreSQL index is compared with the same run on
SQLite through `Indexer.dump()`, so a type, ordering or transaction difference shows up as a byte diff.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from backend.chain.deployment import Deployment
from backend.chain.logs import BlockRef, RpcLogFetcher
from backend.index import IndexDatabaseError, IndexDb, Indexer, IndexMismatchError, schema
from benchmarks.index import TokenTraffic
from tests.backend.index.index_helpers import deploy_with_traffic, indexer_opener, node_logs
from tests.backend.index.test_reorg import run_reorg_scenarios
from tests.integration.hardhat import HardhatNode
from tests.integration.postgres import create_database

pytestmark = pytest.mark.integration

_names = itertools.count()


@pytest.fixture(scope="module")
def deployed(hardhat: HardhatNode) -> Iterator[tuple[Deployment, TokenTraffic]]:
    """A deployment with funded holders; the node goes back to where it was once the module is done."""
    snapshot = hardhat.rpc("evm_snapshot")
    deployment, traffic = deploy_with_traffic(hardhat)
    try:
        yield deployment, traffic
    finally:
        traffic.close()
        assert hardhat.rpc("evm_revert", [snapshot]) is True


@pytest.fixture
def pg_db(postgres_url: str) -> str:
    """A new, empty database on the session's PostgreSQL server (one per test)."""
    return create_database(postgres_url, f"index_test_{next(_names)}")


def _keys(indexer: Indexer) -> list[tuple[int, int, str]]:
    return [(x.block_number, x.log_index, x.block_hash) for x in indexer.logs()]


def test_backfill_and_resync_equal_sqlite_without_duplicates(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str, tmp_path: Path
) -> None:
    deployment, traffic = deployed
    traffic.blocks(random.Random(3), 12, max_txs=4)
    open_indexer = indexer_opener(hardhat.url, deployment)
    pg, lite = open_indexer(pg_db), open_indexer(f"sqlite:///{tmp_path / 'lite.sqlite'}")
    assert pg.db.engine.dialect.name == "postgresql"
    result = pg.sync()
    lite.sync()
    assert result.batches > 3
    assert result.logs_added == len(pg.logs()) > 12
    assert pg.dump() == lite.dump()
    assert _keys(pg) == node_logs(traffic, deployment)
    before = pg.dump()

    # Re-sync: the same indexer, then another one on the same database (a restarted process).
    again = pg.sync()
    assert (again.logs_added, again.batches) == (0, 0)
    reopened = open_indexer(pg_db)
    assert reopened.sync().logs_added == 0
    assert reopened.dump() == before
    assert reopened.db.count_logs() == len(node_logs(traffic, deployment))

    # Roll the cursor back into the middle and sync over the same blocks again: same rows, no duplicates.
    recorded = pg.db.recorded_blocks()
    middle = recorded[len(recorded) // 2]
    removed = pg.db.rollback(middle, pg.chain_id, pg.state_block())
    assert removed > 0
    assert pg.sync().logs_added == removed
    assert pg.dump() == before
    reopened.close()

    # New blocks on top: both databases follow, byte for byte.
    traffic.blocks(random.Random(4), 5, max_txs=3)
    pg.sync()
    lite.sync()
    assert pg.dump() == lite.dump()
    pg.close()
    lite.close()


def test_reorgs_on_postgres_end_identical_to_sqlite_rebuilds(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str, tmp_path: Path
) -> None:
    """The reorg driver of test_index_reorg, with the long-lived incremental index in PostgreSQL.

    Every from-scratch rebuild it compares against stays on SQLite, so each scenario checks PostgreSQL
    after a rollback against SQLite byte for byte.
    """
    deployment, traffic = deployed
    open_indexer = indexer_opener(hardhat.url, deployment)

    def open_incremental_in_postgres(db_url: str) -> Indexer:
        return open_indexer(pg_db if db_url.endswith("/incremental.sqlite") else db_url)

    def mine(rng: random.Random, blocks: int) -> None:
        # The first block carries a mint of a never-repeated amount, so every fork has its own hashes.
        marker = traffic.mint_tx(traffic.holders[0], 10**9 + rng.getrandbits(40))
        traffic.mine([marker] + [traffic.random_tx(rng) for _ in range(rng.randint(0, 3))])
        traffic.blocks(rng, blocks - 1, max_txs=3)

    reports = run_reorg_scenarios(
        hardhat.rpc, mine, open_incremental_in_postgres, Indexer.dump, tmp_path, count=8, max_depth=5, seed=29
    )
    assert all(r.rollbacks >= 1 for r in reports)
    assert sum(r.logs_removed for r in reports) > 0
    assert not (tmp_path / "incremental.sqlite").exists()  # the incremental index really was PostgreSQL
    final = open_indexer(pg_db)
    assert _keys(final) == node_logs(traffic, deployment)
    final.close()


def test_a_postgres_database_of_another_deployment_is_refused(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str
) -> None:
    deployment, _traffic = deployed
    addresses = list(deployment.contracts.values())
    fetcher = RpcLogFetcher(hardhat.url, addresses)
    first = Indexer(pg_db, fetcher, addresses, deployment.deploy_block)
    first.sync()
    first.close()
    with pytest.raises(IndexMismatchError, match=r"indexes chain 31337, \d+ contracts .* not chain 31337"):
        Indexer(pg_db, fetcher, addresses, deployment.deploy_block + 1)
    with pytest.raises(IndexMismatchError, match="use another --db"):
        Indexer(pg_db, fetcher, addresses, deployment.deploy_block, chain_id=1)
    with pytest.raises(IndexMismatchError):
        Indexer(pg_db, RpcLogFetcher(hardhat.url, addresses[:3]), addresses[:3], deployment.deploy_block)
    store = IndexDb(pg_db)
    with store.engine.begin() as conn:
        conn.execute(update(schema.deployment).values(schema_version=schema.SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(IndexMismatchError, match="index schema"):
        Indexer(pg_db, fetcher, addresses, deployment.deploy_block)


def test_two_writers_on_one_postgres_database_never_interleave(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str, tmp_path: Path
) -> None:
    """B checks the cursor, then stalls inside its transaction while A commits the same batch.

    Writers are serialised per database: A waits for B's commit and then finds the cursor moved (a
    clean IndexDatabaseError), instead of both transactions writing the same blocks.
    """
    deployment, traffic = deployed
    traffic.blocks(random.Random(8), 3, max_txs=2)
    open_indexer = indexer_opener(hardhat.url, deployment, max_range=10**6)
    a, b = open_indexer(pg_db), open_indexer(pg_db)
    checked = threading.Event()
    a_done = threading.Event()
    original = b.db._expect_cursor

    def stalling(conn: object, expected: BlockRef | None) -> None:
        original(conn, expected)  # type: ignore[arg-type]
        checked.set()
        a_done.wait(timeout=3)  # without serialisation A commits right now

    b.db._expect_cursor = stalling  # type: ignore[method-assign]
    outcome: dict[str, object] = {}

    def run(name: str, indexer: Indexer) -> None:
        try:
            outcome[name] = indexer.sync().logs_added
        except IndexDatabaseError as exc:
            outcome[name] = exc
        finally:
            if name == "a":
                a_done.set()

    tb = threading.Thread(target=run, args=("b", b))
    tb.start()
    assert checked.wait(timeout=30)
    started = time.monotonic()
    run("a", a)
    tb.join(timeout=60)
    assert isinstance(outcome["b"], int)
    assert outcome["b"] > 0
    assert isinstance(outcome["a"], IndexDatabaseError), outcome
    assert "moved underneath" in str(outcome["a"])
    assert time.monotonic() - started > 2  # A really waited for B's transaction
    b.db._expect_cursor = original  # type: ignore[method-assign]
    lite = open_indexer(f"sqlite:///{tmp_path / 'lite.sqlite'}")
    lite.sync()
    assert a.sync().logs_added == 0
    assert a.dump() == b.dump() == lite.dump()
    for indexer in (a, b, lite):
        indexer.close()


def test_a_dump_is_one_snapshot_while_a_writer_commits(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str
) -> None:
    """The dump reads the cursor, then stalls while another indexer commits new blocks, then reads the rest.

    It must still be the state before that commit (PostgreSQL READ COMMITTED would mix the old cursor
    with the new logs).
    """
    deployment, traffic = deployed
    open_indexer = indexer_opener(hardhat.url, deployment, max_range=10**6)
    writer, reader = open_indexer(pg_db), open_indexer(pg_db)
    writer.sync()
    before = reader.dump()
    traffic.blocks(random.Random(10), 3, max_txs=3)
    read_cursor, committed = threading.Event(), threading.Event()
    original = reader.db._cursor

    def stalling(conn: object) -> BlockRef | None:
        ref = original(conn)  # type: ignore[arg-type]
        read_cursor.set()
        assert committed.wait(timeout=30)
        return ref

    reader.db._cursor = stalling  # type: ignore[method-assign]
    dumped: list[bytes] = []
    thread = threading.Thread(target=lambda: dumped.append(reader.db.dump()))
    thread.start()
    assert read_cursor.wait(timeout=30)
    assert writer.sync().logs_added > 0
    committed.set()
    thread.join(timeout=30)
    assert dumped == [before]
    reader.db._cursor = original  # type: ignore[method-assign]
    assert reader.dump() == writer.dump() != before
    writer.close()
    reader.close()


def test_cli_index_on_postgres(
    hardhat: HardhatNode, deployed: tuple[Deployment, TokenTraffic], pg_db: str, tmp_path: Path
) -> None:
    deployment, traffic = deployed
    traffic.blocks(random.Random(9), 4, max_txs=3)
    record = tmp_path / "deployment.json"
    deployment.save(record)
    curation = Path(sys.executable).parent / "curation"
    assert curation.exists(), f"{curation} is missing: pip install -e . (make test does)"
    env = {**os.environ, "CURATION_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200"}

    def index(db: str) -> subprocess.CompletedProcess[str]:
        args = [str(curation), "index", "--rpc", hardhat.url, "--db", db, "--deployment", str(record)]
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)

    done = index(pg_db)
    assert done.returncode == 0, done.stdout + done.stderr
    head = int(str(hardhat.rpc("eth_blockNumber")), 16)
    assert f"index complete to block {head}" in done.stdout
    again = index(pg_db)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 logs added in 0 batches" in again.stdout
    lite = indexer_opener(hardhat.url, deployment, max_range=2000)(f"sqlite:///{tmp_path / 'lite.sqlite'}")
    lite.sync()
    store = IndexDb(pg_db)
    assert store.dump() == lite.dump()
    store.close()
    lite.close()

    # A server that is not there: one clear line, exit 1, no traceback, no password shown.
    down = index("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/curation")
    assert down.returncode == 1
    out = down.stdout + down.stderr
    assert (
        "could not create the index tables in postgresql+psycopg://postgres:***@127.0.0.1:1/curation" in out
    )
    assert "hunter2" not in out
    assert "Traceback" not in out
