"""PyTorch adapter (optional extra `torch`): a pulled release as an IterableDataset sharded by rank and worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.trainer.sampling import PulledDataset, ShardedSampler, import_extra

__all__ = ["shard_for_worker", "torch_dataset"]

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
    """The sampler one DataLoader worker runs: its own shard only. A DataLoader reads its workers
    round-robin, so the rank sees its samples in ascending global order whatever `num_workers` is."""
    return ShardedSampler.for_manifest(
        dataset.manifest,
        seed=seed,
        count=count,
        world_size=world_size,
        rank=rank,
        num_workers=num_workers,
        workers=[worker],
    )


def torch_dataset(
    root: Path,
    *,
    seed: int,
    count: int | None,
    rank: int = 0,
    world_size: int = 1,
    transform: Transform | None = None,
) -> Any:
    """A `torch.utils.data.IterableDataset` over the pull directory `root`.

    Each example is the dict `PulledDataset.examples` yields (bytes under "data"), passed through
    `transform` if given. Inside a DataLoader each worker draws only its shard (get_worker_info); in
    distributed training give each process its `rank` and `world_size`. torch is imported here, lazily.
    """
    tud = import_extra(
        "torch.utils.data",
        "the PyTorch adapter needs torch: pip install 'curation-commons[torch]' (torch==2.13.0)",
    )

    pulled = PulledDataset.open(root)
    base: Any = tud.IterableDataset

    class CurationIterableDataset(base):  # type: ignore[misc]
        def __iter__(self) -> Iterator[Any]:
            info = tud.get_worker_info()
            worker, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
            sampler = shard_for_worker(
                pulled,
                seed=seed,
                count=count,
                rank=rank,
                world_size=world_size,
                worker=worker,
                num_workers=num_workers,
            )
            for example in pulled.examples(sampler):
                yield transform(example) if transform else example

    return CurationIterableDataset()
