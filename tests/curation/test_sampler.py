"""The reproducible weighted sampler: global sequence, sharding, resume, frequencies, input checks."""

from __future__ import annotations

import hashlib
import itertools
from bisect import bisect_right
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.errors import InvalidInput
from curation.sampler import (
    BYTES_PER_ITEM,
    MAX_ITEM_ID,
    WAD,
    WeightedSampler,
    WeightTable,
    draw,
    shard_of,
)

DIGEST = hashlib.sha256(b"manifest").digest()
WEIGHTS = [(2, WAD // 2), (5, 0), (9, WAD // 4), (11, WAD // 8), (40, WAD // 8)]


def sampler(**kw: Any) -> WeightedSampler:
    args: dict[str, Any] = {"seed": 7, "count": 200}
    args.update(kw)
    weights = args.pop("weights", WEIGHTS)
    digest = args.pop("digest", DIGEST)
    return WeightedSampler(weights, digest, **args)


def test_draw_is_sha256_of_domain_seed_digest_and_k() -> None:
    h = hashlib.sha256(
        b"curation-commons/sampler/v1\x00" + (7).to_bytes(32, "big") + DIGEST + (3).to_bytes(32, "big")
    )
    assert draw(7, DIGEST, 3) == int.from_bytes(h.digest(), "big") % WAD
    assert 0 <= draw(7, DIGEST, 3) < WAD


def test_item_at_bisects_cumulative_weights() -> None:
    s = sampler()
    for k in range(300):
        u = draw(7, DIGEST, k)
        expected = 2 if u < WAD // 2 else 9 if u < 3 * WAD // 4 else 11 if u < 7 * WAD // 8 else 40
        assert s.item_at(k) == expected


def test_zero_weight_items_are_never_drawn() -> None:
    assert 5 not in list(sampler(count=2000))


@pytest.mark.parametrize("world_size", [1, 2, 4])
@pytest.mark.parametrize("num_workers", [1, 2, 4])
def test_global_sequence_is_the_same_for_any_number_of_ranks_and_workers(
    world_size: int, num_workers: int
) -> None:
    single = list(sampler(count=101))
    merged: dict[int, int] = {}
    for rank in range(world_size):
        for worker in range(num_workers):
            shard = sampler(
                count=101, world_size=world_size, rank=rank, num_workers=num_workers, worker=worker
            )
            ks = list(shard.indices())
            items = list(shard)
            assert len(items) == len(shard) == len(ks)
            for k, i in zip(ks, items, strict=True):
                assert shard_of(k, world_size, num_workers) == (rank, worker)
                assert k not in merged
                merged[k] = i
    assert [merged[k] for k in range(101)] == single


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.integers(1, 5), st.integers(1, 5), st.data())
def test_shard_lengths_partition_the_count(count: int, world_size: int, num_workers: int, data: Any) -> None:
    lengths = [
        len(sampler(count=count, world_size=world_size, rank=r, num_workers=num_workers, worker=w))
        for r in range(world_size)
        for w in range(num_workers)
    ]
    assert sum(lengths) == count
    assert max(lengths) - min(lengths) <= 1


def test_resume_from_state_dict_continues_exactly() -> None:
    full = list(sampler(count=50, world_size=2, rank=1, num_workers=3, worker=2))
    first = sampler(count=50, world_size=2, rank=1, num_workers=3, worker=2)
    it = iter(first)
    head = [next(it) for _ in range(3)]
    state = first.state_dict()
    assert state["position"] == 3
    resumed = sampler(count=50, world_size=2, rank=1, num_workers=3, worker=2)
    resumed.load_state_dict(state)
    assert head + list(resumed) == full
    assert resumed.position == len(full)


def test_unbounded_sampler_resumes_too() -> None:
    s = sampler(count=None)
    it = iter(s)
    head = [next(it) for _ in range(10)]
    t = sampler(count=None)
    t.load_state_dict(s.state_dict())
    it2 = iter(t)
    assert [next(it2) for _ in range(5)] == [s.item_at(k) for k in range(10, 15)]
    assert head == [s.item_at(k) for k in range(10)]
    with pytest.raises(InvalidInput, match="unbounded"):
        len(s)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"seed": 8}, "seed is 8, expected 7"),
        ({"rank": 0}, "rank is 0, expected 1"),
        ({"manifest_digest": "00" * 32}, "manifest_digest"),
        ({"position": 99}, "position 99 is past"),
        ({"position": -1}, "position must be >= 0"),
    ],
)
def test_state_from_another_sequence_or_shard_is_refused(change: dict[str, Any], needle: str) -> None:
    s = sampler(count=50, world_size=2, rank=1)
    state = {**s.state_dict(), **change}
    with pytest.raises(InvalidInput, match=needle):
        sampler(count=50, world_size=2, rank=1).load_state_dict(state)


def test_frequencies_follow_weights() -> None:
    # Fixed seed and digest: the outcome is deterministic, so this cannot flake. Chi-square with 3 degrees of
    # freedom against the 99.9% critical value 16.27; a sampler ignoring weights scores in the thousands.
    n = 40_000
    counts: dict[int, int] = {}
    for item in sampler(count=n, seed=2024):
        counts[item] = counts.get(item, 0) + 1
    chi2 = 0.0
    for item, w in WEIGHTS:
        if w == 0:
            assert item not in counts
            continue
        expected = n * w / WAD
        chi2 += (counts.get(item, 0) - expected) ** 2 / expected
    assert chi2 < 16.27


def test_different_seed_or_digest_gives_a_different_sequence() -> None:
    base = list(sampler(count=64))
    assert list(sampler(count=64, seed=8)) != base
    assert list(sampler(count=64, digest=hashlib.sha256(b"other").digest())) != base


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"weights": [(1, WAD - 1)]}, r"sum to exactly 10\*\*18"),
        ({"weights": [(1, WAD + 1), (2, -1)]}, "weight of item 2 must be >= 0"),
        ({"weights": [(2, WAD // 2), (1, WAD // 2)]}, "strictly increasing item id; 1 follows 2"),
        ({"weights": [(1, WAD // 2), (1, WAD // 2)]}, "strictly increasing"),
        ({"weights": [(1, WAD, 3)]}, "pairs"),
        ({"weights": []}, "sum to exactly"),
        ({"count": -1}, "count must be >= 0"),
        ({"world_size": 0}, "world_size must be >= 1"),
        ({"world_size": 2, "rank": 2}, r"rank \(world_size=2\) must be >= 0 and < 2"),
        ({"num_workers": 2, "worker": 2}, r"worker \(num_workers=2\) must be >= 0 and < 2"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"digest": b"short"}, "32-byte sha256"),
    ],
)
def test_bad_inputs_are_rejected(kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        sampler(**kw)


# -- the numpy tables against the pure-Python sampler they replaced -----------------------------------------


def reference_items(weights: list[tuple[int, int]], digest: bytes, seed: int, ks: range) -> list[int]:
    """The sampler before numpy (kept here as the oracle, and as the benchmark's reference): Python lists of
    ids and cumulative weights, bisect_right of each draw."""
    ids, cum, total = [], [], 0
    for item_id, weight in weights:
        total += weight
        ids.append(item_id)
        cum.append(total)
    return [ids[bisect_right(cum, draw(seed, digest, k))] for k in ks]


def _split_wad(cuts: list[int], zeros: list[bool]) -> list[int]:
    """Weights summing to WAD from sorted cut points; some forced to zero (their share goes to a neighbour)."""
    bounds = [0, *sorted(cuts), WAD]
    weights = [b - a for a, b in itertools.pairwise(bounds)]
    for i, z in enumerate(zeros[: len(weights) - 1]):
        if z:
            weights[i + 1] += weights[i]
            weights[i] = 0
    return weights


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.integers(0, WAD), min_size=0, max_size=40),
    st.lists(st.booleans(), max_size=40),
    st.lists(st.integers(0, MAX_ITEM_ID), min_size=41, max_size=41, unique=True),
    st.integers(0, 2**256 - 1),
    st.integers(1, 4),
)
def test_numpy_sampler_gives_the_pure_python_sequence(
    cuts: list[int], zeros: list[bool], ids: list[int], seed: int, world_size: int
) -> None:
    weights = _split_wad(cuts, zeros)
    pairs = list(zip(sorted(ids)[: len(weights)], weights, strict=True))
    count = 97
    expected = reference_items(pairs, DIGEST, seed, range(count))
    single = WeightedSampler(pairs, DIGEST, seed=seed, count=count)
    assert list(single) == expected
    assert [single.item_at(k) for k in (0, 5, 96)] == [expected[0], expected[5], expected[96]]
    # Shards over one shared table, from its arrays, give the same samples.
    table = WeightTable.from_pairs(pairs)
    for rank in range(world_size):
        shard = WeightedSampler(table, DIGEST, seed=seed, count=count, world_size=world_size, rank=rank)
        assert shard.table is table
        assert list(shard) == expected[rank::world_size]


def test_the_table_holds_numpy_arrays_not_python_objects() -> None:
    n = 50_000
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 2**20, n, dtype=np.int64)
    weights = raw * (WAD // int(raw.sum()))
    weights[-1] += WAD - int(weights.sum())
    ids = np.arange(1, n + 1, dtype=np.uint64)
    table = WeightTable(np.zeros(n, dtype=np.uint64), ids, weights)
    for array, dtype in ((table.cum, np.int64), (table.ids_hi, np.uint64), (table.ids_lo, np.uint64)):
        assert isinstance(array, np.ndarray)
        assert array.dtype == dtype
        assert array.shape == (n,)
    assert table.nbytes == BYTES_PER_ITEM * n
    assert not hasattr(table, "__dict__")  # __slots__: the three arrays are all it holds
    s = WeightedSampler(table, DIGEST, seed=3, count=300)
    pairs = list(zip(ids.tolist(), weights.tolist(), strict=True))
    assert list(s) == reference_items(pairs, DIGEST, 3, range(300))


def test_leaf_ids_past_2_64_survive_the_two_word_table() -> None:
    leaf = (1 << 64) + (7 << 32) + 3
    s = sampler(weights=[(1, WAD // 2), (leaf, WAD // 2)], count=64)
    assert set(s) == {1, leaf}


@pytest.mark.parametrize(
    ("ids", "weights", "needle"),
    [
        ([1, 2], [WAD, -1], "weight of item 2 must be >= 0"),
        ([2, 1], [WAD // 2, WAD // 2], "strictly increasing item id; 1 follows 2"),
        ([1, 2], [WAD, 1], r"sum to exactly 10\*\*18 \(wad\), got 1000000000000000001"),
        ([1, 2], [2**62, 2**62], r"got 9223372036854775808"),  # exact, past int64
    ],
)
def test_array_tables_check_the_same_rules(ids: list[int], weights: list[int], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        WeightTable(
            np.zeros(len(ids), dtype=np.uint64),
            np.array(ids, dtype=np.uint64),
            np.array(weights, dtype=np.int64),
        )


def test_ids_of_2_128_or_more_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"2\*\*128 or more"):
        sampler(weights=[(1 << 128, WAD)])
