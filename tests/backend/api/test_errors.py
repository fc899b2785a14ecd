"""Error answers (backend.api.errors), serving options and client keys: what goes out, what stays in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from backend.api.deps import client_key
from backend.api.errors import domain_error_response, error_code, http_status, redact
from backend.api.models import ErrorBody
from backend.api.serving import uvicorn_options
from backend.chainstate import StateBlockAhead
from backend.errors import RETRY_AFTER_SECONDS, ChainError, ConfigError
from backend.index.errors import ChainUnsettledError, IndexEmptyError, IndexerError, IndexMismatchError
from backend.ipfs.errors import StoreTimeout, StoreUnavailable
from backend.release import ReleaseRaceError
from backend.settings import Settings, served_origin
from tests.backend.api.api_helpers import TestClient


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "RPC URL https://mainnet.infura.io/v3/0123abcd does not answer",
            "RPC URL https://mainnet.infura.io/… does not answer",
        ),
        ("node http://user:pw@10.0.0.5:8545/ is down", "node http://10.0.0.5:8545 is down"),
        ("gateway https://gw.example/ipfs/x?token=abc failed.", "gateway https://gw.example/… failed."),
        (
            "Max retries exceeded with url: /v2/KEY?x=1 (Caused by",
            "Max retries exceeded with url: … (Caused by",
        ),
        ("db postgresql+psycopg://bob:***@db:5432/n failed", "db postgresql+psycopg://db:5432/… failed"),
        ("sent apikey=abc123&chain=1", "sent apikey=***&chain=1"),
        ("cannot write block b to /tmp/x/blocks: No space", "cannot write block b to <path>: No space"),
        ("no deployment record at /home/ann/.cc/deployment.json", "no deployment record at <path>"),
        ("PosixPath('/var/lib/cc/x')", "PosixPath('<path>')"),
        ("see C:\\Users\\ann\\cc.json and ~/cc/keys", "see <path> and <path>"),
        ('oops\nTraceback (most recent call last):\n  File "/x.py", line 1', "oops\n(see the server log)"),
        (
            "from POST /auth/verify, at 300/60 s and/or /datasets/1",
            "from POST /auth/verify, at 300/60 s and/or /datasets/1",
        ),
        ("dataset 99 does not exist", "dataset 99 does not exist"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ],
)
def test_redaction(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_redaction_caps_the_length() -> None:
    assert len(redact("x" * 10_000)) == 2000
    long = "y " * 10_000 + "http://user:hunter2@host/KEY"
    assert "hunter2" not in redact(long)
    assert "hunter2" not in redact("z" * 20_000 + "http://user:hunter2@host/KEY")


def test_every_error_has_a_request_id_logged_with_the_full_detail(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="backend.api")
    answers = [
        client.get("/datasets/99"),  # domain error
        client.get("/items", params={"offset": -1}),  # validation
        client.get("/nowhere"),  # framework 404
        client.post(
            "/auth/verify", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
        ),  # guard
        client.post("/auth/verify", content=b"[", headers={"Content-Type": "application/json"}),  # body
    ]
    ids = set()
    for r in answers:
        body = ErrorBody.model_validate(r.json())
        assert body.request_id == r.headers["x-request-id"]
        assert len(body.request_id) == 16
        ids.add(body.request_id)
        assert any(body.request_id in rec.getMessage() for rec in caplog.records if rec.name == "backend.api")
    assert len(ids) == len(answers)
    assert [r.status_code for r in answers] == [404, 422, 404, 413, 400]


def test_served_origin_names_the_listening_address() -> None:
    assert served_origin("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert served_origin("0.0.0.0", 9000) == "http://localhost:9000"
    assert served_origin("::", 80) == "http://localhost:80"
    assert served_origin("::1", 8000) == "http://[::1]:8000"
    assert served_origin("api.example", 8000) == "http://api.example:8000"


def test_sign_in_uri_and_domain_defaults() -> None:
    unset = Settings(api_session_secret="s" * 32)
    assert (unset.sign_in_uri, unset.sign_in_domain) == ("http://localhost:8000", "localhost:8000")
    served = unset.with_served_origin("127.0.0.1", 9100)
    assert (served.sign_in_uri, served.sign_in_domain) == ("http://127.0.0.1:9100", "127.0.0.1:9100")
    public = Settings(api_session_secret="s" * 32, api_uri="https://cc.example.org/login")
    assert public.with_served_origin("127.0.0.1", 9100).sign_in_uri == "https://cc.example.org/login"
    assert public.sign_in_domain == "cc.example.org"
    both = Settings(api_session_secret="s" * 32, api_uri="https://cc.example.org", api_domain="app.example")
    assert both.sign_in_domain == "app.example"
    with pytest.raises(ValidationError, match="absolute http"):
        Settings(api_session_secret="s" * 32, api_uri="cc.example.org/login")


def test_proxy_headers_are_off_unless_proxies_are_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    options = uvicorn_options(Settings(api_session_secret="s" * 32), "warning")
    assert options["proxy_headers"] is False
    assert options["forwarded_allow_ips"] == []
    assert options["log_config"]["loggers"]["backend"]["level"] == logging.WARNING
    monkeypatch.setenv("CURATION_API_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    proxied = uvicorn_options(Settings(api_session_secret="s" * 32))
    assert proxied["proxy_headers"] is True
    assert proxied["forwarded_allow_ips"] == ["10.0.0.1", "192.168.0.0/16"]
    monkeypatch.setenv("CURATION_API_TRUSTED_PROXIES", "my-proxy.local")
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(api_session_secret="s" * 32)


def _request(host: str | None) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "headers": [],
        "client": (host, 1234) if host is not None else None,
    }
    return Request(scope)


def test_client_key_groups_an_ipv6_host_by_its_64() -> None:
    assert client_key(_request("203.0.113.9")) == "203.0.113.9"
    assert client_key(_request("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_key(_request("2001:db8:1:2:bbbb::2")) == "2001:db8:1:2::/64"
    assert client_key(_request("2001:db8:1:3::1")) == "2001:db8:1:3::/64"
    assert client_key(_request("::ffff:203.0.113.9")) == "203.0.113.9"
    assert client_key(_request("testclient")) == "testclient"
    assert client_key(_request("x" * 500)) == "x" * 64
    assert client_key(_request(None)) == "unknown"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ReleaseRaceError("release 3 was anchored after this one was built"), 409, "conflict"),
        (IndexerError("the log source broke its contract"), 502, "index-error"),
        (IndexMismatchError("built for another deployment"), 503, "not-configured"),
        (IndexEmptyError("no sync yet"), 503, "index-behind"),
        (ChainUnsettledError("kept reorganising"), 503, "chain-unavailable"),
        (StateBlockAhead("block 9 is ahead of the index"), 503, "index-behind"),
        (ConfigError("no deployment record"), 503, "not-configured"),
        (ChainError("node down"), 503, "chain-unavailable"),
    ],
)
def test_each_backend_failure_has_its_own_status(exc: Exception, status: int, code: str) -> None:
    assert (http_status(exc), error_code(exc)) == (status, code)


def _bare_request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""})


@pytest.mark.parametrize(
    "exc",
    [StoreTimeout("slow"), StoreUnavailable("down"), StateBlockAhead("ahead"), ChainUnsettledError("moving")],
)
def test_retryable_failures_say_when_to_retry(exc: Exception) -> None:
    answer = domain_error_response(_bare_request(), exc)
    assert answer.status_code in (503, 504)
    assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    "exc", [ConfigError("no record"), IndexerError("contract broken"), ChainError("down")]
)
def test_lasting_failures_do_not_invite_a_retry(exc: Exception) -> None:
    assert "retry-after" not in domain_error_response(_bare_request(), exc).headers
