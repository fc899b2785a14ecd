"""Reads with limits for what a release loads from a store: batch manifests, release manifests and parts.

Two kinds of limit meet here (docs/storage.md):
- format limits, facts about content (curation.batches.batch_manifest_max_bytes, curation.manifest_read's
  MAX_MANIFEST_BYTES and MAX_PART_BYTES, the UnixFS limits in curation.unixfs and curation.blocks): a breach
  is an InvalidInput, the same on every machine;
- operator resource limits (Settings.max_batch_manifest_bytes): a breach is ContentTooLarge, a StoreError
  whose message names the setting to raise.
"""

from __future__ import annotations

from typing import Final

from backend.ipfs.base import CidLike, ContentStore
from backend.ipfs.errors import ContentTooLarge
from curation.batches import BatchManifestMismatch, batch_manifest_max_bytes
from curation.cid import CID
from curation.manifest_read import MAX_MANIFEST_BYTES, MAX_PART_BYTES, ManifestMismatch

__all__ = [
    "BATCH_MANIFEST_SETTING",
    "get_batch_manifest",
    "get_limited",
    "get_manifest",
    "get_manifest_part",
]

#: The environment variable (Settings.max_batch_manifest_bytes) that raises the operator limit.
BATCH_MANIFEST_SETTING: Final = "CURATION_MAX_BATCH_MANIFEST_BYTES"


def get_limited(
    store: ContentStore, cid: CidLike, *, max_bytes: int, setting: str, what: str = "file"
) -> bytes:
    """The file `cid` (verified), or ContentTooLarge naming `what` and the `setting` that raises `max_bytes`."""
    try:
        return store.get_bytes(cid, max_bytes=max_bytes)
    except ContentTooLarge as exc:
        raise ContentTooLarge(str(exc.cid), exc.limit, exc.declared, what=what, setting=setting) from None


def get_batch_manifest(store: ContentStore, cid: CidLike, count: int, *, max_bytes: int) -> bytes:
    """The batch manifest `cid` of a batch of `count` leaves, read within both limits.

    It is read to at most min(batch_manifest_max_bytes(count), max_bytes) bytes, and refused right after
    its root block when that declares more:
    - more than batch_manifest_max_bytes(count): BatchManifestMismatch (InvalidInput), the batch is invalid
      by content, the same answer on every machine;
    - else more than `max_bytes` (the operator's Settings.max_batch_manifest_bytes): ContentTooLarge, a
      StoreError naming CURATION_MAX_BATCH_MANIFEST_BYTES.
    A DAG breaking a UnixFS format limit raises its InvalidInput (curation.unixfs); an unavailable manifest
    the store's StoreError. Pass the bytes to curation.batches.verify_batch_manifest.
    """
    format_limit = batch_manifest_max_bytes(count)
    limit = min(format_limit, max_bytes)
    try:
        return store.get_bytes(cid, max_bytes=limit)
    except ContentTooLarge as exc:
        text = str(CID.parse(cid))
        if exc.declared is not None and exc.declared > format_limit:
            raise BatchManifestMismatch(
                f"batch manifest {text} is {exc.declared} bytes, more than the {format_limit} bytes a valid "
                f"manifest of {count} leaves can take"
            ) from None
        raise ContentTooLarge(
            text, exc.limit, exc.declared, what="batch manifest", setting=BATCH_MANIFEST_SETTING
        ) from None


def _get_formatted(store: ContentStore, cid: CidLike, limit: int, what: str) -> bytes:
    try:
        return store.get_bytes(cid, max_bytes=limit)
    except ContentTooLarge as exc:
        raise ManifestMismatch(
            f"{what} {CID.parse(cid)} is {exc.declared} bytes, over the {limit} bytes any {what} may take"
        ) from None


def get_manifest(store: ContentStore, cid: CidLike) -> bytes:
    """A release manifest, read to at most MAX_MANIFEST_BYTES (the most `load_manifest` parses); one that
    declares more is a ManifestMismatch (invalid content) right after its root block."""
    return _get_formatted(store, cid, MAX_MANIFEST_BYTES, "manifest")


def get_manifest_part(store: ContentStore, cid: CidLike) -> bytes:
    """A manifest part, read to at most MAX_PART_BYTES (the most `load_part` parses); ManifestMismatch past it."""
    return _get_formatted(store, cid, MAX_PART_BYTES, "manifest part")
