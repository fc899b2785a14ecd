"""IPFS content storage: one `ContentStore` interface, an embedded block store and a Kubo RPC client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.ipfs.base import CidLike, ContentStore, StoreSpec
from backend.ipfs.embedded import EmbeddedStore
from backend.ipfs.errors import (
    ContentNotFound,
    ContentTooLarge,
    StoreTimeout,
    StoreUnavailable,
    UnexpectedResponse,
)
from backend.ipfs.gateway import GatewayReader
from backend.ipfs.kubo import KuboStore

if TYPE_CHECKING:
    from backend.settings import Settings

__all__ = [
    "CidLike",
    "ContentNotFound",
    "ContentStore",
    "ContentTooLarge",
    "EmbeddedStore",
    "GatewayReader",
    "KuboStore",
    "StoreSpec",
    "StoreTimeout",
    "StoreUnavailable",
    "UnexpectedResponse",
    "open_store",
]


def open_store(settings: Settings) -> ContentStore:
    """The configured store: a Kubo RPC endpoint if `settings.ipfs` is set, else the embedded block store."""
    if settings.ipfs:
        return KuboStore(settings.ipfs, timeout=settings.ipfs_timeout)
    return EmbeddedStore(settings.blocks_dir)
