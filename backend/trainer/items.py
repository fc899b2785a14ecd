"""A release's items as the trainer uses them, and a pulled manifest read back from disk (parts included)."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import ConfigError
from curation.batches import item_ref
from curation.cid import CID
from curation.errors import CurationError, InvalidInput
from curation.manifest import MAX_MANIFEST_BYTES, MAX_PART_BYTES, ManifestMismatch, load_manifest, load_part

__all__ = [
    "MANIFEST_FILE",
    "LocalManifest",
    "ManifestItem",
    "TrainerError",
    "parse_items",
    "part_file_name",
]

#: Name of the verified manifest inside a pull directory; parts sit beside it (see `part_file_name`).
MANIFEST_FILE = "manifest.json"


class TrainerError(CurationError):
    """A pull or a sampling run cannot go on; the message says which item or file and why."""


def part_file_name(index: int) -> str:
    """File name of manifest part `index` in a pull directory (as `curation release --out` names it)."""
    return f"manifest-part-{index:05d}.json"


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    """At most `limit` bytes of `path` (OSError propagates); ManifestMismatch when the file is longer, so a
    huge or endless file is refused without reading it into memory."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ManifestMismatch(f"{what} {path} is over the limit of {limit} bytes")
    return data


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


def parse_items(records: Sequence[Mapping[str, Any]]) -> tuple[ManifestItem, ...]:
    """Item records in item-id order (ManifestMismatch when one is malformed or ids repeat)."""
    items = sorted((ManifestItem.from_record(r) for r in records), key=lambda i: i.item_id)
    for a, b in itertools.pairwise(items):
        if a.item_id == b.item_id:
            raise ManifestMismatch(f"manifest lists item {a.ref} twice")
    return tuple(items)


@dataclass(frozen=True)
class LocalManifest:
    """A manifest file on disk (with its parts beside it), parsed and checked; `digest` is its sha256."""

    path: Path
    data: bytes
    doc: dict[str, Any]
    items: tuple[ManifestItem, ...]

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    @property
    def weights(self) -> list[tuple[int, int]]:
        """(item id, weight) by ascending item id, as the sampler takes them."""
        return [(i.item_id, i.weight) for i in self.items]

    @property
    def dataset_id(self) -> int:
        return int(self.doc.get("dataset", {}).get("id", 0))

    @classmethod
    def load(cls, path: Path) -> LocalManifest:
        """Read `path` (a manifest file, or a pull directory holding manifest.json) and its parts."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_FILE
        try:
            data = _read_limited(path, MAX_MANIFEST_BYTES, "manifest")
        except FileNotFoundError:
            raise ConfigError(f"manifest {path} does not exist (run `curation pull` first)") from None
        except OSError as exc:
            raise ConfigError(f"manifest {path} cannot be read: {exc.strerror}") from None
        doc = load_manifest(data)
        records: list[dict[str, Any]] = list(doc.get("items") or [])
        for entry in doc.get("item_parts") or []:
            part_path = path.parent / part_file_name(int(entry.get("part", -1)))
            try:
                part = _read_limited(part_path, MAX_PART_BYTES, f"manifest part {entry.get('part')}")
            except OSError:
                raise ConfigError(
                    f"manifest part {entry.get('part')} ({part_path.name}) is missing beside {path}"
                ) from None
            records.extend(load_part(part, entry))
        return cls(path, data, doc, parse_items(records))
