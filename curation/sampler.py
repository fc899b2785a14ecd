"""Reproducible weighted sampler: sample k -> item via sha256(seed, manifest digest, k), sharded."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Any, Final

from curation.errors import InvalidInput

__all__ = ["SAMPLER_DOMAIN", "WAD", "WeightedSampler", "draw", "shard_of"]

WAD: Final = 10**18
#: Domain separation prefix of every draw; part of the sampler's definition (version 1).
SAMPLER_DOMAIN: Final = b"curation-commons/sampler/v1\x00"
_STATE_VERSION: Final = 1
_U256: Final = 1 << 256


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


class WeightedSampler:
    """One shard (rank, worker) of the global sample sequence of a manifest.

    Global sample k (0 <= k < count) is the item whose cumulative-weight interval holds
    `draw(seed, manifest_digest, k)`; items are laid out by ascending item id, so item i owns
    [w_0 + ... + w_{i-1}, w_0 + ... + w_i). The sequence is fixed by (weights, digest, seed); sharding only
    decides who produces which k: rank R of K gets k = R, R+K, R+2K, ..., and worker w of its W workers gets
    every W-th of those starting with the w-th, i.e. k = R + K * (w + W * j) for j = 0, 1, 2, ...
    The K * W shards together produce exactly the samples of the single-shard run. With count=None the
    sequence is unbounded.
    """

    def __init__(
        self,
        weights: Iterable[tuple[int, int]],
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
        self._ids: list[int] = []
        self._cum: list[int] = []
        total, prev = 0, -1
        for pair in weights:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidInput(f"weights must be (item_id, weight) pairs, got {pair!r}")
            item_id, weight = pair
            _check_int("item id", item_id, 0)
            _check_int(f"weight of item {item_id}", weight, 0)
            if item_id <= prev:
                raise InvalidInput(
                    f"weights must be sorted by strictly increasing item id; {item_id} follows {prev}"
                )
            prev = item_id
            total += weight
            self._ids.append(item_id)
            self._cum.append(total)
        if total != WAD:
            raise InvalidInput(f"weights must sum to exactly 10**18 (wad), got {total}")
        self._position = 0  # samples this shard has produced

    # -- the global sequence -------------------------------------------------------------------------

    def item_at(self, k: int) -> int:
        """Item id of global sample k (any k, whichever shard produces it)."""
        _check_int("k", k, 0, _U256)
        return self._ids[bisect_right(self._cum, draw(self._seed, self._digest, k))]

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

    def __iter__(self) -> Iterator[int]:
        """Item ids of this shard from the current position; each one yielded advances the position."""
        for k in self.indices():
            item = self.item_at(k)
            self._position += 1
            yield item

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
