"""Sign-in nonces shared through SQL: any replica accepts a nonce another issued, exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from backend.api.errors import RateLimited, ServiceUnavailable, SignInFailed
from backend.api.nonces import MemoryNonceStore, NonceStore, SqlNonceStore
from backend.errors import ConfigError
from tests.api.api_helpers import ALICE, FakeClock, TestClient, sign, siwe_message
from tests.integration.postgres import create_database


def _stores(url: str, clock: FakeClock, max_outstanding: int = 100) -> tuple[SqlNonceStore, SqlNonceStore]:
    return SqlNonceStore(url, 300, max_outstanding, clock), SqlNonceStore(url, 300, max_outstanding, clock)


def _single_use_across_replicas(a: NonceStore, b: NonceStore, clock: FakeClock) -> None:
    nonce, expires = a.issue()
    assert expires == clock() + 300
    b.consume(nonce)  # issued by one replica, accepted by the other
    for store in (a, b):
        with pytest.raises(SignInFailed, match="already used"):
            store.consume(nonce)
    with pytest.raises(SignInFailed):
        b.consume("f" * 32)  # never issued
    late, _ = b.issue()
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
        a.issue()
    with pytest.raises(RateLimited):
        b.issue()
    clock.advance(301)
    b.issue()  # the expired three are purged


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
    nonce, _ = a.issue()
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
