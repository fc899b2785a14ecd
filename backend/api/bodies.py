"""Request bodies: JSON is parsed by `curation.safejson` before FastAPI or pydantic see a byte of it.

Python's C JSON parser recurses once per nested array or object, and a dependency loaded through web3 raises
the recursion limit to 100,000, so `json.loads` of 65,536 `[` bytes overflows the C stack and kills the
whole server (SIGSEGV). FastAPI parses a route's JSON body with `await request.json()` on the Request its
route handler is given (`fastapi.routing.get_request_handler`), so the hook is the route class:
`SafeJsonRoute.get_route_handler` hands FastAPI's handler a `SafeJsonRequest`, whose `json()` is
`safejson.loads` (size, UTF-8, nesting depth and number length checked first, no recursion), and reads and
parses the body *before* calling that handler. Parsing first matters: FastAPI turns an exception raised while
it reads the body (other than a JSONDecodeError) into a bare "There was an error parsing the body"; raised
here, a refusal reaches the app's error handlers (`backend.api.errors`) as `MalformedBody` (400) or
`UnsupportedMediaType` (415) with its reason.
FastAPI 0.165 builds the handler of an included route by calling the original route's `get_route_handler`,
so every router created with `route_class=SafeJsonRoute` is covered, directly mounted or included.

A dependency cannot do this (dependencies run after the body is parsed), and an ASGI middleware would have to
buffer and parse every body a second time.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.deps import MAX_JSON_BODY
from backend.api.errors import MalformedBody, UnsupportedMediaType, UploadIncomplete, error_response
from curation import safejson

__all__ = ["BODY_ERRORS", "DeclaredSizeGuard", "SafeJsonRequest", "SafeJsonRoute", "is_json_media_type"]

#: Statuses a route with a JSON body can answer because of its body alone (declared in its OpenAPI entry).
BODY_ERRORS = (400, 413, 415, 422)


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type is JSON as FastAPI reads it: `application/json` or `application/*+json`."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class SafeJsonRequest(Request):
    """A Request whose `json()` is `curation.safejson.loads`, bounded by the route's body limit."""

    _safe_json: Any

    async def json(self) -> Any:
        if not hasattr(self, "_safe_json"):
            limit = self.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
            max_bytes = limit if isinstance(limit, int) else MAX_JSON_BODY
            try:
                self._safe_json = safejson.loads(
                    await self.body(), max_bytes=max_bytes, what="the request body"
                )
            except safejson.JsonRejected as exc:
                raise MalformedBody(str(exc)) from None
        return self._safe_json


class SafeJsonRoute(APIRoute):
    """An APIRoute whose JSON body is read and parsed safely before FastAPI's handler runs (see the module).

    A route with a JSON body should declare `error_responses(*BODY_ERRORS)` (400, 413, 415, 422).
    """

    def _takes_json(self) -> bool:
        return self.body_field is not None and not isinstance(self.body_field.field_info, params.Form)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self._takes_json():
            return handler
        required = self.body_field is not None and self.body_field.field_info.is_required()

        async def safe_json_handler(request: Request) -> Response:
            safe = SafeJsonRequest(request.scope, request.receive)
            try:
                body = await safe.body()
            except ClientDisconnect:
                raise UploadIncomplete(
                    "the client stopped sending before the request body was complete"
                ) from None
            if body or required:
                if not body:
                    raise MalformedBody("the request body is empty: send a JSON object")
                if not is_json_media_type(safe.headers.get("content-type")):
                    raise UnsupportedMediaType(
                        "the request body must be JSON, sent with Content-Type: application/json"
                    )
                await safe.json()
            return await handler(safe)

        return safe_json_handler


class DeclaredSizeGuard:
    """413 for a non-upload request whose Content-Length exceeds MAX_JSON_BODY, before a byte of it is read.

    Chunked bodies are cut at the same size by the routers' `max_body_size` while they are read.
    """

    def __init__(self, app: ASGIApp, uploads_path: str = "/uploads") -> None:
        self.app = app
        self.uploads_path = uploads_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != self.uploads_path:
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > MAX_JSON_BODY:
                    detail = f"request body exceeds the limit of {MAX_JSON_BODY} bytes"
                    response = error_response(Request(scope), 413, detail, "payload-too-large")
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
