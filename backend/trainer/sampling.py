"""Sharded sampling over a pulled manifest: one rank's samples drawn by W workers, resumable, adapter-free."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from backend.trainer.items import LocalManifest, TrainerError
from backend.trainer.pull import ITEMS_DIR
from backend.trainer.report import REPORT_JSON
from curation import safejson
from curation.errors import InvalidInput
from curation.manifest_read import ManifestItem
from curation.sampler import WeightedSampler

__all__ = [
    "MAX_PULL_REPORT_BYTES",
    "STATE_FORMAT",
    "PulledDataset",
    "ShardedSampler",
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
        weights: Sequence[tuple[int, int]],
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
        self._samplers = [
            WeightedSampler(
                weights,
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

    @classmethod
    def for_manifest(cls, manifest: LocalManifest, **kwargs: Any) -> ShardedSampler:
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

    def indexed(self) -> Iterator[tuple[int, int]]:
        """(global index k, item id) from the current position; each one advances the position."""
        w = self._next_worker()
        while True:
            sampler = self._samplers[w]
            k = next(sampler.indices(), None)
            if k is None:  # round-robin order: once one worker is done, every later sample is past `count`
                return
            item = next(iter(sampler))  # advances that worker by one
            yield k, item
            w = (w + 1) % len(self._samplers)

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
        by_id = {i.item_id: i for i in self.manifest.items}
        for k, item_id in sampler.indexed():
            if item_id in self.excluded:
                continue
            item = by_id[item_id]
            path = self.path(item)
            example: dict[str, Any] = {
                "item_id": item_id,
                "k": k,
                "cid": item.cid,
                "license": item.license,
                "contributor": item.contributor,
                "path": str(path),
            }
            if read:
                try:
                    example["data"] = path.read_bytes()
                except OSError:
                    raise TrainerError(
                        f"{item.ref} is not in {self.root / ITEMS_DIR} ({item.cid}): run `curation pull` again"
                    ) from None
            yield example


def import_extra(module: str, missing: str) -> Any:
    """Import `module` of an optional extra, only when an adapter is asked for; TrainerError(`missing`) when
    the extra is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TrainerError(missing) from None
