"""An item's bytes checked against what its contributor declared: size, sha256, and the CIDs they have.

A claimed fact about bytes must never buy weight the bytes do not back. Before a release weights an item,
the backend streams the item's bytes from a content store (every block verified against the CID), and
`ContentChecker` turns what was read into a `ContentCheck`: either the bytes match the declared size and
sha256, or a `problem` sentence that any machine re-reading the same bytes writes identically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from curation.cid import CID, RAW
from curation.multiformats import SHA2_256
from curation.unixfs import CHUNK_SIZE, FileImporter

__all__ = ["ContentCheck", "ContentChecker", "content_cids", "too_large_problem", "unreadable_problem"]


@dataclass(frozen=True, slots=True)
class ContentCheck:
    """The outcome of reading one item's bytes.

    `problem` is None when the bytes match the declared size and sha256; `cids` then holds the binary CIDs
    the same bytes have under the standard import profiles (raw CIDv1, dag-pb CIDv0 and its CIDv1 form,
    dag-pb CIDv1 with raw leaves), which is how a claim of the same content under another CID is recognised.
    """

    item_id: int
    problem: str | None
    sha256: bytes = b""
    cids: tuple[bytes, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


def too_large_problem(declared_size: int) -> str:
    """The problem of bytes that run past the declared size (reading stops at the first byte over)."""
    return f"the content is larger than its declared {declared_size} bytes"


def unreadable_problem(cid_text: str, why: str) -> str:
    """The problem of a CID whose DAG is not a well-formed UnixFS file (a fact about the content)."""
    return f"the content under {cid_text} is not a readable file: {why}"


class ContentChecker:
    """Feed an item's bytes in any chunking; `finish()` compares them with the declared facts."""

    def __init__(self, item_id: int, declared_size: int, declared_sha256: bytes) -> None:
        self._item_id = item_id
        self._size = declared_size
        self._sha = declared_sha256
        self._read = 0
        self._hash = hashlib.sha256()
        self._v0 = FileImporter(cid_version=0)
        self._v1 = FileImporter(cid_version=1)
        self._pending = bytearray()

    @property
    def read(self) -> int:
        """Bytes fed so far."""
        return self._read

    def _push(self, chunk: bytes) -> None:
        self._v0.push(chunk)
        self._v1.push(chunk)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Account for the next bytes of the file (the caller stops reading past the declared size)."""
        self._read += len(data)
        self._hash.update(data)
        self._pending += data
        while len(self._pending) >= CHUNK_SIZE:
            self._push(bytes(self._pending[:CHUNK_SIZE]))
            del self._pending[:CHUNK_SIZE]

    def finish(self) -> ContentCheck:
        digest = self._hash.digest()
        if self._read > self._size:
            return ContentCheck(self._item_id, too_large_problem(self._size), digest)
        if self._read != self._size:
            return ContentCheck(
                self._item_id, f"the content is {self._read} bytes, its declared size is {self._size}", digest
            )
        if digest != self._sha:
            return ContentCheck(
                self._item_id,
                f"the content's sha256 is {digest.hex()}, the declared one is {self._sha.hex()}",
            )
        if self._pending:
            self._push(bytes(self._pending))
        self._v0.finish()
        self._v1.finish()
        v0 = self._v0.result.cid
        cids = content_cids(digest, v0, v0.to_v1(), self._v1.result.cid)
        return ContentCheck(self._item_id, None, digest, cids)


def content_cids(sha256: bytes, *dag_roots: CID) -> tuple[bytes, ...]:
    """The binary CIDs of content with this sha256: its raw CIDv1 plus the given dag-pb roots (sorted)."""
    raw = CID(1, RAW, SHA2_256, sha256)
    return tuple(sorted({raw.to_bytes(), *(root.to_bytes() for root in dag_roots)}))
