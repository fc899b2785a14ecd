"""Attack: read the server's secrets and layout out of its error answers.

A 503 carried the chain node's RPC URL with its API key (in the path and the query), store errors carried
local filesystem paths, and an error's text went out exactly as the exception said it.

Promise: no error response body carries a URL credential (user:password@, an API key in a URL's path or
query), a local filesystem path or a stack trace, whatever raised it (a domain error, the chain, the content
store, a bug). Each error body has a `request_id` (also the X-Request-ID header), and the server log has the
full detail under that id, so an operator can still find what happened. Checked in-process with real
components failing for real (an unreachable node, a store without the block, a bug), and against a real
`curation serve` process whose IPFS node is unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from backend.api.immutable import VerifiedBytes
from backend.api.readmodel import InMemoryReadModel
from backend.chain.signatures import erc1271_accepts
from backend.ipfs import EmbeddedStore
from backend.ipfs.errors import ContentNotFound
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import (
    ALICE,
    MALLORY,
    FakeClock,
    TestClient,
    deployment,
    make_app,
    sign,
    siwe_message,
)
from tests.backend.api.serve_process import ServeProcess, free_port

SECRETS = ("hunter2", "SECRETKEY", "QKEY", "user:")


def _assert_nothing_internal(r: httpx.Response, *also: str) -> str:
    """The body is a clean error: no credential, no local path, no trace; returns its request id."""
    text = r.text
    for secret in (*SECRETS, *also):
        assert secret not in text, f"{secret!r} leaked: {text}"
    assert "Traceback" not in text
    assert '  File "' not in text
    for root in ("/tmp/", "/home/", "/root/", "/work/", "/var/"):
        assert root not in text, f"a local path leaked: {text}"
    body = r.json()
    assert set(body) == {"detail", "code", "request_id"}, body
    assert body["request_id"] == r.headers["x-request-id"]
    return str(body["request_id"])


def _logged(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [rec for rec in caplog.records if rec.name == "backend.api" and request_id in rec.getMessage()]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_unreachable_node_url_and_key_stay_in_the_log(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A contract-wallet check against a node that does not answer: 503 without the node's URL or key."""
    node = f"http://user:hunter2@127.0.0.1:{free_port()}/v3/SECRETKEY?apikey=QKEY"
    check = partial(erc1271_accepts, Web3(HTTPProvider(node, request_kwargs={"timeout": 5})))
    app = make_app(tmp_path, clock, EmbeddedStore(tmp_path / "blocks"), signature_check=check)
    caplog.set_level(logging.INFO, logger="backend.api")
    with TestClient(app) as client:
        nonce = client.post("/auth/nonce").json()["nonce"]
        text = siwe_message(ALICE, nonce, clock).to_text()
        r = client.post("/auth/verify", json={"message": text, "signature": sign(MALLORY, text)})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "chain-unavailable"
    request_id = _assert_nothing_internal(r)
    [record] = _logged(caplog, request_id)
    assert "SECRETKEY" in record.getMessage()  # the operator's log keeps what the client does not see


class _StoreBackedModel(InMemoryReadModel):
    """Serves manifests from the real content store, as the chain read model does."""

    def __init__(self, store: EmbeddedStore) -> None:
        super().__init__()
        self._store = store

    def manifest(self, dataset_id: int, number: int) -> VerifiedBytes:
        data = self._store.get_bytes(MISSING)
        raise AssertionError(f"the store gave {len(data)} bytes for a CID it does not hold")


MISSING = str(compute_cid(b"a manifest this store never received").cid)


def test_store_errors_do_not_show_local_paths(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedStore(tmp_path / "blocks")
    app = make_app(tmp_path, clock, store, _StoreBackedModel(store))
    caplog.set_level(logging.INFO, logger="backend.api")
    with TestClient(app) as client:
        r = client.get("/datasets/1/releases/1/manifest")
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "content-not-found"
    request_id = _assert_nothing_internal(r, str(tmp_path))
    with pytest.raises(ContentNotFound) as raised:  # what the store says, word for word
        store.get_bytes(MISSING)
    [record] = _logged(caplog, request_id)
    assert repr(str(raised.value)) in record.getMessage()  # the log has it whole, paths and all


def test_a_bug_is_a_generic_500_with_the_traceback_only_in_the_log(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(InMemoryReadModel):
        def licenses(self) -> Any:
            raise RuntimeError(f"cannot open {tmp_path}/secrets.db as user:hunter2")

    app = make_app(tmp_path, clock, EmbeddedStore(tmp_path / "blocks"), Broken())
    caplog.set_level(logging.INFO, logger="backend.api")
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/licenses")
    assert r.status_code == 500
    request_id = _assert_nothing_internal(r, str(tmp_path))
    assert r.json()["detail"] == "internal error"
    assert r.json()["code"] == "internal-error"
    [record] = _logged(caplog, request_id)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None  # the traceback goes to the log
    assert "secrets.db" in record.getMessage()


@pytest.fixture
def serve_with_dead_ipfs(tmp_path: Path) -> Iterator[ServeProcess]:
    home = tmp_path / "home"
    home.mkdir()
    deployment().save(home / "deployment.json")
    ipfs = f"http://user:hunter2@127.0.0.1:{free_port()}/SECRETKEY"
    with ServeProcess(home, {"CURATION_IPFS": ipfs, "CURATION_IPFS_TIMEOUT": "5"}) as server:
        yield server


def test_curation_serve_answers_a_dead_ipfs_node_without_its_url(serve_with_dead_ipfs: ServeProcess) -> None:
    server = serve_with_dead_ipfs
    with httpx.Client(base_url=server.url, timeout=60) as http:
        offer = http.post("/auth/nonce").json()
        clock = FakeClock(start=float(offer["expires_at"] - 300))
        scheme = offer["uri"].split("://")[0]
        text = siwe_message(
            ALICE, offer["nonce"], clock, domain=offer["domain"], uri=offer["uri"], scheme=scheme
        ).to_text()
        signed_in = http.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)})
        assert signed_in.status_code == 200, signed_in.text
        r = http.post(
            "/uploads",
            params={"license": "MIT", "consent": "train"},
            content=b"some content",
            headers={"Authorization": f"Bearer {signed_in.json()['token']}"},
        )
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "store-unavailable"
    request_id = _assert_nothing_internal(r, str(server.home))
    log = server.log()
    assert f"request {request_id}:" in log
    line = next(line for line in log.splitlines() if f"request {request_id}:" in line)
    assert "SECRETKEY" in line  # the full detail is in the server log, under the id the client got
