"""Parquet mirrors of the item rows: the same rows as the canonical JSON, deterministic bytes, loadable by
trainers (DuckDB, pyarrow.dataset, mlcroissant), bounded reads, and the check `verify` runs on them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import mlcroissant as mlc
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from backend.cli import release_cmd
from backend.release import build_release, publish_release, verify_release
from backend.release.parquet import (
    ITEM_SCHEMA,
    MAX_LISTING_BYTES,
    PARQUET_LISTING_SCHEMA,
    WRITER_OPTIONS,
    ParquetCheck,
    ParquetMirror,
    ParquetMismatch,
    build_parquet,
    check_parquet,
    item_table,
    load_listing,
    parquet_file_name,
    read_items,
    read_listing,
    write_items,
)
from backend.release.verify import VerifyResult, check_release_parquet
from curation.canonical import canonical_bytes, parse_canonical, sha256_hex
from curation.cid import CID
from curation.errors import InvalidInput
from curation.exports import croissant
from curation.manifest import BuiltManifest
from curation.unixfs import compute_cid
from tests.backend.release.release_helpers import Story, governed
from tests.conftest import Chain
from tests.curation.test_exports_croissant import _records, gateway  # noqa: F401 - `gateway` is a fixture
from tests.curation.test_manifest_build import built

TYPED = {"size_u64": "size", "consent_expiry_u64": "consent_expiry", "weight_u64": "weight"}


def _json_rows(m: BuiltManifest) -> list[list[dict[str, Any]]]:
    """The item records of each canonical file, parsed from its bytes (what the anchored digest covers)."""
    if not m.parts:
        return [parse_canonical(m.data)["items"]]
    return [parse_canonical(p.data)["items"] for p in m.parts]


def _without_helpers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in TYPED} for r in rows]


def _hand_listing(mirror: ParquetMirror, **changes: Any) -> dict[str, Any]:
    """A copy of the listing with the first file's entry changed (a listing someone else wrote)."""
    listing = json.loads(json.dumps(mirror.listing))
    listing["files"][0].update(changes)
    return listing


# --- the rows ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shard_items", [10_000, 2], ids=["inline", "sharded"])
def test_each_canonical_file_has_a_parquet_file_with_the_same_rows_in_order(shard_items: int) -> None:
    m = built(shard_items=shard_items)
    mirror = build_parquet(m)
    canonical = _json_rows(m)
    assert len(mirror.files) == len(canonical) == max(len(m.parts), 1)
    for index, (pq_file, records) in enumerate(zip(mirror.files, canonical, strict=True)):
        rows = pq.read_table(pa.BufferReader(pq_file.data)).to_pylist()
        assert _without_helpers(rows) == records  # every field, every value, same order
        assert [{k: r[k] for k in TYPED} for r in rows] == [
            {k: int(rec[v]) for k, v in TYPED.items()} for rec in records
        ]
        part = None if not m.parts else index
        assert (pq_file.part, pq_file.name) == (part, parquet_file_name(part))
        mirrored = (m.cid, m.sha256) if part is None else (m.parts[index].cid, m.parts[index].sha256)
        assert (pq_file.mirrors_cid, pq_file.mirrors_sha256) == mirrored
        assert pq_file.rows == len(records)
        assert pq_file.cid == str(compute_cid(pq_file.data).cid)
        assert pq_file.sha256 == sha256_hex(pq_file.data)
    assert sum(f.rows for f in mirror.files) == len(m.items) == 3
    names = [f.name for f in mirror.files]
    assert names == (
        ["manifest-items.parquet"]
        if shard_items > 3
        else [
            "manifest-part-00000.parquet",
            "manifest-part-00001.parquet",
        ]
    )


def test_the_columns_are_the_manifest_item_fields_then_typed_helpers() -> None:
    record = built().items[0]
    assert ITEM_SCHEMA.names == [*record, *TYPED]
    assert all(not f.nullable for f in ITEM_SCHEMA)
    for name in ("item_id", "size", "consent_expiry", "weight"):  # uint256-able: decimal strings as in JSON
        assert ITEM_SCHEMA.field(name).type == pa.string()
    assert {ITEM_SCHEMA.field(n).type for n in TYPED} == {pa.uint64()}


def test_the_listing_is_canonical_json_naming_every_file() -> None:
    m = built(shard_items=2)
    mirror = build_parquet(m)
    doc = parse_canonical(mirror.data)
    assert doc == mirror.listing == load_listing(mirror.data)
    assert doc["schema"] == PARQUET_LISTING_SCHEMA
    assert (doc["manifest_cid"], doc["manifest_sha256"]) == (m.cid, m.sha256)
    assert (doc["pyarrow"], doc["writer"]) == (pa.__version__, dict(WRITER_OPTIONS))
    assert doc["files"] == [
        {
            "part": f.part,
            "file": f.name,
            "cid": f.cid,
            "sha256": f.sha256,
            "bytes": len(f.data),
            "rows": f.rows,
            "mirrors_cid": f.mirrors_cid,
            "mirrors_sha256": f.mirrors_sha256,
        }
        for f in mirror.files
    ]


def test_bytes_are_the_same_when_written_again_and_in_another_process() -> None:
    m = built(shard_items=2)
    first, second = build_parquet(m), build_parquet(m)
    assert first.data == second.data
    assert [f.data for f in first.files] == [f.data for f in second.files]
    records = list(m.items)
    script = (
        "import json, sys; from backend.release.parquet import write_items; "
        "sys.stdout.write(write_items(json.loads(sys.stdin.read())).hex())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(records),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[3],
    )
    assert bytes.fromhex(other.stdout) == write_items(records)
    meta = pq.ParquetFile(pa.BufferReader(first.files[0].data)).metadata
    assert meta.created_by == f"parquet-cpp-arrow version {pa.__version__}"  # why the listing records it
    assert meta.num_row_groups == 1
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_values_a_column_cannot_hold_exactly_are_refused() -> None:
    record = built().items[0]
    with pytest.raises(InvalidInput, match="cannot be written as Parquet exactly"):
        item_table([{**record, "size": str(2**64)}])  # past uint64: never wrapped or rounded
    with pytest.raises(InvalidInput, match="cannot be written as Parquet exactly"):
        item_table([{**record, "license_id": 70_000}])  # past uint16
    with pytest.raises(InvalidInput, match="item record 0 has fields"):
        item_table([{**record, "extra": "x"}])
    assert item_table([]).num_rows == 0


# --- trainers load them ------------------------------------------------------------------------------------


def _write_dir(mirror: ParquetMirror, out: Path) -> Path:
    out.mkdir()
    for f in mirror.files:
        (out / f.name).write_bytes(f.data)
    return out


@pytest.mark.parametrize("shard_items", [10_000, 2], ids=["inline", "sharded"])
def test_duckdb_and_pyarrow_dataset_load_the_release(tmp_path: Path, shard_items: int) -> None:
    m = built(shard_items=shard_items)
    out = _write_dir(build_parquet(m), tmp_path / "parquet")
    expected = [(r["item_id"], r["cid"], int(r["weight"])) for r in m.items]
    glob = str(out / "*.parquet")
    loaded = duckdb.sql(  # part order, then row order within a part: the manifest's order
        f"select item_id, cid, weight_u64 from read_parquet('{glob}', filename = true, file_row_number = true) "
        "order by filename, file_row_number"
    ).fetchall()
    assert loaded == expected
    ((total,),) = duckdb.sql(f"select sum(weight_u64)::hugeint from read_parquet('{glob}')").fetchall()
    assert total == 10**18
    table = ds.dataset(str(out), format="parquet").to_table()  # files in name order = part order
    assert table.schema.equals(ITEM_SCHEMA)
    assert _without_helpers(table.to_pylist()) == [r for rows in _json_rows(m) for r in rows]


def test_the_croissant_export_lists_the_parquet_files_and_mlcroissant_reads_records_from_them(
    gateway: tuple[str, dict[str, bytes]],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    url, files = gateway
    m = built(shard_items=2)
    mirror = build_parquet(m)
    for f in mirror.files:  # only the Parquet files are served: the records must come from them
        files[f.cid] = f.data
    doc = croissant(m.doc, m.items, m.cid, m.sha256, gateway=url, parts=m.parts, parquet=mirror.listing)
    parquet_objects = [d for d in doc["distribution"] if d["encodingFormat"] == "application/x-parquet"]
    assert [(d["@id"], d["contentUrl"], d["sha256"]) for d in parquet_objects] == [
        (f.name, f"{url}/ipfs/{f.cid}", f.sha256) for f in mirror.files
    ]
    assert len(doc["distribution"]) == 1 + len(m.parts) + len(mirror.files)  # JSON files stay listed
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(doc))
    mlc.Dataset(jsonld=str(path))  # raises ValidationError on any error
    loaded = [r for rs in doc["recordSet"] for r in _records(doc, path, rs["@id"])]
    assert [(r["item_id"], r["cid"], r["weight"]) for r in loaded] == [
        (i["item_id"], i["cid"], i["weight"]) for i in m.items
    ]


# --- bounded reads of untrusted files ----------------------------------------------------------------------


def test_reads_are_refused_from_the_footer_before_any_rows_are_decoded() -> None:
    records = list(built().items)
    data = write_items(records)
    assert len(read_items(data, max_rows=3, max_bytes=1 << 20)) == 3
    with pytest.raises(ParquetMismatch, match=r"x\.parquet declares 3 rows in its footer, more than the 2"):
        read_items(data, max_rows=2, max_bytes=1 << 20, name="x.parquet")
    with pytest.raises(ParquetMismatch, match="uncompressed bytes, more than the 100"):
        read_items(data, max_rows=3, max_bytes=100)
    with pytest.raises(ParquetMismatch, match="not a Parquet file pyarrow can read"):
        read_items(b"PAR1 not really", max_rows=3, max_bytes=1 << 20)
    with pytest.raises(ParquetMismatch, match="not a Parquet file pyarrow can read"):
        read_items(data[: len(data) // 2], max_rows=3, max_bytes=1 << 20)
    other = pa.BufferOutputStream()
    pq.write_table(item_table(records).drop_columns(["weight_u64"]), other)
    with pytest.raises(ParquetMismatch, match=r"other columns than the item records.*weight_u64"):
        read_items(other.getvalue().to_pybytes(), max_rows=3, max_bytes=1 << 20)


def test_a_listing_that_is_not_one_is_refused(tmp_path: Path) -> None:
    mirror = build_parquet(built())
    with pytest.raises(ParquetMismatch, match="canonical"):
        load_listing(json.dumps(mirror.listing, indent=1).encode())
    with pytest.raises(ParquetMismatch, match="expected schema"):
        load_listing(canonical_bytes({**mirror.listing, "schema": "x"}))
    with pytest.raises(ParquetMismatch, match=r"files\[0\]` needs"):
        load_listing(canonical_bytes(_hand_listing(mirror, rows="3")))
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (MAX_LISTING_BYTES + 1))
    with pytest.raises(ParquetMismatch, match="over the limit"):
        read_listing(None, huge)  # type: ignore[arg-type] - a file never touches the store
    with pytest.raises(ParquetMismatch, match="cannot be read"):
        read_listing(None, tmp_path / "missing.json")  # type: ignore[arg-type]
    with pytest.raises(ParquetMismatch, match="neither a file nor a CID"):
        read_listing(None, "not-a-cid")  # type: ignore[arg-type]


# --- publish and verify on the embedded chain --------------------------------------------------------------


def _published(chain: Chain, tmp_path: Path, shard_items: int) -> tuple[Story, dict[str, int], Any, Any]:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    built_release = build_release(session, ids["ds"], shard_items=shard_items)
    published = publish_release(session, built_release, chain.admin, out_dir=tmp_path / "out")
    return s, ids, built_release, published


@pytest.mark.parametrize("shard_items", [10_000, 2], ids=["inline", "sharded"])
def test_publish_stores_pins_and_writes_the_parquet_files_and_verify_checks_them(
    chain: Chain, tmp_path: Path, shard_items: int
) -> None:
    s, ids, built_release, published = _published(chain, tmp_path, shard_items)
    mirror = built_release.parquet
    assert len(mirror.files) == max(len(built_release.manifest.parts), 1) == (1 if shard_items > 5 else 3)
    assert s.store.get_bytes(published.export_cids["parquet"]) == mirror.data
    assert (tmp_path / "out" / "parquet.json").read_bytes() == mirror.data
    for f in mirror.files:
        assert s.store.get_bytes(f.cid) == f.data == (tmp_path / "out" / f.name).read_bytes()
        assert CID.parse(f.cid) in s.store.pins()
    assert mirror.listing["manifest_cid"] == published.manifest_cid
    parquet_sets = [d for d in built_release.croissant["distribution"] if d["@id"].endswith(".parquet")]
    assert [d["@id"] for d in parquet_sets] == [f.name for f in mirror.files]
    session = s.session()
    by_file = verify_release(session, ids["ds"], parquet=tmp_path / "out" / "parquet.json")
    assert by_file.equal, by_file.differences
    assert by_file.parquet is not None
    assert by_file.parquet.equal, by_file.parquet.differences
    assert (by_file.parquet.files, by_file.parquet.rows) == (
        len(mirror.files),
        len(built_release.manifest.items),
    )
    by_cid = verify_release(session, ids["ds"], parquet=published.export_cids["parquet"])
    assert by_cid.parquet is not None
    assert by_cid.parquet.equal, by_cid.parquet.differences
    assert verify_release(session, ids["ds"]).parquet is None  # only checked when asked


def test_verify_reports_a_tampered_parquet_file_apart_from_the_canonical_verdict(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids, built_release, _ = _published(chain, tmp_path, 2)
    mirror, manifest = built_release.parquet, built_release.manifest
    first = mirror.files[0]
    rows = pq.read_table(pa.BufferReader(first.data)).to_pylist()
    records = _without_helpers(rows)

    def listing_for(data: bytes, **entry: Any) -> dict[str, Any]:
        stored = s.store.put_bytes(data)
        fields = {"cid": str(stored.cid), "sha256": sha256_hex(data), "bytes": len(data), **entry}
        return load_listing(canonical_bytes(_hand_listing(mirror, **fields)))

    def check(listing: dict[str, Any]) -> list[str]:
        result = check_parquet(s.store, listing, manifest, manifest_cid=manifest.cid)
        assert not result.equal
        return result.differences

    # a changed row, end to end: the canonical release still verifies, the Parquet check names file and cell
    changed = [dict(r) for r in records]
    changed[1]["weight"] = str(int(changed[1]["weight"]) + 1)
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(canonical_bytes(listing_for(write_items(changed))))
    result = verify_release(s.session(), ids["ds"], parquet=tampered)
    assert result.equal
    assert not result.differences
    assert result.parquet is not None
    assert not result.parquet.equal
    (line,) = result.parquet.differences
    assert f"Parquet file {first.name}" in line
    assert f"row 1 (item {records[1]['item_id']}) column weight is '{changed[1]['weight']}'" in line
    assert f"the canonical manifest part 0 has '{records[1]['weight']}'" in line
    # the typed helper column lying alone is caught too
    helper = pa.BufferOutputStream()
    table = item_table(records)
    lying = table.set_column(
        table.schema.get_field_index("weight_u64"),
        pa.field("weight_u64", pa.uint64(), nullable=False),
        pa.array([0] * len(records), pa.uint64()),
    )
    pq.write_table(lying, helper, **WRITER_OPTIONS)
    (line,) = check(listing_for(helper.getvalue().to_pybytes()))
    assert "row 0" in line
    assert "column weight_u64 is 0" in line
    assert "(2 rows differ)" in line
    # an extra row: refused from the footer, before decoding, whatever the listing says
    (line,) = check(listing_for(write_items([*records, records[-1]])))
    assert f"{first.name}" in line
    assert "declares 3 rows in its footer, more than the 2 expected" in line
    listed, footer = check(listing_for(write_items([*records, records[-1]]), rows=3))
    assert "is listed with 3 rows, the canonical manifest part 0 has 2" in listed
    assert "declares 3 rows in its footer, more than the 2 expected" in footer
    # a wrong sha256 in the listing (the file itself honest)
    (line,) = check(load_listing(canonical_bytes(_hand_listing(mirror, sha256="0" * 64))))
    assert (
        f"Parquet file {first.name} ({first.cid}) has sha256 {first.sha256}, the listing says {'0' * 64}"
        == line
    )
    # a wrong size in the listing
    (line,) = check(load_listing(canonical_bytes(_hand_listing(mirror, bytes=1))))
    assert f"is {len(first.data)} bytes, the listing says 1" in line
    # a file no store has
    missing = compute_cid(b"never stored").cid
    (line,) = check(load_listing(canonical_bytes(_hand_listing(mirror, cid=str(missing)))))
    assert f"Parquet file {first.name} ({missing}) cannot be fetched" in line
    # a listing of another manifest, and one leaving a part out
    other = load_listing(canonical_bytes({**mirror.listing, "manifest_sha256": "1" * 64}))
    (line,) = check(other)
    assert "the Parquet listing mirrors manifest" in line
    assert f"the release anchors {manifest.cid}" in line
    short = load_listing(canonical_bytes({**mirror.listing, "files": mirror.listing["files"][1:]}))
    (line,) = check(short)
    assert f"no file for the manifest part 0 ({manifest.parts[0].cid})" in line


def test_a_missing_listing_or_an_unverified_release_never_changes_the_canonical_verdict(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids, built_release, published = _published(chain, tmp_path, 10_000)
    manifest = built_release.manifest
    missing = check_release_parquet(s.store, tmp_path / "nope.json", manifest, manifest.cid, verified=True)
    assert not missing.equal
    assert missing.differences[0].startswith(f"the Parquet listing {tmp_path / 'nope.json'} cannot be used")
    gone = check_release_parquet(
        s.store, str(compute_cid(b"no listing").cid), manifest, manifest.cid, verified=True
    )
    assert not gone.equal
    assert "cannot be used" in gone.differences[0]
    unverified = check_release_parquet(
        s.store, published.export_cids["parquet"], manifest, manifest.cid, verified=False
    )
    assert not unverified.equal
    assert unverified.differences == [
        "the Parquet files were not checked: the canonical manifest does not verify (see its differences)"
    ]
    result = verify_release(s.session(), ids["ds"], parquet=tmp_path / "nope.json")
    assert result.equal  # the canonical verdict stands
    assert not result.differences
    assert result.parquet is not None
    assert not result.parquet.equal
    assert dataclasses.replace(result, parquet=None) == verify_release(s.session(), ids["ds"])


# --- the CLI face (`curation verify --parquet`): parse, call, render; the check itself is tested above ------


def test_cli_verify_takes_a_listing_path_or_cid_and_reports_parquet_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = tmp_path / "parquet.json"
    listing.write_bytes(b"{}")
    assert release_cmd.parquet_source(str(listing)) == listing
    cid = str(compute_cid(b"listing").cid)
    assert release_cmd.parquet_source(cid) == cid
    assert release_cmd.parquet_source(None) is None
    seen: list[object] = []
    check = ParquetCheck(False, ["Parquet file manifest-items.parquet (bafy): row 1 differs"], 1, 0)

    def fake_verify(*args: object) -> VerifyResult:
        seen.append(args[-1])
        return VerifyResult(True, [], 1, 1, "aa", "aa", "aa", 7, check)

    monkeypatch.setattr(release_cmd, "_verify", fake_verify)
    app = typer.Typer()
    release_cmd.register(app)
    out = CliRunner().invoke(app, ["verify", "1", "--parquet", str(listing)])
    assert out.exit_code == 1
    assert seen == [listing]
    assert "release 1 of dataset 1 verified" in out.output  # the canonical verdict, as before
    assert "the Parquet files do NOT verify (the canonical verdict above stands apart):" in out.output
    assert "  - Parquet file manifest-items.parquet (bafy): row 1 differs" in out.output
    as_json = json.loads(CliRunner().invoke(app, ["verify", "1", "--parquet", cid, "--json"]).output)
    assert seen[-1] == cid
    assert as_json["equal"] is True
    assert as_json["parquet"] == {"equal": False, "differences": check.differences, "files": 1, "rows": 0}
    check = ParquetCheck(True, [], 1, 5)
    ok = CliRunner().invoke(app, ["verify", "1", "--parquet", cid])
    assert ok.exit_code == 0, ok.output
    assert "Parquet files verified: 1 files, 5 rows equal the canonical rows" in ok.output
