"""Batch manifest file format (JSON list of leaves), its check against the on-chain root, leaf item ids."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from curation.canonical import canonical_bytes
from curation.cid import CID
from curation.errors import InvalidInput
from curation.merkle import Leaf, MerkleTree
from curation.unixfs import compute_cid

__all__ = [
    "BATCH_SCHEMA",
    "LEAF_ID_BASE",
    "BatchManifest",
    "BatchManifestMismatch",
    "build_batch_manifest",
    "item_ref",
    "leaf_for_bytes",
    "leaf_item_id",
    "parse_batch_manifest",
    "split_item_id",
    "verify_batch_manifest",
]

BATCH_SCHEMA: Final = "curation-commons/batch/v1"
#: Item ids of batch leaves start here: leaf i of batch b is LEAF_ID_BASE + b * 2**32 + i. Single items keep
#: their registry ids (sequential from 1, far below 2**64), so the two ranges never meet and single items
#: sort before batch leaves, leaves by (batch, index).
LEAF_ID_BASE: Final = 1 << 64
_U32: Final = 1 << 32


class BatchManifestMismatch(InvalidInput):
    """A batch manifest does not match its on-chain batch (Merkle root or leaf count), or is malformed."""


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


def _cid_text(raw: bytes) -> str:
    try:
        cid = CID.parse(raw)
    except InvalidInput:
        return "0x" + raw.hex()
    return str(cid) if cid.to_bytes() == raw else "0x" + raw.hex()


def build_batch_manifest(leaves: Sequence[Leaf]) -> bytes:
    """Canonical JSON bytes of the batch manifest listing `leaves` (indices 0..n-1 in order).

    `{"schema": "curation-commons/batch/v1", "count": n, "root": "0x..", "leaves": [{"index", "cid",
    "sha256", "size", "license_id", "consent", "expiry"}]}`; size and expiry are decimal strings (uint64),
    cid is the CID text (or 0x hex of bytes that are not a CID), sha256 is 64 hex digits.
    """
    tree = MerkleTree.from_leaves(leaves)
    doc = {
        "schema": BATCH_SCHEMA,
        "count": len(leaves),
        "root": "0x" + tree.root.hex(),
        "leaves": [
            {
                "index": leaf.index,
                "cid": _cid_text(leaf.cid),
                "sha256": leaf.sha256.hex(),
                "size": str(leaf.size),
                "license_id": leaf.license_id,
                "consent": leaf.consent,
                "expiry": str(leaf.expiry),
            }
            for leaf in leaves
        ],
    }
    return canonical_bytes(doc)


def _int_field(leaf: dict[str, Any], name: str, pos: int) -> int:
    value = leaf.get(name)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BatchManifestMismatch(
        f"batch manifest leaf {pos}: {name} must be a non-negative integer, got {value!r}"
    )


def _parse_leaf(raw: Any, pos: int) -> Leaf:
    if not isinstance(raw, dict):
        raise BatchManifestMismatch(f"batch manifest leaf {pos} is not an object")
    cid_value = raw.get("cid")
    if not isinstance(cid_value, str) or not cid_value:
        raise BatchManifestMismatch(f"batch manifest leaf {pos}: cid must be a CID string")
    try:
        cid = bytes.fromhex(cid_value[2:]) if cid_value.startswith("0x") else CID.parse(cid_value).to_bytes()
    except (InvalidInput, ValueError):
        raise BatchManifestMismatch(f"batch manifest leaf {pos}: {cid_value!r} is not a CID") from None
    sha = raw.get("sha256")
    try:
        digest = bytes.fromhex(sha.removeprefix("0x")) if isinstance(sha, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise BatchManifestMismatch(f"batch manifest leaf {pos}: sha256 must be 64 hex digits, got {sha!r}")
    try:
        return Leaf(
            _int_field(raw, "index", pos),
            cid,
            digest,
            _int_field(raw, "size", pos),
            _int_field(raw, "license_id", pos),
            _int_field(raw, "consent", pos),
            _int_field(raw, "expiry", pos),
        )
    except BatchManifestMismatch:
        raise
    except InvalidInput as exc:
        raise BatchManifestMismatch(f"batch manifest leaf {pos}: {exc}") from None


def parse_batch_manifest(data: bytes) -> BatchManifest:
    """Leaves and root of a batch manifest (BatchManifestMismatch when it is malformed)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchManifestMismatch(f"batch manifest is not UTF-8 JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != BATCH_SCHEMA:
        raise BatchManifestMismatch(f"batch manifest must be a JSON object with schema {BATCH_SCHEMA!r}")
    raw_leaves = doc.get("leaves")
    if not isinstance(raw_leaves, list) or not raw_leaves:
        raise BatchManifestMismatch("batch manifest must list at least one leaf under 'leaves'")
    leaves = tuple(_parse_leaf(raw, pos) for pos, raw in enumerate(raw_leaves))
    try:
        tree = MerkleTree.from_leaves(leaves)
    except InvalidInput as exc:
        raise BatchManifestMismatch(f"batch manifest: {exc}") from None
    return BatchManifest(leaves, tree.root)


def verify_batch_manifest(data: bytes, root: bytes, count: int) -> BatchManifest:
    """Parse `data` and check it is the batch whose on-chain root and leaf count are given."""
    manifest = parse_batch_manifest(data)
    if manifest.count != count:
        raise BatchManifestMismatch(
            f"batch manifest lists {manifest.count} leaves, the on-chain batch has {count}"
        )
    if manifest.root != root:
        raise BatchManifestMismatch(
            f"batch manifest leaves hash to root 0x{manifest.root.hex()}, the on-chain root is 0x{root.hex()}"
        )
    return manifest
