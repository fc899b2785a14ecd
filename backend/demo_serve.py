"""`curation demo --serve`: the HTTP API over the demo's chain, store and deployment, in the demo's process."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from backend.api.app import session_app
from backend.api.chain_readmodel import DEFAULT_TTL, ChainReadModel
from backend.api.serving import uvicorn_options
from backend.demo import DemoResult
from backend.session import Session, open_session
from backend.settings import Settings

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DemoServer", "demo_app", "demo_session", "serve_demo"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@contextmanager
def demo_session(settings: Settings, result: DemoResult) -> Iterator[Session]:
    """Chain, deployment and store the demo ran on.

    The embedded chain exists only inside the demo's process, so it comes from the result
    (`DemoResult.session`); a demo run against `--rpc` can also be reached again through the settings.
    """
    if result.session is not None:
        yield result.session
        return
    with open_session(
        settings, signer=False, store=True, needs_rpc_for="serving a demo another process ran"
    ) as session:
        yield session


def demo_app(settings: Settings, session: Session, *, ttl: float = DEFAULT_TTL) -> FastAPI:
    """The API app reading `session` through a ChainReadModel (folded once here, so errors show at start)."""
    model = ChainReadModel(session, ttl=ttl)
    model.refresh()
    return session_app(settings, model)


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
        settings: Settings | None = None,
    ) -> None:
        self.host = host
        options = uvicorn_options(settings if settings is not None else Settings(), log_level)
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
    session: Session | None = None,
    ttl: float = DEFAULT_TTL,
    log_level: str = "info",
    log: Callable[[str], None] | None = None,
    on_server: Callable[[DemoServer], None] | None = None,
) -> None:
    """Serve the API over the demo's state on `host:port` (0: any free port) until Ctrl-C.

    `on_server` receives the server before it starts, so another thread can wait for `started`, read the
    bound `port` and `stop()` it (tests do).

    `session` defaults to `demo_session(settings, result)`. The index lives in a temporary SQLite file for
    the server's lifetime (an in-memory one cannot be shared by uvicorn's worker threads), removed on exit.
    """
    say = log or (lambda msg: sys.stderr.write(msg + "\n"))
    opened: AbstractContextManager[Session] = (
        demo_session(settings, result) if session is None else nullcontext(session)
    )
    with opened as base, tempfile.TemporaryDirectory(prefix="curation-demo-serve-") as tmp:
        index = f"sqlite:///{Path(tmp) / 'index.sqlite'}"
        served = replace(base, settings=base.settings.model_copy(update={"db": index}))
        api_settings = settings.with_served_origin(host, port)
        server = DemoServer(demo_app(api_settings, served, ttl=ttl), host, port, log_level, api_settings)
        if on_server is not None:
            on_server(server)
        say(
            f"serving dataset {result.dataset_id} (release {result.release}) on http://{host}:{port} "
            f"(docs at /docs, manifest at /datasets/{result.dataset_id}/releases/latest); Ctrl-C stops"
        )
        server.run()
