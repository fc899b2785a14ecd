"""A real Hardhat node for integration tests: started on a free 127.0.0.1 port, stopped after the session."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
HARDHAT = ROOT / "node_modules" / ".bin" / "hardhat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rpc(url: str, method: str, params: list[object] | None = None) -> object:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=5)
    return r.json()["result"]


class HardhatNode:
    """A running `hardhat node`; `rpc` calls any JSON-RPC method (evm_snapshot, evm_revert, evm_mine...)."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.proc = proc

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        return _rpc(self.url, method, params)


def start_hardhat(log_path: Path) -> HardhatNode:
    if not HARDHAT.exists():
        pytest.fail(f"{HARDHAT} is missing: run `npm ci` (make test does) before the integration tests")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(HARDHAT), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"hardhat node exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            _rpc(url, "eth_chainId")
            return HardhatNode(url, proc)
        except (httpx.HTTPError, KeyError, ValueError):
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"hardhat node did not answer on {url} within 60 s")


def stop(node: HardhatNode) -> None:
    node.proc.terminate()
    try:
        node.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        node.proc.kill()


@pytest.fixture(scope="session")
def hardhat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HardhatNode]:
    """One Hardhat node (chain id 31337, cancun, automine) for the whole test session."""
    node = start_hardhat(tmp_path_factory.mktemp("hardhat") / "node.log")
    try:
        yield node
    finally:
        stop(node)
