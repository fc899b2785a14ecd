"""Attack: request bodies built to kill the server.

A POST of 65,536 `[` bytes to `/auth/verify` (no sign-in needed) made `curation serve` die with SIGSEGV: web3's
dependencies raise Python's recursion limit to 100,000, so the C JSON parser recursed until the C stack
overflowed. Deeply nested arrays and objects, invalid UTF-8, numbers of 60,000 digits, empty bodies, bodies
that are not JSON or not sent as JSON, each at, just under and just over the 64 KiB body limit, declared or
chunked.

Promise: no request body ends the process or disturbs other requests. Every one gets a 4xx whose JSON body
says what was wrong (`detail`, `code`); afterwards the same `curation serve` process is still running and
answers /health.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.api.deps import MAX_JSON_BODY
from tests.backend.api.serve_process import ServeProcess

LIMIT = MAX_JSON_BODY  # 65,536


def _nested_objects(size: int) -> bytes:
    depth = (size - 1) // 6
    return b'{"a":' * depth + b"1" + b"}" * depth


def _number_body(literal: bytes) -> bytes:
    return b'{"message": ' + literal + b', "signature": "0x"}'


# (name, body, content type, expected status or statuses)
JSON = "application/json"
CASES: list[tuple[str, bytes, str | None, int | tuple[int, ...]]] = [
    ("65536 [ (the reported crash)", b"[" * LIMIT, JSON, 400),
    ("65535 [", b"[" * (LIMIT - 1), JSON, 400),
    ("65537 [", b"[" * (LIMIT + 1), JSON, 413),
    ("65536 {", b"{" * LIMIT, JSON, 400),
    ("balanced arrays 32768 deep", b"[" * (LIMIT // 2) + b"]" * (LIMIT // 2), JSON, 400),
    ("nested objects at the limit", _nested_objects(LIMIT), JSON, 400),
    (
        "arrays inside a valid field",
        b'{"message": ' + b"[" * 30000 + b"]" * 30000 + b', "signature": "0x"}',
        JSON,
        400,
    ),
    ("65536 invalid UTF-8 bytes", b"\xff" * LIMIT, JSON, 400),
    ("invalid UTF-8 inside a string", b'{"message": "\xc3\x28", "signature": "0x"}', JSON, 400),
    ("lone surrogate in the message", b'{"message": "\\ud800", "signature": "0x"}', JSON, 422),
    ("60,000-digit integer", _number_body(b"9" * 60_000), JSON, 400),
    ("60,000-digit negative integer", _number_body(b"-" + b"9" * 60_000), JSON, 400),
    ("60,000-digit fraction", _number_body(b"0." + b"1" * 60_000), JSON, 400),
    ("60,000-digit exponent", _number_body(b"1e" + b"9" * 60_000), JSON, 400),
    ("NaN", _number_body(b"NaN"), JSON, 400),
    ("empty", b"", JSON, 400),
    ("whitespace only", b" " * LIMIT, JSON, 400),
    ("not JSON", b"hello", JSON, 400),
    ("65536 NUL bytes", b"\x00" * LIMIT, JSON, 400),
    ("65536 quotes", b'"' * LIMIT, JSON, 400),
    ("65536 letters", b"a" * LIMIT, JSON, 400),
    ("65537 letters", b"a" * (LIMIT + 1), JSON, 413),
    ("JSON of the wrong shape", b"[]", JSON, 422),
    ("65536 [ as text/plain", b"[" * LIMIT, "text/plain", 415),
    ("65536 [ without a content type", b"[" * LIMIT, None, 415),
    ("65536 [ as application/x+json", b"[" * LIMIT, "application/x+json", 400),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ServeProcess(tmp_path_factory.mktemp("serve")) as proc:
        yield proc


def _still_serving(server: ServeProcess, after: str) -> None:
    assert server.alive(), (
        f"curation serve died (exit {server.returncode()}) after {after}:\n{server.log()[-3000:]}"
    )
    assert server.answers_health(), f"curation serve stopped answering /health after {after}"


def _assert_clear_4xx(r: httpx.Response, expected: int | tuple[int, ...], name: str) -> None:
    wanted = expected if isinstance(expected, tuple) else (expected,)
    assert r.status_code in wanted, f"{name}: {r.status_code} {r.text[:300]}"
    body = r.json()
    for field in ("detail", "code", "request_id"):
        assert isinstance(body.get(field), str), f"{name}: {body}"
        assert body[field], f"{name}: {body}"


@pytest.mark.parametrize(("name", "body", "content_type", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_body_gets_a_4xx_and_the_server_lives_on(
    server: ServeProcess, name: str, body: bytes, content_type: str | None, expected: int | tuple[int, ...]
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        r = httpx.post(f"{server.url}/auth/verify", content=body, headers=headers, timeout=30)
    except httpx.TransportError as exc:
        _still_serving(server, name)
        raise AssertionError(f"{name}: no answer ({exc!r})") from None
    _still_serving(server, name)
    _assert_clear_4xx(r, expected, name)


def test_the_reported_body_is_refused_with_its_reason(server: ServeProcess) -> None:
    r = httpx.post(
        f"{server.url}/auth/verify", content=b"[" * LIMIT, headers={"Content-Type": JSON}, timeout=30
    )
    _still_serving(server, "65536 [")
    assert r.status_code == 400
    assert r.json()["code"] == "malformed-body"
    assert r.json()["detail"] == "the request body is refused: its brackets do not balance"
    deep = b"[" * LIMIT
    r = httpx.post(
        f"{server.url}/auth/verify",
        content=deep[:100] + b"]" * 100,
        headers={"Content-Type": JSON},
        timeout=30,
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "the request body is refused: it nests arrays/objects deeper than 64 levels"


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("length", [LIMIT, LIMIT + 1, 4 * LIMIT])
def test_chunked_nesting_without_a_length_is_cut_at_the_limit(server: ServeProcess, length: int) -> None:
    r = httpx.post(
        f"{server.url}/auth/verify",
        content=_chunks(b"[" * length),  # no Content-Length: sent chunked
        headers={"Content-Type": JSON},
        timeout=30,
    )
    _still_serving(server, f"{length} chunked [")
    _assert_clear_4xx(r, 400 if length <= LIMIT else 413, f"{length} chunked [")


@pytest.mark.parametrize("path", ["/auth/nonce", "/health", "/datasets"])
def test_bodies_sent_to_routes_without_one_do_no_harm(server: ServeProcess, path: str) -> None:
    method = "POST" if path == "/auth/nonce" else "GET"
    r = httpx.request(
        method, f"{server.url}{path}", content=b"[" * LIMIT, headers={"Content-Type": JSON}, timeout=30
    )
    _still_serving(server, f"{method} {path} with 65536 [")
    assert r.status_code == 200, r.text[:300]


def test_a_hostile_body_does_not_disturb_a_concurrent_sign_in(server: ServeProcess, tmp_path: Path) -> None:
    """Another client's requests, before and after a hostile body, are answered as usual."""
    with httpx.Client(base_url=server.url, timeout=30) as other:
        first = other.post("/auth/nonce")
        assert first.status_code == 200
        r = httpx.post(
            f"{server.url}/auth/verify", content=b"[" * LIMIT, headers={"Content-Type": JSON}, timeout=30
        )
        assert r.status_code == 400
        again = other.post("/auth/nonce")  # same keep-alive connection, same process
        assert again.status_code == 200
        assert again.json()["nonce"] != first.json()["nonce"]
    _still_serving(server, "a hostile body between two sign-in requests")
