"""The store reads a release checks, one partition at a time: batch manifests against their roots, item bytes
against their claims. Each function takes a store (or a StoreSpec to open one in a worker process) and a list
of jobs, and returns one outcome per job in the same order, so partitions merge by concatenation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from backend.errors import StoreError
from backend.ipfs.base import ContentStore, StoreSpec
from backend.ipfs.errors import ContentTooLarge
from backend.ipfs.limits import get_batch_manifest
from curation.batches import BatchManifest, verify_batch_manifest
from curation.blocks import BlockMismatch
from curation.cid import CID
from curation.content import ContentCheck, ContentChecker, too_large_problem, unreadable_problem
from curation.errors import InvalidInput

__all__ = [
    "BatchJob",
    "BatchRead",
    "ItemJob",
    "ItemRead",
    "StoreSource",
    "check_item_bytes",
    "check_items",
    "read_batches",
    "worker_store",
]

#: What a partition is given to reach the store: the caller's own object (in its process), or a spec to open.
StoreSource = ContentStore | StoreSpec


@lru_cache(maxsize=4)
def _opened(spec: StoreSpec) -> ContentStore:
    return spec.open()  # one per worker process and spec, kept for the process's life


def worker_store(source: StoreSource) -> ContentStore:
    """The store a partition reads: the given object, or the one this process opened for the spec."""
    return source if isinstance(source, ContentStore) else _opened(source)


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A batch whose manifest a release needs: where it is and what it must hash to."""

    batch_id: int
    manifest_cid: bytes
    root: bytes
    count: int


@dataclass(frozen=True, slots=True)
class BatchRead:
    """One batch manifest read: its verified leaves, or `problem` (the content is not the batch's, the same
    on every machine), or `unavailable` (no store here gave it: the release waits)."""

    batch_id: int
    manifest: BatchManifest | None = None
    problem: str | None = None
    unavailable: str | None = None


def read_batches(source: StoreSource, max_bytes: int, jobs: list[BatchJob]) -> list[BatchRead]:
    """Read and verify each job's batch manifest (backend.ipfs.limits.get_batch_manifest), in order, up to and
    including the first one no store here can give."""
    store = worker_store(source)
    out: list[BatchRead] = []
    for job in jobs:
        try:
            data = get_batch_manifest(store, CID.parse(job.manifest_cid), job.count, max_bytes=max_bytes)
            out.append(BatchRead(job.batch_id, manifest=verify_batch_manifest(data, job.root, job.count)))
        except InvalidInput as exc:
            out.append(BatchRead(job.batch_id, problem=str(exc)))
        except StoreError as exc:
            out.append(BatchRead(job.batch_id, unavailable=str(exc)))
            break  # the release stops at the first unavailable job in order: the rest is not needed
    return out


@dataclass(frozen=True, slots=True)
class ItemJob:
    """An item whose bytes a release must check before weighting it: its CID and the claims to check."""

    item_id: int
    cid: bytes
    size: int
    sha256: bytes


@dataclass(frozen=True, slots=True)
class ItemRead:
    """One item's bytes checked (`check`), or why no store here could give them (`unavailable`)."""

    item_id: int
    check: ContentCheck | None = None
    unavailable: str | None = None


def check_item_bytes(store: ContentStore, job: ItemJob) -> ContentCheck:
    """Stream the item's bytes (never past its declared size) and compare them with what was declared.

    StoreError (content unavailable, a store serving wrong blocks) propagates: only facts about the content
    itself become a ContentCheck problem, so every machine that can read the bytes reaches the same result.
    """
    cid = CID.parse(job.cid)
    checker = ContentChecker(job.item_id, job.size, job.sha256)
    try:
        for chunk in store.iter_bytes(cid, max_bytes=job.size):
            checker.feed(chunk)
            if checker.read > job.size:
                break  # one byte past the claim is enough: the rest is never read
    except ContentTooLarge:  # the DAG's root declares more bytes than the claim: refused before reading them
        return ContentCheck(job.item_id, too_large_problem(job.size))
    except InvalidInput:  # not a UnixFS file, or over the format limits: a fact about the content
        return ContentCheck(job.item_id, unreadable_problem(str(cid), "its DAG is not a UnixFS file"))
    except BlockMismatch as exc:
        raise StoreError(str(exc)) from None
    return checker.finish()


def check_items(source: StoreSource, jobs: list[ItemJob]) -> list[ItemRead]:
    """check_item_bytes for each job, in order, up to and including the first one no store here can give."""
    store = worker_store(source)
    out: list[ItemRead] = []
    for job in jobs:
        try:
            out.append(ItemRead(job.item_id, check=check_item_bytes(store, job)))
        except StoreError as exc:
            out.append(ItemRead(job.item_id, unavailable=str(exc)))
            break  # the release stops at the first unavailable job in order: the rest is not needed
    return out
