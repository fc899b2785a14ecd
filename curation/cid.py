"""Content identifiers (CIDv0 and CIDv1): parse any text or binary form, normalise, encode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curation.errors import InvalidInput
from curation.multiformats import (
    IDENTITY,
    SHA2_256,
    b32_decode,
    b32_encode,
    b58_decode,
    b58_encode,
    multihash_encode,
    read_varint,
    varint,
)

__all__ = [
    "CID",
    "DAG_PB",
    "RAW",
    "SHA2_256",
    "cid_text",
    "cid_v0",
    "cid_v1_dag_pb",
    "cid_v1_raw",
    "normalize_cid",
    "parse_cid",
]

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
_KNOWN_CODECS = {RAW: "raw", DAG_PB: "dag-pb", DAG_CBOR: "dag-cbor"}
_KNOWN_HASHES = {SHA2_256: 32, IDENTITY: None}
# An identity CID inlines its content; Kubo caps inlining at 32 bytes, we accept up to 128 for others' nodes.
_MAX_IDENTITY = 128


@dataclass(frozen=True, slots=True)
class CID:
    """A parsed CID. `str()` gives base32 (`b...`) for v1 and base58btc (`Qm...`) for v0."""

    version: int
    codec: int
    hash_code: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise InvalidInput(f"unsupported CID version {self.version}")
        if self.version == 0 and (self.codec != DAG_PB or self.hash_code != SHA2_256):
            raise InvalidInput("a CIDv0 is always dag-pb with a sha2-256 multihash")
        if self.codec not in _KNOWN_CODECS:
            raise InvalidInput(f"unsupported CID codec 0x{self.codec:x} (expected raw 0x55 or dag-pb 0x70)")
        if self.hash_code not in _KNOWN_HASHES:
            raise InvalidInput(
                f"unsupported multihash function 0x{self.hash_code:x} (expected sha2-256 or identity)"
            )
        expected = _KNOWN_HASHES[self.hash_code]
        if expected is not None and len(self.digest) != expected:
            raise InvalidInput(f"a sha2-256 digest has 32 bytes, not {len(self.digest)}")
        if self.hash_code == IDENTITY and len(self.digest) > _MAX_IDENTITY:
            raise InvalidInput(f"identity CID inlines {len(self.digest)} bytes (max {_MAX_IDENTITY})")

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def parse(cls, value: str | bytes | bytearray | memoryview | CID) -> CID:
        """Parse a CID from its text form (v0 `Qm...`, multibase `b`/`B`/`z`/`f`/`F`) or binary form."""
        if isinstance(value, CID):
            return value
        if isinstance(value, str):
            return cls._parse_text(value)
        if isinstance(value, bytearray | memoryview | bytes):
            data = bytes(value)
            cid, end = cls.read(data, 0)
            if end != len(data):
                raise InvalidInput(f"{len(data) - end} trailing bytes after the CID")
            return cid
        raise InvalidInput(f"cannot parse a CID from {type(value).__name__}")

    @classmethod
    def read(cls, data: bytes | memoryview, pos: int = 0) -> tuple[CID, int]:
        """Read a binary CID at data[pos:] (as inside dag-pb links and CAR sections); return (cid, end)."""
        if len(data) - pos >= 2 and data[pos] == 0x12 and data[pos + 1] == 0x20:
            end = pos + 34
            if end > len(data):
                raise InvalidInput("truncated CIDv0")
            return cls(0, DAG_PB, SHA2_256, bytes(data[pos + 2 : end])), end
        version, pos = read_varint(data, pos)
        if version != 1:
            raise InvalidInput(f"unsupported CID version {version} in binary CID")
        codec, pos = read_varint(data, pos)
        hash_code, pos = read_varint(data, pos)
        length, pos = read_varint(data, pos)
        end = pos + length
        if end > len(data):
            raise InvalidInput("truncated multihash in binary CID")
        return cls(1, codec, hash_code, bytes(data[pos:end])), end

    @classmethod
    def _parse_text(cls, text: str) -> CID:
        s = text.strip()
        if s.startswith("/ipfs/"):
            s = s[len("/ipfs/") :]
        if not s:
            raise InvalidInput("empty CID")
        try:
            if len(s) == 46 and s.startswith("Qm"):
                raw = b58_decode(s)
                if len(raw) != 34 or raw[:2] != b"\x12\x20":
                    raise InvalidInput("not a sha2-256 multihash")
                return cls(0, DAG_PB, SHA2_256, raw[2:])
            prefix, body = s[0], s[1:]
            if prefix in "bB":
                raw = b32_decode(body)
            elif prefix == "z":
                raw = b58_decode(body)
            elif prefix in "fF":
                raw = bytes.fromhex(body)
            else:
                raise InvalidInput(f"unknown multibase prefix {prefix!r}")
            if raw[:1] != b"\x01":
                raise InvalidInput("a multibase CID must be version 1")
            return cls.parse(raw)
        except InvalidInput as exc:
            raise InvalidInput(f"invalid CID {text!r}: {exc}") from None
        except ValueError as exc:
            raise InvalidInput(f"invalid CID {text!r}: {exc}") from None

    # -- encoding ----------------------------------------------------------------------------------
    @property
    def multihash(self) -> bytes:
        """The binary multihash (function code, length, digest)."""
        return multihash_encode(self.hash_code, self.digest)

    @property
    def codec_name(self) -> str:
        """`raw`, `dag-pb` or `dag-cbor`."""
        return _KNOWN_CODECS[self.codec]

    def to_bytes(self) -> bytes:
        """Binary form: the bare multihash for v0; varint(1) varint(codec) multihash for v1."""
        if self.version == 0:
            return self.multihash
        return varint(1) + varint(self.codec) + self.multihash

    def encode(self, base: str = "base32") -> str:
        """Text form in `base32` (default, v1 only), `base58btc` or `base16`; v0 is always base58."""
        if self.version == 0:
            return b58_encode(self.multihash)
        raw = self.to_bytes()
        if base == "base32":
            return "b" + b32_encode(raw)
        if base == "base58btc":
            return "z" + b58_encode(raw)
        if base == "base16":
            return "f" + raw.hex()
        raise InvalidInput(f"unknown multibase {base!r} (expected base32, base58btc or base16)")

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"CID({self.encode()!r})"

    def to_v1(self) -> CID:
        """The same content as a CIDv1 (a v0 becomes dag-pb v1, `bafybei...`)."""
        return self if self.version == 1 else CID(1, self.codec, self.hash_code, self.digest)

    def to_v0(self) -> CID:
        """The CIDv0 of a dag-pb sha2-256 CID; other CIDs have no v0 form."""
        if self.codec != DAG_PB or self.hash_code != SHA2_256:
            raise InvalidInput(f"{self} has no CIDv0 form (only dag-pb sha2-256 CIDs do)")
        return CID(0, DAG_PB, SHA2_256, self.digest)

    # -- pydantic integration (a CID field validates from text/bytes and serialises as text) --------
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(),
        )


def parse_cid(value: str | bytes | bytearray | memoryview | CID) -> CID:
    """Parse any CID text or binary form; raise InvalidInput that says what was wrong."""
    return CID.parse(value)


def normalize_cid(value: str | bytes | CID) -> str:
    """Canonical text: base32 for v1 (whatever base it came in), `Qm...` for v0."""
    return str(CID.parse(value))


def cid_v1_raw(sha256_digest: bytes) -> CID:
    """CIDv1 raw (0x55) of a sha2-256 digest: what `ipfs add --cid-version=1` gives a file up to 256 KiB."""
    return CID(1, RAW, SHA2_256, bytes(sha256_digest))


def cid_v1_dag_pb(sha256_digest: bytes) -> CID:
    """CIDv1 dag-pb (0x70) of a sha2-256 digest of a dag-pb block."""
    return CID(1, DAG_PB, SHA2_256, bytes(sha256_digest))


def cid_v0(sha256_digest: bytes) -> CID:
    """CIDv0 (`Qm...`) of a sha2-256 digest of a dag-pb block."""
    return CID(0, DAG_PB, SHA2_256, bytes(sha256_digest))


#: Binary prefixes of the CIDv1 sha2-256 forms items use (raw leaves, dag-pb): their text is base32 of the
#: bytes, computed directly (a manifest formats a million of them; CID.parse is the general path).
_V1_SHA256_PREFIXES = (b"\x01\x55\x12\x20", b"\x01\x70\x12\x20")


def cid_text(raw: bytes) -> str:
    """The text of CID bytes read from the chain or written into a manifest: the CID's canonical text
    (base32 `b...` for v1, `Qm...` for v0) when `raw` is exactly one CID, else `0x` and the hex of the bytes.

    No bytes give "" (an unset CID field, e.g. a dataset without a description): manifests write that, and
    a format that must tell "no bytes" from "no field" (a batch manifest's leaf) writes `cid_text(b) or "0x"`.
    """
    if not raw:
        return ""
    if len(raw) == 36 and raw[:4] in _V1_SHA256_PREFIXES:
        return "b" + b32_encode(raw)
    try:
        cid = CID.parse(raw)
    except InvalidInput:
        return "0x" + raw.hex()
    return str(cid) if cid.to_bytes() == raw else "0x" + raw.hex()
