"""open_engine: SQLite files and memory, PostgreSQL isolation, clear errors for URLs it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backend.db import open_engine
from backend.errors import ConfigError


def test_an_in_memory_sqlite_database_is_one_database_for_every_connection() -> None:
    engine = open_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (7)"))
    with engine.connect() as other:
        assert other.execute(text("SELECT x FROM t")).scalar_one() == 7
    engine.dispose()


def test_a_sqlite_file_gets_its_directory_and_a_wal_journal(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "index.sqlite"
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
    assert db.parent.is_dir()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://x/y", "cannot use database"),
    ],
)
def test_urls_it_cannot_use_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_engine(url)
