"""One way to open a SQL database: the engine factory the index and the API's sign-in nonces both use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from backend.errors import ConfigError

__all__ = ["open_engine"]


def open_engine(db_url: str) -> Engine:
    """A SQLAlchemy engine for `db_url` as the project uses databases (ConfigError when it can't be used).

    SQLite: the file's directory is created, WAL journal, 30 s busy timeout, one shared connection for an
    in-memory database. PostgreSQL: READ COMMITTED whatever the server's default.
    """
    try:
        url = make_url(db_url)
    except ArgumentError:
        raise ConfigError(f"{db_url!r} is not a database URL (sqlite:///path or postgresql://...)") from None
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one shared connection, else every checkout sees a new database
        else:
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif url.get_backend_name() == "postgresql":
        # The index's writers rely on it (see IndexDb._serialize), whatever default_transaction_isolation the
        # server has.
        kwargs["isolation_level"] = "READ COMMITTED"
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use database {url.render_as_string(hide_password=True)}: {exc}") from None
    if url.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL: API readers never block the writer; a killed writer leaves the last commit intact.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine
