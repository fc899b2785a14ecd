"""Stream a release while training: items fetched lazily in sampler order, bounded in flight, each verified by CID."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from backend.ipfs import ContentStore
from backend.ipfs.base import write_atomically
from backend.trainer.catalog import ItemCatalog
from backend.trainer.client import TrainerClient
from backend.trainer.items import TrainerError
from backend.trainer.pull import verified_chunks, verified_copy
from backend.trainer.sampling import ShardedSampler, SkipExcluded, describe, read_exclusions
from curation.errors import CurationError
from curation.manifest_read import ManifestItem

__all__ = ["DEFAULT_CACHE_BYTES", "StreamStats", "StreamingDataset"]

#: Default bound of the on-disk cache (when a cache directory is given).
DEFAULT_CACHE_BYTES: Final = 10 * 1024**3


@dataclass
class StreamStats:
    """What a stream did so far: items fetched from the store, served from the cache, samples skipped."""

    fetched: int = 0
    cache_hits: int = 0
    skipped_excluded: int = 0
    most_in_memory: int = 0  # largest number of fetched-but-unconsumed items held at once


class _Cache:
    """Verified item files in a directory, at most `limit` bytes in all (least recently used evicted)."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] = OrderedDict()
        for path in sorted(root.iterdir()):  # what an earlier run left (re-verified when read)
            if path.is_file() and not path.name.startswith("."):
                self._sizes[path.name] = path.stat().st_size
        self._total = sum(self._sizes.values())
        self._evict()

    def get(self, item: ManifestItem) -> bytes | None:
        path = self.root / item.cid
        if not verified_copy(path, item):
            return None
        try:
            data = path.read_bytes()
        except OSError:  # evicted by another thread meanwhile
            return None
        with self._lock:
            if item.cid in self._sizes:
                self._sizes.move_to_end(item.cid)
        return data if len(data) == item.size else None

    def put(self, item: ManifestItem, data: bytes) -> None:
        if len(data) > self.limit:
            return
        write_atomically([data], self.root / item.cid)
        with self._lock:
            self._total += len(data) - self._sizes.pop(item.cid, 0)
            self._sizes[item.cid] = len(data)
            self._evict()

    def _evict(self) -> None:
        while self._total > self.limit and self._sizes:
            cid, size = self._sizes.popitem(last=False)
            self._total -= size
            (self.root / cid).unlink(missing_ok=True)


class StreamingDataset:
    """Examples in sampler order, each item fetched from the store when it is about to be needed.

    At most `concurrency` fetches run at once and at most `prefetch` fetched-but-unconsumed items are held
    (a sample drawn twice in that window is fetched once). Every item is read through the one verified
    path `pull.verified_chunks` (each block against the CID, then the manifest's sha256 and size): a
    tampered, oversized or unavailable item raises TrainerError naming it, and nothing of it is served, as
    `pull` refuses it. Samples on items excluded since the release are skipped and counted
    (`sampling.SkipExcluded`, as `PulledDataset` does). With `cache_dir`, verified items are kept on disk
    up to `cache_bytes` (least recently used evicted) and re-verified when read back.
    Each example is `sampling.describe(k, item)` with the item's bytes under "data".
    """

    def __init__(
        self,
        store: ContentStore | TrainerClient,
        catalog: ItemCatalog,
        sampler: ShardedSampler,
        *,
        concurrency: int = 8,
        prefetch: int = 32,
        excluded: frozenset[int] = frozenset(),
        cache_dir: Path | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if concurrency < 1:
            raise TrainerError(f"concurrency must be at least 1, got {concurrency}")
        if prefetch < 1:
            raise TrainerError(f"prefetch must be at least 1, got {prefetch}")
        if cache_bytes < 0:
            raise TrainerError(f"cache_bytes must be >= 0, got {cache_bytes}")
        if sampler.table is not catalog.table:
            raise TrainerError("the sampler was not built on this catalog: use ShardedSampler.for_manifest")
        self.store = store.store if isinstance(store, TrainerClient) else store
        self.catalog = catalog
        self.sampler = sampler
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.skip = SkipExcluded(excluded)
        self.cache = _Cache(Path(cache_dir), cache_bytes) if cache_dir is not None else None
        self.stats = StreamStats()
        self._lock = threading.Lock()
        self._served: dict[str, Any] | None = None  # sampler state right after the last example served

    @classmethod
    def from_pull_dir(
        cls, root: Path, store: ContentStore | TrainerClient, *, seed: int, count: int | None, **kwargs: Any
    ) -> StreamingDataset:
        """A stream over a pull directory (`curation pull --manifest-only` writes one): its manifest, the
        exclusions of its pull report; sampler options (`world_size`, `rank`, `num_workers`, `workers`) and
        stream options in `kwargs`."""
        sampler_keys = {"world_size", "rank", "num_workers", "workers"}
        sampler_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in sampler_keys}
        catalog = ItemCatalog.open(Path(root))
        sampler = ShardedSampler.for_manifest(catalog, seed=seed, count=count, **sampler_kw)
        return cls(store, catalog, sampler, excluded=read_exclusions(catalog.path.parent), **kwargs)

    def _load(self, item: ManifestItem) -> bytes:
        if self.cache is not None:
            data = self.cache.get(item)
            if data is not None:
                with self._lock:
                    self.stats.cache_hits += 1
                return data
        try:
            data = b"".join(verified_chunks(self.store, item))
        except CurationError as exc:
            raise TrainerError(
                f"{item.ref} ({item.cid}) could not be fetched and verified: {exc}; nothing of it was served"
            ) from exc
        with self._lock:
            self.stats.fetched += 1
        if self.cache is not None:
            # A full or read-only cache disk slows training down, it does not stop it.
            with contextlib.suppress(OSError):
                self.cache.put(item, data)
        return data

    def state_dict(self) -> dict[str, Any]:
        """The sampler state right after the last example served (the sampler itself runs up to `prefetch`
        samples ahead): `ShardedSampler.load_state_dict` on a new stream resumes with the next example."""
        return self._served if self._served is not None else self.sampler.state_dict()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Examples from the sampler's current position, in its order."""
        # (k, item, its fetch, sampler state after it) in sampler order; row -> (fetch, uses in the window)
        window: deque[tuple[int, int, ManifestItem, Future[bytes], dict[str, Any]]] = deque()
        live: dict[int, tuple[Future[bytes], int]] = {}
        rows = self.skip.rows(self.sampler)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="stream")
        try:
            exhausted = False
            while True:
                while not exhausted and len(window) < self.prefetch:
                    nxt = next(rows, None)
                    if nxt is None:
                        exhausted = True
                        break
                    k, row, _item_id = nxt
                    item = self.catalog.item(row)
                    fut, uses = live.get(row, (None, 0))
                    if fut is None:  # a sample drawn again inside the window shares the first one's fetch
                        fut = pool.submit(self._load, item)
                    live[row] = (fut, uses + 1)
                    window.append((k, row, item, fut, self.sampler.state_dict()))
                self.stats.skipped_excluded = self.skip.skipped
                if not window:
                    return
                held = sum(1 for f, _ in live.values() if f.done())
                self.stats.most_in_memory = max(self.stats.most_in_memory, held)
                k, row, item, fut, state = window.popleft()
                data = fut.result()
                f, uses = live[row]
                if uses == 1:
                    del live[row]
                else:
                    live[row] = (f, uses - 1)
                self._served = state
                yield {**describe(k, item), "data": data}
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
