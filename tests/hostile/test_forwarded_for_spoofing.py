"""Attack: a client picks its own address with `X-Forwarded-For`, and drains the shared sign-in nonce pool.

`curation serve` ran uvicorn with its default proxy headers, which believe `X-Forwarded-For` from 127.0.0.1:
a local client (or anything a local proxy passes through) named a fresh address on every request and so got a
fresh rate-limit bucket each time, and one client could take every sign-in nonce (then everyone got 429).

Promise: proxy headers are believed only from the proxies the operator lists in
CURATION_API_TRUSTED_PROXIES (default: none), so a client is its TCP peer address; and one client holds at
most CURATION_API_MAX_NONCES_PER_CLIENT unused nonces, so another client still gets one when the first is
refused. Checked against a real `curation serve` process, with clients on 127.0.0.1 and 127.0.0.2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.api.serve_process import ServeProcess


def _client(server: ServeProcess, source: str) -> httpx.Client:
    """An HTTP client whose connections come from `source` (any 127.x address is this machine)."""
    return httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=source), timeout=30)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ServeProcess]:
    env = {"CURATION_API_RATE_LIMIT": "5", "CURATION_API_RATE_WINDOW": "3600"}
    with ServeProcess(tmp_path / "limited", env) as server:
        yield server


def test_forged_forwarded_for_does_not_refill_the_rate_limit(limited: ServeProcess) -> None:
    with _client(limited, "127.0.0.1") as http:
        # /health was asked once by the harness; four more use up the five tokens
        assert [http.get("/licenses").status_code for _ in range(4)] == [200] * 4
        assert http.get("/licenses").status_code == 429
        for forged in ("203.0.113.7", "203.0.113.8, 198.51.100.1", "::1"):
            r = http.get("/licenses", headers={"X-Forwarded-For": forged})
            assert r.status_code == 429, f"X-Forwarded-For: {forged} gave a fresh bucket"
    with _client(limited, "127.0.0.2") as other:  # a different peer has its own bucket
        assert other.get("/licenses").status_code == 200


@pytest.fixture
def small_pool(tmp_path: Path) -> Iterator[ServeProcess]:
    env = {"CURATION_API_MAX_NONCES": "20", "CURATION_API_MAX_NONCES_PER_CLIENT": "5"}
    with ServeProcess(tmp_path / "pool", env) as server:
        yield server


def test_one_client_cannot_drain_the_nonce_pool(small_pool: ServeProcess) -> None:
    with _client(small_pool, "127.0.0.1") as greedy:
        got = [
            greedy.post("/auth/nonce", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(30)
        ]
        assert got == [200] * 5 + [429] * 25
        refused = greedy.post("/auth/nonce")
        assert refused.status_code == 429
        assert "this client" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
    with _client(small_pool, "127.0.0.2") as someone_else:
        r = someone_else.post("/auth/nonce")
        assert r.status_code == 200, r.text
        assert len(r.json()["nonce"]) == 32


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[ServeProcess]:
    env = {
        "CURATION_API_TRUSTED_PROXIES": "127.0.0.1",
        "CURATION_API_RATE_LIMIT": "3",
        "CURATION_API_RATE_WINDOW": "3600",
    }
    with ServeProcess(tmp_path / "proxied", env) as server:
        yield server


def test_a_configured_proxy_is_believed_and_nobody_else(behind_proxy: ServeProcess) -> None:
    with _client(behind_proxy, "127.0.0.1") as proxy:  # the trusted proxy, relaying two clients
        first = {"X-Forwarded-For": "198.51.100.1"}
        assert [proxy.get("/licenses", headers=first).status_code for _ in range(3)] == [200] * 3
        assert proxy.get("/licenses", headers=first).status_code == 429
        assert proxy.get("/licenses", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    with _client(behind_proxy, "127.0.0.2") as stranger:  # not a configured proxy: its header is ignored
        codes = [
            stranger.get("/licenses", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
            for i in range(5)
        ]
        assert codes == [200] * 3 + [429] * 2
