"""Multiformats primitives for CIDs: unsigned varints, base32/base58btc/base16 and sha2-256 multihashes."""

from __future__ import annotations

import base64
import binascii
import hashlib

from curation.errors import InvalidInput

__all__ = [
    "IDENTITY",
    "SHA2_256",
    "b32_decode",
    "b32_encode",
    "b58_decode",
    "b58_encode",
    "multihash_digest",
    "multihash_encode",
    "read_varint",
    "varint",
]

SHA2_256 = 0x12
IDENTITY = 0x00

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
# A varint longer than 9 bytes cannot be an unsigned 63-bit value (the multiformats limit).
_MAX_VARINT_BYTES = 9


def varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint (multiformats and protobuf)."""
    if value < 0:
        raise InvalidInput(f"a varint cannot encode a negative number ({value})")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint at data[pos:]; return (value, position after it)."""
    result = 0
    shift = 0
    end = len(data)
    start = pos
    while True:
        if pos >= end:
            raise InvalidInput("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and pos - start > 1:
                raise InvalidInput("varint is not minimally encoded")
            return result, pos
        shift += 7
        if pos - start >= _MAX_VARINT_BYTES:
            raise InvalidInput("varint is longer than 9 bytes")


def b32_encode(data: bytes) -> str:
    """RFC 4648 base32, lower case, no padding (multibase prefix `b` not included)."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32_decode(text: str) -> bytes:
    """Decode RFC 4648 base32 without padding, either case."""
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"not valid base32: {text!r}") from exc


def b58_encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (multibase `z`, and the CIDv0 text form)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(out))


def b58_decode(text: str) -> bytes:
    """Decode bitcoin-alphabet base58."""
    n = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise InvalidInput(f"not valid base58btc: character {ch!r} in {text!r}")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def multihash_encode(code: int, digest: bytes) -> bytes:
    """Wrap a digest as a multihash: varint(code) varint(length) digest."""
    return varint(code) + varint(len(digest)) + digest


def multihash_digest(code: int, data: bytes | memoryview) -> bytes:
    """Compute the digest of `data` for multihash function `code` (sha2-256 or identity)."""
    if code == SHA2_256:
        return hashlib.sha256(data).digest()
    if code == IDENTITY:
        return bytes(data)
    raise InvalidInput(f"unsupported multihash function 0x{code:x} (only sha2-256 and identity)")
