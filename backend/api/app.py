"""The app factory: `create_app(settings, read_model, store, deployment)` wires routes, auth, limits, CORS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.auth import Authenticator
from backend.api.bodies import DeclaredSizeGuard
from backend.api.chain_readmodel import ChainReadModel, open_read_model
from backend.api.deps import ApiContext, client_key
from backend.api.docs import install_docs
from backend.api.errors import REQUEST_ID_HEADER, RateLimited, domain_error_response, install_error_handlers
from backend.api.models import error_responses
from backend.api.nonces import SqlNonceStore
from backend.api.ratelimit import RateLimiter
from backend.api.readmodel import ReadModel
from backend.api.routes import api_router
from backend.api.routes.relay import install_relayer
from backend.api.routes.releases import ImmutableFastPath
from backend.api.siwe import SignatureCheck
from backend.chain.deployment import Deployment
from backend.chain.signatures import erc1271_accepts
from backend.ipfs.base import ContentStore
from backend.relay import open_relayer
from backend.settings import Settings

__all__ = ["create_app", "open_served_app", "session_app"]


class _RateLimitGuard:
    """Spend one token of the client's bucket for every request, before routing or reading a body.

    In front of everything, so that requests with a malformed body, an oversize declared body or an unknown
    path count too (a dependency would run only after FastAPI has read and parsed the body).
    """

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            try:
                self.ctx.limiter.hit(client_key(request))
            except RateLimited as exc:
                await domain_error_response(request, exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
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
            domain=settings.sign_in_domain,
            uri=settings.sign_in_uri,
            statement=settings.api_statement or None,
            chain_ids={chain_id},
            secret=settings.api_session_secret.get_secret_value().encode(),
            session_ttl=settings.api_session_ttl,
            nonce_ttl=settings.api_nonce_ttl,
            max_nonces=settings.api_max_nonces,
            max_nonces_per_client=settings.api_max_nonces_per_client,
            skew=settings.api_clock_skew,
            clock=clock,
            contract_check=signature_check,
            nonces=(
                SqlNonceStore(
                    settings.api_nonce_db,
                    settings.api_nonce_ttl,
                    settings.api_max_nonces,
                    clock,
                    max_per_client=settings.api_max_nonces_per_client,
                )
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
        # Any route: a declared body over the JSON limit (DeclaredSizeGuard), or the client's rate limit.
        responses=error_responses(413, 429),
        docs_url=None,  # /docs and /redoc come from install_docs: their files from this server, not a CDN
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.include_router(api_router)
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(ImmutableFastPath)  # innermost: cached manifests and parts skip FastAPI's routing
    app.add_middleware(DeclaredSizeGuard)
    app.add_middleware(_RateLimitGuard, ctx=ctx)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "Range", "If-Range"],
            expose_headers=["ETag", "Retry-After", "Content-Range", "Accept-Ranges", REQUEST_ID_HEADER],
            max_age=600,
        )
    return app


def session_app(settings: Settings, model: ChainReadModel) -> FastAPI:
    """The API over a chain read model, on that model's one session: uploads go to its content store and
    contract wallets sign in (ERC-1271) through its chain connection; no second connection or store is opened.
    `curation serve` and `curation demo --serve` both build their app here."""
    session = model.session
    check = partial(erc1271_accepts, session.w3)
    app = create_app(settings, model, session.need_store(), session.deployment, signature_check=check)
    install_relayer(app, open_relayer(settings, session.w3, session.deployment))  # None: POST /relay is 503
    return app


@contextmanager
def open_served_app(settings: Settings) -> Iterator[tuple[FastAPI, str]]:
    """What `curation serve` runs: the app over the chain read model of `settings` (folded once, so a wrong RPC
    URL or record fails here), and a description of its content store; the one session closes after."""
    model = open_read_model(settings)
    try:
        yield session_app(settings, model), model.session.need_store().describe()
    finally:
        model.session.close()
