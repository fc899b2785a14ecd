"""Attack: a sign-in message written for another site, or for plain http, is accepted.

`POST /auth/verify` checked the domain, chain, times and signer of an EIP-4361 message, but not its `URI:` line
nor the scheme in front of its domain: a message naming a foreign URI (a signature obtained by a phishing site,
say) or `http://` for a server served over https got a session.

Promise: the message's URI must have the scheme, host and port of the configured sign-in URI
(CURATION_API_URI), and its scheme (https when none is given, as EIP-4361 says) must be that URI's scheme;
otherwise 401 with a sentence naming what was expected, and the nonce is not spent. Unset, the sign-in URI is
the origin `curation serve` listens on, which `POST /auth/nonce` announces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.ipfs import EmbeddedStore
from tests.backend.api.api_helpers import ALICE, URI, FakeClock, TestClient, make_app, sign, siwe_message
from tests.backend.api.serve_process import ServeProcess


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """The API with CURATION_API_URI=https://curation.example.org/login (and its domain)."""
    with TestClient(make_app(tmp_path, clock, EmbeddedStore(tmp_path / "blocks"))) as c:
        yield c


def _attempt(client: TestClient, clock: FakeClock, **fields: str) -> tuple[str, httpx.Response]:
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock, **fields).to_text()
    return nonce, client.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)})


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        (
            {"uri": "https://evil.example.org/login"},
            "this server signs in at https://curation.example.org (the URI",
        ),
        ({"uri": "https://curation.example.org.evil.example/login"}, "message is for URI"),
        ({"uri": "https://curation.example.org:8443/login"}, "message is for URI"),
        ({"uri": "http://curation.example.org/login"}, "message is for URI"),
        ({"uri": "curation.example.org/login"}, "message is for URI"),
        ({"scheme": "http"}, "message names scheme 'http', this server signs in over 'https'"),
        ({"scheme": "http", "uri": "http://curation.example.org/login"}, "scheme 'http'"),
    ],
)
def test_foreign_uri_or_scheme_gets_no_session(
    client: TestClient, clock: FakeClock, fields: dict[str, str], why: str
) -> None:
    nonce, r = _attempt(client, clock, **fields)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "unauthenticated"
    assert why in r.json()["detail"], r.json()
    # the refused message did not spend the nonce: the genuine message still signs in with it
    text = siwe_message(ALICE, nonce, clock).to_text()
    assert (
        client.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)}).status_code == 200
    )


def test_the_servers_own_origin_signs_in(client: TestClient, clock: FakeClock) -> None:
    assert _attempt(client, clock)[1].status_code == 200  # URI as configured, no scheme (https)
    assert _attempt(client, clock, scheme="https")[1].status_code == 200
    assert _attempt(client, clock, uri="https://curation.example.org/another/page")[1].status_code == 200
    assert URI == "https://curation.example.org/login"


def test_a_server_over_http_wants_http_named(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(tmp_path, clock, EmbeddedStore(tmp_path / "blocks"), api_uri="http://curation.example.org")
    with TestClient(app) as client:
        r = _attempt(client, clock, uri="http://curation.example.org/login")[1]
        assert r.status_code == 401
        assert "no scheme (so https)" in r.json()["detail"]
        ok = _attempt(client, clock, scheme="http", uri="http://curation.example.org/login")[1]
        assert ok.status_code == 200, ok.text


def test_curation_serve_expects_its_own_origin_by_default(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "serve") as server, httpx.Client(base_url=server.url, timeout=30) as http:
        offer = http.post("/auth/nonce").json()
        host = f"127.0.0.1:{server.port}"
        assert offer["uri"] == f"http://{host}"
        assert offer["domain"] == host
        clock = FakeClock(start=float(offer["expires_at"] - 300))

        def attempt(**fields: str) -> httpx.Response:
            nonce = http.post("/auth/nonce").json()["nonce"]
            text = siwe_message(ALICE, nonce, clock, domain=host, **fields).to_text()
            return http.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)})

        foreign = attempt(scheme="http", uri="http://evil.example.org/")
        assert foreign.status_code == 401
        assert f"this server signs in at http://{host} (" in foreign.json()["detail"]
        ok = attempt(scheme="http", uri=f"http://{host}/")
        assert ok.status_code == 200, ok.text
