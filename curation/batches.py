"""Batch manifest file format (JSON list of leaves), its check against the on-chain root, leaf item ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from curation.canonical import canonical_bytes
from curation.cid import CID, cid_text
from curation.errors import InvalidInput
from curation.merkle import Leaf, MerkleTree
from curation.safejson import loads
from curation.unixfs import compute_cid

__all__ = [
    "BATCH_MANIFEST_OVERHEAD_BYTES",
    "BATCH_SCHEMA",
    "LEAF_ID_BASE",
    "MAX_ITEM_REF_CHARS",
    "MAX_LEAF_CID_CHARS",
    "MAX_LEAF_JSON_BYTES",
    "BatchManifest",
    "BatchManifestMismatch",
    "InvalidItemRef",
    "batch_manifest_max_bytes",
    "build_batch_manifest",
    "item_ref",
    "leaf_for_bytes",
    "leaf_item_id",
    "parse_batch_manifest",
    "parse_item_ref",
    "split_item_id",
    "verify_batch_manifest",
]

BATCH_SCHEMA: Final = "curation-commons/batch/v1"
#: Item ids of batch leaves start here: leaf i of batch b is LEAF_ID_BASE + b * 2**32 + i. Single items keep
#: their registry ids (sequential from 1, far below 2**64), so the two ranges never meet and single items
#: sort before batch leaves, leaves by (batch, index).
LEAF_ID_BASE: Final = 1 << 64
_U32: Final = 1 << 32

# Format limits of a batch manifest: facts about content, the same on every machine (docs/storage.md).
#: Longest CID text of a leaf: every CID form the parser accepts (a 128-byte identity CID in base32 is 214
#: characters) and the `0x` hex of up to 127 bytes that are not a CID.
MAX_LEAF_CID_CHARS: Final = 256
#: Bytes a leaf may take in a batch manifest. A canonical leaf with every field at its maximum and a 256-character
#: CID takes 459 bytes (a base32 CIDv1 leaf 262 at most, about 220 in practice); the rest allows whitespace.
MAX_LEAF_JSON_BYTES: Final = 512
#: Bytes of a batch manifest besides its leaves (schema, count, root, brackets: 135 canonically at most).
BATCH_MANIFEST_OVERHEAD_BYTES: Final = 4096
# Nesting of a batch manifest: object > leaves array > leaf object, and room for unknown fields.
_MAX_DEPTH: Final = 8
_UINT64_DIGITS: Final = 20
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_SHA256 = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_ROOT = re.compile(r"0x[0-9a-fA-F]{64}")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_LONG_NUMBER = re.compile(rf"-?[0-9]{{{_UINT64_DIGITS + 1},}}")
_KEY_BEFORE = re.compile(r'"([^"\\]{1,40})"\s*:\s*\Z')
_LEAVES_KEY = re.compile(r'"leaves"\s*:\s*\[')
# (field, largest value) of a leaf's integer fields, in the order of the leaf encoding
_UINT_FIELDS: Final = (
    ("index", _U32 - 1),
    ("size", (1 << 64) - 1),
    ("license_id", (1 << 16) - 1),
    ("consent", (1 << 16) - 1),
    ("expiry", (1 << 64) - 1),
)


class BatchManifestMismatch(InvalidInput):
    """A batch manifest does not match its on-chain batch (Merkle root or leaf count), or is malformed."""


def batch_manifest_max_bytes(count: int) -> int:
    """Format limit: the most bytes a valid batch manifest of `count` leaves can take.

    `BATCH_MANIFEST_OVERHEAD_BYTES + count * MAX_LEAF_JSON_BYTES`; a larger file is not a valid manifest of
    that batch whatever it holds (verify_batch_manifest refuses it before parsing), so a reader can stop at
    this many bytes, and the answer is the same on every machine. 1,000,000 leaves: 512,004,096 bytes.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _U32:
        raise InvalidInput(f"a batch has 0..2**32 leaves, not {count!r}")
    return BATCH_MANIFEST_OVERHEAD_BYTES + count * MAX_LEAF_JSON_BYTES


def leaf_item_id(batch_id: int, index: int) -> int:
    """The stable integer item id of leaf `index` of batch `batch_id` (see LEAF_ID_BASE)."""
    if batch_id < 1 or not 0 <= index < _U32:
        raise InvalidInput(
            f"no leaf item id for batch {batch_id} leaf {index}: batch ids start at 1, leaf < 2**32"
        )
    return LEAF_ID_BASE + batch_id * _U32 + index


def split_item_id(item_id: int) -> tuple[int, int] | None:
    """(batch id, leaf index) of a leaf item id; None for a single item's id."""
    if item_id < LEAF_ID_BASE:
        return None
    return divmod(item_id - LEAF_ID_BASE, _U32)


def item_ref(item_id: int) -> str:
    """Human-readable reference: `item:5` for a single item, `batch:3:7` for leaf 7 of batch 3."""
    split = split_item_id(item_id)
    return f"item:{item_id}" if split is None else f"batch:{split[0]}:{split[1]}"


#: Longest text parse_item_ref reads: `batch:` and a 20-digit batch id and 10-digit leaf index, with room for
#: surrounding spaces. Longer text is refused before it is looked at.
MAX_ITEM_REF_CHARS: Final = 64
_ITEM_REF = re.compile(r"(?:item:)?([0-9]{1,20})|batch:([0-9]{1,20}):([0-9]{1,10})", re.ASCII)


class InvalidItemRef(InvalidInput):
    """Text that is not an item reference: `5` or `item:5` (a single item), `batch:3:7` (leaf 7 of batch 3)."""


def parse_item_ref(text: str) -> int:
    """The item id that `text` names, the inverse of item_ref: `5` or `item:5` for a single item, `batch:3:7` for
    leaf 7 of batch 3 (case and surrounding spaces ignored); InvalidItemRef says what is wrong otherwise."""
    if len(text) > MAX_ITEM_REF_CHARS:
        raise InvalidItemRef(
            f"an item reference is at most {MAX_ITEM_REF_CHARS} characters, this one has {len(text)}"
        )
    match = _ITEM_REF.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidItemRef(f"{text!r} is not an item id (5, item:5) or a batch leaf (batch:3:7)")
    single, batch, leaf = match.groups()
    if single is not None:
        item_id = int(single)
        if item_id >= LEAF_ID_BASE:
            split = split_item_id(item_id)
            if split is not None and split[0] >= 1:
                raise InvalidItemRef(f"{item_id} is the item id of a batch leaf: name it {item_ref(item_id)}")
            raise InvalidItemRef(f"{text!r}: single item ids run from 1 to {LEAF_ID_BASE - 1}")
        if item_id < 1:
            raise InvalidItemRef(f"{text!r}: item ids start at 1")
        return item_id
    batch_id, index = int(batch), int(leaf)
    if not 1 <= batch_id < LEAF_ID_BASE:
        raise InvalidItemRef(f"{text!r}: batch ids run from 1 to {LEAF_ID_BASE - 1}")
    if index >= _U32:
        raise InvalidItemRef(f"{text!r}: leaf indexes run from 0 to {_U32 - 1}")
    return leaf_item_id(batch_id, index)


def leaf_for_bytes(index: int, data: bytes, license_id: int, consent: int, expiry: int = 0) -> Leaf:
    """The leaf of content `data` (CIDv1 as `ipfs add --cid-version=1 --raw-leaves` computes it)."""
    import hashlib

    cid = compute_cid(data).cid
    return Leaf(
        index, cid.to_bytes(), hashlib.sha256(data).digest(), len(data), license_id, int(consent), expiry
    )


@dataclass(frozen=True)
class BatchManifest:
    """The leaves a batch manifest lists (indices 0..n-1) and their Merkle root."""

    leaves: tuple[Leaf, ...]
    root: bytes

    @property
    def count(self) -> int:
        return len(self.leaves)


def build_batch_manifest(leaves: Sequence[Leaf]) -> bytes:
    """Canonical JSON bytes of the batch manifest listing `leaves` (indices 0..n-1 in order).

    `{"schema": "curation-commons/batch/v1", "count": n, "root": "0x..", "leaves": [{"index", "cid",
    "sha256", "size", "license_id", "consent", "expiry"}]}`; size and expiry are decimal strings (uint64),
    cid is the CID text (or 0x hex of bytes that are not a CID), sha256 is 64 hex digits.
    """
    tree = MerkleTree.from_leaves(leaves)
    cids = [cid_text(leaf.cid) or "0x" for leaf in leaves]  # no bytes: "0x", which reads back as b""
    for leaf, text in zip(leaves, cids, strict=True):
        if len(text) > MAX_LEAF_CID_CHARS:
            raise InvalidInput(
                f"leaf {leaf.index}: its CID is {len(text)} characters as text, over the "
                f"{MAX_LEAF_CID_CHARS} a batch manifest allows (give the CID of the content)"
            )
    doc = {
        "schema": BATCH_SCHEMA,
        "count": len(leaves),
        "root": "0x" + tree.root.hex(),
        "leaves": [
            {
                "index": leaf.index,
                "cid": cid,
                "sha256": leaf.sha256.hex(),
                "size": str(leaf.size),
                "license_id": leaf.license_id,
                "consent": leaf.consent,
                "expiry": str(leaf.expiry),
            }
            for leaf, cid in zip(leaves, cids, strict=True)
        ],
    }
    return canonical_bytes(doc)


def _shown(value: Any) -> str:
    """A value from the document, short enough for an error message."""
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 24 else f"a {len(text)}-digit number"
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else f"a string of {len(value)} characters"
    kind = "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "value"
    return f"a JSON {kind}"


def _mismatch(pos: int, name: str, problem: str) -> BatchManifestMismatch:
    return BatchManifestMismatch(f"batch manifest leaf {pos}: {name} {problem}")


def _uint_field(leaf: dict[str, Any], name: str, top: int, pos: int) -> int:
    """An unsigned integer field, as a JSON integer or a decimal string (ASCII digits, no leading zero)."""
    if name not in leaf:
        raise _mismatch(pos, name, "is missing")
    value = leaf[name]
    if isinstance(value, str):
        if len(value) > _UINT64_DIGITS or not _DECIMAL.fullmatch(value):
            raise _mismatch(pos, name, f"must be a decimal integer in 0..{top}, got {_shown(value)}")
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _mismatch(pos, name, f"must be an integer in 0..{top}, got {_shown(value)}")
    if not 0 <= number <= top:
        raise _mismatch(pos, name, f"must be in 0..{top}, got {_shown(number)}")
    return number


def _cid_field(leaf: dict[str, Any], pos: int) -> bytes:
    value = leaf.get("cid")
    if not isinstance(value, str) or not value:
        raise _mismatch(pos, "cid", f"must be a CID string, got {_shown(value)}")
    if len(value) > MAX_LEAF_CID_CHARS:
        raise _mismatch(pos, "cid", f"is {len(value)} characters, over the limit of {MAX_LEAF_CID_CHARS}")
    if value.startswith("0x"):
        if not _HEX.fullmatch(value, 2):
            raise _mismatch(pos, "cid", f"{_shown(value)} is not 0x followed by pairs of hex digits")
        return bytes.fromhex(value[2:])
    try:
        return CID.parse(value).to_bytes()
    except (InvalidInput, ValueError) as exc:
        raise _mismatch(pos, "cid", f"{_shown(value)} is not a CID ({exc})") from None


def _parse_leaf(raw: Any, pos: int) -> Leaf:
    if not isinstance(raw, dict):
        raise BatchManifestMismatch(f"batch manifest leaf {pos} must be a JSON object, got {_shown(raw)}")
    index = _uint_field(raw, "index", _U32 - 1, pos)
    if index != pos:
        where = "repeats an earlier leaf's index" if index < pos else "skips indexes"
        raise _mismatch(pos, "index", f"is {index}, but {where}: leaves are listed by index, 0..n-1")
    cid = _cid_field(raw, pos)
    sha = raw.get("sha256")
    if "sha256" not in raw:
        raise _mismatch(pos, "sha256", "is missing")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise _mismatch(pos, "sha256", f"must be 64 hex digits, got {_shown(sha)}")
    size, license_id, consent, expiry = (_uint_field(raw, name, top, pos) for name, top in _UINT_FIELDS[1:])
    try:
        return Leaf(index, cid, bytes.fromhex(sha.removeprefix("0x")), size, license_id, consent, expiry)
    except InvalidInput as exc:  # the checks above cover every rule of Leaf; kept as a backstop
        raise BatchManifestMismatch(f"batch manifest leaf {pos}: {exc}") from None


def _where_long_number(text: str) -> str | None:
    """Where the first integer too long for any field is (leaf and field when it is in a leaf), else None.

    Only for the error message: strings are blanked (offsets kept) so that digits inside them do not count.
    """
    blank = _JSON_STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)
    found = _LONG_NUMBER.search(blank)
    if found is None:
        return None
    offset = found.start()
    key = _KEY_BEFORE.search(text, max(0, offset - 64), offset)
    field = f"{key.group(1)} " if key else ""
    leaf = ""
    for m in _LEAVES_KEY.finditer(text, 0, offset):
        if blank[m.start()] == '"' and blank[m.start() + 7] == '"':  # a key, not text inside a string
            depth, objects = 0, 0
            for char in blank[m.end() : offset]:
                if char in "[{":
                    depth += 1
                    objects += char == "{" and depth == 1
                elif char in "]}":
                    depth -= 1
                    if depth < 0:
                        break
            if depth >= 1 and objects:
                leaf = f"leaf {objects - 1}: "
            break
    digits = len(found.group().lstrip("-"))
    return f"batch manifest {leaf}{field}is a {digits}-digit number, more than any field holds (20 digits)"


def _parse_document(data: bytes, max_bytes: int | None) -> tuple[tuple[Leaf, ...], dict[str, Any]]:
    try:
        doc = loads(
            data,
            max_bytes=len(data) if max_bytes is None else max_bytes,
            max_depth=_MAX_DEPTH,
            what="the document",
        )
    except InvalidInput as exc:
        where = None
        if "digits" in str(exc):
            try:
                where = _where_long_number(data.decode("utf-8"))
            except UnicodeDecodeError:
                where = None
        raise BatchManifestMismatch(
            where or f"batch manifest is not UTF-8 JSON within limits: {exc}"
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != BATCH_SCHEMA:
        raise BatchManifestMismatch(f"batch manifest must be a JSON object with schema {BATCH_SCHEMA!r}")
    raw_leaves = doc.get("leaves")
    if not isinstance(raw_leaves, list) or not raw_leaves:
        raise BatchManifestMismatch("batch manifest must list at least one leaf under 'leaves'")
    if len(raw_leaves) > _U32:
        raise BatchManifestMismatch(f"batch manifest lists {len(raw_leaves)} leaves, more than 2**32")
    count = doc.get("count")
    if "count" in doc and (isinstance(count, bool) or count != len(raw_leaves)):
        raise BatchManifestMismatch(
            f"batch manifest says count {_shown(count)} but lists {len(raw_leaves)} leaves"
        )
    root = doc.get("root")
    if "root" in doc and not (isinstance(root, str) and _ROOT.fullmatch(root)):
        raise BatchManifestMismatch(f"batch manifest root must be 0x and 64 hex digits, got {_shown(root)}")
    return tuple(_parse_leaf(raw, pos) for pos, raw in enumerate(raw_leaves)), doc


def _tree_root(leaves: tuple[Leaf, ...], doc: dict[str, Any]) -> bytes:
    try:
        root = MerkleTree.from_leaves(leaves).root
    except InvalidInput as exc:  # indexes are checked leaf by leaf; kept as a backstop
        raise BatchManifestMismatch(f"batch manifest: {exc}") from None
    stated = doc.get("root")
    if isinstance(stated, str) and bytes.fromhex(stated[2:]) != root:
        raise BatchManifestMismatch(
            f"batch manifest says root {stated}, but its leaves hash to 0x{root.hex()}: it contradicts itself"
        )
    return root


def parse_batch_manifest(data: bytes, *, max_bytes: int | None = None) -> BatchManifest:
    """Leaves and root of a batch manifest; BatchManifestMismatch, naming the leaf and field, when malformed.

    Parsed through curation.safejson (at most `max_bytes` bytes, none when None: the caller bounded the read;
    nesting at most 8 deep). Integer fields are JSON integers or decimal strings of ASCII digits within their
    ABI range; cid is CID text or `0x` hex; sha256 is 64 hex digits; leaves are listed by index 0..n-1; the
    optional `count` and `root` fields must agree with the leaves. No other exception escapes for any input.
    """
    leaves, doc = _parse_document(bytes(data), max_bytes)
    return BatchManifest(leaves, _tree_root(leaves, doc))


def verify_batch_manifest(data: bytes, root: bytes, count: int) -> BatchManifest:
    """Parse `data` and check it is the batch whose on-chain root and leaf count are given.

    A file larger than `batch_manifest_max_bytes(count)` is refused before it is parsed.
    """
    limit = batch_manifest_max_bytes(count)
    if len(data) > limit:
        raise BatchManifestMismatch(
            f"batch manifest is {len(data)} bytes, more than the {limit} bytes a valid manifest of {count} "
            f"leaves can take ({MAX_LEAF_JSON_BYTES} a leaf)"
        )
    leaves, doc = _parse_document(bytes(data), limit)
    if len(leaves) != count:
        raise BatchManifestMismatch(
            f"batch manifest lists {len(leaves)} leaves, the on-chain batch has {count}"
        )
    manifest = BatchManifest(leaves, _tree_root(leaves, doc))
    if manifest.root != root:
        raise BatchManifestMismatch(
            f"batch manifest leaves hash to root 0x{manifest.root.hex()}, the on-chain root is 0x{root.hex()}"
        )
    return manifest
