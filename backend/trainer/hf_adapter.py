"""Hugging Face `datasets` adapter (optional extra `hf`): a pulled release as a sharded IterableDataset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from backend.trainer.items import TrainerError
from backend.trainer.sampling import PulledDataset, ShardedSampler, import_extra

__all__ = ["generate_examples", "hf_iterable"]


def generate_examples(
    root: str,
    workers: Sequence[int],
    num_workers: int,
    seed: int,
    count: int | None,
    rank: int,
    world_size: int,
) -> Iterator[dict[str, Any]]:
    """The generator behind `hf_iterable`: the samples of the listed worker shards, round-robin.

    `datasets` splits the list-valued `workers` among DataLoader workers, so each reads its own shards.
    """
    pulled = PulledDataset.open(Path(root))
    sampler = ShardedSampler.for_manifest(
        pulled.manifest,
        seed=seed,
        count=count,
        world_size=world_size,
        rank=rank,
        num_workers=num_workers,
        workers=sorted(workers),
    )
    yield from pulled.examples(sampler)


def hf_iterable(
    root: Path,
    *,
    seed: int,
    count: int | None,
    rank: int = 0,
    world_size: int = 1,
    num_shards: int = 1,
) -> Any:
    """A `datasets.IterableDataset` over the pull directory `root`, in `num_shards` worker shards (give a
    DataLoader at most that many workers). `datasets` is imported here, lazily."""
    datasets = import_extra(
        "datasets", "the Hugging Face adapter needs datasets: pip install 'curation-commons[hf]'"
    )
    if num_shards < 1:
        raise TrainerError(f"num_shards must be at least 1, got {num_shards}")
    PulledDataset.open(root)  # fail now, not inside a DataLoader worker
    return datasets.IterableDataset.from_generator(
        generate_examples,
        gen_kwargs={
            "root": str(root),
            "workers": list(range(num_shards)),
            "num_workers": num_shards,
            "seed": seed,
            "count": count,
            "rank": rank,
            "world_size": world_size,
        },
    )
