"""Rate limits (429 with Retry-After, per client, refilling with time), CORS and missing deployment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from backend.api.app import create_app
from backend.api.errors import RateLimited
from backend.api.ratelimit import RateLimiter
from backend.api.readmodel import InMemoryReadModel
from backend.ipfs import EmbeddedStore
from backend.settings import Settings
from tests.backend.api.api_helpers import ALICE, BOB, FakeClock, TestClient, make_settings, sign_in


def test_requests_past_the_limit_get_429_until_the_bucket_refills(
    build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    with TestClient(build_app(api_rate_limit=5, api_rate_window=10)) as c:
        assert [c.get("/datasets").status_code for _ in range(5)] == [200] * 5
        r = c.get("/datasets/1")
        assert r.status_code == 429
        assert r.json()["code"] == "rate-limited"
        assert r.headers["retry-after"] == "2"  # one token refills in 10/5 s
        clock.advance(2)
        assert c.get("/datasets").status_code == 200
        assert c.get("/datasets").status_code == 429


def test_limiter_counts_each_client_separately() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 60, clock, "test")
    limiter.hit("a")
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(RateLimited) as info:
        limiter.hit("a")
    assert info.value.retry_after == 30
    limiter.hit("b")


def test_limiter_memory_is_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 60, clock, "test", max_keys=100)
    for i in range(1000):
        limiter.hit(f"client-{i}")
    assert len(limiter._buckets) <= 100


def test_uploads_are_limited_per_signed_in_wallet(
    build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    with TestClient(build_app(api_upload_rate_limit=1)) as c:
        params = {"license": "MIT", "consent": "train"}
        alice = sign_in(c, ALICE, clock).json()["token"]
        bob = sign_in(c, BOB, clock).json()["token"]
        assert (
            c.post(
                "/uploads", params=params, content=b"1", headers={"Authorization": f"Bearer {alice}"}
            ).status_code
            == 201
        )
        r = c.post("/uploads", params=params, content=b"2", headers={"Authorization": f"Bearer {alice}"})
        assert r.status_code == 429
        assert "uploads" in r.json()["detail"]
        assert (
            c.post(
                "/uploads", params=params, content=b"3", headers={"Authorization": f"Bearer {bob}"}
            ).status_code
            == 201
        )


def test_nonce_flood_is_bounded(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(api_max_nonces=3)) as c:
        assert [c.post("/auth/nonce").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_cors_allows_only_configured_origins(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(api_cors_origins="https://app.example.org, https://other.example.org")) as c:
        ok = c.get("/datasets", headers={"Origin": "https://app.example.org"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "etag" in ok.headers["access-control-expose-headers"].lower()
        pre = c.options(
            "/uploads",
            headers={
                "Origin": "https://other.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://other.example.org"
        bad = c.get("/datasets", headers={"Origin": "https://evil.example.org"})
        assert "access-control-allow-origin" not in bad.headers
    with TestClient(build_app()) as c:
        assert (
            "access-control-allow-origin"
            not in c.get("/datasets", headers={"Origin": "https://x.org"}).headers
        )


def test_cors_origins_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_API_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().api_cors_origins == ["https://a.example", "https://b.example"]


def test_without_a_deployment_reads_work_and_uploads_say_why_not(tmp_path: Path, clock: FakeClock) -> None:
    app = create_app(
        make_settings(tmp_path), InMemoryReadModel(), EmbeddedStore(tmp_path / "b"), None, clock=clock
    )
    with TestClient(app) as c:
        assert c.get("/health").json() == {"status": "ok", "chain_id": 31337, "registry": None}
        token = sign_in(c, ALICE, clock).json()["token"]
        r = c.post(
            "/uploads",
            params={"license": "1", "consent": "train"},
            content=b"x",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 503
        assert "no deployment record" in r.json()["detail"]


def test_bad_bodies_oversize_bodies_and_unknown_paths_count_against_the_limit(
    build_app: Callable[..., FastAPI],
) -> None:
    json = {"Content-Type": "application/json"}
    with TestClient(build_app(api_rate_limit=3, api_rate_window=10)) as c:
        assert c.post("/auth/verify", content=b"[" * 1000, headers=json).status_code == 400
        assert c.get("/nowhere").status_code == 404
        assert c.post("/auth/verify", content=b"x" * 70_000, headers=json).status_code == 413
        r = c.post("/auth/verify", content=b"[" * 1000, headers=json)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "4"
        assert r.json()["code"] == "rate-limited"


def test_nonces_are_capped_per_client(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(api_max_nonces=10, api_max_nonces_per_client=2)) as c:
        assert [c.post("/auth/nonce").status_code for _ in range(3)] == [200, 200, 429]
        assert "this client" in c.post("/auth/nonce").json()["detail"]
