"""Sharded sampling without torch: 1, 2 and 4 workers give one global sequence; ranks partition it; resume."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.cli import trainer_cmd
from backend.trainer import LocalManifest, PulledDataset, ShardedSampler
from backend.trainer.hf_adapter import generate_examples
from backend.trainer.torch_adapter import shard_for_worker
from curation.batches import parse_item_ref
from curation.canonical import canonical_bytes
from curation.errors import InvalidInput
from curation.manifest import MANIFEST_SCHEMA_V2
from curation.sampler import WAD, WeightedSampler
from curation.unixfs import compute_cid

WEIGHTS = [
    (1, WAD // 2),
    (2, WAD // 4),
    (5, WAD // 8),
    ((1 << 64) + (1 << 32) + 7, WAD - WAD // 2 - WAD // 4 - WAD // 8),
]
N = 101  # not a multiple of any shard count used below


def write_pull_dir(root: Path) -> Path:
    """A pull directory with a manifest (canonical JSON) and the item files."""
    items = []
    (root / "items").mkdir(parents=True)
    for item_id, weight in WEIGHTS:
        data = f"item {item_id}".encode()
        cid = str(compute_cid(data).cid)
        (root / "items" / cid).write_bytes(data)
        items.append(
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
    (root / "manifest.json").write_bytes(canonical_bytes({"schema": MANIFEST_SCHEMA_V2, "items": items}))
    return root


@pytest.fixture
def pulled(tmp_path: Path) -> PulledDataset:
    return PulledDataset.open(write_pull_dir(tmp_path / "pull"))


def single_run(m: LocalManifest, seed: int = 7) -> list[int]:
    return list(WeightedSampler(m.weights, m.digest, seed=seed, count=N))


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_any_number_of_workers_gives_the_single_run_sequence(pulled: PulledDataset, workers: int) -> None:
    m = pulled.manifest
    sampler = ShardedSampler.for_manifest(m, seed=7, count=N, num_workers=workers)
    assert len(sampler) == N
    assert list(sampler) == single_run(m)


@pytest.mark.parametrize(("world_size", "workers"), [(2, 1), (2, 2), (3, 4), (4, 2)])
def test_ranks_partition_the_single_run(pulled: PulledDataset, world_size: int, workers: int) -> None:
    m = pulled.manifest
    merged: dict[int, int] = {}
    for rank in range(world_size):
        s = ShardedSampler.for_manifest(
            m, seed=7, count=N, world_size=world_size, rank=rank, num_workers=workers
        )
        for k, item in s.indexed():
            assert k % world_size == rank
            assert k not in merged
            merged[k] = item
    assert [merged[k] for k in range(N)] == single_run(m)


@pytest.mark.parametrize(("workers", "stop"), [(1, 0), (2, 13), (4, 50), (4, N)])
def test_resuming_from_a_state_dict_continues_exactly(pulled: PulledDataset, workers: int, stop: int) -> None:
    m = pulled.manifest
    first = ShardedSampler.for_manifest(m, seed=7, count=N, num_workers=workers)
    head = list(itertools.islice(iter(first), stop))
    state = json.loads(json.dumps(first.state_dict()))  # survives a round trip through a file
    second = ShardedSampler.for_manifest(m, seed=7, count=N, num_workers=workers)
    second.load_state_dict(state)
    assert head + list(second) == single_run(m)


def test_a_state_from_another_run_is_refused(pulled: PulledDataset) -> None:
    m = pulled.manifest
    state = ShardedSampler.for_manifest(m, seed=7, count=N, num_workers=2).state_dict()
    with pytest.raises(InvalidInput, match="workers"):
        ShardedSampler.for_manifest(m, seed=7, count=N, num_workers=4).load_state_dict(state)
    with pytest.raises(InvalidInput, match="seed"):
        ShardedSampler.for_manifest(m, seed=8, count=N, num_workers=2).load_state_dict(state)


def test_torch_workers_read_round_robin_give_the_single_run(pulled: PulledDataset) -> None:
    """What the PyTorch adapter does in each DataLoader worker, and how a DataLoader interleaves them."""
    for rank, world in [(0, 1), (1, 2)]:
        shards = [
            iter(
                shard_for_worker(
                    pulled, seed=7, count=N, rank=rank, world_size=world, worker=w, num_workers=3
                ).indexed()
            )
            for w in range(3)
        ]
        got = []
        for w in itertools.cycle(range(3)):
            nxt = next(shards[w], None)
            if nxt is None:
                break
            got.append(nxt)
        assert [k for k, _ in got] == list(range(rank, N, world))
        assert [i for _, i in got] == single_run(pulled.manifest)[rank::world]


def test_hf_generator_shards_cover_the_rank_and_serve_bytes(pulled: PulledDataset) -> None:
    root = str(pulled.root)
    split = [list(generate_examples(root, [w], 2, 7, N, 0, 1)) for w in (0, 1)]
    together = list(generate_examples(root, [0, 1], 2, 7, N, 0, 1))
    assert sorted(e["k"] for part in split for e in part) == list(range(N))
    assert [int(e["item_id"]) for e in together] == single_run(pulled.manifest)
    assert all(e["data"] == f"item {e['item_id']}".encode() for e in together)


def test_excluded_items_are_never_served(pulled: PulledDataset) -> None:
    (pulled.root / "pull-report.json").write_text(json.dumps({"excluded": [{"item_id": "1"}]}))
    again = PulledDataset.open(pulled.root)
    served = [
        int(e["item_id"])
        for e in again.examples(ShardedSampler.for_manifest(again.manifest, seed=7, count=N))
    ]
    assert 1 not in served
    assert served == [i for i in single_run(pulled.manifest) if i != 1]


# --- through the CLI ------------------------------------------------------------------------------------

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    trainer_cmd.register(app)
    return app


def sample(*args: str) -> list[int]:
    result = runner.invoke(cli(), ["sample", *args])
    assert result.exit_code == 0, result.output
    return [parse_item_ref(line) for line in result.stdout.split()]


def test_cli_sample_is_the_same_for_1_2_4_workers_and_ranks_partition_it(pulled: PulledDataset) -> None:
    manifest = str(pulled.root / "manifest.json")
    base = ["--manifest", manifest, "--seed", "7", "--count", str(N)]
    single = sample(*base)
    assert single == single_run(pulled.manifest)
    for workers in ("2", "4"):
        assert sample(*base, "--workers", workers) == single
    for world in (2, 4):
        shares = [
            sample(*base, "--workers", "2", "--rank", str(r), "--world-size", str(world))
            for r in range(world)
        ]
        assert sum(len(s) for s in shares) == N
        assert [shares[k % world][k // world] for k in range(N)] == single


def test_cli_sample_resumes_from_its_state_file(pulled: PulledDataset, tmp_path: Path) -> None:
    base = ["--manifest", str(pulled.root), "--seed", "7", "--count", str(N), "--workers", "4"]
    state = str(tmp_path / "state.json")
    parts = [sample(*base, "--state", state, "--take", take) for take in ("10", "33", "1000")]
    assert [i for p in parts for i in p] == sample(*base)
    assert [len(p) for p in parts] == [10, 33, N - 43]


def test_cli_sample_errors_are_one_sentence(pulled: PulledDataset, tmp_path: Path) -> None:
    missing = runner.invoke(
        cli(), ["sample", "--manifest", str(tmp_path / "nope.json"), "--seed", "1", "--count", "3"]
    )
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    bad_rank = runner.invoke(
        cli(),
        [
            "sample",
            "--manifest",
            str(pulled.root),
            "--seed",
            "1",
            "--count",
            "3",
            "--rank",
            "2",
            "--world-size",
            "2",
        ],
    )
    assert bad_rank.exit_code == 1
    assert "--rank 2 must be below --world-size 2" in bad_rank.output


def test_cli_sample_prints_refs_and_with_ids_the_decimal_ids(pulled: PulledDataset) -> None:
    base = ["sample", "--manifest", str(pulled.root), "--seed", "7", "--count", str(N)]
    refs = runner.invoke(cli(), base).stdout.split()
    assert "batch:1:7" in refs  # the leaf 2**64 + 2**32 + 7, not its 20-digit id
    assert set(refs) <= {"item:1", "item:2", "item:5", "batch:1:7"}
    ids = runner.invoke(cli(), [*base, "--ids"]).stdout.split()
    assert ids == [str(i) for i in single_run(pulled.manifest)]
