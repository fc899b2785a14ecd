"""Sharded sampling over a pulled manifest: one rank's samples drawn by W workers, resumable, adapter-free."""

from __future__ import annotations

import importlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from backend.trainer.catalog import ItemCatalog
from backend.trainer.items import LocalManifest, TrainerError
from backend.trainer.pull import ITEMS_DIR
from backend.trainer.report import REPORT_JSON
from curation import safejson
from curation.errors import InvalidInput
from curation.manifest_read import ManifestItem
from curation.sampler import WeightedSampler, WeightTable

__all__ = [
    "MAX_PULL_REPORT_BYTES",
    "STATE_FORMAT",
    "PulledDataset",
    "RankSamples",
    "ShardedSampler",
    "SkipExcluded",
    "describe",
    "import_extra",
    "read_exclusions",
]

STATE_FORMAT: Final = "curation-commons/sampler-state/v1"
#: Largest pull report `read_exclusions` parses. The report lists every fetched item in about 450 bytes,
#: so this covers a pull of about two million items.
MAX_PULL_REPORT_BYTES: Final = 1024 * 1024 * 1024


class ShardedSampler:
    """The samples of rank `rank` (of `world_size`), drawn by `workers` (of `num_workers`) worker shards.

    Worker w of the rank produces global samples k = rank + world_size * (w + num_workers * j) (see
    curation.sampler.WeightedSampler); the workers are read round-robin, as a PyTorch DataLoader reads its
    workers, so with every worker listed the rank's samples come out in ascending k: the same sequence
    whatever `num_workers` is, and the K ranks together give exactly the samples of the one-rank run.
    """

    def __init__(
        self,
        weights: WeightTable | Sequence[tuple[int, int]],
        manifest_digest: bytes,
        *,
        seed: int,
        count: int | None,
        world_size: int = 1,
        rank: int = 0,
        num_workers: int = 1,
        workers: Sequence[int] | None = None,
    ) -> None:
        chosen = list(range(num_workers)) if workers is None else list(workers)
        if not chosen:
            raise InvalidInput("a sharded sampler needs at least one worker")
        if sorted(set(chosen)) != chosen:
            raise InvalidInput(f"workers must be distinct and ascending, got {chosen}")
        table = weights if isinstance(weights, WeightTable) else WeightTable.from_pairs(weights)
        self._samplers = [
            WeightedSampler(
                table,
                manifest_digest,
                seed=seed,
                count=count,
                world_size=world_size,
                rank=rank,
                num_workers=num_workers,
                worker=w,
            )
            for w in chosen
        ]
        self._workers = chosen
        self.table = table

    @classmethod
    def for_manifest(cls, manifest: LocalManifest | ItemCatalog, **kwargs: Any) -> ShardedSampler:
        """The sampler of a manifest read whole (LocalManifest) or opened for scale (ItemCatalog)."""
        if isinstance(manifest, ItemCatalog):
            return cls(manifest.table, manifest.digest, **kwargs)
        return cls(manifest.weights, manifest.digest, **kwargs)

    def __len__(self) -> int:
        """Samples these workers produce in all (resuming does not change it)."""
        return sum(len(s) for s in self._samplers)

    @property
    def position(self) -> int:
        """Samples produced so far."""
        return sum(s.position for s in self._samplers)

    def _next_worker(self) -> int:
        # Round-robin: the first worker that has produced the fewest samples goes next.
        positions = [s.position for s in self._samplers]
        return positions.index(min(positions))

    def rows(self) -> Iterator[tuple[int, int]]:
        """(global index k, row of the item in ascending-id order) from the current position; each one
        advances the position."""
        w = self._next_worker()
        while True:
            nxt = self._samplers[w].step()  # advances that worker by one
            if nxt is None:  # round-robin order: once one worker is done, every later sample is past `count`
                return
            yield nxt
            w = (w + 1) % len(self._samplers)

    def indexed(self) -> Iterator[tuple[int, int]]:
        """(global index k, item id) from the current position; each one advances the position."""
        for k, row in self.rows():
            yield k, self.table.item_id(row)

    def __iter__(self) -> Iterator[int]:
        for _k, item in self.indexed():
            yield item

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: every worker's sampler state (the order of reading follows from them)."""
        return {"format": STATE_FORMAT, "workers": [s.state_dict() for s in self._samplers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume exactly where `state_dict()` was taken; InvalidInput when it is another run's state."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise InvalidInput(f"not a sampler state: expected format {STATE_FORMAT!r}")
        workers = state.get("workers")
        if not isinstance(workers, list) or len(workers) != len(self._samplers):
            raise InvalidInput(
                f"sampler state holds {len(workers) if isinstance(workers, list) else 0} workers, "
                f"this run has {len(self._samplers)} (--workers must match the run that saved it)"
            )
        for sampler, ws in zip(self._samplers, workers, strict=True):
            sampler.load_state_dict(ws)
        positions = [s.position for s in self._samplers]
        if max(positions) - min(positions) > 1 or positions != sorted(positions, reverse=True):
            raise InvalidInput(f"sampler state is not a round-robin position: worker positions {positions}")


def describe(k: int, item: ManifestItem) -> dict[str, Any]:
    """What every example of global sample k says of its item: only strings and small ints, so that any
    collate function (PyTorch's default one too) takes it; the item id is a decimal string (a batch leaf's
    passes 2**64)."""
    return {
        "item_id": str(item.item_id),
        "ref": item.ref,
        "k": k,
        "cid": item.cid,
        "license": item.license,
        "contributor": item.contributor,
    }


class SkipExcluded:
    """The one rule for samples that land on items excluded since the release (consent revoked, narrowed or
    expired; `read_exclusions`): skipped, never served, and counted in `skipped`. Every rank skips the same
    global indices, so the ranks still partition the one-rank run."""

    def __init__(self, excluded: frozenset[int] | set[int]) -> None:
        self.excluded = frozenset(excluded)
        self.skipped = 0

    def rows(self, sampler: ShardedSampler, limit: int | None = None) -> Iterator[tuple[int, int, int]]:
        """(global index k, row, item id) of the sampler's samples that are kept, advancing it; it stops
        after `limit` samples (kept or skipped) when one is given."""
        for n, (k, row) in enumerate(sampler.rows()):
            item_id = sampler.table.item_id(row)
            if item_id in self.excluded:
                self.skipped += 1
            else:
                yield k, row, item_id
            if limit is not None and n + 1 >= limit:
                return


def read_exclusions(root: Path) -> frozenset[int]:
    """Ids of the items `pull` excluded (consent changed since the release), from the pull report in
    `root`; empty when `root` holds no pull report (a manifest used on its own)."""
    report = Path(root) / REPORT_JSON
    if not report.exists():
        return frozenset()
    try:
        doc = safejson.load_path(report, max_bytes=MAX_PULL_REPORT_BYTES, what="the file")
        excluded = doc.get("excluded", []) if isinstance(doc, dict) else None
        if not isinstance(excluded, list) or not all(isinstance(e, dict) for e in excluded):
            raise TrainerError(f"{report} is not a pull report: `excluded` must be a list of objects")
        return frozenset(int(e["item_id"]) for e in excluded)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # JsonRejected is a ValueError
        raise TrainerError(f"{report} is not a readable pull report: {exc}") from None


@dataclass(frozen=True)
class PulledDataset:
    """A pull directory: the verified manifest, the fetched items and the items excluded since the release."""

    root: Path
    manifest: LocalManifest
    excluded: frozenset[int]

    @classmethod
    def open(cls, root: Path) -> PulledDataset:
        root = Path(root)
        return cls(root, LocalManifest.load(root), read_exclusions(root))

    def item(self, item_id: int) -> ManifestItem:
        for item in self.manifest.items:
            if item.item_id == item_id:
                return item
        raise TrainerError(f"item {item_id} is not in the manifest")

    def path(self, item: ManifestItem) -> Path:
        return self.root / ITEMS_DIR / item.cid

    def examples(self, sampler: ShardedSampler, read: bool = True) -> Iterator[dict[str, Any]]:
        """One dict per sample (item id, global index k, CID, license, contributor, path, bytes if `read`);
        a sample that lands on an item excluded since the release is skipped, never served."""
        items = self.manifest.items  # ascending item id: a sampler row is an index into it
        for k, row, _item_id in SkipExcluded(self.excluded).rows(sampler):
            yield self.example(k, items[row], read)

    def example(self, k: int, item: ManifestItem, read: bool = True) -> dict[str, Any]:
        """The example of global sample k (`describe`) with the item's path, and its bytes if `read`."""
        path = self.path(item)
        example = {**describe(k, item), "path": str(path)}
        if read:
            try:
                example["data"] = path.read_bytes()
            except OSError:
                raise TrainerError(
                    f"{item.ref} is not in {self.root / ITEMS_DIR} ({item.cid}): run `curation pull` again"
                ) from None
        return example


#: Largest sample count `RankSamples` takes: its global index k must fit a signed 64-bit tensor element.
_MAX_INDEXED_COUNT: Final = 2**63 - 1


class RankSamples:
    """Rank `rank`'s share of the N global samples as a sequence: `samples[i]` is its i-th example, in global
    order, samples on items excluded since the release left out.

    It is map-style (`len` and `[i]`), so a PyTorch DataLoader with the default sampler hands its workers
    index batches in order and gives them back in order: the same examples in the same order whatever
    `batch_size` and `num_workers` are, and the ranks together give exactly the one-rank run. Any sample is
    drawn on its own (curation.sampler.WeightedSampler.item_at), so nothing is iterated twice; only when
    items are excluded is the rank's sequence scanned once, to know which positions to leave out.
    """

    def __init__(self, pulled: PulledDataset, *, seed: int, count: int, rank: int = 0, world_size: int = 1):
        if not isinstance(count, int) or not 0 <= count <= _MAX_INDEXED_COUNT:
            raise TrainerError(f"count must be a whole number of samples in 0..2**63-1, got {count!r}")
        self.pulled = pulled
        self._sampler = WeightedSampler(
            pulled.manifest.weights,
            pulled.manifest.digest,
            seed=seed,
            count=count,
            world_size=world_size,
            rank=rank,
        )
        self._by_id = {i.item_id: i for i in pulled.manifest.items}
        self._total = len(self._sampler)
        # Positions j (of this rank's samples) that land on an excluded item, ascending.
        self._skipped: list[int] = []
        if pulled.excluded:
            at = self._sampler.item_at
            index = self._sampler.global_index
            self._skipped = [j for j in range(self._total) if at(index(j)) in pulled.excluded]

    def __len__(self) -> int:
        return self._total - len(self._skipped)

    def position(self, i: int) -> int:
        """The rank-local position j of the i-th kept sample."""
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} is out of range: this rank has {len(self)}")
        j = i
        while True:  # the smallest j with j - (skipped positions <= j) == i; it is never a skipped one
            nxt = i + bisect_right(self._skipped, j)
            if nxt == j:
                return j
            j = nxt

    def __getitem__(self, i: int) -> dict[str, Any]:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"sample index must be an int, got {type(i).__name__}")
        if i < 0:
            i += len(self)
        k = self._sampler.global_index(self.position(i))
        return self.pulled.example(k, self._by_id[self._sampler.item_at(k)])


def import_extra(module: str, missing: str) -> Any:
    """Import `module` of an optional extra, only when an adapter is asked for; TrainerError(`missing`) when
    the extra is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TrainerError(missing) from None
