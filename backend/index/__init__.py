"""The index: raw logs of one deployment's contracts, kept in step with the chain (reorgs rolled back)."""

from __future__ import annotations

from backend.index.errors import (
    ChainUnsettledError,
    IndexDatabaseError,
    IndexerError,
    IndexMismatchError,
    ReorgTooDeepError,
)
from backend.index.indexer import DEFAULT_MAX_REORG_DEPTH, Indexer, LogSource, Reorg, SyncProgress, SyncResult
from backend.index.store import DeploymentKey, Store, canonical_dump, open_engine

__all__ = [
    "DEFAULT_MAX_REORG_DEPTH",
    "ChainUnsettledError",
    "DeploymentKey",
    "IndexDatabaseError",
    "IndexMismatchError",
    "Indexer",
    "IndexerError",
    "LogSource",
    "Reorg",
    "ReorgTooDeepError",
    "Store",
    "SyncProgress",
    "SyncResult",
    "canonical_dump",
    "open_engine",
]
