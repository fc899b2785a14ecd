"""The real `curation serve` in a child process, reading the sample read model instead of a chain.

`python -m tests.backend.api.serve_process --port N [serve options]` runs the `curation serve` command itself
(settings from CURATION_* variables, the store, `create_app`, and uvicorn with the options `curation serve` gives
it); only the read model comes from `sample_model()` rather than the chain (`open_served_app` is swapped), so no
chain node is needed. `ServeProcess` starts one on a free 127.0.0.1 port, waits for /health, and keeps its log in a file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from backend.api.app import create_app
from backend.chain.deployment import Deployment
from backend.ipfs import open_store
from backend.settings import Settings

__all__ = ["ServeProcess", "free_port", "open_served_app"]

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def open_served_app(settings: Settings) -> Iterator[tuple[FastAPI, str]]:
    """What `curation serve` runs here instead of `backend.api.app.open_served_app`: the sample read model (no
    node), with the content store and deployment record of the settings, as serve would open them."""
    from tests.backend.api.api_helpers import sample_model

    store = open_store(settings)
    record = Deployment.load(settings.deployment_path) if settings.deployment_path.exists() else None
    try:
        yield create_app(settings, sample_model(), store, record), store.describe()
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """`curation serve` over the sample read model, as a child process on 127.0.0.1 and a free port."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "serve.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CURATION_", "FORWARDED_ALLOW_IPS"))},
            "CURATION_HOME": str(home),
            "CURATION_API_CHAIN_ID": "31337",
            "CURATION_API_RATE_LIMIT": "100000",
            **(env or {}),
        }
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServeProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.backend.api.serve_process",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while not self.answers_health():
            if not self.alive():
                raise AssertionError(f"curation serve exited with {self.returncode()}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"curation serve did not answer /health in time:\n{self.log()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def answers_health(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


if __name__ == "__main__":
    import backend.cli.serve_cmd as serve_cmd
    from backend.cli.main import app

    serve_cmd.open_served_app = open_served_app  # type: ignore[attr-defined]  # the sample model, no node
    app(["serve", *sys.argv[1:]])
