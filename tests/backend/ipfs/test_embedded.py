"""Embedded block store: put/get, verification on read, pins and GC, CAR, bad input, no partial writes."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from backend.ipfs import ContentNotFound, EmbeddedStore, open_store
from backend.settings import Settings
from curation.blocks import BlockMismatch
from curation.car import write_car
from curation.cid import CID, RAW
from curation.errors import InvalidInput
from curation.unixfs import CHUNK_SIZE, compute_cid, import_bytes


def det_bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(n * 7919 + seed).randbytes(n)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "blocks")


def _block_files(store: EmbeddedStore) -> set[Path]:
    return {p for p in (store.root / "blocks").rglob("*") if p.is_file()}


@pytest.mark.parametrize("version", [0, 1])
def test_put_bytes_returns_the_ipfs_add_cid_and_reads_back(store: EmbeddedStore, version: int) -> None:
    data = det_bytes(3 * CHUNK_SIZE + 17)
    result = store.put_bytes(data, cid_version=version)
    assert result.cid == compute_cid(data, cid_version=version).cid
    assert store.get_bytes(result.cid) == data
    assert store.get_bytes(str(result.cid)) == data
    assert store.has(result.cid)
    assert result.cid in store.pins()


def test_put_file_and_get_file(store: EmbeddedStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(det_bytes(CHUNK_SIZE * 2))
    result = store.put_file(src)
    dest = tmp_path / "out.bin"
    assert store.get_file(result.cid, dest) == src.stat().st_size
    assert dest.read_bytes() == src.read_bytes()


def test_tampered_block_on_disk_raises_naming_the_cid_and_writes_nothing(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    data = det_bytes(2 * CHUNK_SIZE + 1)
    root = store.put_bytes(data).cid
    leaf = next(b.cid for b in import_bytes(data) if b.cid.codec == RAW)
    path = store._path(leaf)
    raw = bytearray(path.read_bytes())
    raw[0] ^= 1
    path.write_bytes(bytes(raw))
    dest = tmp_path / "out.bin"
    with pytest.raises(BlockMismatch, match=str(leaf)):
        store.get_file(root, dest)
    assert not dest.exists()
    assert not list(tmp_path.glob(".out.bin*"))
    with pytest.raises(BlockMismatch):
        store.get_block(leaf)


def test_gc_keeps_pinned_and_drops_unpinned_blocks(store: EmbeddedStore) -> None:
    kept_data, dropped_data = det_bytes(2 * CHUNK_SIZE + 3, 1), det_bytes(2 * CHUNK_SIZE + 3, 2)
    kept = store.put_bytes(kept_data).cid
    dropped = store.put_bytes(dropped_data, pin=False).cid
    also_dropped = store.put_bytes(det_bytes(100)).cid
    store.unpin(also_dropped)
    removed = store.gc()
    assert removed == 4 + 1  # three leaves and a root, and the single raw block
    assert store.get_bytes(kept) == kept_data
    assert not store.has(dropped)
    assert not store.has(also_dropped)
    assert store.pins() == [kept]
    with pytest.raises(ContentNotFound):
        store.get_bytes(dropped)


def test_pin_needs_the_whole_dag(store: EmbeddedStore) -> None:
    root = store.put_bytes(det_bytes(2 * CHUNK_SIZE + 3), pin=False).cid
    store._path(next(iter(b.cid for b in import_bytes(det_bytes(2 * CHUNK_SIZE + 3))))).unlink()
    with pytest.raises(ContentNotFound):
        store.pin(root)
    assert store.pins() == []


def test_failed_put_leaves_no_new_blocks_and_no_pin(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_bytes(b"existing")
    before = _block_files(store)
    pins_before = store.pins()
    real = store._write_block
    calls = {"n": 0}

    def failing(cid: CID, data: bytes | memoryview) -> Path | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(cid, data)

    monkeypatch.setattr(store, "_write_block", failing)
    with pytest.raises(OSError, match="disk full"):
        store.put_bytes(det_bytes(4 * CHUNK_SIZE))
    assert _block_files(store) == before
    assert store.pins() == pins_before


def test_car_round_trip_between_stores(store: EmbeddedStore, tmp_path: Path) -> None:
    data = det_bytes(3 * CHUNK_SIZE)
    root = store.put_bytes(data, cid_version=0).cid
    car = io.BytesIO()
    store.export_car(root, car)
    other = EmbeddedStore(tmp_path / "other")
    assert other.import_car(io.BytesIO(car.getvalue())) == [root]
    assert other.get_bytes(root) == data
    assert other.pins() == [root]


def test_car_with_a_tampered_or_missing_block_imports_nothing(store: EmbeddedStore, tmp_path: Path) -> None:
    data = det_bytes(3 * CHUNK_SIZE)
    blocks = [(b.cid, bytes(b.data)) for b in import_bytes(data)]
    root = blocks[-1][0]
    bad = bytearray(blocks[1][1])
    bad[5] ^= 1
    tampered = io.BytesIO()
    write_car(tampered, [root], [blocks[0], (blocks[1][0], bytes(bad)), *blocks[2:]])
    with pytest.raises(BlockMismatch, match=str(blocks[1][0])):
        store.import_car(io.BytesIO(tampered.getvalue()))
    assert _block_files(store) == set()
    incomplete = io.BytesIO()
    write_car(incomplete, [root], [blocks[0], *blocks[2:]])
    with pytest.raises(ContentNotFound, match=str(blocks[1][0])):
        store.import_car(io.BytesIO(incomplete.getvalue()))
    assert _block_files(store) == set()
    assert store.pins() == []


def test_bad_input_gets_clear_errors(store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(ContentNotFound, match="does not exist"):
        store.put_file(tmp_path / "missing.bin")
    with pytest.raises(InvalidInput, match="directory"):
        store.put_file(tmp_path)
    with pytest.raises(InvalidInput, match="invalid CID"):
        store.get_bytes("not-a-cid")
    root = store.put_bytes(b"x").cid
    with pytest.raises(InvalidInput, match="directory"):
        store.get_file(root, tmp_path)
    with pytest.raises(ContentNotFound, match="not pinned"):
        store.unpin(compute_cid(b"y").cid)


def test_open_store_defaults_to_the_embedded_store(tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path, ipfs=None))
    assert isinstance(store, EmbeddedStore)
    assert store.root == tmp_path / "blocks"
