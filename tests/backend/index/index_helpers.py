"""Setup the index tests share: a deployment with token traffic, and what a sync left in its database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.logs import RawLog, RpcLogFetcher
from backend.index import IndexDb, Indexer
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
    store = IndexDb(f"sqlite:///{db}")
    cursor = store.cursor()
    stored = store.logs()
    store.close()
    return stored, cursor.number if cursor else -1


def indexer_opener(url: str, deployment: Deployment, max_range: int = 3) -> Callable[[str], Indexer]:
    """Opens an indexer of `deployment` on the node at `url` for a database URL (small ranges by default)."""
    addresses = list(deployment.contracts.values())

    def open_indexer(db_url: str) -> Indexer:
        fetcher = RpcLogFetcher(url, addresses, timeout=30)
        return Indexer(db_url, fetcher, addresses, deployment.deploy_block, max_range=max_range)

    return open_indexer


def node_logs(traffic: TokenTraffic, deployment: Deployment) -> list[tuple[int, int, str]]:
    """The oracle: one plain eth_getLogs over the whole deployment, no indexer involved."""
    raw = traffic.rpc(
        "eth_getLogs",
        [
            {
                "fromBlock": hex(deployment.deploy_block),
                "toBlock": "latest",
                "address": list(deployment.contracts.values()),
            }
        ],
    )
    return sorted((int(x["blockNumber"], 16), int(x["logIndex"], 16), x["blockHash"]) for x in raw)
