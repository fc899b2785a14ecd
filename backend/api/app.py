"""The app factory: `create_app(settings, read_model, store, deployment)` wires routes, auth, limits, CORS."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.auth import Authenticator
from backend.api.deps import MAX_JSON_BODY, ApiContext, rate_limit
from backend.api.errors import RateLimited, Unauthenticated, error_code, http_status
from backend.api.models import ErrorBody, error_responses
from backend.api.nonces import SqlNonceStore
from backend.api.ratelimit import RateLimiter
from backend.api.readmodel import ReadModel
from backend.api.routes import api_router
from backend.api.settings import ApiSettings
from backend.api.siwe import SignatureCheck
from backend.chain.deployment import Deployment
from backend.ipfs.base import ContentStore
from curation.errors import CurationError

__all__ = ["create_app"]

_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
}


def _error(status: int, detail: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(detail=detail, code=code).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    """The one place a domain error becomes an HTTP status and a JSON body."""
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    status = http_status(exc)
    detail = "internal error" if status == 500 else str(exc)
    return _error(status, detail, error_code(exc), headers or None)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not a user error: the body says nothing internal; uvicorn logs the traceback.
    return _error(500, "internal error", "internal-error")


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return _error(422, "; ".join(parts) or "invalid request", "invalid-input")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http-{exc.status_code}")
    return _error(exc.status_code, str(exc.detail), code, dict(exc.headers or {}) or None)


class _DeclaredSizeGuard:
    """413 as JSON for a non-upload request whose Content-Length exceeds MAX_JSON_BODY, before reading it.

    Chunked bodies are cut at the same size by the routers' `max_body_size` (Starlette answers those).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/uploads":
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > MAX_JSON_BODY:
                    detail = f"request body exceeds the limit of {MAX_JSON_BODY} bytes"
                    await _error(413, detail, "payload-too-large")(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(
    settings: ApiSettings,
    read_model: ReadModel,
    store: ContentStore,
    deployment: Deployment | None = None,
    *,
    clock: Callable[[], float] = time.time,
    signature_check: SignatureCheck | None = None,
) -> FastAPI:
    """A FastAPI app serving `read_model`, storing uploads in `store`.

    `signature_check` lets contract wallets sign in (ERC-1271, e.g. `erc1271_accepts` bound to a web3
    connection); without it only EOAs can.

    `deployment` gives the registry address and chain id for upload transactions and sign-in (without it the
    read endpoints work, uploads answer 503 and `settings.api_chain_id` must be set). `clock` is injectable so
    tests can move time instead of waiting.
    """
    chain_id = settings.api_chain_id or (deployment.chain_id if deployment is not None else None)
    if chain_id is None:
        from backend.errors import ConfigError

        raise ConfigError("no chain id: give a deployment record or set CURATION_API_CHAIN_ID")
    registry = deployment.address("ContentRegistry") if deployment is not None else None
    ctx = ApiContext(
        settings=settings,
        read_model=read_model,
        store=store,
        auth=Authenticator(
            domain=settings.api_domain,
            uri=settings.api_uri,
            statement=settings.api_statement or None,
            chain_ids={chain_id},
            secret=settings.api_session_secret.get_secret_value().encode(),
            session_ttl=settings.api_session_ttl,
            nonce_ttl=settings.api_nonce_ttl,
            max_nonces=settings.api_max_nonces,
            skew=settings.api_clock_skew,
            clock=clock,
            contract_check=signature_check,
            nonces=(
                SqlNonceStore(settings.api_nonce_db, settings.api_nonce_ttl, settings.api_max_nonces, clock)
                if settings.api_nonce_db
                else None
            ),
        ),
        limiter=RateLimiter(settings.api_rate_limit, settings.api_rate_window, clock, "this client"),
        upload_limiter=RateLimiter(
            settings.api_upload_rate_limit, settings.api_rate_window, clock, "uploads"
        ),
        chain_id=chain_id,
        registry=registry,
        clock=clock,
    )
    app = FastAPI(
        title="Curation Commons API",
        version="1",
        summary="Datasets, releases, manifests, weights, proposals and uploads of Curation Commons.",
        dependencies=[Depends(rate_limit)],
        responses=error_responses(429),
    )
    app.state.ctx = ctx
    app.include_router(api_router)
    app.add_exception_handler(CurationError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(_DeclaredSizeGuard)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "Retry-After"],
            max_age=600,
        )
    return app
