"""Streaming a release: sampler order, bounded fetches in flight and in memory, verification, exclusions, cache."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.ipfs import EmbeddedStore
from backend.ipfs.base import CidLike
from backend.trainer import TrainerError
from backend.trainer.catalog import ItemCatalog
from backend.trainer.report import REPORT_JSON
from backend.trainer.sampling import PulledDataset, ShardedSampler
from backend.trainer.stream import StreamingDataset
from curation.canonical import canonical_bytes, sha256_hex
from curation.manifest import MANIFEST_SCHEMA_V2, PART_SCHEMA
from curation.manifest_read import ManifestMismatch, part_file_name
from curation.sampler import WAD
from curation.unixfs import compute_cid

N_ITEMS = 23
PER_PART = 5


def _blob(i: int) -> bytes:
    return f"item {i} ".encode() * (i + 1)


def write_parted_release(root: Path, store: EmbeddedStore | None, *, items_dir: bool = False) -> list[int]:
    """A pull directory whose manifest keeps its items in parts of PER_PART (as a large release does); the
    item bytes go into `store`, and into `root/items` when `items_dir`. Returns the item ids."""
    root.mkdir(parents=True, exist_ok=True)
    ids = [i * 3 + 1 for i in range(N_ITEMS)]
    share = WAD // N_ITEMS
    records = []
    for n, item_id in enumerate(ids):
        data = _blob(n)
        cid = str(store.put_bytes(data).cid) if store is not None else str(compute_cid(data).cid)
        if items_dir:
            (root / "items").mkdir(exist_ok=True)
            (root / "items" / cid).write_bytes(data)
        weight = share if n else WAD - share * (N_ITEMS - 1)
        records.append(
            {
                "item_id": str(item_id),
                "cid": cid,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": str(len(data)),
                "license": "CC0-1.0",
                "contributor": "0x" + "ab" * 20,
                "consent": 1,
                "consent_expiry": "0",
                "source": 1,
                "weight": str(weight),
            }
        )
    entries = []
    for index, start in enumerate(range(0, N_ITEMS, PER_PART)):
        chunk = records[start : start + PER_PART]
        data = canonical_bytes({"schema": PART_SCHEMA, "part": index, "items": chunk})
        (root / part_file_name(index)).write_bytes(data)
        entries.append(
            {
                "part": index,
                "cid": str(compute_cid(data).cid),
                "sha256": sha256_hex(data),
                "count": len(chunk),
            }
        )
    doc = {"schema": MANIFEST_SCHEMA_V2, "dataset": {"id": 1}, "items": [], "item_parts": entries}
    (root / "manifest.json").write_bytes(canonical_bytes(doc))
    return ids


class GatedStore(EmbeddedStore):
    """The embedded store, with every read counted and held until `gate` is set (a fault no real peer
    produces on demand: it lets the test see how many fetches are in flight at once)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.cond = threading.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = 0

    def iter_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> Iterator[bytes | memoryview]:
        with self.cond:
            self.in_flight += 1
            self.started += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.cond.notify_all()
        try:
            assert self.gate.wait(timeout=60), "the test never opened the gate"
            yield from super().iter_bytes(cid, max_bytes=max_bytes)
        finally:
            with self.cond:
                self.in_flight -= 1
                self.cond.notify_all()


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, EmbeddedStore, list[int]]:
    store = EmbeddedStore(tmp_path / "store")
    root = tmp_path / "pulled"
    ids = write_parted_release(root, store)
    return root, store, ids


def _stream(root: Path, store: EmbeddedStore, **kw: Any) -> StreamingDataset:
    seed, count = kw.pop("seed", 5), kw.pop("count", 60)
    return StreamingDataset.from_pull_dir(root, store, seed=seed, count=count, **kw)


def test_examples_come_in_sampler_order_with_verified_bytes(
    release: tuple[Path, EmbeddedStore, list[int]], tmp_path: Path
) -> None:
    root, store, ids = release
    # The same release with its items on disk: PulledDataset serves the same examples in the same order.
    on_disk = tmp_path / "full"
    write_parted_release(on_disk, None, items_dir=True)
    pulled = PulledDataset.open(on_disk)
    expected = list(pulled.examples(ShardedSampler.for_manifest(pulled.manifest, seed=5, count=60)))
    stream = _stream(root, store, concurrency=3, prefetch=4)
    got = list(stream)
    assert [(e["k"], e["item_id"], e["data"]) for e in got] == [
        (e["k"], e["item_id"], e["data"]) for e in expected
    ]
    assert {int(e["item_id"]) for e in got} <= set(ids)
    assert 0 < stream.stats.fetched <= 60
    assert stream.stats.most_in_memory <= 4
    # Catalog rows are read per part, on demand: the ids and weights are arrays.
    assert len(stream.catalog) == N_ITEMS
    assert stream.catalog.table.cum.dtype.name == "int64"


def test_at_most_concurrency_fetches_run_at_once(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "store")
    root = tmp_path / "pulled"
    write_parted_release(root, store)
    stream = _stream(root, store, concurrency=3, prefetch=10, count=200)
    out: list[dict[str, Any]] = []
    consumer = threading.Thread(target=lambda: out.extend(stream))
    consumer.start()
    with store.cond:
        assert store.cond.wait_for(lambda: store.in_flight >= 3, timeout=60)
        # The other prefetched fetches wait in the pool's queue: none starts while three are held.
        assert not store.cond.wait_for(lambda: store.in_flight > 3, timeout=0.5)
    store.gate.set()
    consumer.join(timeout=120)
    assert not consumer.is_alive()
    assert len(out) == 200
    assert store.most_in_flight == 3


def test_at_most_prefetch_items_are_fetched_ahead_of_the_consumer(
    release: tuple[Path, EmbeddedStore, list[int]],
) -> None:
    root, _, _ = release
    store = GatedStore(root.parent / "store")  # the same blocks, counted
    store.gate.set()
    stream = _stream(root, store, concurrency=2, prefetch=3, count=100)
    it = iter(stream)
    next(it)
    next(it)
    # Two consumed, the window refilled to three: at most five fetches were ever started.
    assert store.started <= 2 + 3
    assert stream.stats.most_in_memory <= 3
    rest = list(it)
    assert len(rest) == 98


def test_a_tampered_item_raises_naming_it_and_is_never_served(
    release: tuple[Path, EmbeddedStore, list[int]],
) -> None:
    root, store, _ = release
    catalog = ItemCatalog.open(root)
    first = next(iter(_stream(root, store, count=1)))
    victim = catalog.item(next(r for r in range(len(catalog)) if str(catalog.item_id(r)) == first["item_id"]))
    block = store._path(compute_cid(_blob(0)).cid).parent.parent  # the store's block directory
    (path,) = [p for p in block.rglob("*") if p.is_file() and p.read_bytes() == first["data"]]
    path.write_bytes(b"X" + first["data"][1:])  # same size, one byte changed
    served: list[dict[str, Any]] = []
    with pytest.raises(
        TrainerError, match=rf"{victim.ref} \({victim.cid}\) could not be fetched and verified"
    ):
        served.extend(_stream(root, store))
    assert all(e["cid"] != victim.cid for e in served)


def test_items_excluded_since_the_release_are_skipped_and_counted(
    release: tuple[Path, EmbeddedStore, list[int]],
) -> None:
    root, store, _ = release
    everything = list(_stream(root, store, count=80))
    banned = int(everything[0]["item_id"])
    report = {"excluded": [{"item_id": str(banned), "reason": "revoked"}]}
    (root / REPORT_JSON).write_text(json.dumps(report))
    stream = _stream(root, store, count=80)
    kept = list(stream)
    assert [e["k"] for e in kept] == [e["k"] for e in everything if int(e["item_id"]) != banned]
    assert stream.stats.skipped_excluded == 80 - len(kept) > 0


def test_the_cache_serves_verified_copies_and_stays_within_its_bytes(
    release: tuple[Path, EmbeddedStore, list[int]], tmp_path: Path
) -> None:
    root, store, _ = release
    cache = tmp_path / "cache"
    first = _stream(root, store, cache_dir=cache, cache_bytes=10**6)
    a = list(first)
    again = _stream(root, store, cache_dir=cache, cache_bytes=10**6)
    assert [e["data"] for e in again] == [e["data"] for e in a]
    assert again.stats.fetched == 0
    assert again.stats.cache_hits > 0
    # A damaged cached copy is not served: it is fetched again from the store.
    victim = next(p for p in cache.iterdir() if p.is_file())
    victim.write_bytes(b"\0" * victim.stat().st_size)
    third = _stream(root, store, cache_dir=cache, cache_bytes=10**6)
    assert [e["data"] for e in third] == [e["data"] for e in a]
    assert third.stats.fetched >= 1
    # A small bound evicts: the directory never holds more than it.
    small = _stream(root, store, cache_dir=tmp_path / "small", cache_bytes=300)
    list(small)
    assert sum(p.stat().st_size for p in (tmp_path / "small").iterdir()) <= 300


def test_the_stream_resumes_after_the_last_example_served(
    release: tuple[Path, EmbeddedStore, list[int]],
) -> None:
    root, store, _ = release
    full = [e["k"] for e in _stream(root, store, count=40, prefetch=8)]
    first = _stream(root, store, count=40, prefetch=8)
    it = iter(first)
    head = [next(it)["k"] for _ in range(10)]
    state = first.state_dict()
    it.close()
    second = _stream(root, store, count=40, prefetch=8)
    second.sampler.load_state_dict(state)
    assert head + [e["k"] for e in second] == full


def test_the_catalog_reads_parts_lazily_and_refuses_unsorted_rows(
    release: tuple[Path, EmbeddedStore, list[int]], tmp_path: Path
) -> None:
    root, _, ids = release
    catalog = ItemCatalog.open(root, cached_parts=2)
    assert catalog.parts_read == 0
    assert [catalog.item(r).item_id for r in (0, 6, 22)] == [ids[0], ids[6], ids[22]]
    assert catalog.parts_read == 3
    catalog.item(22)
    assert catalog.parts_read == 3  # still cached
    catalog.item(0)
    assert catalog.parts_read == 4  # evicted (two parts kept), read again
    # Parts listed out of order: refused, naming the rule.
    doc = json.loads((root / "manifest.json").read_bytes())
    doc["item_parts"] = [doc["item_parts"][1], doc["item_parts"][0], *doc["item_parts"][2:]]
    for entry, index in zip(doc["item_parts"], (1, 0), strict=False):
        (tmp_path / part_file_name(index)).write_bytes((root / part_file_name(entry["part"])).read_bytes())
        entry["part"] = index
    (tmp_path / "manifest.json").write_bytes(canonical_bytes(doc))
    for index in range(2, len(doc["item_parts"])):
        (tmp_path / part_file_name(index)).write_bytes((root / part_file_name(index)).read_bytes())
    with pytest.raises(ManifestMismatch, match="strictly increasing item id"):
        ItemCatalog.open(tmp_path)


def test_a_sampler_of_another_catalog_is_refused(release: tuple[Path, EmbeddedStore, list[int]]) -> None:
    root, store, _ = release
    other = ShardedSampler.for_manifest(ItemCatalog.open(root), seed=1, count=3)
    with pytest.raises(TrainerError, match="not built on this catalog"):
        StreamingDataset(store, ItemCatalog.open(root), other)
