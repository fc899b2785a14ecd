"""JSON request bodies go through curation.safejson before FastAPI or pydantic see them (backend.api.bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from backend.api.bodies import SafeJsonRoute, is_json_media_type
from backend.api.routes import api_router
from tests.backend.api.api_helpers import TestClient


def _api_routes(router: Any) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI 0.165)
            yield from _api_routes(route.original_router)


def test_every_route_reads_json_through_safejson() -> None:
    routes = list(_api_routes(api_router))
    assert len(routes) >= 15
    assert [r.path for r in routes if not isinstance(r, SafeJsonRoute)] == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "detail"),
    [
        (b"", "application/json", 400, "malformed-body", "the request body is empty: send a JSON object"),
        (
            b"[" * 100 + b"]" * 100,
            "application/json",
            400,
            "malformed-body",
            "nests arrays/objects deeper than 64 levels",
        ),
        (
            b'{"message": "\xff"}',
            "application/json",
            400,
            "malformed-body",
            "is not UTF-8: invalid byte at offset",
        ),
        (b"{" + b"1" * 5000 + b"}", "application/json", 400, "malformed-body", "is not JSON"),
        (
            b'{"message": 1' + b"0" * 5000 + b"}",
            "application/json",
            400,
            "malformed-body",
            "more than 4300 digits",
        ),
        (b"{}", "text/plain", 415, "unsupported-media-type", "Content-Type: application/json"),
        (b"{}", None, 415, "unsupported-media-type", "Content-Type: application/json"),
        (b"{}", "application/json; charset=utf-8", 422, "invalid-input", "body.message: Field required"),
        (
            b'{"message": "x", "signature": "0x", "extra": 1}',
            "application/json",
            422,
            "invalid-input",
            "extra",
        ),
    ],
)
def test_a_bad_body_is_a_4xx_that_says_why(
    client: TestClient, body: bytes, content_type: str | None, status: int, code: str, detail: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/auth/verify", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert detail in r.json()["detail"]


def test_chunked_body_over_the_limit_is_a_json_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"[" * 4096

    r = client.post("/auth/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "payload-too-large"
    assert r.json()["detail"] == "request body exceeds the limit of 65536 bytes"


def test_json_media_types() -> None:
    assert is_json_media_type("application/json")
    assert is_json_media_type("Application/JSON; charset=utf-8")
    assert is_json_media_type("application/merge-patch+json")
    assert not is_json_media_type("text/json")
    assert not is_json_media_type("application/x-www-form-urlencoded")
    assert not is_json_media_type(None)
    assert not is_json_media_type("")


def test_openapi_declares_what_bodies_and_limits_can_answer(build_app: Any) -> None:
    app: FastAPI = build_app()
    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, op in operations.items():
            declared = set(op["responses"])
            assert {"413", "429"} <= declared, f"{method.upper()} {path}: {sorted(declared)}"
            if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
                assert {"400", "413", "415", "422"} <= declared, f"{method.upper()} {path}"
            for status in declared - {"200", "201", "206", "304"}:  # successes: their own bodies
                schema = op["responses"][status].get("content", {}).get("application/json", {}).get("schema")
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                    f"{method.upper()} {path} {status}"
                )
    assert "/auth/verify" in paths
