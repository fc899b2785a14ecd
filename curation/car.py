"""CARv1 archives (as `ipfs dag export/import` write and read them): streaming writer and verifying reader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from curation.blocks import MAX_BLOCK_SIZE, check_block_size, verify_block
from curation.cid import CID
from curation.errors import InvalidInput
from curation.multiformats import read_varint, varint

__all__ = ["CarError", "encode_header", "read_car", "write_car"]

# A section is a CID (well under 1 KiB) and a block of at most MAX_BLOCK_SIZE; nothing larger is read.
_MAX_SECTION = MAX_BLOCK_SIZE + 1024
_MAX_HEADER = 64 * 1024


class CarError(InvalidInput):
    """A CAR stream is malformed (bad header, truncated section, block not matching its CID)."""


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes((major << 5 | value,))
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes((major << 5 | info,)) + value.to_bytes(size, "big")
    raise CarError("CBOR value too large")


def encode_header(roots: Iterable[CID]) -> bytes:
    """DAG-CBOR `{"roots": [CID...], "version": 1}` (keys in canonical order), without the length prefix."""
    roots = list(roots)
    out = bytearray(b"\xa2")
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\x00" + root.to_bytes()  # tag 42 holds the binary CID behind a 0x00 multibase prefix
        out += b"\xd8\x2a" + _cbor_head(2, len(raw)) + raw
    out += _cbor_head(3, 7) + b"version" + b"\x01"
    return bytes(out)


def write_car(out: BinaryIO, roots: Iterable[CID], blocks: Iterable[tuple[CID, bytes | memoryview]]) -> int:
    """Write a CARv1 to `out`; return the number of bytes written."""
    header = encode_header(roots)
    written = out.write(varint(len(header)) + header)
    for cid, data in blocks:
        raw = cid.to_bytes()
        written += out.write(varint(len(raw) + len(data)) + raw)
        written += out.write(data)
    return written


class _Cbor:
    """Just enough DAG-CBOR decoding for a CAR header."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CarError("truncated CAR header")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _head(self) -> tuple[int, int]:
        first = self._take(1)[0]
        major, info = first >> 5, first & 31
        if info < 24:
            return major, info
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise CarError("unsupported CBOR item in CAR header")
        return major, int.from_bytes(self._take(sizes[info]), "big")

    def item(self) -> object:
        major, value = self._head()
        if major == 0:
            return value
        if major in (2, 3):
            raw = self._take(value)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            return [self.item() for _ in range(value)]
        if major == 5:
            result: dict[object, object] = {}
            for _ in range(value):
                key = self.item()
                result[key] = self.item()
            return result
        if major == 6 and value == 42:
            tagged = self.item()
            if not isinstance(tagged, bytes) or tagged[:1] != b"\x00":
                raise CarError("bad CID in CAR header")
            return CID.parse(tagged[1:])
        raise CarError(f"unsupported CBOR major type {major} in CAR header")


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    while len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            raise CarError(f"truncated CAR: expected {n} bytes, got {len(data)}")
        data += more
    return data


def _read_varint(stream: BinaryIO) -> int | None:
    raw = bytearray()
    while True:
        byte = stream.read(1)
        if not byte:
            if raw:
                raise CarError("truncated varint in CAR")
            return None
        raw += byte
        if not byte[0] & 0x80:
            return read_varint(bytes(raw))[0]
        if len(raw) > 9:
            raise CarError("varint too long in CAR")


def read_car(stream: BinaryIO) -> tuple[list[CID], Iterator[tuple[CID, bytes]]]:
    """Read the header now; return (roots, iterator of verified (cid, block)).

    A block whose bytes do not match its CID raises BlockMismatch when the iterator reaches it.
    """
    length = _read_varint(stream)
    if length is None or length == 0 or length > _MAX_HEADER:
        raise CarError("not a CAR file: missing or oversized header")
    header = _Cbor(_read_exact(stream, length)).item()
    if not isinstance(header, dict) or header.get("version") != 1:
        raise CarError("not a CARv1 file (header version is not 1)")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise CarError("CAR header has no list of root CIDs")
    root_cids: list[CID] = [r for r in roots if isinstance(r, CID)]

    def sections() -> Iterator[tuple[CID, bytes]]:
        while True:
            size = _read_varint(stream)
            if size is None:
                return
            if size > _MAX_SECTION:
                raise CarError(f"CAR section of {size} bytes is larger than any IPFS block")
            section = _read_exact(stream, size)
            try:
                cid, pos = CID.read(section, 0)
            except InvalidInput as exc:
                raise CarError(f"bad CID in CAR section: {exc}") from None
            data = section[pos:]
            check_block_size(cid, len(data))
            verify_block(cid, data)
            yield cid, data

    return root_cids, sections()
