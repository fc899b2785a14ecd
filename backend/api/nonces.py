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
    Index,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from backend.api.errors import RateLimited, ServiceUnavailable, SignInFailed
from backend.db import open_engine
from backend.errors import ConfigError

__all__ = ["Clock", "MemoryNonceStore", "NonceStore", "SqlNonceStore"]

Clock = Callable[[], float]
_REFUSED = "nonce is unknown, already used or expired: request a new one"
#: Longest client key stored (backend.api.deps.client_key gives at most 64 characters).
MAX_CLIENT_CHARS = 64


def _client_limited(ttl: int, cap: int) -> RateLimited:
    return RateLimited(ttl, f"sign-in nonces of this client ({cap} outstanding; use one or let one expire)")


class NonceStore(ABC):
    """Where sign-in nonces live between `POST /auth/nonce` and `POST /auth/verify`.

    Two bounds, both answered with RateLimited (429): at most `max_outstanding` unexpired nonces in all, and
    at most `max_per_client` for one client, so that no single client can drain the pool others need.
    """

    @abstractmethod
    def issue(self, client: str) -> tuple[str, float]:
        """A fresh nonce (32 hex digits) for `client` and its expiry in unix seconds.

        RateLimited when too many are out, in all or for this client.
        """

    @abstractmethod
    def consume(self, nonce: str) -> None:
        """Accept `nonce` once; SignInFailed when it is unknown, used already or expired."""


class MemoryNonceStore(NonceStore):
    """Nonces issued by this process; each is accepted once, before it expires.

    Bounded: at most `max_outstanding` unexpired nonces, so a flood of nonce requests cannot exhaust memory,
    and at most `max_per_client` per client, so one client cannot take them all.
    Per process: with several replicas, use SqlNonceStore (or route sign-in to one replica).
    """

    def __init__(
        self, ttl: int, max_outstanding: int, clock: Clock, max_per_client: int | None = None
    ) -> None:
        self._ttl = ttl
        self._max = max_outstanding
        self._per_client_max = max_outstanding if max_per_client is None else max_per_client
        self._clock = clock
        self._live: OrderedDict[str, tuple[float, str]] = OrderedDict()  # insertion order is expiry order
        self._per_client: dict[str, int] = {}
        self._lock = threading.Lock()

    def _forget(self, client: str) -> None:
        left = self._per_client[client] - 1
        if left:
            self._per_client[client] = left
        else:
            del self._per_client[client]

    def _purge(self, now: float) -> None:
        while self._live:
            nonce, (expires, client) = next(iter(self._live.items()))
            if expires > now:
                break
            del self._live[nonce]
            self._forget(client)

    def issue(self, client: str) -> tuple[str, float]:
        """A fresh nonce (32 hex digits) for `client` and its expiry in unix seconds."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            if len(self._live) >= self._max:
                raise RateLimited(self._ttl, "sign-in nonces")
            held = self._per_client.get(client, 0)
            if held >= self._per_client_max:
                raise _client_limited(self._ttl, self._per_client_max)
            nonce = secrets.token_hex(16)
            expires = now + self._ttl
            self._live[nonce] = (expires, client)
            self._per_client[client] = held + 1
        return nonce, expires

    def consume(self, nonce: str) -> None:
        """Accept `nonce` once; SignInFailed when it is unknown, used already or expired."""
        now = self._clock()
        with self._lock:
            entry = self._live.pop(nonce, None)
            if entry is not None:
                self._forget(entry[1])
        if entry is None or entry[0] <= now:
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
    # Who asked (backend.api.deps.client_key). Nullable: rows of replicas older than this column count in the
    # total only.
    Column("client", String(MAX_CLIENT_CHARS), nullable=True),
    Index("ix_api_nonces_client", "client"),
)


def _has_client_column(conn: Connection) -> bool:
    return "client" in {c["name"] for c in inspect(conn).get_columns("api_nonces")}


def _add_client_column(conn: Connection) -> None:
    """Give a table created before per-client caps its `client` column (and index), once."""
    if _has_client_column(conn):
        return
    conn.execute(text(f"ALTER TABLE api_nonces ADD COLUMN client VARCHAR({MAX_CLIENT_CHARS})"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_api_nonces_client ON api_nonces (client)"))


class SqlNonceStore(NonceStore):
    """Nonces in a SQL table, so that any API replica can accept a nonce another one issued, once.

    `db_url` is any SQLAlchemy URL (PostgreSQL for replicas on several machines, a SQLite file for several
    processes on one). Single use holds across replicas: accepting is one DELETE of an unexpired row, and
    only the request that deletes it succeeds. The two caps are counted in the same transaction as the
    insert; replicas issuing at the same instant can each pass a count, so a cap can be exceeded by at most
    the number of concurrent requests, never drained by one client.
    """

    def __init__(
        self, db_url: str, ttl: int, max_outstanding: int, clock: Clock, max_per_client: int | None = None
    ) -> None:
        self._ttl = ttl
        self._max = max_outstanding
        self._per_client_max = max_outstanding if max_per_client is None else max_per_client
        self._clock = clock
        try:
            self._engine = open_engine(db_url)
        except ConfigError as exc:
            raise ConfigError(f"nonce database URL {db_url!r} is not usable: {exc}") from None
        self._shown = self._engine.url.render_as_string(hide_password=True)
        with self._tx() as conn:
            _metadata.create_all(conn)
        try:
            with self._tx() as conn:
                _add_client_column(conn)
        except ServiceUnavailable:
            with (
                self._tx() as conn
            ):  # another replica may have added it at the same moment: fine if it is there
                added = _has_client_column(conn)
            if not added:
                raise

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"the sign-in nonce database ({self._shown}) failed: {exc.__class__.__name__}"
            ) from None

    def issue(self, client: str) -> tuple[str, float]:
        now = self._clock()
        nonce = secrets.token_hex(16)
        expires = now + self._ttl
        client = client[:MAX_CLIENT_CHARS]
        with self._tx() as conn:
            conn.execute(delete(_nonces).where(_nonces.c.expires_at <= int(now * 1000)))
            outstanding = conn.execute(select(func.count()).select_from(_nonces)).scalar_one()
            if outstanding >= self._max:
                raise RateLimited(self._ttl, "sign-in nonces")
            held = conn.execute(
                select(func.count()).select_from(_nonces).where(_nonces.c.client == client)
            ).scalar_one()
            if held >= self._per_client_max:
                raise _client_limited(self._ttl, self._per_client_max)
            conn.execute(insert(_nonces).values(nonce=nonce, expires_at=int(expires * 1000), client=client))
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
