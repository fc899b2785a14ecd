"""Setup the index tests share: a deployment with token traffic, and what a sync left in its database."""

from __future__ import annotations

from pathlib import Path

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.logs import RawLog
from backend.index import Store
from benchmarks.index import TokenTraffic
from tests.integration.hardhat import HardhatNode


def deploy_with_traffic(hardhat: HardhatNode) -> tuple[Deployment, TokenTraffic]:
    """Deploy every contract and fund five token holders; the caller drives (and closes) the traffic."""
    w3 = connect(hardhat.url)
    signers = dev_signers(w3)
    deployment = deploy_all(w3, signers[0])
    holders = [s.address for s in signers[1:6]]
    traffic = TokenTraffic(hardhat.url, deployment.address("CurationToken"), signers[0].address, holders)
    traffic.fund()
    return deployment, traffic


def stored_prefix(db: Path) -> tuple[list[RawLog], int]:
    """The logs stored in the sqlite index `db` and its cursor block (-1 before the first sync)."""
    store = Store(f"sqlite:///{db}")
    cursor = store.cursor()
    stored = store.logs()
    store.close()
    return stored, cursor.number if cursor else -1
