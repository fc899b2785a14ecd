"""POST /uploads in-process: stored, pinned, CID/sha256 right, calldata right; limits and bad input leave nothing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from fastapi import FastAPI

from backend.api.models import Contributor
from backend.api.readmodel import InMemoryReadModel
from backend.ipfs import EmbeddedStore
from curation.cid import parse_cid
from curation.consent import Consent
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import (
    ALICE,
    BOB,
    CHAIN_ID,
    MALLORY,
    REGISTRY,
    FakeClock,
    TestClient,
    license_id,
    sign_in,
)

QUERY = {"license": "CC-BY-4.0", "consent": "train,evaluation"}
SELECTOR = keccak(text="submitItem(bytes,bytes32,uint64,uint16,uint16,uint64)")[:4]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}


def _leftovers(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "uploads").iterdir())


def test_upload_stores_pins_and_returns_the_submit_transaction(
    client: TestClient, token: str, store: EmbeddedStore, tmp_path: Path
) -> None:
    data = b"an openly licensed poem\n" * 50
    r = client.post("/uploads", params={**QUERY, "expiry": 1_900_000_000}, content=data, headers=_auth(token))
    assert r.status_code == 201, r.text
    body = r.json()
    expected = compute_cid(data).cid
    assert body["cid"] == str(expected)
    assert body["cid"].startswith("bafkrei")  # CIDv1, raw leaf, base32
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == str(len(data))
    assert store.pins() == [expected]
    assert store.get_bytes(expected) == data
    tx = body["transaction"]
    assert (tx["from"], tx["to"], tx["chainId"], tx["value"]) == (ALICE.address, REGISTRY, CHAIN_ID, 0)
    raw = bytes.fromhex(tx["data"][2:])
    assert raw[:4] == SELECTOR
    cid, sha, size, lic, consent, expiry = abi_decode(
        ["bytes", "bytes32", "uint64", "uint16", "uint16", "uint64"], raw[4:]
    )
    assert parse_cid(cid) == expected
    assert sha == hashlib.sha256(data).digest()
    assert (size, lic, consent, expiry) == (
        len(data),
        license_id("CC-BY-4.0"),
        int(Consent.TRAIN | Consent.EVALUATION),
        1_900_000_000,
    )
    assert _leftovers(tmp_path) == []


def test_upload_larger_than_one_block_gets_the_dag_root(
    client: TestClient, token: str, store: EmbeddedStore
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: four 256 KiB leaves under a dag-pb root
    r = client.post("/uploads", params=QUERY, content=data, headers=_auth(token))
    assert r.status_code == 201, r.text
    assert r.json()["cid"] == str(compute_cid(data).cid)
    assert r.json()["cid"].startswith("bafybei")
    assert store.get_bytes(r.json()["cid"]) == data


class _Body:
    """An async request body that counts how many chunks the server pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


def _post_stream(
    app: FastAPI, token: str, body: _Body, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return await ac.post(
                "/uploads", params=QUERY, content=body, headers={**_auth(token), **(headers or {})}
            )

    return asyncio.run(go())


def test_declared_oversize_is_413_before_reading_any_body(
    build_app: Callable[..., FastAPI], token: str, store: EmbeddedStore, tmp_path: Path
) -> None:
    body = _Body(b"x" * 65536, 200)
    r = _post_stream(build_app(), token, body, {"Content-Length": str(65536 * 200)})
    assert r.status_code == 413
    assert r.json() == {
        "detail": "upload exceeds the limit of 1048576 bytes",
        "code": "payload-too-large",
        "request_id": r.headers["x-request-id"],
    }
    assert body.pulled == 0
    assert store.pins() == []
    assert _leftovers(tmp_path) == []


def test_streamed_oversize_stops_reading_at_the_limit_and_keeps_nothing(
    build_app: Callable[..., FastAPI], token: str, store: EmbeddedStore, tmp_path: Path
) -> None:
    body = _Body(b"x" * 65536, 200)  # chunked: no Content-Length, 12.5 MiB offered against a 1 MiB limit
    r = _post_stream(build_app(), token, body)
    assert r.status_code == 413
    assert body.pulled == 1024 * 1024 // 65536 + 1  # the chunk that crossed the limit, and no more
    assert store.pins() == []
    assert list((store.root / "blocks").rglob("*")) == []
    assert _leftovers(tmp_path) == []


def test_upload_cut_off_by_the_client_keeps_nothing(
    build_app: Callable[..., FastAPI], token: str, store: EmbeddedStore, tmp_path: Path
) -> None:
    app = build_app()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"y" * 1000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/uploads",
        "raw_path": b"/uploads",
        "root_path": "",
        "query_string": b"license=CC-BY-4.0&consent=train",
        "headers": [
            (b"host", b"test"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", b"5000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert b"cut off" in sent[1]["body"]
    assert store.pins() == []
    assert list((store.root / "blocks").rglob("*")) == []
    assert _leftovers(tmp_path) == []


def test_bad_terms_are_422_before_the_body_is_read(
    build_app: Callable[..., FastAPI], token: str, store: EmbeddedStore
) -> None:
    app = build_app()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"license": "WTFPL"}, "unknown license 'WTFPL'; allowed licenses: Apache-2.0, CC-BY-4.0"),
        ({"license": "CC-BY-ND-4.0"}, "no longer on the allowlist"),
        ({"consent": "none"}, "at least one use"),
        ({"consent": "train,telepathy"}, "unknown consent flag 'telepathy'"),
        ({"expiry": 1_000}, "in the past"),
    ]
    for override, why in cases:
        body = _Body(b"z" * 10, 3)

        async def go(params: dict[str, Any], body: _Body) -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
                return await ac.post("/uploads", params=params, content=body, headers=_auth(token))

        r = asyncio.run(go({**QUERY, **override}, body))
        assert r.status_code == 422, (override, r.text)
        assert why in r.json()["detail"], r.json()
        assert body.pulled == 0
    assert store.pins() == []


def test_empty_upload_is_422(client: TestClient, token: str, store: EmbeddedStore) -> None:
    r = client.post("/uploads", params=QUERY, content=b"", headers=_auth(token))
    assert r.status_code == 422
    assert "empty" in r.json()["detail"]
    assert store.pins() == []


def test_upload_needs_a_session(client: TestClient, store: EmbeddedStore) -> None:
    r = client.post(
        "/uploads", params=QUERY, content=b"data", headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 401
    assert "sign in first" in r.json()["detail"]
    assert store.pins() == []


def test_numeric_license_passes_when_the_allowlist_is_unknown(
    build_app: Callable[..., FastAPI], token: str
) -> None:
    model = InMemoryReadModel()  # no licenses known; ALICE registered
    model.add_contributor(
        Contributor(id=1, address=ALICE.address, profile_uri="", item_count=0, total_bytes=0)
    )
    with TestClient(build_app(model=model)) as c:
        r = c.post("/uploads", params={**QUERY, "license": "3"}, content=b"abc", headers=_auth(token))
        assert r.status_code == 201
        assert r.json()["license_id"] == 3
        r = c.post("/uploads", params=QUERY, content=b"abc", headers=_auth(token))
        assert r.status_code == 422
        assert "allowlist is not known" in r.json()["detail"]


def test_an_unregistered_wallet_is_refused_before_the_body_is_read(
    build_app: Callable[..., FastAPI], clock: FakeClock, store: EmbeddedStore, tmp_path: Path
) -> None:
    app = build_app()  # the sample model registers ALICE and BOB, not MALLORY
    with TestClient(app) as c:
        token = sign_in(c, MALLORY, clock).json()["token"]
    body = _Body(b"w" * 1000, 3)
    r = _post_stream(app, token, body)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "not-registered"
    detail = r.json()["detail"]
    assert f"{MALLORY.address} is not a registered contributor" in detail
    assert "ContentRegistryNotRegistered" in detail
    assert "curation register" in detail
    assert "POST /relay" in detail
    assert body.pulled == 0
    assert store.pins() == []
    assert list((store.root / "blocks").rglob("*")) == []
    assert _leftovers(tmp_path) == []


def test_a_registered_wallet_of_the_same_app_still_uploads(
    build_app: Callable[..., FastAPI], clock: FakeClock, store: EmbeddedStore
) -> None:
    with TestClient(build_app()) as c:
        for account in (ALICE, BOB):
            token = sign_in(c, account, clock).json()["token"]
            r = c.post("/uploads", params=QUERY, content=account.address.encode(), headers=_auth(token))
            assert r.status_code == 201, r.text
            assert r.json()["transaction"]["from"] == account.address
    assert len(store.pins()) == 2
