"""The `ContentStore` interface every IPFS back end implements, and what all share (verified reads)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from backend.errors import ConfigError
from backend.ipfs.errors import ContentNotFound, ContentTooLarge
from curation.blocks import verify_block
from curation.cid import CID
from curation.errors import InvalidInput
from curation.unixfs import FileImporter, ImportedFile, LeafReader, ReadLimitExceeded, iter_chunks, iter_file

__all__ = [
    "CidLike",
    "ContentStore",
    "FileDigest",
    "StoreSpec",
    "check_source_file",
    "hash_file",
    "read_file",
    "verified_block",
    "write_atomically",
]

CidLike = CID | str


def verified_block(cid: CidLike, read_raw: Callable[[CID], bytes]) -> bytes:
    """The block `read_raw` returns for `cid`, verified against the CID (a mismatch raises, as verify_block)."""
    parsed = CID.parse(cid)
    data = read_raw(parsed)
    verify_block(parsed, data)
    return data


def read_file(
    root: CID,
    get_block: Callable[[CID], bytes | memoryview],
    leaf_reader: LeafReader | None = None,
    *,
    max_bytes: int | None = None,
) -> Iterator[bytes | memoryview]:
    """`curation.unixfs.iter_file` with the reader's limit as a store error: ContentTooLarge past `max_bytes`.

    Format limits (block size, links per node, depth, declared sizes adding up) stay content errors
    (InvalidInput subclasses from curation), whatever store serves the DAG.
    """
    try:
        yield from iter_file(root, get_block, leaf_reader, max_bytes=max_bytes)
    except ReadLimitExceeded as exc:
        raise ContentTooLarge(str(root), exc.limit, exc.declared) from None


@dataclass(frozen=True)
class FileDigest:
    """What a file's bytes hash to: CIDv1 (raw leaves, as `ipfs add --cid-version=1`), sha256, size."""

    cid: CID
    sha256: bytes
    size: int


def hash_file(path: Path) -> FileDigest:
    """CID, sha256 and size of a file in one pass and constant memory."""
    importer = FileImporter(cid_version=1)
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter_chunks(fh):
            importer.push(chunk)
            sha.update(chunk)
            size += len(chunk)
    importer.finish()
    return FileDigest(importer.result.cid, sha.digest(), size)


def check_source_file(path: Path) -> Path:
    """The path must exist and be a regular file (not a directory)."""
    if not path.exists():
        raise ContentNotFound(f"{path} does not exist")
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory; give a file (directories are not supported)")
    if not path.is_file():
        raise InvalidInput(f"{path} is not a regular file")
    return path


def write_atomically(chunks: Iterable[bytes | memoryview], dest: Path) -> int:
    """Write chunks to a temp file beside `dest`, rename it into place at the end; return the size.

    If anything fails (a block that does not verify, a timeout), `dest` is left untouched.
    """
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a directory; give a file path to write to")
    if not dest.parent.is_dir():
        raise ContentNotFound(f"directory {dest.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += out.write(chunk)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return size


@dataclass(frozen=True)
class StoreSpec:
    """A picklable description of a standard store: "embedded" (a block store directory) or "kubo" (an RPC URL)."""

    kind: str
    location: str
    timeout: float = 30.0

    def open(self) -> ContentStore:
        """A new store object on the same blocks (the caller closes it)."""
        if self.kind == "embedded":
            from backend.ipfs.embedded import EmbeddedStore

            return EmbeddedStore(Path(self.location))
        if self.kind == "kubo":
            from backend.ipfs.kubo import KuboStore

            return KuboStore(self.location, timeout=self.timeout)
        raise ConfigError(f"unknown content store kind {self.kind!r} (known: embedded, kubo)")


class ContentStore(ABC):
    """Content-addressed storage. Every read is verified block by block against the CID."""

    # -- writes --------------------------------------------------------------------------------------
    @abstractmethod
    def put_bytes(self, data: bytes | memoryview, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        """Store bytes as a UnixFS file (`ipfs add`, raw leaves for v1); return its root."""

    @abstractmethod
    def put_file(self, path: Path, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        """Store a file's bytes in constant memory; return its root."""

    # -- reads (verified) -----------------------------------------------------------------------------
    @abstractmethod
    def get_block(self, cid: CidLike) -> bytes:
        """One block's bytes, verified against its CID."""

    @abstractmethod
    def iter_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> Iterator[bytes | memoryview]:
        """The file's bytes as a stream, every block verified before its bytes are yielded.

        Every read keeps the UnixFS format limits (curation.unixfs: block size, links per node, depth,
        declared sizes that add up; a breach is an InvalidInput). With `max_bytes`, a file larger than that
        raises ContentTooLarge before any byte past the limit is yielded, right after the root block when
        the root declares more (nothing more is fetched).
        """

    @abstractmethod
    def has(self, cid: CidLike) -> bool:
        """Whether the store holds the block locally (does not fetch it)."""

    def get_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> bytes:
        """The whole file in memory (verified); for small content such as manifests: give a `max_bytes`."""
        return b"".join(self.iter_bytes(cid, max_bytes=max_bytes))

    def get_file(self, cid: CidLike, dest: Path, *, max_bytes: int | None = None) -> int:
        """Write the verified file to `dest` (a temp file renamed at the end); return its size.

        On any error (ContentTooLarge past `max_bytes` included) `dest` is left untouched and no temp file
        remains.
        """
        return write_atomically(self.iter_bytes(cid, max_bytes=max_bytes), Path(dest))

    # -- pins -----------------------------------------------------------------------------------------
    @abstractmethod
    def pin(self, cid: CidLike) -> None:
        """Keep the DAG under `cid` through garbage collection (recursive pin)."""

    @abstractmethod
    def unpin(self, cid: CidLike) -> None:
        """Drop the recursive pin of `cid` (its blocks go at the next `gc`)."""

    @abstractmethod
    def pins(self) -> list[CID]:
        """Recursively pinned roots, in CID order."""

    @abstractmethod
    def gc(self) -> int:
        """Remove every block not reachable from a pin; return how many were removed."""

    # -- CAR ------------------------------------------------------------------------------------------
    @abstractmethod
    def export_car(self, root: CidLike, out: BinaryIO) -> int:
        """Write the DAG under `root` as a CARv1 (`ipfs dag export`); return bytes written."""

    @abstractmethod
    def import_car(self, src: BinaryIO, *, pin: bool = True) -> list[CID]:
        """Import a CARv1 (`ipfs dag import`), verifying every block; pin and return its roots."""

    # -- lifecycle ------------------------------------------------------------------------------------
    def spec(self) -> StoreSpec | None:
        """How another process opens this same store (a partitioned build's workers), or None when it cannot:
        a store that is not exactly one of the standard kinds (a test's wrapper, a fault injector) is read
        only here, so every read goes through the object the caller gave."""
        return None

    def describe(self) -> str:
        """One line saying which store this is (for CLI output and logs)."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections and locks."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
