"""A node that accepts TCP connections and never answers (or trickles its answer byte by byte).

The problem: `curation index` (and every command that connects) waited about 54 s on such a port before
printing anything (web3's HTTP provider tried eth_chainId five times, ten seconds each), then printed the whole
RPC URL, credentials and API key included, with no word of what it had waited for. The log fetcher retried
seven times ten seconds, and a node trickling its answer one byte at a time kept it waiting for ever.

The promise: every wait on a node is bounded by settings (`CURATION_RPC_CONNECT_TIMEOUT`, `CURATION_RPC_TIMEOUT`,
`CURATION_RPC_RETRY_TIME`); the command exits 1 with one `error:` line that names the JSON-RPC method and the
host, hides the URL's user, password and query, and says what to check. The tests assert on the messages, with
small configured timeouts; a subprocess timeout only guards against the old hang.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.chain.connection import connect
from backend.chain.deployment import Deployment
from backend.chain.logs import RpcLogFetcher
from backend.chain.rpc import RpcFaultError, RpcLimits, shown_url
from backend.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2secret"
API_KEY = "k3y0123456789abcdef0123456789abcd"
ADDRESS = "0x" + "ab" * 20


class _Server:
    """A TCP server on 127.0.0.1 that accepts every connection and then stays silent, or trickles bytes."""

    def __init__(self, trickle: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = int(self.sock.getsockname()[1])
        self.trickle = trickle
        self.accepted = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._open.append(conn)
            if self.trickle:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            while not self._stop.is_set():
                conn.sendall(b" ")
                time.sleep(0.02)
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def silent() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.close()


def _secret_url(port: int) -> str:
    return f"http://operator:{SECRET}@127.0.0.1:{port}/v3/{API_KEY}?apikey={SECRET}"


def _assert_no_secrets(text: str) -> None:
    assert SECRET not in text
    assert API_KEY not in text


@pytest.mark.parametrize("command", [["index"], ["release", "1", "--dev-account", "0"], ["verify", "1"]])
def test_cli_on_a_silent_node_exits_with_one_line_naming_method_and_host(
    silent: _Server, tmp_path: Path, command: list[str]
) -> None:
    Deployment(
        chain_id=31337,
        deploy_block=1,
        compiler_version="0.8.28",
        deployer=ADDRESS,
        contracts=dict.fromkeys(
            ("CurationToken", "ContentRegistry", "CurationVoting", "ReleaseRegistry"), ADDRESS
        ),
    ).save(tmp_path / "deployment.json")
    env = {
        **os.environ,
        "CURATION_HOME": str(tmp_path),
        "CURATION_CONFIG": "",
        "CURATION_IPFS": "",
        "CURATION_RPC": _secret_url(silent.port),
        "CURATION_RPC_CONNECT_TIMEOUT": "0.5",
        "CURATION_RPC_TIMEOUT": "0.5",
        "CURATION_RPC_RETRY_TIME": "2",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli.main", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=45,  # the old code waited ~54 s before its first word
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`curation {' '.join(command)}` was still waiting on a silent node after 45 s")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("error: RPC URL http://***@127.0.0.1:")
    assert f"127.0.0.1:{silent.port}" in line
    assert "no answer to eth_chainId within 0.5 s (read timeout)" in line
    assert "Check that a JSON-RPC node runs at that address" in line
    assert "Traceback" not in done.stderr + done.stdout
    _assert_no_secrets(done.stderr + done.stdout)
    assert silent.accepted == 1  # asked once, not five times


def test_connect_names_the_method_and_hides_secrets(silent: _Server) -> None:
    limits = RpcLimits(connect_timeout=0.5, timeout=0.3, retry_time=2)
    with pytest.raises(ChainError) as caught:
        connect(_secret_url(silent.port), limits=limits)
    message = str(caught.value)
    assert f"RPC URL http://***@127.0.0.1:{silent.port}/v3/***?*** does not answer" in message
    assert "no answer to eth_chainId within 0.3 s (read timeout)" in message
    _assert_no_secrets(message)


def test_log_fetcher_gives_up_within_its_retry_time_and_says_on_what(silent: _Server) -> None:
    fetcher = RpcLogFetcher(
        _secret_url(silent.port), [ADDRESS], timeout=0.2, connect_timeout=0.5, retry_time=1.5, retries=50
    )
    with pytest.raises(RpcFaultError) as caught:
        fetcher.head()
    message = str(caught.value)
    assert message.startswith(f"eth_blockNumber to http://***@127.0.0.1:{silent.port}/v3/***?*** failed ")
    assert "last error: no answer within 0.2 s (read timeout)" in message
    assert "CURATION_RPC_RETRY_TIME" in message
    _assert_no_secrets(message)
    # Bounded by the retry time, not by the 51 attempts the retry count alone would allow.
    assert fetcher.stats.requests < 51


def test_a_trickled_answer_is_cut_off_when_the_call_runs_out_of_time() -> None:
    server = _Server(trickle=True)
    try:
        fetcher = RpcLogFetcher(
            f"http://127.0.0.1:{server.port}", [ADDRESS], timeout=5, retry_time=0.5, retries=3
        )
        with pytest.raises(
            RpcFaultError, match="the answer was still arriving when the time for this call ran out"
        ):
            fetcher.head()
    finally:
        server.close()


def test_web3_calls_on_a_trickling_node_are_cut_off_too() -> None:
    server = _Server(trickle=True)
    try:
        with pytest.raises(
            ChainError, match=r"eth_chainId to http://127\.0\.0\.1:\d+: the answer was still arriving"
        ):
            connect(f"http://127.0.0.1:{server.port}", limits=RpcLimits(timeout=5, retry_time=0.5))
    finally:
        server.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://user:pw@node.example/rpc?key=abc", "https://***@node.example/rpc?***"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"),
        (
            "https://eth-mainnet.g.alchemy.com/v2/AbCdEfGh1234IjKlMnOp",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
        ("http://[::1]:8545/", "http://[::1]:8545/"),
        ("embedded", "embedded"),
    ],
)
def test_urls_in_messages_hide_their_secrets(url: str, shown: str) -> None:
    assert shown_url(url) == shown
