"""Crash and resume: the indexer process SIGKILLed at seeded points and restarted ends identical."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.chain.deployment import Deployment
from backend.chain.logs import RpcLogFetcher
from backend.index import IndexDb, Indexer
from tests.backend.index.index_helpers import deploy_with_traffic, stored_prefix
from tests.integration.hardhat import ROOT, HardhatNode

pytestmark = pytest.mark.integration

#: Runs killed while committing (the cursor reached a seeded block) and inside a transaction.
KILLS_WHILE_RUNNING = 6
KILLS_INSIDE_COMMIT = 6

# The real entry point, with IndexDb._set_cursor (the last write of every commit) made to SIGKILL the process
# on its n-th call: the deletes and inserts of that batch are done, the commit is not.
_CRASH_INSIDE_COMMIT = """
import os, signal, sys
from backend.index import store
n = int(sys.argv[1])
calls = 0
original = store.IndexDb._set_cursor
def crashing(self, conn, ref, chain_id):
    global calls
    calls += 1
    if calls == n:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, conn, ref, chain_id)
store.IndexDb._set_cursor = crashing
from backend.index.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


@dataclass(frozen=True)
class Setup:
    url: str
    deployment: Deployment
    end: int

    def args(self, db: Path) -> list[str]:
        out = [
            "--rpc",
            self.url,
            "--db",
            f"sqlite:///{db}",
            "--start-block",
            str(self.deployment.deploy_block),
        ]
        for address in self.deployment.contracts.values():
            out += ["--address", address]
        return [*out, "--max-range", "1"]


@pytest.fixture(scope="module")
def setup(hardhat: HardhatNode) -> Setup:
    deployment, traffic = deploy_with_traffic(hardhat)
    rng = random.Random(21)
    for _ in range(100):
        traffic.mine([traffic.random_tx(rng) for _ in range(rng.randint(1, 3))])
    traffic.close()
    return Setup(hardhat.url, deployment, int(str(hardhat.rpc("eth_blockNumber")), 16))


def _cursor(db: Path) -> int | None:
    if not db.exists():
        return None
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            row = conn.execute("SELECT block_number FROM cursor").fetchone()
        except sqlite3.OperationalError:  # tables not created yet
            return None
    return None if row is None else int(row[0])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _assert_consistent(db: Path, truth: IndexDb) -> int:
    """Every block up to the cursor holds exactly the node's logs; nothing above it; returns the cursor."""
    stored, limit = stored_prefix(db)
    assert stored == truth.logs(limit)
    return limit


def test_killed_and_restarted_indexer_ends_identical(setup: Setup, tmp_path: Path) -> None:
    addresses = list(setup.deployment.contracts.values())
    truth = Indexer(
        f"sqlite:///{tmp_path / 'truth.sqlite'}",
        RpcLogFetcher(setup.url, addresses),
        addresses,
        setup.deployment.deploy_block,
    )
    truth.sync(to_block=setup.end)
    db = tmp_path / "crashy.sqlite"
    rng = random.Random(1234)
    span = setup.end - setup.deployment.deploy_block
    seen: list[int] = []

    for _ in range(KILLS_WHILE_RUNNING):
        # Kill once the cursor passes a seeded block: lands at a random point of a later batch.
        done = _cursor(db) or setup.deployment.deploy_block
        target = done + rng.randint(1, max(1, span // (KILLS_WHILE_RUNNING + 2)))
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.index", *setup.args(db)], cwd=ROOT, env=_env()
        )
        while proc.poll() is None and (_cursor(db) or -1) < target:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(_assert_consistent(db, truth.db))

    for _ in range(KILLS_INSIDE_COMMIT):
        nth = rng.randint(1, 12)
        proc = subprocess.run(
            [sys.executable, "-c", _CRASH_INSIDE_COMMIT, str(nth), *setup.args(db)],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            check=False,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        before = seen[-1]
        seen.append(_assert_consistent(db, truth.db))
        assert seen[-1] == before + nth - 1  # one-block batches: nth-1 committed, the nth undone by the kill

    assert all(setup.deployment.deploy_block <= c < setup.end for c in seen)  # every kill was mid-sync
    final = subprocess.run(
        [sys.executable, "-m", "backend.index", *setup.args(db)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        check=False,
    )
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    resumed = Indexer(
        f"sqlite:///{db}", RpcLogFetcher(setup.url, addresses), addresses, setup.deployment.deploy_block
    )
    cursor = resumed.state_block()
    assert cursor is not None
    assert cursor.number >= setup.end
    truth.sync(to_block=cursor.number)
    assert resumed.dump() == truth.dump()
    assert len(resumed.logs()) == len({(log.block_hash, log.log_index) for log in resumed.logs()})
