"""The index: raw logs of one deployment's contracts, kept in step with the chain (reorgs rolled back)."""

from __future__ import annotations

from backend.index.errors import (
    ChainUnsettledError,
    IndexDatabaseError,
    IndexEmptyError,
    IndexerError,
    IndexMismatchError,
    ReorgTooDeepError,
)
from backend.index.indexer import DEFAULT_MAX_REORG_DEPTH, Indexer, LogSource, Reorg, SyncProgress, SyncResult
from backend.index.opener import (
    DEFAULT_MAX_RANGE,
    ConnectedDeployment,
    IndexParts,
    indexed_contracts,
    open_indexer,
)
from backend.index.store import DeploymentKey, IndexDb, canonical_dump

__all__ = [
    "DEFAULT_MAX_RANGE",
    "DEFAULT_MAX_REORG_DEPTH",
    "ChainUnsettledError",
    "ConnectedDeployment",
    "DeploymentKey",
    "IndexDatabaseError",
    "IndexDb",
    "IndexEmptyError",
    "IndexMismatchError",
    "IndexParts",
    "Indexer",
    "IndexerError",
    "LogSource",
    "Reorg",
    "ReorgTooDeepError",
    "SyncProgress",
    "SyncResult",
    "canonical_dump",
    "indexed_contracts",
    "open_indexer",
]
