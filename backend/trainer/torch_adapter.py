"""PyTorch adapter (optional extra `torch`): a pulled release as a map-style dataset for any DataLoader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.trainer.sampling import PulledDataset, RankSamples, ShardedSampler, import_extra

__all__ = ["TorchSamples", "shard_for_worker", "torch_dataset"]

Transform = Callable[[dict[str, Any]], Any]


def shard_for_worker(
    dataset: PulledDataset,
    *,
    seed: int,
    count: int | None,
    rank: int,
    world_size: int,
    worker: int,
    num_workers: int,
) -> ShardedSampler:
    """The sampler one worker shard runs (for loaders that read their workers round-robin, one sample at a
    time; `torch_dataset` does not need it: a DataLoader hands its workers index batches)."""
    return ShardedSampler.for_manifest(
        dataset.manifest,
        seed=seed,
        count=count,
        world_size=world_size,
        rank=rank,
        num_workers=num_workers,
        workers=[worker],
    )


class TorchSamples:
    """`RankSamples` with an optional transform: what `torch_dataset` returns.

    A plain class at module level (a DataLoader takes any object with `__len__` and `__getitem__` as a
    map-style dataset), so it pickles into worker processes under any start method.
    """

    def __init__(self, samples: RankSamples, transform: Transform | None = None) -> None:
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Any:
        example = self.samples[i]
        return self.transform(example) if self.transform else example


def torch_dataset(
    root: Path,
    *,
    seed: int,
    count: int,
    rank: int = 0,
    world_size: int = 1,
    transform: Transform | None = None,
) -> TorchSamples:
    """A map-style dataset over the pull directory `root`: rank `rank`'s share of `count` global samples.

    Give it to `torch.utils.data.DataLoader` as it is (default sampler, `shuffle=False`): any `batch_size`
    and any `num_workers` give the same examples in the same order, and the `world_size` ranks together
    give exactly the one-rank run. Each example is the dict `PulledDataset.example` makes (the item id as a
    decimal string, bytes under "data"), which the default collate function takes; `transform` is applied
    to it if given. torch is checked for here, so a missing extra fails now, not inside a worker.
    """
    import_extra(
        "torch.utils.data",
        "the PyTorch adapter needs torch: pip install 'curation-commons[torch]' (torch==2.13.0)",
    )
    pulled = PulledDataset.open(root)
    samples = RankSamples(pulled, seed=seed, count=count, rank=rank, world_size=world_size)
    return TorchSamples(samples, transform)
