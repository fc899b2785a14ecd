"""Sign-in nonces: issued once, accepted once, before they expire; in memory or shared through SQL."""

from __future__ import annotations

import secrets
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from backend.api.errors import RateLimited, ServiceUnavailable, SignInFailed
from backend.errors import ConfigError
from backend.index import open_engine

__all__ = ["Clock", "MemoryNonceStore", "NonceStore", "SqlNonceStore"]

Clock = Callable[[], float]
_REFUSED = "nonce is unknown, already used or expired: request a new one"


class NonceStore(ABC):
    """Where sign-in nonces live between `POST /auth/nonce` and `POST /auth/verify`."""

    @abstractmethod
    def issue(self) -> tuple[str, float]:
        """A fresh nonce (32 hex digits) and its expiry in unix seconds; RateLimited when too many are out."""

    @abstractmethod
    def consume(self, nonce: str) -> None:
        """Accept `nonce` once; SignInFailed when it is unknown, used already or expired."""


class MemoryNonceStore(NonceStore):
    """Nonces issued by this process; each is accepted once, before it expires.

    Bounded: at most `max_outstanding` unexpired nonces, so a flood of nonce requests cannot exhaust memory.
    Per process: with several replicas, use SqlNonceStore (or route sign-in to one replica).
    """

    def __init__(self, ttl: int, max_outstanding: int, clock: Clock) -> None:
        self._ttl = ttl
        self._max = max_outstanding
        self._clock = clock
        self._live: OrderedDict[str, float] = OrderedDict()  # insertion order is expiry order
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        while self._live:
            nonce, expires = next(iter(self._live.items()))
            if expires > now:
                break
            del self._live[nonce]

    def issue(self) -> tuple[str, float]:
        """A fresh nonce (32 hex digits) and its expiry in unix seconds."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            if len(self._live) >= self._max:
                raise RateLimited(self._ttl, "sign-in nonces")
            nonce = secrets.token_hex(16)
            expires = now + self._ttl
            self._live[nonce] = expires
        return nonce, expires

    def consume(self, nonce: str) -> None:
        """Accept `nonce` once; SignInFailed when it is unknown, used already or expired."""
        now = self._clock()
        with self._lock:
            expires = self._live.pop(nonce, None)
        if expires is None or expires <= now:
            raise SignInFailed(_REFUSED)

    def __len__(self) -> int:
        return len(self._live)


_metadata = MetaData()
#: Outstanding nonces; a row is deleted when its nonce is used, or found expired.
_nonces = Table(
    "api_nonces",
    _metadata,
    Column("nonce", String(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),  # unix milliseconds
)


class SqlNonceStore(NonceStore):
    """Nonces in a SQL table, so that any API replica can accept a nonce another one issued, once.

    `db_url` is any SQLAlchemy URL (PostgreSQL for replicas on several machines, a SQLite file for several
    processes on one). Single use holds across replicas: accepting is one DELETE of an unexpired row, and
    only the request that deletes it succeeds.
    """

    def __init__(self, db_url: str, ttl: int, max_outstanding: int, clock: Clock) -> None:
        self._ttl = ttl
        self._max = max_outstanding
        self._clock = clock
        try:
            self._engine = open_engine(db_url)
        except ConfigError as exc:
            raise ConfigError(f"nonce database URL {db_url!r} is not usable: {exc}") from None
        self._shown = self._engine.url.render_as_string(hide_password=True)
        with self._tx() as conn:
            _metadata.create_all(conn)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"the sign-in nonce database ({self._shown}) failed: {exc.__class__.__name__}"
            ) from None

    def issue(self) -> tuple[str, float]:
        now = self._clock()
        nonce = secrets.token_hex(16)
        expires = now + self._ttl
        with self._tx() as conn:
            conn.execute(delete(_nonces).where(_nonces.c.expires_at <= int(now * 1000)))
            outstanding = conn.execute(select(func.count()).select_from(_nonces)).scalar_one()
            if outstanding >= self._max:
                raise RateLimited(self._ttl, "sign-in nonces")
            conn.execute(insert(_nonces).values(nonce=nonce, expires_at=int(expires * 1000)))
        return nonce, expires

    def consume(self, nonce: str) -> None:
        now_ms = int(self._clock() * 1000)
        with self._tx() as conn:
            taken = conn.execute(
                delete(_nonces).where(_nonces.c.nonce == nonce, _nonces.c.expires_at > now_ms)
            ).rowcount
        if taken != 1:
            raise SignInFailed(_REFUSED)

    def close(self) -> None:
        self._engine.dispose()
