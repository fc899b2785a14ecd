"""`curation serve`: run the API with uvicorn (one process: nonces and rate limits live in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.api.app import open_served_app
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

    from backend.api.serving import uvicorn_options

    settings = load_settings(home=home, ipfs=ipfs, deployment=deployment).with_served_origin(host, port)
    with open_served_app(settings) as (app, store):
        typer.echo(
            f"serving on http://{host}:{port} (docs at /docs; sign-in URI {settings.sign_in_uri}; store: {store})",
            err=True,
        )
        uvicorn.run(app, host=host, port=port, **uvicorn_options(settings, log_level))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
