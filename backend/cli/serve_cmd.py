"""`curation serve`: run the API with uvicorn (one process: nonces and rate limits live in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.api.chain_readmodel import open_read_model
from backend.chain.rpc import RpcLimits
from backend.cli.common import guarded
from backend.settings import load_settings

__all__ = ["register"]


@guarded
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    home: Annotated[Path | None, typer.Option("--home", help="Data directory (CURATION_HOME).")] = None,
    ipfs: Annotated[str | None, typer.Option("--ipfs", metavar="URL", help="Kubo RPC API URL.")] = None,
    deployment: Annotated[
        Path | None, typer.Option("--deployment", help="Deployment record (CURATION_DEPLOYMENT).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). Configure with CURATION_API_* variables.

    Sign-in messages must name CURATION_API_URI, by default this server's own origin (http://HOST:PORT).
    X-Forwarded-For is believed only from CURATION_API_TRUSTED_PROXIES (default: nobody).
    """
    import uvicorn

    from backend.api.app import create_app
    from backend.api.serving import uvicorn_options
    from backend.chain.deployment import Deployment
    from backend.ipfs import open_store

    settings = load_settings(home=home, ipfs=ipfs, deployment=deployment).with_served_origin(host, port)
    record = Deployment.load(settings.deployment_path) if settings.deployment_path.exists() else None
    store = open_store(settings)
    signature_check = None
    if settings.rpc is not None:  # with a node, contract wallets can sign in too (ERC-1271)
        from functools import partial

        from backend.chain.connection import connect
        from backend.chain.signatures import erc1271_accepts

        signature_check = partial(
            erc1271_accepts, connect(settings.rpc, limits=RpcLimits.from_settings(settings))
        )
    app = create_app(settings, open_read_model(settings), store, record, signature_check=signature_check)
    typer.echo(
        f"serving on http://{host}:{port} (docs at /docs; sign-in URI {settings.sign_in_uri}; "
        f"store: {store.describe()})",
        err=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, **uvicorn_options(settings, log_level))
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
