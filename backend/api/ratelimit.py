"""Per-client token buckets: `limit` requests per `window` seconds, refilled continuously, in memory."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from backend.api.errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    """One bucket per key (client address, signed-in wallet); `hit` spends a token or raises RateLimited.

    Memory is bounded: past `max_keys` buckets, those already refilled to full (idle clients) are dropped.
    Limits are per process; behind several replicas the effective limit is multiplied by their number.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float], scope: str, max_keys: int = 100_000
    ) -> None:
        self._capacity = float(limit)
        self._rate = limit / window  # tokens per second
        self._clock = clock
        self._scope = scope
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - at) * self._rate)

    def hit(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(max(1, math.ceil((1.0 - tokens) / self._rate)), self._scope)
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_keys:
                self._evict(now)

    def _evict(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self._capacity]:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:  # every client busy: forget the least recently seen half
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]
