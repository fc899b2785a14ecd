"""The API over real HTTP: uvicorn on 127.0.0.1 and a free port, started and stopped by each test module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.ipfs import EmbeddedStore
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import ALICE, FakeClock, sign, siwe_message
from tests.integration.hardhat import HardhatNode


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll until `condition()` holds; the timeout only guards against hanging, it asserts nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class LiveServer:
    """uvicorn serving `app` in a thread on a socket bound to a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        _wait_for(lambda: self.server.started, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def live(build_app: Callable[..., FastAPI]) -> Iterator[LiveServer]:
    with LiveServer(build_app(api_max_upload_bytes=64 * 1024)) as server:
        yield server


def _token(http: httpx.Client, clock: FakeClock) -> str:
    nonce = http.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock).to_text()
    r = http.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_manifest_and_etag_over_http(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as http:
        release = http.get("/datasets/1/releases/latest").json()
        r = http.get(f"/datasets/1/releases/{release['number']}/manifest")
        assert r.status_code == 200
        assert str(compute_cid(r.content).cid) == release["manifest_cid"]
        again = http.get(
            f"/datasets/1/releases/{release['number']}/manifest", headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304
        assert http.get("/datasets/5").json()["code"] == "not-found"


def _raw(port: int, request: bytes) -> bytes:
    """Everything uvicorn sends for one request on a connection it then closes (HEAD framing, byte for byte)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_head_and_ranges_over_http(live: LiveServer) -> None:
    """HEAD sends the headers of GET and no body (the next response would be corrupted otherwise); a 206 is
    exactly the range asked for."""
    path = "/datasets/1/releases/1/manifest"
    with httpx.Client(base_url=live.url) as http:
        full = http.get(path)
        ranged = http.get(path, headers={"Range": "bytes=3-12"})
    assert (ranged.status_code, ranged.content) == (206, full.content[3:13])
    assert ranged.headers["content-range"] == f"bytes 3-12/{len(full.content)}"
    answer = _raw(live.port, f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"content-length: {len(full.content)}".encode() in head.lower()
    assert f"etag: {full.headers['etag']}".encode() in head.lower()
    assert body == b""


def test_sign_in_and_upload_over_http(live: LiveServer, clock: FakeClock, store: EmbeddedStore) -> None:
    data = os.urandom(40_000)
    with httpx.Client(base_url=live.url) as http:
        token = _token(http, clock)
        r = http.post(
            "/uploads",
            params={"license": "CC0-1.0", "consent": "train"},
            content=data,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 201, r.text
    assert r.json()["cid"] == str(compute_cid(data).cid)
    assert store.get_bytes(r.json()["cid"]) == data


def _raw_request(port: int, head: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn.sendall(head.replace("\n", "\r\n").encode())
    return conn


def _read_response(conn: socket.socket) -> str:
    """One whole HTTP response (headers plus Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(v)
        for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
        if k.lower() == b"content-length"
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_declared_oversize_is_refused_before_the_body_is_sent(
    live: LiveServer, clock: FakeClock, store: EmbeddedStore
) -> None:
    with httpx.Client(base_url=live.url) as http:
        token = _token(http, clock)
    head = textwrap.dedent(f"""\
        POST /uploads?license=MIT&consent=train HTTP/1.1
        Host: 127.0.0.1
        Authorization: Bearer {token}
        Content-Type: application/octet-stream
        Content-Length: {10 * 1024**3}

        """)
    conn = _raw_request(live.port, head)  # 10 GiB announced, not one byte of it sent
    with conn:
        reply = _read_response(conn)
    assert reply.startswith("HTTP/1.1 413 "), reply
    assert '"code":"payload-too-large"' in reply
    assert store.pins() == []


def test_upload_cut_off_mid_body_leaves_nothing(
    live: LiveServer, clock: FakeClock, store: EmbeddedStore, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live.url) as http:
        token = _token(http, clock)
    head = textwrap.dedent(f"""\
        POST /uploads?license=MIT&consent=train HTTP/1.1
        Host: 127.0.0.1
        Authorization: Bearer {token}
        Content-Type: application/octet-stream
        Content-Length: 50000

        """)
    uploads = tmp_path / "uploads"
    conn = _raw_request(live.port, head)
    conn.sendall(b"p" * 20_000)
    _wait_for(lambda: any(uploads.iterdir()), "the server to start receiving")
    conn.close()
    _wait_for(lambda: not any(uploads.iterdir()), "the server to drop the partial upload")
    assert store.pins() == []
    assert list((store.root / "blocks").rglob("*")) == []


def _serve_cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli.main", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.integration
def test_curation_serve_runs_uvicorn_on_the_given_port(tmp_path: Path, hardhat: HardhatNode) -> None:
    w3 = connect(hardhat.url)
    record = deploy_all(w3, dev_signers(w3)[0])
    record.save(tmp_path / "deployment.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CURATION_HOME": str(tmp_path / "home"),
        "CURATION_RPC": hardhat.url,
        "CURATION_IPFS": "",
        "CURATION_DB": f"sqlite:///{tmp_path / 'index.sqlite'}",
        "CURATION_DEPLOYMENT": str(tmp_path / "deployment.json"),
    }
    proc = _serve_cli(env, "--port", str(port), "--log-level", "warning")
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
            except httpx.TransportError:
                return False

        _wait_for(up, "curation serve to answer", timeout=60)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["chain_id"] == 31337
        assert health["registry"] == record.address("ContentRegistry")
        assert httpx.get(f"http://127.0.0.1:{port}/datasets").json() == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_curation_serve_without_a_chain_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "CURATION_HOME": str(tmp_path / "home")}
    env.pop("CURATION_RPC", None)
    proc = _serve_cli(env, "--port", "0")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "CURATION_RPC" in err.decode()
    assert "Traceback" not in err.decode()
