"""The `ContentStore` interface every IPFS back end implements, and what all share (verified reads)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from backend.ipfs.errors import ContentNotFound
from curation.blocks import verify_block
from curation.cid import CID
from curation.errors import InvalidInput
from curation.unixfs import ImportedFile

__all__ = ["CidLike", "ContentStore", "check_source_file", "verified_block", "write_atomically"]

CidLike = CID | str


def verified_block(cid: CidLike, read_raw: Callable[[CID], bytes]) -> bytes:
    """The block `read_raw` returns for `cid`, verified against the CID (a mismatch raises, as verify_block)."""
    parsed = CID.parse(cid)
    data = read_raw(parsed)
    verify_block(parsed, data)
    return data


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
    def iter_bytes(self, cid: CidLike) -> Iterator[bytes | memoryview]:
        """The file's bytes as a stream, every block verified before its bytes are yielded."""

    @abstractmethod
    def has(self, cid: CidLike) -> bool:
        """Whether the store holds the block locally (does not fetch it)."""

    def get_bytes(self, cid: CidLike) -> bytes:
        """The whole file in memory (verified); for small content such as manifests."""
        return b"".join(self.iter_bytes(cid))

    def get_file(self, cid: CidLike, dest: Path) -> int:
        """Write the verified file to `dest` (a temp file renamed at the end); return its size."""
        return write_atomically(self.iter_bytes(cid), Path(dest))

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
    def describe(self) -> str:
        """One line saying which store this is (for CLI output and logs)."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections and locks."""

    def __enter__(self) -> ContentStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
