"""A pulled manifest read back from disk (parts included), with its typed items."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import ConfigError
from curation.errors import CurationError
from curation.manifest_read import (
    MAX_MANIFEST_BYTES,
    MAX_PART_BYTES,
    ManifestItem,
    ManifestMismatch,
    load_manifest,
    load_part,
    parse_items,
    part_file_name,
)

__all__ = [
    "MANIFEST_FILE",
    "LocalManifest",
    "TrainerError",
    "read_manifest_file",
    "read_part",
]

#: Name of the verified manifest inside a pull directory; parts sit beside it (see `part_file_name`).
MANIFEST_FILE = "manifest.json"


class TrainerError(CurationError):
    """A pull or a sampling run cannot go on; the message says which item or file and why."""


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    """At most `limit` bytes of `path` (OSError propagates); ManifestMismatch when the file is longer, so a
    huge or endless file is refused without reading it into memory."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ManifestMismatch(f"{what} {path} is over the limit of {limit} bytes")
    return data


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
        path, data = read_manifest_file(path)
        doc = load_manifest(data)
        records: list[dict[str, Any]] = list(doc.get("items") or [])
        for entry in doc.get("item_parts") or []:
            records.extend(read_part(path, entry))
        return cls(path, data, doc, parse_items(records))


def read_manifest_file(path: Path) -> tuple[Path, bytes]:
    """(the manifest file's path, its bytes, at most MAX_MANIFEST_BYTES) of a manifest file or a pull
    directory holding manifest.json; ConfigError says to pull first when it is missing."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_FILE
    try:
        return path, _read_limited(path, MAX_MANIFEST_BYTES, "manifest")
    except FileNotFoundError:
        raise ConfigError(f"manifest {path} does not exist (run `curation pull` first)") from None
    except OSError as exc:
        raise ConfigError(f"manifest {path} cannot be read: {exc.strerror}") from None


def read_part(manifest_path: Path, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The item records of the part `entry` (of `item_parts`) beside `manifest_path`, checked against the
    entry's sha256 and count (ManifestMismatch); ConfigError when the file is missing."""
    part_path = manifest_path.parent / part_file_name(int(entry.get("part", -1)))
    try:
        part = _read_limited(part_path, MAX_PART_BYTES, f"manifest part {entry.get('part')}")
    except OSError:
        raise ConfigError(
            f"manifest part {entry.get('part')} ({part_path.name}) is missing beside {manifest_path}"
        ) from None
    return load_part(part, entry)
