"""A real js-ipfs daemon for integration tests: own repo, free 127.0.0.1 ports, stopped after use."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
JSIPFS = ROOT / "node_modules" / ".bin" / "jsipfs"
READY_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JsIpfsDaemon:
    """A running `jsipfs daemon`: `api` is the RPC base URL, `gateway` the read-only gateway URL."""

    def __init__(self, repo: Path, proc: subprocess.Popen[bytes], api: str, gateway: str, log: Path) -> None:
        self.repo = repo
        self.proc = proc
        self.api = api
        self.gateway = gateway
        self.log = log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _log_tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-2000:]
    return ""


def start_jsipfs(workdir: Path) -> JsIpfsDaemon:
    """Init a repo in workdir (`--profile test`), set its ports, start the daemon, wait until it answers."""
    if not JSIPFS.exists():
        raise RuntimeError(
            f"{JSIPFS} is missing: run `npm ci` in {ROOT} (package.json pins ipfs 0.66.1 and, "
            "under `overrides`, the transitive versions it needs) before the IPFS integration tests"
        )
    repo = workdir / "jsipfs-repo"
    log = workdir / "jsipfs.log"
    env = {**os.environ, "IPFS_PATH": str(repo)}
    init = subprocess.run(
        [str(JSIPFS), "init", "--profile", "test"], env=env, capture_output=True, timeout=120, check=False
    )
    if init.returncode != 0:
        raise RuntimeError(f"jsipfs init failed: {init.stderr.decode(errors='replace')[-2000:]}")
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    api_port, gw_port, swarm_port, rpc_port = (_free_port() for _ in range(4))
    config["Addresses"].update(
        {
            "API": f"/ip4/127.0.0.1/tcp/{api_port}",
            "Gateway": f"/ip4/127.0.0.1/tcp/{gw_port}",
            "RPC": f"/ip4/127.0.0.1/tcp/{rpc_port}",
            "Swarm": [f"/ip4/127.0.0.1/tcp/{swarm_port}"],
        }
    )
    config["Bootstrap"] = []
    config_path.write_text(json.dumps(config, indent=2))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(JSIPFS), "daemon", "--enable-preload=false"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    daemon = JsIpfsDaemon(repo, proc, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{gw_port}", log)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"jsipfs daemon exited with {proc.returncode}:\n{_log_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.post(f"{daemon.api}/api/v0/version", timeout=2).status_code == 200:
                return daemon
        if time.monotonic() > deadline:
            daemon.stop()
            raise RuntimeError(f"jsipfs daemon not ready after {READY_TIMEOUT:g} s:\n{_log_tail(log)}")
        time.sleep(0.2)


@contextlib.contextmanager
def jsipfs_daemon(workdir: Path) -> Iterator[JsIpfsDaemon]:
    """Start a daemon for the duration of the `with` block."""
    daemon = start_jsipfs(workdir)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def jsipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsDaemon]:
    """One js-ipfs daemon for the test session (fails, never skips, when node_modules is missing)."""
    try:
        daemon = start_jsipfs(tmp_path_factory.mktemp("jsipfs"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def jsipfs_api(jsipfs: JsIpfsDaemon) -> str:
    """The RPC base URL (`http://127.0.0.1:PORT`) of the session's js-ipfs daemon."""
    return jsipfs.api
