"""A pulled manifest for sampling at scale: ids and weights in numpy arrays, item records read per part on demand."""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from backend.trainer.items import read_manifest_file, read_part
from curation.errors import InvalidInput
from curation.manifest_read import ManifestItem, ManifestMismatch, id_and_weight, load_manifest, parse_items
from curation.sampler import WeightTable

__all__ = ["DEFAULT_CACHED_PARTS", "ItemCatalog"]

#: Parsed parts an ItemCatalog keeps (least recently used dropped first): a default part of 10,000 items is
#: about 5 MB on disk and some 20 MB parsed, so 8 parts stay near 160 MB.
DEFAULT_CACHED_PARTS: Final = 8


class ItemCatalog:
    """A manifest on disk (a pull directory or a manifest file with its parts beside it), opened for sampling.

    Opening reads every row once, keeping only its id and weight in a `WeightTable` (curation.sampler:
    24 bytes per item, no Python object per item); each part's bytes are checked against the manifest's
    sha256 and count as they are read. `item(position)` reads the full record (CID, sha256, size, license,
    ...) of the item at a row when it is needed: the part holding it is read again, checked again, parsed,
    and kept in a bounded LRU of `cached_parts` parts. Rows must come in ascending item-id order across the
    manifest and its parts, as every build writes them (ManifestMismatch otherwise).
    """

    def __init__(
        self,
        path: Path,
        data: bytes,
        doc: dict[str, Any],
        table: WeightTable,
        starts: Sequence[int],
        *,
        inline: tuple[ManifestItem, ...] = (),
        cached_parts: int = DEFAULT_CACHED_PARTS,
    ) -> None:
        if cached_parts < 1:
            raise InvalidInput(f"cached_parts must be at least 1, got {cached_parts}")
        self.path = path
        self.data = data
        self.doc = doc  # the manifest without its inline `items`
        self.table = table
        self._starts = list(starts)  # first row of each part
        self._inline = inline
        self._cached_parts = cached_parts
        self._parts: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()  # stream fetch threads read items too
        self.parts_read = 0  # part files parsed for `item` (a measure of the LRU's hit rate)

    @classmethod
    def open(cls, path: Path, *, cached_parts: int = DEFAULT_CACHED_PARTS) -> ItemCatalog:
        """Read `path` (a manifest file or a pull directory) and its parts' ids and weights."""
        path, data = read_manifest_file(path)
        doc = load_manifest(data)
        entries: list[dict[str, Any]] = list(doc.get("item_parts") or [])
        inline_records: list[dict[str, Any]] = list(doc.get("items") or [])
        if inline_records and entries:
            raise ManifestMismatch(f"manifest {path} lists items both inline and in parts")
        starts: list[int] = []

        def rows() -> Iterator[tuple[int, int]]:
            yield from (id_and_weight(r) for r in inline_records)
            offset = 0
            for entry in entries:
                starts.append(offset)
                records = read_part(path, entry)  # checked against the entry's sha256 and count
                offset += len(records)
                yield from (id_and_weight(r) for r in records)
                del records

        hint = len(inline_records) + sum(max(0, int(e["count"])) for e in entries)
        try:
            table = WeightTable.from_pairs(rows(), size_hint=hint)
        except ManifestMismatch:
            raise
        except InvalidInput as exc:
            raise ManifestMismatch(f"manifest {path} cannot be sampled: {exc}") from None
        inline = parse_items(inline_records) if inline_records else ()
        rest = {key: value for key, value in doc.items() if key != "items"}
        return cls(path, data, rest, table, starts, inline=inline, cached_parts=cached_parts)

    @property
    def digest(self) -> bytes:
        """sha256 of the manifest's bytes (what the sampler's draws are keyed on)."""
        return hashlib.sha256(self.data).digest()

    @property
    def dataset_id(self) -> int:
        return int(self.doc.get("dataset", {}).get("id", 0))

    def __len__(self) -> int:
        return len(self.table)

    def item_id(self, position: int) -> int:
        return self.table.item_id(position)

    def item(self, position: int) -> ManifestItem:
        """The full record of the item at row `position` (its part read and parsed if not cached)."""
        if not 0 <= position < len(self.table):
            raise IndexError(f"row {position} is out of range: the manifest has {len(self.table)} items")
        if not self._starts:
            return self._inline[position]
        index = bisect_right(self._starts, position) - 1
        with self._lock:
            records = self._parts.get(index)
            if records is not None:
                self._parts.move_to_end(index)
        if records is None:
            entries: list[Mapping[str, Any]] = self.doc.get("item_parts") or []
            # Checked against the entry's sha256 again: the same bytes whose ids and weights were read.
            records = read_part(self.path, entries[index])
            with self._lock:
                self.parts_read += 1
                self._parts[index] = records
                while len(self._parts) > self._cached_parts:
                    self._parts.popitem(last=False)
        item = ManifestItem.from_record(records[position - self._starts[index]])  # only the row needed
        if item.item_id != self.table.item_id(position):  # the part file changed since it was opened
            raise ManifestMismatch(
                f"manifest part {index} of {self.path} no longer holds item {self.table.item_id(position)} "
                f"at row {position}: the pull directory changed while it was in use; open it again"
            )
        return item
