"""The one indexer constructor: which contracts of a deployment are indexed, on which node, into which database."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.chain.deployment import Deployment
from backend.chain.logs import RpcLogFetcher, Verify
from backend.chain.rpc import RpcLimits
from backend.index.indexer import DEFAULT_MAX_REORG_DEPTH, Indexer
from backend.settings import Settings
from curation.events import EVENT_TYPES, OPTIONAL_CONTRACTS

__all__ = ["DEFAULT_MAX_RANGE", "ConnectedDeployment", "IndexParts", "indexed_contracts", "open_indexer"]

#: Most blocks one eth_getLogs asks for (the fetcher may ask for fewer).
DEFAULT_MAX_RANGE = 2000
#: Artifact names of the contracts whose events the decoder (backend.chain.decode) reads.
_DECODED = tuple(sorted({contract for contract, _event in EVENT_TYPES}))


class ConnectedDeployment(Protocol):
    """What open_indexer needs of a backend.session.Session: the node, the record and the settings."""

    @property
    def w3(self) -> Any: ...

    @property
    def deployment(self) -> Deployment: ...

    @property
    def settings(self) -> Settings: ...


@dataclass(frozen=True)
class IndexParts:
    """An indexer's parts without a deployment record (`python -m backend.index`): node, addresses, blocks."""

    rpc: str
    addresses: Sequence[str]
    start_block: int
    db_url: str
    confirmations: int = 0
    chain_id: int | None = None  # None: asked of the node
    max_reorg_depth: int = DEFAULT_MAX_REORG_DEPTH
    limits: RpcLimits = field(default_factory=RpcLimits)


def indexed_contracts(deployment: Deployment) -> dict[str, str]:
    """Name -> address of the deployment's contracts the index keeps: every one whose events are decoded.

    The token is one of them (voting power comes from its logs). The index's deployment key, the decoder and
    the manifest's `contracts` all come from here, so every reader of one database agrees on what it holds.
    """
    return {
        name: deployment.address(name)
        for name in _DECODED
        if name not in OPTIONAL_CONTRACTS or name in deployment.contracts
    }


def open_indexer(
    source: ConnectedDeployment | IndexParts,
    db_url: str | None = None,
    *,
    verify: Verify = "bloom",
    max_range: int = DEFAULT_MAX_RANGE,
    read_only: bool = False,
) -> Indexer:
    """An Indexer of a connected deployment (a Session) or of explicit parts; closing it closes its fetcher.

    `db_url` overrides the database (default: the settings' `db_url`, or the parts' one). `read_only`
    opens the database without creating or binding anything (an indexer that only reads what another
    process writes); syncing it is refused.
    """
    if isinstance(source, IndexParts):
        addresses = list(source.addresses)
        fetcher = RpcLogFetcher(source.rpc, addresses, verify=verify, **dataclasses.asdict(source.limits))
        url, start, chain_id = db_url or source.db_url, source.start_block, source.chain_id
        confirmations, depth = source.confirmations, source.max_reorg_depth
    else:
        record, settings = source.deployment, source.settings
        addresses = list(indexed_contracts(record).values())
        fetcher = RpcLogFetcher.from_web3(source.w3, addresses, verify=verify)
        url, start, chain_id = db_url or settings.db_url, record.deploy_block, record.chain_id
        confirmations, depth = settings.confirmations, settings.max_reorg_depth
    try:
        return Indexer(
            url,
            fetcher,
            addresses,
            start,
            confirmations,
            max_range,
            chain_id=chain_id,
            max_reorg_depth=depth,
            owns_fetcher=True,
            read_only=read_only,
        )
    except BaseException:
        fetcher.close()
        raise
