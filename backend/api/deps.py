"""Shared state of one app and the dependencies routes declare through `Annotated`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.openapi.models import Example
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.api.auth import Authenticator, WalletSession
from backend.api.errors import Unauthenticated
from backend.api.ratelimit import RateLimiter
from backend.api.readmodel import ReadModel
from backend.ipfs.base import ContentStore
from backend.settings import Settings

__all__ = [
    "MAX_JSON_BODY",
    "ApiContext",
    "AuthDep",
    "Ctx",
    "Limit",
    "Offset",
    "ReadModelDep",
    "StoreDep",
    "WalletSessionDep",
    "client_key",
    "examples",
    "get_context",
]

#: Bodies other than uploads are a short sign-in message; anything bigger is refused before it is buffered.
#: Large enough for the longest valid body (a 4,096-character message and a 200-character signature, each
#: character JSON-escaped as \uXXXX: 6 bytes), so that an over-long field gets its 422, not a 413.
MAX_JSON_BODY = 64 * 1024


@dataclass
class ApiContext:
    """Everything a request may need, built once by create_app and kept on `app.state.ctx`."""

    settings: Settings
    read_model: ReadModel
    store: ContentStore
    auth: Authenticator
    limiter: RateLimiter
    upload_limiter: RateLimiter
    chain_id: int
    registry: str | None
    clock: Callable[[], float]


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(get_context)]


def _read_model(ctx: Ctx) -> ReadModel:
    return ctx.read_model


def _store(ctx: Ctx) -> ContentStore:
    return ctx.store


def _auth(ctx: Ctx) -> Authenticator:
    return ctx.auth


ReadModelDep = Annotated[ReadModel, Depends(_read_model)]
StoreDep = Annotated[ContentStore, Depends(_store)]
AuthDep = Annotated[Authenticator, Depends(_auth)]


def examples(*pairs: tuple[str, object]) -> dict[str, Example]:
    """`openapi_examples` of a path or query parameter: (summary, value) pairs, shown in /docs' drop-down.

    Parameters take their examples here rather than as JSON-schema `examples`, which `BigInt`'s fixed schema
    (curation.jsonnum) would drop.
    """
    return {summary: Example(summary=summary, value=value) for summary, value in pairs}


Offset = Annotated[
    int,
    Query(
        ge=0,
        le=2**31,
        description="rows to skip",
        openapi_examples=examples(("from the start", 0), ("page 2", 100)),
    ),
]
Limit = Annotated[
    int,
    Query(
        ge=1,
        le=1000,
        description="rows to return (at most 1000)",
        openapi_examples=examples(("the default", 100), ("a short page", 10)),
    ),
]


#: Longest client key kept (a trusted proxy may forward a name rather than an address).
_MAX_KEY = 64


def client_key(request: Request) -> str:
    """Who a request counts against, for rate limits and sign-in nonces.

    The client address is the TCP peer, or what a proxy listed in CURATION_API_TRUSTED_PROXIES forwarded
    (uvicorn resolves that before the app sees the request; nobody else's X-Forwarded-For counts). An IPv6
    client is its /64 network, since one host is routinely given a whole /64 to pick addresses from; an
    IPv4-mapped IPv6 address is its IPv4 address.
    """
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:_MAX_KEY] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


_bearer = HTTPBearer(auto_error=False, description="session token from POST /auth/verify")


async def _current_session(
    ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> WalletSession:
    """The signed-in wallet of a request (Unauthenticated -> 401 without a valid bearer token)."""
    if credentials is None:
        raise Unauthenticated("sign in first: send `Authorization: Bearer <token>` from POST /auth/verify")
    return ctx.auth.tokens.check(credentials.credentials)


WalletSessionDep = Annotated[WalletSession, Depends(_current_session)]
