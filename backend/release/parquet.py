"""Parquet mirrors of a release's item records for trainers: written deterministically, listed, checked.

The canonical JSON parts (or the manifest's inline `items`) are what the chain anchors; each gets one Parquet
file with the same rows in the same order, listed with its own sha256 and CID in `parquet.json`
(PARQUET_LISTING_SCHEMA). The listing and the files are outside the anchored digest: `check_parquet` proves
each file against the canonical rows it mirrors (docs/releases.md, "Parquet files").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from backend.errors import StoreError
from backend.ipfs import ContentStore, ContentTooLarge
from curation.canonical import canonical_bytes, parse_canonical
from curation.cid import CID
from curation.errors import InvalidInput
from curation.manifest import BuiltManifest
from curation.manifest_read import part_file_name
from curation.unixfs import compute_cid

__all__ = [
    "INLINE_FILE_NAME",
    "ITEM_SCHEMA",
    "MAX_LISTING_BYTES",
    "PARQUET_LISTING_SCHEMA",
    "WRITER_OPTIONS",
    "ParquetCheck",
    "ParquetMirror",
    "ParquetMismatch",
    "ParquetPart",
    "build_parquet",
    "check_parquet",
    "item_table",
    "load_listing",
    "mirror_records",
    "parquet_file_name",
    "parquet_max_bytes",
    "read_items",
    "read_listing",
    "write_items",
]

PARQUET_LISTING_SCHEMA: Final = "curation-commons/parquet-items/v1"
#: File name of the one Parquet file of a manifest whose items are inline (no parts).
INLINE_FILE_NAME: Final = "manifest-items.parquet"
#: Largest `parquet.json` read back (about 400 bytes per file: 1 MiB lists 2,500 parts = 25M default items).
MAX_LISTING_BYTES: Final = 16 * 1024 * 1024

#: The item record fields of curation.manifest (`_item_entry`) in its order, with the Arrow type each is kept
#: in: decimal strings stay strings (uint256-able ids and amounts, exactly as in JSON); JSON numbers take the
#: contract's width (license id and consent are uint16; a proposal id is a counter).
_RECORD_COLUMNS: Final = (
    ("item_id", pa.string()),
    ("ref", pa.string()),
    ("cid", pa.string()),
    ("sha256", pa.string()),
    ("size", pa.string()),
    ("license", pa.string()),
    ("license_id", pa.uint16()),
    ("contributor", pa.string()),
    ("consent", pa.uint16()),
    ("consent_flags", pa.string()),
    ("consent_expiry", pa.string()),
    ("source", pa.int64()),
    ("weight", pa.string()),
)
#: Typed helper columns, each the uint64 of a decimal-string column; lossless by construction: size and
#: expiry are uint64 in ContentRegistry, and every weight is at most 10**18 < 2**64. `item_id` has none (a
#: batch leaf's id is 2**64 + batch * 2**32 + leaf, past uint64).
_TYPED_COLUMNS: Final = (
    ("size_u64", "size"),
    ("consent_expiry_u64", "consent_expiry"),
    ("weight_u64", "weight"),
)
_RECORD_NAMES: Final = tuple(name for name, _ in _RECORD_COLUMNS)
_RECORD_SET: Final = frozenset(_RECORD_NAMES)

#: The Arrow schema of every file: the record columns, then the typed helpers; no nulls anywhere.
ITEM_SCHEMA: Final = pa.schema(
    [pa.field(name, dtype, nullable=False) for name, dtype in _RECORD_COLUMNS]
    + [pa.field(name, pa.uint64(), nullable=False) for name, _ in _TYPED_COLUMNS]
)

#: Columns worth a dictionary (few distinct values per part); ids, CIDs and digests are written plain.
_DICTIONARY_COLUMNS: Final = (
    "license",
    "license_id",
    "contributor",
    "consent",
    "consent_flags",
    "consent_expiry",
    "source",
    "consent_expiry_u64",
)

#: Every writer option pinned (a changed pyarrow default must not change the bytes silently). The bytes are
#: the same on every machine for one pyarrow version (its wheels bundle the zstd codec); pyarrow writes its
#: version into the footer (`created_by`, not settable), so `parquet.json` records it. No timestamps are
#: written; one row group holds a whole default part (10,000 rows). zstd level 1 with dictionaries only
#: where values repeat: about 95 bytes an item (the JSON part: about 455), written at about 4 us an item.
WRITER_OPTIONS: Final[Mapping[str, Any]] = {
    "version": "2.6",
    "data_page_version": "1.0",
    "compression": "zstd",
    "compression_level": 1,
    "row_group_size": 65_536,
    "data_page_size": 1024 * 1024,
    "write_batch_size": 1024,
    "dictionary_pagesize_limit": 1024 * 1024,
    "use_dictionary": list(_DICTIONARY_COLUMNS),
    "write_statistics": True,
    "write_page_index": False,
    "write_page_checksum": False,
    "store_schema": True,
    "use_content_defined_chunking": False,
}
#: Footer parsing limits (pyarrow's defaults are 100 MB and 1M entries): our footers are a few KiB.
_THRIFT_STRING_LIMIT: Final = 1024 * 1024
_THRIFT_CONTAINER_LIMIT: Final = 65_536


class ParquetMismatch(InvalidInput):
    """A Parquet file or `parquet.json` is not what it claims: unreadable, over its bounds, or not the
    canonical rows it mirrors (the message names the file and what differs)."""


def parquet_file_name(part: int | None) -> str:
    """`manifest-part-NNNNN.parquet` beside part `part`'s JSON file; INLINE_FILE_NAME for inline items."""
    return INLINE_FILE_NAME if part is None else part_file_name(part).removesuffix(".json") + ".parquet"


def parquet_max_bytes(canonical_bytes: int) -> int:
    """The most bytes a Parquet mirror of a canonical file of `canonical_bytes` may take: a format limit.

    A Parquet row spends 4 bytes of length per string and at most 8 per number where the JSON record spends
    the key, quotes and separators (over 8 bytes per field), so even uncompressed and without dictionaries a
    mirror stays below its JSON; twice that plus 1 MiB of pages, statistics and footer is never reached by an
    honest file, and bounds every read of an untrusted one.
    """
    return 2 * canonical_bytes + 1024 * 1024


# --- writing ------------------------------------------------------------------------------------------------


def item_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """An Arrow table (ITEM_SCHEMA) of manifest item records, in their order.

    InvalidInput when a record has other fields than the manifest's item records, or a value its column
    cannot hold exactly (never silently converted: a safe cast refuses what does not fit).
    """
    for i, record in enumerate(records):
        if record.keys() != _RECORD_SET:
            raise InvalidInput(
                f"item record {i} has fields {sorted(record)}, expected the manifest's item fields "
                f"{list(_RECORD_NAMES)}: the Parquet columns (backend/release/parquet.py) must follow them"
            )
    try:
        arrays = {name: pa.array([r[name] for r in records], type=dtype) for name, dtype in _RECORD_COLUMNS}
        typed = [pc.cast(arrays[source], pa.uint64(), safe=True) for _, source in _TYPED_COLUMNS]
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as exc:
        raise InvalidInput(f"item records cannot be written as Parquet exactly: {exc}") from None
    return pa.Table.from_arrays([*arrays.values(), *typed], schema=ITEM_SCHEMA)


def write_items(records: Sequence[Mapping[str, Any]]) -> bytes:
    """The Parquet bytes of `records` under WRITER_OPTIONS (the same bytes for one pyarrow version)."""
    sink = pa.BufferOutputStream()
    pq.write_table(item_table(records), sink, **WRITER_OPTIONS)
    return bytes(sink.getvalue().to_pybytes())


@dataclass(frozen=True)
class ParquetPart:
    """One Parquet file: the rows of canonical part `part` (None: the manifest's inline items)."""

    part: int | None
    name: str
    data: bytes
    cid: str
    sha256: str
    rows: int
    mirrors_cid: str
    mirrors_sha256: str

    def entry(self) -> dict[str, Any]:
        """This file's entry in `parquet.json`."""
        return {
            "part": self.part,
            "file": self.name,
            "cid": self.cid,
            "sha256": self.sha256,
            "bytes": len(self.data),
            "rows": self.rows,
            "mirrors_cid": self.mirrors_cid,
            "mirrors_sha256": self.mirrors_sha256,
        }


@dataclass(frozen=True)
class ParquetMirror:
    """A release's Parquet files and their listing (`data`: the canonical JSON bytes of `parquet.json`)."""

    files: tuple[ParquetPart, ...]
    listing: dict[str, Any]
    data: bytes


def mirror_records(
    records: Sequence[Mapping[str, Any]], part: int | None, mirrors_cid: str, mirrors_sha256: str
) -> ParquetPart:
    """The Parquet file of one canonical file's records (part `part`, or None for inline items)."""
    data = write_items(records)
    return ParquetPart(
        part,
        parquet_file_name(part),
        data,
        str(compute_cid(data).cid),
        hashlib.sha256(data).hexdigest(),
        len(records),
        mirrors_cid,
        mirrors_sha256,
    )


@dataclass(frozen=True)
class _Canonical:
    """A canonical file of item records: a part, or the manifest itself when its items are inline."""

    part: int | None
    cid: str
    sha256: str
    data: bytes
    count: int

    @property
    def what(self) -> str:
        return "manifest" if self.part is None else f"manifest part {self.part}"

    def records(self) -> list[dict[str, Any]]:
        """The item records exactly as the canonical bytes hold them (our own bytes: orjson, not safejson)."""
        items: list[dict[str, Any]] = orjson.loads(self.data)["items"]
        return items


def _canonical_files(manifest: BuiltManifest, manifest_cid: str) -> Iterator[_Canonical]:
    if not manifest.parts:
        yield _Canonical(None, manifest_cid, manifest.sha256, manifest.data, len(manifest.items))
        return
    for part in manifest.parts:
        yield _Canonical(part.index, part.cid, part.sha256, part.data, part.count)


def build_parquet(manifest: BuiltManifest, manifest_cid: str | None = None) -> ParquetMirror:
    """One Parquet file per canonical part (one for inline items) and `parquet.json` listing them."""
    cid = manifest_cid or manifest.cid
    files = tuple(
        mirror_records(c.records(), c.part, c.cid, c.sha256) for c in _canonical_files(manifest, cid)
    )
    listing = {
        "schema": PARQUET_LISTING_SCHEMA,
        "dataset_id": manifest.doc["dataset"]["id"],
        "state_block": manifest.doc["state_block"]["number"],
        "manifest_cid": cid,
        "manifest_sha256": manifest.sha256,
        "pyarrow": pa.__version__,
        "writer": dict(WRITER_OPTIONS),
        "files": [f.entry() for f in files],
    }
    return ParquetMirror(files, listing, canonical_bytes(listing))


# --- reading (untrusted) ------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENTRY_TYPES: Final = {
    "file": str,
    "cid": str,
    "sha256": str,
    "mirrors_cid": str,
    "mirrors_sha256": str,
}


def load_listing(data: bytes) -> dict[str, Any]:
    """Parse `parquet.json` (canonical JSON, at most MAX_LISTING_BYTES); ParquetMismatch when it is not one."""
    try:
        doc = parse_canonical(data, "parquet.json", max_bytes=MAX_LISTING_BYTES, max_depth=8)
    except InvalidInput as exc:
        raise ParquetMismatch(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("schema") != PARQUET_LISTING_SCHEMA:
        raise ParquetMismatch(
            f"parquet.json is not a Parquet listing: expected schema {PARQUET_LISTING_SCHEMA!r}"
        )
    for key in ("manifest_cid", "manifest_sha256"):
        if not isinstance(doc.get(key), str):
            raise ParquetMismatch(f"parquet.json needs a string `{key}`")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ParquetMismatch("parquet.json `files` must be a list")
    for i, entry in enumerate(files):
        ok = (
            isinstance(entry, dict)
            and (entry.get("part") is None or _is_int(entry.get("part")))
            and _is_int(entry.get("bytes"))
            and _is_int(entry.get("rows"))
            and all(isinstance(entry.get(k), t) for k, t in _ENTRY_TYPES.items())
        )
        if not ok:
            raise ParquetMismatch(
                f"parquet.json `files[{i}]` needs an integer or null part, integer bytes and rows, and string "
                f"{', '.join(_ENTRY_TYPES)}"
            )
    return doc


def read_listing(store: ContentStore, source: Path | str) -> dict[str, Any]:
    """`parquet.json` from a file (a Path) or from the store by CID (a str), read to MAX_LISTING_BYTES.

    ParquetMismatch when it is not a listing, is over the limit or cannot be read from the file; the
    store's StoreError when the store cannot give it.
    """
    too_large = ParquetMismatch(
        f"the Parquet listing {source} is over the limit of {MAX_LISTING_BYTES} bytes"
    )
    if isinstance(source, Path):
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_LISTING_BYTES + 1)  # a huge file or a FIFO cannot take the memory
        except OSError as exc:
            raise ParquetMismatch(f"the Parquet listing {source} cannot be read: {exc.strerror}") from None
        if len(data) > MAX_LISTING_BYTES:
            raise too_large
        return load_listing(data)
    try:
        cid = CID.parse(source)
    except InvalidInput as exc:
        raise ParquetMismatch(f"the Parquet listing {source!r} is neither a file nor a CID: {exc}") from None
    try:
        return load_listing(store.get_bytes(cid, max_bytes=MAX_LISTING_BYTES))
    except ContentTooLarge:
        raise too_large from None


def read_items(data: bytes, *, max_rows: int, max_bytes: int, name: str = "Parquet file") -> pa.Table:
    """The rows of an untrusted Parquet file of item records, read within bounds.

    The footer is parsed with small thrift limits, then the file is refused (ParquetMismatch, naming `name`)
    before any data page is decoded when its schema is not ITEM_SCHEMA, when it declares more than `max_rows`
    rows, or more than `max_bytes` uncompressed bytes; otherwise its rows (an Arrow table, ITEM_SCHEMA).
    """
    try:
        reader = pq.ParquetFile(
            pa.BufferReader(data),
            thrift_string_size_limit=_THRIFT_STRING_LIMIT,
            thrift_container_size_limit=_THRIFT_CONTAINER_LIMIT,
        )
        meta = reader.metadata
        schema = reader.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ParquetMismatch(f"{name} is not a Parquet file pyarrow can read: {exc}") from None
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    declared = max(int(meta.num_rows), sum(int(g.num_rows) for g in groups))
    if declared > max_rows:
        raise ParquetMismatch(
            f"{name} declares {declared} rows in its footer, more than the {max_rows} expected"
        )
    if not schema.equals(ITEM_SCHEMA):
        theirs = {f.name: str(f.type) for f in schema}
        ours = {f.name: str(f.type) for f in ITEM_SCHEMA}
        diff = sorted(set(theirs.items()) ^ set(ours.items()))
        raise ParquetMismatch(
            f"{name} has other columns than the item records: {diff or 'nullability differs'}"
        )
    uncompressed = sum(int(g.column(c).total_uncompressed_size) for g in groups for c in range(g.num_columns))
    if uncompressed > max_bytes:
        raise ParquetMismatch(
            f"{name} declares {uncompressed} uncompressed bytes, more than the {max_bytes} its rows may take"
        )
    try:
        table = reader.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ParquetMismatch(f"{name} cannot be decoded: {exc}") from None
    if table.num_rows != declared:
        raise ParquetMismatch(f"{name} holds {table.num_rows} rows, its footer declares {declared}")
    return table


# --- checking -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParquetCheck:
    """The Parquet files of a release checked against its canonical rows (separate from the anchor check)."""

    equal: bool
    differences: list[str]
    files: int
    rows: int


def _compare_rows(name: str, what: str, actual: pa.Table, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """[] when `actual` holds exactly the rows of `records` (helpers included), else one line naming the
    first differing row and column and how many rows differ. Compared in Arrow, row by row only to word it."""
    expected = item_table(records)
    if actual.num_rows != expected.num_rows:
        return [f"{name} has {actual.num_rows} rows, the canonical {what} has {expected.num_rows}"]
    if actual.equals(expected):
        return []
    unequal = {
        column: pc.fill_null(pc.not_equal(actual[column], expected[column]), True)
        for column in ITEM_SCHEMA.names
    }
    differs = unequal[ITEM_SCHEMA.names[0]]
    for mask in unequal.values():
        differs = pc.or_(differs, mask)
    count = int(pc.sum(differs).as_py() or 0)
    row = int(pc.index(differs, True).as_py())
    column = next(c for c, mask in unequal.items() if mask[row].as_py())
    more = f" ({count} rows differ)" if count > 1 else ""
    return [
        f"{name}: row {row} (item {records[row]['item_id']}) column {column} is "
        f"{actual[column][row].as_py()!r}, the canonical {what} has {expected[column][row].as_py()!r}{more}"
    ]


def _check_file(store: ContentStore, entry: Mapping[str, Any], canonical: _Canonical) -> list[str]:
    name = f"Parquet file {entry['file']} ({entry['cid']})"
    out: list[str] = []
    if (entry["mirrors_cid"], entry["mirrors_sha256"]) != (canonical.cid, canonical.sha256):
        out.append(
            f"{name} says it mirrors {entry['mirrors_cid']} (sha256 {entry['mirrors_sha256']}), the "
            f"{canonical.what} is {canonical.cid} (sha256 {canonical.sha256})"
        )
    if entry["rows"] != canonical.count:
        out.append(
            f"{name} is listed with {entry['rows']} rows, the canonical {canonical.what} has {canonical.count}"
        )
    limit = parquet_max_bytes(len(canonical.data))  # the listed size is untrusted: never the bound
    try:
        data = store.get_bytes(CID.parse(entry["cid"]), max_bytes=limit)
    except (StoreError, InvalidInput) as exc:
        return [*out, f"{name} cannot be fetched within {limit} bytes: {exc}"]
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        out.append(f"{name} has sha256 {digest}, the listing says {entry['sha256']}")
    computed = str(compute_cid(data).cid)
    if computed != str(CID.parse(entry["cid"])):
        out.append(f"{name} bytes have CID {computed}, the listing says {entry['cid']}")
    if len(data) != entry["bytes"]:
        out.append(f"{name} is {len(data)} bytes, the listing says {entry['bytes']}")
    max_rows = min(entry["rows"], canonical.count)
    try:
        table = read_items(data, max_rows=max_rows, max_bytes=limit, name=name)
    except ParquetMismatch as exc:
        return [*out, str(exc)]
    return out + _compare_rows(name, canonical.what, table, canonical.records())


def check_parquet(
    store: ContentStore,
    listing: Mapping[str, Any],
    manifest: BuiltManifest,
    *,
    manifest_cid: str,
) -> ParquetCheck:
    """Check a loaded `parquet.json` (load_listing) and every file it lists against the canonical rows.

    `manifest` must be the anchored manifest (verify passes the rebuilt one once it equals the anchor). Each
    file is fetched by CID to at most parquet_max_bytes of its canonical file (the listed size is untrusted),
    its sha256, CID and size compared with the listing, its footer bounded by the canonical row count, and
    its rows compared with the canonical rows. Every failure is a difference naming the file.
    """
    differences: list[str] = []
    if (listing["manifest_cid"], listing["manifest_sha256"]) != (manifest_cid, manifest.sha256):
        differences.append(
            f"the Parquet listing mirrors manifest {listing['manifest_cid']} (sha256 {listing['manifest_sha256']}), "
            f"the release anchors {manifest_cid} (sha256 {manifest.sha256})"
        )
        return ParquetCheck(False, differences, 0, 0)
    canonical = {c.part: c for c in _canonical_files(manifest, manifest_cid)}
    seen: set[int | None] = set()
    checked = rows = 0
    for entry in listing["files"]:
        part = entry["part"]
        if part not in canonical:
            differences.append(
                f"Parquet file {entry['file']} mirrors part {part}, which the manifest does not have"
            )
            continue
        if part in seen:
            differences.append(f"Parquet file {entry['file']}: part {part} is listed twice")
            continue
        seen.add(part)
        found = _check_file(store, entry, canonical[part])
        differences.extend(found)
        checked += 1
        rows += 0 if found else canonical[part].count
    for part, c in canonical.items():
        if part not in seen:
            differences.append(f"the Parquet listing has no file for the {c.what} ({c.cid})")
    return ParquetCheck(not differences, differences, checked, rows)
