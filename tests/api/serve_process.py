"""The real `curation serve` in a child process, reading the sample read model instead of a chain.

`python -m tests.api.serve_process --port N [serve options]` runs the `curation serve` command itself (settings
from CURATION_* variables, the store, `create_app`, and uvicorn with the options `curation serve` gives it);
only the read model comes from `sample_model()` rather than `backend.api.chain_readmodel`, so no chain node is
needed. `ServeProcess` starts one on a free 127.0.0.1 port, waits for /health, and keeps its log in a file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from backend.api.readmodel import ReadModel

__all__ = ["ServeProcess", "free_port", "open_read_model"]

ROOT = Path(__file__).resolve().parents[2]


def open_read_model(settings: Any) -> ReadModel:
    """What `curation serve` calls here instead of `backend.api.chain_readmodel.open_read_model`."""
    from tests.api.api_helpers import sample_model

    return sample_model()


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
                [sys.executable, "-m", "tests.api.serve_process", "--port", str(self.port), *self.args],
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

    serve_cmd.open_read_model = open_read_model  # type: ignore[attr-defined]  # the sample model, no node
    app(["serve", *sys.argv[1:]])
