"""The PyTorch adapter: a map-style dataset whose examples any collate function takes, in one order whatever
the DataLoader's batch_size and num_workers; the ranks partition the one-rank run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.trainer import PulledDataset
from backend.trainer.items import TrainerError
from backend.trainer.sampling import RankSamples
from backend.trainer.torch_adapter import torch_dataset
from tests.backend.trainer.test_sampling import WEIGHTS, N, single_run, write_pull_dir

LEAF = WEIGHTS[-1][0]  # a batch leaf's id: 2**64 + 7, past what a tensor of int64 holds


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_pull_dir(tmp_path / "pull")


def _collate_safe(value: object) -> bool:
    """What torch's default collate takes from a plain example: str, bytes, and ints that fit int64."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return isinstance(value, str | bytes)


def test_rank_samples_are_the_one_rank_run_in_order_and_collate_safe(root: Path) -> None:
    pulled = PulledDataset.open(root)
    whole = [str(i) for i in single_run(pulled.manifest)]
    assert str(LEAF) in whole  # the leaf is sampled, so its id is exercised below
    parts = []
    for rank in range(3):
        samples = RankSamples(pulled, seed=7, count=N, rank=rank, world_size=3)
        got = [samples[i] for i in range(len(samples))]
        assert [e["k"] for e in got] == list(range(rank, N, 3))
        assert [e["item_id"] for e in got] == whole[rank::3]
        assert all(_collate_safe(v) for e in got for v in e.values())
        assert samples[-1] == got[-1]
        parts.extend(got)
        with pytest.raises(IndexError):
            samples[len(samples)]
    assert sorted(e["k"] for e in parts) == list(range(N))


def test_excluded_items_are_left_out_of_the_sequence(root: Path) -> None:
    (root / "pull-report.json").write_text(json.dumps({"excluded": [{"item_id": "1"}]}))
    pulled = PulledDataset.open(root)
    kept = [str(i) for i in single_run(pulled.manifest) if i != 1]
    for world in (1, 2):
        merged: list[tuple[int, str]] = []
        for rank in range(world):
            samples = RankSamples(pulled, seed=7, count=N, rank=rank, world_size=world)
            merged += [(e["k"], e["item_id"]) for e in (samples[i] for i in range(len(samples)))]
        assert [i for _k, i in sorted(merged)] == kept


def test_a_count_past_int64_is_refused(root: Path) -> None:
    with pytest.raises(TrainerError, match="count"):
        RankSamples(PulledDataset.open(root), seed=7, count=2**63)


@pytest.mark.parametrize("batch_size", [1, 3, 8])
@pytest.mark.parametrize("num_workers", [0, 1, 2, 3])
def test_the_default_dataloader_gives_one_order(root: Path, batch_size: int, num_workers: int) -> None:
    """torch itself (the optional extra): default collate, any batch size and worker count."""
    tud = pytest.importorskip("torch.utils.data")
    pulled = PulledDataset.open(root)
    for rank, world in [(0, 1), (1, 2)]:
        ds = torch_dataset(root, seed=7, count=N, rank=rank, world_size=world)
        loader = tud.DataLoader(ds, batch_size=batch_size, num_workers=num_workers)
        ids: list[str] = []
        ks: list[int] = []
        for batch in loader:
            ids += batch["item_id"]
            ks += batch["k"].tolist()
            assert batch["data"][0].startswith(b"item ")
        assert ks == list(range(rank, N, world))
        assert ids == [str(i) for i in single_run(pulled.manifest)][rank::world]
