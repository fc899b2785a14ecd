"""Reproducible weighted sampler: sample k -> item via sha256(seed, manifest digest, k), sharded, over numpy arrays."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from curation.errors import InvalidInput

__all__ = [
    "BYTES_PER_ITEM",
    "MAX_ITEM_ID",
    "SAMPLER_DOMAIN",
    "WAD",
    "WeightTable",
    "WeightedSampler",
    "draw",
    "shard_of",
]

WAD: Final = 10**18
#: Domain separation prefix of every draw; part of the sampler's definition (version 1).
SAMPLER_DOMAIN: Final = b"curation-commons/sampler/v1\x00"
#: Largest item id a WeightTable holds (ids are stored as two 64-bit words). A batch leaf's id is
#: 2**64 + batch id * 2**32 + leaf index, so this is batch ids below 2**96: more batches than any chain holds.
MAX_ITEM_ID: Final = (1 << 128) - 1
#: Memory a WeightTable takes per item: the cumulative weight (int64) and the id (two uint64 words).
BYTES_PER_ITEM: Final = 24
_STATE_VERSION: Final = 1
_U256: Final = 1 << 256
_U64: Final = (1 << 64) - 1
_CHUNK: Final = 1 << 16  # pairs converted per step when a table is built from Python pairs
_BLOCK: Final = 1024  # draws computed per step when a shard iterates

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]


def _check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < lo or (hi is not None and value >= hi):
        upper = f" and < {hi}" if hi is not None else ""
        raise InvalidInput(f"{name} must be >= {lo}{upper}, got {value}")
    return value


def draw(seed: int, manifest_digest: bytes, k: int) -> int:
    """The uniform integer in [0, 10**18) behind global sample k.

    sha256(SAMPLER_DOMAIN || seed as 32 bytes big-endian || manifest digest (32 bytes) || k as 32 bytes
    big-endian), read as a big-endian integer, modulo 10**18 (bias below 2**-196, i.e. none in practice).
    """
    h = hashlib.sha256(SAMPLER_DOMAIN + seed.to_bytes(32, "big") + manifest_digest + k.to_bytes(32, "big"))
    return int.from_bytes(h.digest(), "big") % WAD


def shard_of(k: int, world_size: int, num_workers: int) -> tuple[int, int]:
    """(rank, worker) that produces global sample k: rank k % world_size, worker (k // world_size) % W."""
    return k % world_size, (k // world_size) % num_workers


def _sum_error(total: int) -> InvalidInput:
    return InvalidInput(f"weights must sum to exactly 10**18 (wad), got {total}")


def _exact_sum(weights: Int64Array) -> int:
    """Exact sum of non-negative int64 weights (no overflow: high and low 32-bit halves summed apart)."""
    high = int(np.sum(weights >> 32, dtype=np.uint64))
    low = int(np.sum(weights & 0xFFFFFFFF, dtype=np.uint64))
    return (high << 32) + low


class WeightTable:
    """Item ids and cumulative weights of a manifest, by ascending item id, in numpy arrays.

    BYTES_PER_ITEM (24) bytes per item and no Python object per item: `cum` (int64; item i owns
    [cum[i-1], cum[i]) of [0, 10**18)) and the id as two uint64 words `ids_hi`, `ids_lo`. A position is the
    item's row (0-based) in ascending-id order, the order of a manifest's rows and parts.
    The rules (ids strictly increasing, weights >= 0, exact sum 10**18) are checked here, once.
    """

    __slots__ = ("cum", "ids_hi", "ids_lo")

    def __init__(self, ids_hi: UInt64Array, ids_lo: UInt64Array, weights: Int64Array) -> None:
        n = len(weights)
        if len(ids_hi) != n or len(ids_lo) != n:
            raise InvalidInput(f"{n} weights but {len(ids_hi)}/{len(ids_lo)} ids")
        ids_hi = np.ascontiguousarray(ids_hi, dtype=np.uint64)
        ids_lo = np.ascontiguousarray(ids_lo, dtype=np.uint64)
        weights = np.ascontiguousarray(weights, dtype=np.int64)
        negative = np.flatnonzero(weights < 0)
        if len(negative):
            j = int(negative[0])
            raise InvalidInput(f"weight of item {_join(ids_hi[j], ids_lo[j])} must be >= 0, got {weights[j]}")
        if n > 1:
            up = (ids_hi[1:] > ids_hi[:-1]) | ((ids_hi[1:] == ids_hi[:-1]) & (ids_lo[1:] > ids_lo[:-1]))
            bad = np.flatnonzero(~up)
            del up
            if len(bad):
                j = int(bad[0]) + 1
                raise InvalidInput(
                    "weights must be sorted by strictly increasing item id; "
                    f"{_join(ids_hi[j], ids_lo[j])} follows {_join(ids_hi[j - 1], ids_lo[j - 1])}"
                )
        total = _exact_sum(weights)
        if total != WAD:
            raise _sum_error(total)
        # Every partial sum is at most the total, 10**18 < 2**63: the running sum cannot overflow.
        self.cum: Int64Array = np.cumsum(weights, dtype=np.int64)
        self.ids_hi: UInt64Array = ids_hi
        self.ids_lo: UInt64Array = ids_lo

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int]], size_hint: int = 0) -> WeightTable:
        """A table from (item id, weight) pairs in ascending id order, converted `_CHUNK` at a time (so a
        lazy iterable of pairs never becomes a list); `size_hint` (capped) pre-sizes the arrays."""
        capacity = max(min(size_hint, 1 << 28), _CHUNK)
        hi = np.empty(capacity, dtype=np.uint64)
        lo = np.empty(capacity, dtype=np.uint64)
        w = np.empty(capacity, dtype=np.int64)
        n, total, too_big = 0, 0, False
        chunk_hi: list[int] = []
        chunk_lo: list[int] = []
        chunk_w: list[int] = []

        def flush() -> None:
            nonlocal n, hi, lo, w
            m = len(chunk_w)
            if n + m > len(w):
                size = max(2 * len(w), n + m)
                hi, lo, w = (np.resize(a, size) for a in (hi, lo, w))  # type: ignore[assignment]
            hi[n : n + m] = chunk_hi
            lo[n : n + m] = chunk_lo
            w[n : n + m] = chunk_w
            n += m
            chunk_hi.clear()
            chunk_lo.clear()
            chunk_w.clear()

        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidInput(f"weights must be (item_id, weight) pairs, got {pair!r}")
            item_id, weight = pair
            _check_int("item id", item_id, 0)
            _check_int(f"weight of item {item_id}", weight, 0)
            if item_id > MAX_ITEM_ID:
                raise InvalidInput(
                    f"item id {item_id} is 2**128 or more: no manifest of a real chain holds one (a batch "
                    "leaf's id is 2**64 + batch id * 2**32 + leaf index)"
                )
            total += weight
            if weight > WAD:  # the sum cannot be 10**18 then; kept exact for the message
                too_big, weight = True, 0
            chunk_hi.append(item_id >> 64)
            chunk_lo.append(item_id & _U64)
            chunk_w.append(weight)
            if len(chunk_w) >= _CHUNK:
                flush()
        flush()
        if too_big:
            raise _sum_error(total)
        if n < len(w):
            hi, lo, w = hi[:n].copy(), lo[:n].copy(), w[:n].copy()
        return cls(hi, lo, w)

    def __len__(self) -> int:
        return len(self.cum)

    @property
    def nbytes(self) -> int:
        """Bytes the arrays take (BYTES_PER_ITEM per item)."""
        return int(self.cum.nbytes + self.ids_hi.nbytes + self.ids_lo.nbytes)

    def positions(self, draws: Int64Array) -> npt.NDArray[np.intp]:
        """Row of the item whose interval holds each draw: bisect-right over the cumulative weights."""
        return np.searchsorted(self.cum, draws, side="right")

    def item_id(self, position: int) -> int:
        """Item id of row `position`."""
        return _join(self.ids_hi[position], self.ids_lo[position])

    def item_ids(self, positions: npt.NDArray[np.intp]) -> list[int]:
        """Item ids of many rows, as Python ints."""
        lo: list[int] = self.ids_lo[positions].tolist()
        hi: list[int] = self.ids_hi[positions].tolist()
        return [(h << 64) | x if h else x for h, x in zip(hi, lo, strict=True)]


def _join(hi: np.uint64, lo: np.uint64) -> int:
    return (int(hi) << 64) | int(lo)


class WeightedSampler:
    """One shard (rank, worker) of the global sample sequence of a manifest.

    Global sample k (0 <= k < count) is the item whose cumulative-weight interval holds
    `draw(seed, manifest_digest, k)`; items are laid out by ascending item id, so item i owns
    [w_0 + ... + w_{i-1}, w_0 + ... + w_i). The sequence is fixed by (weights, digest, seed); sharding only
    decides who produces which k: rank R of K gets k = R, R+K, R+2K, ..., and worker w of its W workers gets
    every W-th of those starting with the w-th, i.e. k = R + K * (w + W * j) for j = 0, 1, 2, ...
    The K * W shards together produce exactly the samples of the single-shard run. With count=None the
    sequence is unbounded. `weights` is a WeightTable (shared by every shard, never copied) or (item id,
    weight) pairs in ascending id order.
    """

    def __init__(
        self,
        weights: WeightTable | Iterable[tuple[int, int]],
        manifest_digest: bytes,
        *,
        seed: int,
        count: int | None,
        world_size: int = 1,
        rank: int = 0,
        num_workers: int = 1,
        worker: int = 0,
    ) -> None:
        if not isinstance(manifest_digest, bytes) or len(manifest_digest) != 32:
            raise InvalidInput(
                f"manifest_digest must be the 32-byte sha256 of the manifest, got {manifest_digest!r:.80}"
            )
        self._seed = _check_int("seed", seed, 0, _U256)
        self._count = None if count is None else _check_int("count", count, 0, _U256)
        self._world_size = _check_int("world_size", world_size, 1)
        self._rank = _check_int(f"rank (world_size={world_size})", rank, 0, world_size)
        self._num_workers = _check_int("num_workers", num_workers, 1)
        self._worker = _check_int(f"worker (num_workers={num_workers})", worker, 0, num_workers)
        self._digest = manifest_digest
        self.table = weights if isinstance(weights, WeightTable) else WeightTable.from_pairs(weights)
        self._position = 0  # samples this shard has produced
        # Rows of this shard's samples j in [_block_start, _block_start + len(_block)): a pure function of j.
        self._block_start = 0
        self._block: list[int] = []

    # -- the global sequence -------------------------------------------------------------------------

    def position_at(self, k: int) -> int:
        """Row (in ascending item-id order) of the item of global sample k."""
        _check_int("k", k, 0, _U256)
        u = np.array([draw(self._seed, self._digest, k)], dtype=np.int64)
        return int(self.table.positions(u)[0])

    def item_at(self, k: int) -> int:
        """Item id of global sample k (any k, whichever shard produces it)."""
        return self.table.item_id(self.position_at(k))

    def global_index(self, j: int) -> int:
        """Global index of this shard's j-th sample."""
        return self._rank + self._world_size * (self._worker + self._num_workers * j)

    # -- this shard -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of samples this shard produces in total (resuming does not change it)."""
        if self._count is None:
            raise InvalidInput("an unbounded sampler (count=None) has no length")
        # j-th sample exists iff global_index(j) < count
        first = self.global_index(0)
        if first >= self._count:
            return 0
        return (self._count - 1 - first) // (self._world_size * self._num_workers) + 1

    @property
    def position(self) -> int:
        """How many samples this shard has produced so far."""
        return self._position

    def indices(self) -> Iterator[int]:
        """Global indices still to come for this shard (does not advance the position)."""
        j = self._position
        while True:
            k = self.global_index(j)
            if self._count is not None and k >= self._count:
                return
            yield k
            j += 1

    def _row(self, j: int) -> int:
        """Row of this shard's j-th sample; draws are computed `_BLOCK` at a time, searched in one call."""
        offset = j - self._block_start
        if not 0 <= offset < len(self._block):
            end = j + _BLOCK
            if self._count is not None:
                end = min(end, len(self))
            draws = [draw(self._seed, self._digest, self.global_index(i)) for i in range(j, end)]
            self._block_start = j
            self._block = self.table.positions(np.array(draws, dtype=np.int64)).tolist()
            offset = 0
        return self._block[offset]

    def step(self) -> tuple[int, int] | None:
        """(global index k, row) of this shard's next sample, advancing the position; None when done."""
        j = self._position
        k = self.global_index(j)
        if self._count is not None and k >= self._count:
            return None
        row = self._row(j)
        self._position += 1
        return k, row

    def rows(self) -> Iterator[tuple[int, int]]:
        """(global index k, row) from the current position; each one yielded advances the position."""
        while (nxt := self.step()) is not None:
            yield nxt

    def __iter__(self) -> Iterator[int]:
        """Item ids of this shard from the current position; each one yielded advances the position."""
        for _k, row in self.rows():
            yield self.table.item_id(row)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: identity of the sequence and shard, plus the position."""
        return {
            "version": _STATE_VERSION,
            "seed": self._seed,
            "manifest_digest": self._digest.hex(),
            "count": self._count,
            "world_size": self._world_size,
            "rank": self._rank,
            "num_workers": self._num_workers,
            "worker": self._worker,
            "position": self._position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at `state["position"]`; the state must come from the same sequence and shard."""
        if not isinstance(state, dict):
            raise InvalidInput(f"sampler state must be a dict, got {type(state).__name__}")
        mine = self.state_dict()
        for key, value in mine.items():
            if key == "position":
                continue
            if state.get(key) != value:
                raise InvalidInput(
                    f"sampler state does not match this sampler: {key} is {state.get(key)!r}, "
                    f"expected {value!r}"
                )
        position = _check_int("position", state.get("position"), 0)
        if self._count is not None and position > len(self):
            raise InvalidInput(f"position {position} is past this shard's {len(self)} samples")
        self._position = position
