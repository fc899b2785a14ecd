"""`curation demo --serve`: the HTTP API over the demo's chain, store and deployment, in the demo's process."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from backend.api.app import create_app
from backend.api.serving import uvicorn_options
from backend.api.settings import ApiSettings
from backend.api.state_adapter import DEFAULT_TTL, StateReadModel
from backend.chain.signatures import erc1271_accepts
from backend.demo import DemoResult
from backend.errors import ConfigError
from backend.release import ReleaseEnv
from backend.settings import Settings

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DemoServer", "demo_app", "demo_env", "serve_demo"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def demo_env(settings: Settings, result: DemoResult) -> ReleaseEnv:
    """Chain, deployment and store the demo ran on.

    The embedded chain exists only inside the demo's process, so it must come from the result
    (`DemoResult.env`); a demo run against `--rpc` can also be reached again through the settings.
    """
    env = getattr(result, "env", None)  # DemoResult.env: the ReleaseEnv the demo published with
    if isinstance(env, ReleaseEnv):
        return env
    if settings.rpc is not None:
        return ReleaseEnv.from_settings(settings)
    raise ConfigError(
        "the demo ran on the embedded chain, which lives only in its own process, and its result does not "
        "carry it (DemoResult.env): serve it from the same process that ran it, or run the demo with --rpc"
    )


def _api_settings(settings: Settings) -> ApiSettings:
    if isinstance(settings, ApiSettings):
        return settings
    return ApiSettings.model_validate(settings.model_dump())


def demo_app(settings: Settings, env: ReleaseEnv, *, ttl: float = DEFAULT_TTL) -> FastAPI:
    """The API app reading `env` through a StateReadModel (folded once here, so errors show at start)."""
    api_settings = _api_settings(settings)
    model = StateReadModel(env, ttl=ttl)
    model.refresh()
    check = partial(erc1271_accepts, env.w3)  # contract wallets can sign in too (ERC-1271)
    return create_app(api_settings, model, env.store, env.deployment, signature_check=check)


class DemoServer:
    """uvicorn serving one app; `run()` blocks until Ctrl-C (in the main thread) or `stop()`.

    `settings` decide which proxies' X-Forwarded-For is believed (none by default), as for `curation serve`.
    """

    def __init__(
        self,
        app: FastAPI,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        log_level: str = "info",
        settings: ApiSettings | None = None,
    ) -> None:
        self.host = host
        options = uvicorn_options(settings if settings is not None else ApiSettings(), log_level)
        config = uvicorn.Config(app, host=host, port=port, lifespan="off", **options)
        self.server = uvicorn.Server(config)

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when 0 was asked for); valid once `started`."""
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True


def serve_demo(
    settings: Settings,
    result: DemoResult,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    env: ReleaseEnv | None = None,
    ttl: float = DEFAULT_TTL,
    log_level: str = "info",
    log: Callable[[str], None] | None = None,
    on_server: Callable[[DemoServer], None] | None = None,
) -> None:
    """Serve the API over the demo's state on `host:port` (0: any free port) until Ctrl-C.

    `on_server` receives the server before it starts, so another thread can wait for `started`, read the
    bound `port` and `stop()` it (tests do).

    `env` defaults to `demo_env(settings, result)`. The index lives in a temporary SQLite file for the
    server's lifetime (an in-memory one cannot be shared by uvicorn's worker threads), removed on exit.
    """
    say = log or (lambda msg: sys.stderr.write(msg + "\n"))
    base = env if env is not None else demo_env(settings, result)
    with tempfile.TemporaryDirectory(prefix="curation-demo-serve-") as tmp:
        served = replace(base, db_url=f"sqlite:///{Path(tmp) / 'index.sqlite'}")
        api_settings = _api_settings(settings).with_served_origin(host, port)
        server = DemoServer(demo_app(api_settings, served, ttl=ttl), host, port, log_level, api_settings)
        if on_server is not None:
            on_server(server)
        say(
            f"serving dataset {result.dataset_id} (release {result.release}) on http://{host}:{port} "
            f"(docs at /docs, manifest at /datasets/{result.dataset_id}/releases/latest); Ctrl-C stops"
        )
        server.run()
