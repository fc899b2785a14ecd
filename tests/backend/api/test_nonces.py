"""Sign-in nonces shared through SQL: any replica accepts a nonce another issued, exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from backend.api.errors import RateLimited, ServiceUnavailable, SignInFailed
from backend.api.nonces import MemoryNonceStore, NonceStore, SqlNonceStore
from backend.errors import ConfigError
from tests.backend.api.api_helpers import ALICE, FakeClock, TestClient, sign, siwe_message
from tests.integration.postgres import create_database


def _stores(
    url: str, clock: FakeClock, max_outstanding: int = 100, per_client: int | None = None
) -> tuple[SqlNonceStore, SqlNonceStore]:
    return (
        SqlNonceStore(url, 300, max_outstanding, clock, max_per_client=per_client),
        SqlNonceStore(url, 300, max_outstanding, clock, max_per_client=per_client),
    )


def _single_use_across_replicas(a: NonceStore, b: NonceStore, clock: FakeClock) -> None:
    nonce, expires = a.issue("client-a")
    assert expires == clock() + 300
    b.consume(nonce)  # issued by one replica, accepted by the other
    for store in (a, b):
        with pytest.raises(SignInFailed, match="already used"):
            store.consume(nonce)
    with pytest.raises(SignInFailed):
        b.consume("f" * 32)  # never issued
    late, _ = b.issue("client-b")
    clock.advance(300)
    with pytest.raises(SignInFailed, match="expired"):
        a.consume(late)


def test_sqlite_nonces_are_single_use_across_stores(tmp_path: Path, clock: FakeClock) -> None:
    a, b = _stores(f"sqlite:///{tmp_path / 'nonces.sqlite'}", clock)
    _single_use_across_replicas(a, b, clock)


def test_memory_nonces_are_single_use_too(clock: FakeClock) -> None:
    store = MemoryNonceStore(300, 100, clock)
    _single_use_across_replicas(store, store, clock)


def test_outstanding_nonces_are_bounded_and_expired_ones_make_room(tmp_path: Path, clock: FakeClock) -> None:
    a, b = _stores(f"sqlite:///{tmp_path / 'nonces.sqlite'}", clock, max_outstanding=3)
    for _ in range(3):
        a.issue("client-a")
    with pytest.raises(RateLimited):
        b.issue("client-b")
    clock.advance(301)
    b.issue("client-b")  # the expired three are purged


def _one_client_cannot_take_every_nonce(a: NonceStore, b: NonceStore, clock: FakeClock) -> None:
    """Per-client cap 3, pool 5: a greedy client is refused at 3 (on either replica), the others still get theirs."""
    mine = [a.issue("10.0.0.1")[0], b.issue("10.0.0.1")[0], a.issue("10.0.0.1")[0]]
    for store in (a, b):
        with pytest.raises(RateLimited, match="this client"):
            store.issue("10.0.0.1")
    b.issue("10.0.0.2")
    a.consume(mine[0])  # using one frees a place
    a.issue("10.0.0.1")
    clock.advance(301)  # so does expiry
    for _ in range(3):
        b.issue("10.0.0.1")


def test_memory_nonces_are_capped_per_client(clock: FakeClock) -> None:
    store = MemoryNonceStore(300, 5, clock, max_per_client=3)
    _one_client_cannot_take_every_nonce(store, store, clock)


def test_sql_nonces_are_capped_per_client_across_replicas(tmp_path: Path, clock: FakeClock) -> None:
    a, b = _stores(f"sqlite:///{tmp_path / 'nonces.sqlite'}", clock, max_outstanding=5, per_client=3)
    _one_client_cannot_take_every_nonce(a, b, clock)


def _old_table_upgrades(url: str, clock: FakeClock) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:  # the table as the previous release created it, with a live row in it
        conn.execute(
            text("CREATE TABLE api_nonces (nonce VARCHAR(32) PRIMARY KEY, expires_at BIGINT NOT NULL)")
        )
        conn.execute(
            text("INSERT INTO api_nonces VALUES ('0123456789abcdef0123456789abcdef', :t)"), {"t": 2**62}
        )
    engine.dispose()
    a, b = _stores(url, clock, per_client=1)
    a.consume("0123456789abcdef0123456789abcdef")  # issued by an old replica, still accepted
    a.issue("10.0.0.1")
    with pytest.raises(RateLimited, match="this client"):
        b.issue("10.0.0.1")
    a.close()
    b.close()


def test_a_nonce_table_from_before_per_client_caps_gains_its_column(tmp_path: Path, clock: FakeClock) -> None:
    _old_table_upgrades(f"sqlite:///{tmp_path / 'old.sqlite'}", clock)


@pytest.mark.integration
def test_postgres_nonces_are_capped_per_client_and_old_tables_upgrade(
    postgres_url: str, clock: FakeClock
) -> None:
    _old_table_upgrades(create_database(postgres_url, "api_nonces_old"), clock)
    a, b = _stores(create_database(postgres_url, "api_nonces_caps"), clock, max_outstanding=5, per_client=3)
    _one_client_cannot_take_every_nonce(a, b, clock)
    a.close()
    b.close()


def test_bad_or_unreachable_nonce_database_is_a_clear_error(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ConfigError, match="nonce database URL"):
        SqlNonceStore("not a url", 300, 10, clock)
    with pytest.raises(ServiceUnavailable, match="sign-in nonce database"):
        SqlNonceStore("postgresql+psycopg://nobody@127.0.0.1:9/none", 300, 10, clock)


def test_two_api_replicas_share_sign_in_nonces(
    tmp_path: Path, build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    db = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    with TestClient(build_app(api_nonce_db=db)) as one, TestClient(build_app(api_nonce_db=db)) as two:
        nonce = one.post("/auth/nonce").json()["nonce"]
        text = siwe_message(ALICE, nonce, clock).to_text()
        body = {"message": text, "signature": sign(ALICE, text)}
        assert two.post("/auth/verify", json=body).status_code == 200
        replay = one.post("/auth/verify", json=body)
        assert replay.status_code == 401
        assert "already used" in replay.json()["detail"]


@pytest.mark.integration
def test_postgres_nonces_are_single_use_under_concurrent_replicas(
    postgres_url: str, clock: FakeClock
) -> None:
    url = create_database(postgres_url, "api_nonces_test")
    a, b = _stores(url, clock)
    _single_use_across_replicas(a, b, clock)
    nonce, _ = a.issue("client-a")
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race(store: NonceStore) -> None:
        barrier.wait()
        try:
            store.consume(nonce)
            wins.append(True)
        except SignInFailed:
            wins.append(False)

    threads = [threading.Thread(target=race, args=((a, b)[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    a.close()
    b.close()
