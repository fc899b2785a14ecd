"""Read a release manifest back: untrusted bytes parsed and checked, its parts, typed item records."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from curation.batches import item_ref
from curation.canonical import parse_canonical, sha256_hex
from curation.cid import CID
from curation.errors import InvalidInput
from curation.manifest import MANIFEST_SCHEMAS, PART_SCHEMA

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_PART_BYTES",
    "ManifestItem",
    "ManifestMismatch",
    "id_and_weight",
    "load_manifest",
    "load_part",
    "parse_items",
    "part_file_name",
]

#: Largest manifest `load_manifest` parses. An item record takes about 500 bytes, so a top-level manifest
#: (at most `shard_items` inline items, plus sources, exclusions and one attribution entry per contributor)
#: of a default build stays far below; the bound keeps a hostile or corrupt file from taking the memory.
MAX_MANIFEST_BYTES: Final = 256 * 1024 * 1024
#: Largest manifest part `load_part` parses: about 130,000 item records (a default part holds 10,000,
#: about 5 MB). A build with more items per part than that cannot be read back.
MAX_PART_BYTES: Final = 64 * 1024 * 1024
#: Deepest nesting accepted in a manifest or part; the schema nests 4 levels (object, list, record, list).
_MAX_DEPTH: Final = 16


class ManifestMismatch(InvalidInput):
    """A manifest or one of its parts is not what its digest, CID or schema says."""


def part_file_name(index: int) -> str:
    """File name of manifest part `index` beside its manifest (`curation release --out`, a pull directory)."""
    return f"manifest-part-{index:05d}.json"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_records(records: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ManifestMismatch(f"{where} must be a list of objects")
    return records


def load_manifest(data: bytes) -> dict[str, Any]:
    """Parse a manifest's bytes (canonical JSON under one of MANIFEST_SCHEMAS), ManifestMismatch otherwise.

    `doc["schema"]` says which rules built it (`build_manifest(..., schema=...)` rebuilds it). The bytes are
    untrusted: larger than MAX_MANIFEST_BYTES, nested too deep, not canonical, or with `items`
    / `item_parts` of the wrong shape, they are refused with ManifestMismatch (an InvalidInput).
    """
    try:
        doc = parse_canonical(data, "manifest", max_bytes=MAX_MANIFEST_BYTES, max_depth=_MAX_DEPTH)
    except InvalidInput as exc:
        raise ManifestMismatch(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("schema") not in MANIFEST_SCHEMAS:
        known = " or ".join(repr(s) for s in MANIFEST_SCHEMAS)
        raise ManifestMismatch(f"not a manifest: expected schema {known}")
    _check_records(doc.get("items", []), "manifest `items`")
    for i, entry in enumerate(_check_records(doc.get("item_parts", []), "manifest `item_parts`")):
        if not (
            _is_int(entry.get("part"))
            and _is_int(entry.get("count"))
            and isinstance(entry.get("cid"), str)
            and isinstance(entry.get("sha256"), str)
        ):
            raise ManifestMismatch(
                f"manifest `item_parts[{i}]` needs an integer part and count and a string cid and sha256"
            )
    return doc


def load_part(data: bytes, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Items of a part, checked against its entry in `item_parts` (sha256 and count)."""
    name = f"manifest part {entry.get('part')}"
    digest = sha256_hex(data)
    if digest != entry.get("sha256"):
        raise ManifestMismatch(f"{name} has sha256 {digest}, expected {entry.get('sha256')}")
    try:
        doc = parse_canonical(data, name, max_bytes=MAX_PART_BYTES, max_depth=_MAX_DEPTH)
    except InvalidInput as exc:
        raise ManifestMismatch(str(exc)) from None
    items = doc.get("items") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or doc.get("schema") != PART_SCHEMA
        or not isinstance(items, list)
        or len(items) != entry.get("count")
    ):
        raise ManifestMismatch(f"{name} is not a part of {entry.get('count')} items")
    return _check_records(items, f"{name} `items`")


#: A non-negative decimal integer as manifests write it (ASCII digits only: str.isdigit also accepts "²").
_DECIMAL = re.compile(r"[0-9]{1,80}")


def _int(record: Mapping[str, Any], key: str, where: str) -> int:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**80:
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10**80:
        shown = f"an integer of {value.bit_length()} bits"
    else:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ManifestMismatch(f"{where}: {key} must be a non-negative integer, got {shown}")


@dataclass(frozen=True)
class ManifestItem:
    """One manifest item record: what to fetch, how to check it, whose it is, how much it weighs."""

    item_id: int
    cid: str
    sha256: str  # hex
    size: int
    license: str
    contributor: str
    consent: int
    consent_expiry: int
    source: int
    weight: int  # wad share of 10**18

    @property
    def ref(self) -> str:
        return item_ref(self.item_id)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ManifestItem:
        where = f"manifest item {record.get('item_id')!r}"
        cid = record.get("cid")
        try:
            cid_text = str(CID.parse(cid)) if isinstance(cid, str) else ""
        except InvalidInput:
            cid_text = ""
        if not cid_text:
            raise ManifestMismatch(f"{where}: cid {cid!r} is not a CID")
        sha = record.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise ManifestMismatch(f"{where}: sha256 must be 64 hex digits, got {sha!r}")
        return cls(
            item_id=_int(record, "item_id", where),
            cid=cid_text,
            sha256=sha.lower(),
            size=_int(record, "size", where),
            license=str(record.get("license", "")),
            contributor=str(record.get("contributor", "")),
            consent=_int(record, "consent", where),
            consent_expiry=_int(record, "consent_expiry", where) if "consent_expiry" in record else 0,
            source=_int(record, "source", where) if record.get("source") is not None else 0,
            weight=_int(record, "weight", where),
        )


def id_and_weight(record: Mapping[str, Any]) -> tuple[int, int]:
    """(item id, weight) of an item record, checked as `ManifestItem.from_record` checks them, and nothing
    else parsed: what a sampler needs of every row (the rest is read when an item is actually used)."""
    where = f"manifest item {record.get('item_id')!r}"
    return _int(record, "item_id", where), _int(record, "weight", where)


def parse_items(records: Sequence[Mapping[str, Any]]) -> tuple[ManifestItem, ...]:
    """Item records in item-id order (ManifestMismatch when one is malformed or ids repeat)."""
    items = sorted((ManifestItem.from_record(r) for r in records), key=lambda i: i.item_id)
    for a, b in itertools.pairwise(items):
        if a.item_id == b.item_id:
            raise ManifestMismatch(f"manifest lists item {a.ref} twice")
    return tuple(items)
