"""Embedded content store: a directory of blocks keyed by multihash, with pins, GC and CAR files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from backend.errors import StoreError
from backend.ipfs.base import CidLike, ContentStore, StoreSpec, check_source_file, read_file, verified_block
from backend.ipfs.errors import ContentNotFound
from curation.blocks import MAX_BLOCK_SIZE, check_block_size, verify_block
from curation.car import read_car, write_car
from curation.cid import CID
from curation.multiformats import IDENTITY, b32_encode
from curation.unixfs import Block, ImportedFile, import_bytes, import_stream, link_cids

__all__ = ["EmbeddedStore"]


def _remove(created: list[Path]) -> None:
    """Undo a failed put: delete the block files it created (best effort)."""
    for path in created:
        with contextlib.suppress(OSError):
            path.unlink()


class EmbeddedStore(ContentStore):
    """Blocks as files under `root/blocks/<shard>/<multihash>`; pins as files under `root/pins`.

    Writes go to a temp file and are renamed into place, so a block file is always whole. A put pins its
    root only after every block is stored; a failed put removes the blocks it added. Puts take a shared
    lock and `gc` an exclusive one, so a collection never races a write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._tmp = self.root / "tmp"
        try:
            for d in (self._blocks, self._pins, self._tmp):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the block store at {self.root}: {exc.strerror}") from None

    def describe(self) -> str:
        return f"embedded block store at {self.root}"

    def spec(self) -> StoreSpec | None:
        return StoreSpec("embedded", str(self.root.absolute())) if type(self) is EmbeddedStore else None

    # -- layout and locking -------------------------------------------------------------------------
    def _path(self, cid: CID) -> Path:
        key = b32_encode(cid.multihash)
        return self._blocks / key[-3:-1] / key

    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        with open(self.root / "lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write_block(self, cid: CID, data: bytes | memoryview) -> Path | None:
        """Store one block; return its path if it was new, None if it was already there."""
        if cid.hash_code == IDENTITY:
            return None
        path = self._path(cid)
        if path.exists():
            return None
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, suffix=".block")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(f"cannot write block {cid} to {self.root}: {exc.strerror}") from None
        return path

    def _store_blocks(self, blocks: Iterable[Block | tuple[CID, bytes]]) -> list[Path]:
        """Write blocks; on any failure remove the ones this call created, then re-raise."""
        created: list[Path] = []
        try:
            for item in blocks:
                cid, data = (item.cid, item.data) if isinstance(item, Block) else item
                path = self._write_block(cid, data)
                if path is not None:
                    created.append(path)
        except BaseException:
            _remove(created)
            raise
        return created

    def _read_raw(self, cid: CID) -> bytes:
        if cid.hash_code == IDENTITY:
            return cid.digest
        try:
            with open(self._path(cid), "rb") as fh:
                data = fh.read(MAX_BLOCK_SIZE + 1)  # never more than a block, whatever the file holds
        except FileNotFoundError:
            raise ContentNotFound(f"block {cid} is not in the {self.describe()}") from None
        except OSError as exc:
            raise StoreError(f"cannot read block {cid}: {exc.strerror}") from None
        if len(data) > MAX_BLOCK_SIZE:
            raise StoreError(
                f"the block file of {cid} in the {self.describe()} is larger than any IPFS block "
                f"({MAX_BLOCK_SIZE} bytes): the store is damaged; delete {self._path(cid)} and fetch it again"
            )
        return data

    def _walk(self, root: CID) -> Iterator[tuple[CID, bytes]]:
        """Every block of the DAG under root, depth-first pre-order, each once, verified."""
        seen: set[bytes] = set()
        stack = [root]
        while stack:
            cid = stack.pop()
            if cid.multihash in seen:
                continue
            seen.add(cid.multihash)
            data = self._read_raw(cid)
            verify_block(cid, data)
            yield cid, data
            stack.extend(reversed(link_cids(data, cid)))

    # -- writes ---------------------------------------------------------------------------------------
    def _put(self, blocks: Iterator[Block], pin: bool) -> ImportedFile:
        with self._lock(exclusive=False):
            created: list[Path] = []
            try:
                while True:
                    try:
                        block = next(blocks)
                    except StopIteration as stop:
                        result: ImportedFile = stop.value
                        break
                    path = self._write_block(block.cid, block.data)
                    if path is not None:
                        created.append(path)
                if pin:
                    self._pin_unchecked(result.cid)
            except BaseException:
                _remove(created)
                raise
            return result

    def put_bytes(self, data: bytes | memoryview, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        return self._put(import_bytes(data, cid_version=cid_version), pin)

    def put_file(self, path: Path, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        path = check_source_file(Path(path))
        try:
            with open(path, "rb") as fh:
                return self._put(import_stream(fh, cid_version=cid_version), pin)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from None

    def put_block(self, cid: CidLike, data: bytes) -> None:
        """Store one block after checking it against its CID."""
        cid = CID.parse(cid)
        check_block_size(cid, len(data))
        verify_block(cid, data)
        with self._lock(exclusive=False):
            self._write_block(cid, data)

    # -- reads ----------------------------------------------------------------------------------------
    def get_block(self, cid: CidLike) -> bytes:
        return verified_block(cid, self._read_raw)

    def iter_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> Iterator[bytes | memoryview]:
        return read_file(CID.parse(cid), self._read_raw, max_bytes=max_bytes)

    def has(self, cid: CidLike) -> bool:
        cid = CID.parse(cid)
        return cid.hash_code == IDENTITY or self._path(cid).is_file()

    # -- pins and GC ----------------------------------------------------------------------------------
    def _pin_path(self, cid: CID) -> Path:
        return self._pins / str(cid)

    def _pin_unchecked(self, cid: CID) -> None:
        path = self._pin_path(cid)
        if path.exists():
            return
        fd, tmp = tempfile.mkstemp(dir=self._tmp, suffix=".pin")
        os.close(fd)
        os.replace(tmp, path)

    def pin(self, cid: CidLike) -> None:
        cid = CID.parse(cid)
        with self._lock(exclusive=False):
            for _ in self._walk(cid):  # a pin needs the whole DAG present and intact
                pass
            self._pin_unchecked(cid)

    def unpin(self, cid: CidLike) -> None:
        cid = CID.parse(cid)
        path = self._pin_path(cid)
        if not path.exists():
            raise ContentNotFound(f"{cid} is not pinned in the {self.describe()}")
        path.unlink()

    def pins(self) -> list[CID]:
        found = []
        for entry in self._pins.iterdir():
            with contextlib.suppress(Exception):
                found.append(CID.parse(entry.name))
        return sorted(found, key=str)

    def gc(self) -> int:
        with self._lock(exclusive=True):
            live: set[Path] = set()
            for root in self.pins():
                stack = [root]
                while stack:
                    cid = stack.pop()
                    path = self._path(cid)
                    if path in live or cid.hash_code == IDENTITY:
                        continue
                    live.add(path)
                    if cid.codec != 0x55:  # raw blocks have no links: no need to read them
                        with contextlib.suppress(ContentNotFound):
                            stack.extend(link_cids(self._read_raw(cid), cid))
            removed = 0
            for shard in self._blocks.iterdir():
                for path in shard.iterdir():
                    if path not in live:
                        path.unlink()
                        removed += 1
            for leftover in self._tmp.iterdir():  # files of writers that crashed
                with contextlib.suppress(OSError):
                    leftover.unlink()
            return removed

    # -- CAR ------------------------------------------------------------------------------------------
    def export_car(self, root: CidLike, out: BinaryIO) -> int:
        cid = CID.parse(root)
        if not self.has(cid):
            raise ContentNotFound(f"block {cid} is not in the {self.describe()}")
        return write_car(out, [cid], self._walk(cid))

    def import_car(self, src: BinaryIO, *, pin: bool = True) -> list[CID]:
        roots, sections = read_car(src)
        with self._lock(exclusive=False):
            created = self._store_blocks(sections)
            try:
                for root in roots:
                    for _ in self._walk(root):  # every root must be complete before it is pinned
                        pass
                if pin:
                    for root in roots:
                        self._pin_unchecked(root)
            except BaseException:
                _remove(created)
                raise
        return roots
