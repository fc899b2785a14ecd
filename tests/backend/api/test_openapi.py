"""The OpenAPI document explains every operation: a description, and an example for every path and query
parameter and every JSON request body (what /docs shows a newcomer and fills in for "Try it out")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tests.backend.api.api_helpers import TestClient

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def _has_example(holder: dict[str, Any], spec: dict[str, Any]) -> bool:
    """An example on the parameter or media type itself (`example`, `examples`) or on its schema."""
    if holder.get("example") is not None or holder.get("examples"):
        return True
    schema = _resolve(spec, holder.get("schema", {}))
    return bool(schema.get("examples")) or schema.get("example") is not None


def _gaps(spec: dict[str, Any]) -> list[str]:
    gaps = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in _METHODS:
                continue
            where = f"{method.upper()} {path}"
            if not (op.get("description") or "").strip():
                gaps.append(f"{where}: no description")
            for param in op.get("parameters", []):
                if param["in"] in {"path", "query"} and not _has_example(param, spec):
                    gaps.append(f"{where}: {param['in']} parameter {param['name']!r} has no example")
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                if "json" in media and not _has_example(content, spec):
                    gaps.append(f"{where}: the {media} body has no example")
    return gaps


def test_every_operation_has_a_description_and_every_input_an_example(
    build_app: Callable[..., FastAPI],
) -> None:
    spec = build_app().openapi()
    assert len(spec["paths"]) >= 15
    assert _gaps(spec) == []


def test_the_walk_finds_what_is_missing() -> None:
    """The checker itself: an operation without a description, a bare parameter and a bare body are named."""
    spec = {
        "paths": {
            "/things/{thing_id}": {
                "parameters": [],
                "post": {
                    "summary": "Post Thing",
                    "parameters": [
                        {"name": "thing_id", "in": "path", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}, "examples": {}},
                        {"name": "x-trace", "in": "header", "schema": {"type": "string"}},
                        {"name": "ok", "in": "query", "schema": {"type": "string", "examples": ["1"]}},
                    ],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
                    },
                },
            }
        },
        "components": {"schemas": {"Thing": {"type": "object"}}},
    }
    assert _gaps(spec) == [
        "POST /things/{thing_id}: no description",
        "POST /things/{thing_id}: path parameter 'thing_id' has no example",
        "POST /things/{thing_id}: query parameter 'limit' has no example",
        "POST /things/{thing_id}: the application/json body has no example",
    ]


def test_parameter_examples_are_valid_requests(client: TestClient) -> None:
    """Every GET's first parameter examples, filled in as /docs would, give an answer that is not a 422."""
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        url, query = path, {}
        for param in op.get("parameters", []):
            first = next(iter(param.get("examples", {}).values()), None)
            if first is None:
                continue
            if param["in"] == "path":
                url = url.replace("{" + param["name"] + "}", str(first["value"]))
            elif param["in"] == "query":
                query[param["name"]] = first["value"]
        r = client.get(url, params=query)
        assert r.status_code != 422, (url, query, r.text)
