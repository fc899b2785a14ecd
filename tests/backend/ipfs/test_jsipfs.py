"""Against a real js-ipfs daemon: same CIDs, CAR interop, tamper-proof reads, timeouts, pins and GC."""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from backend.ipfs import EmbeddedStore, KuboStore, StoreTimeout
from curation.blocks import BlockMismatch
from curation.cid import CID
from curation.unixfs import CHUNK_SIZE, FileImporter, compute_cid

pytestmark = pytest.mark.integration
C = CHUNK_SIZE
MISSING = "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxaa"  # nobody has these bytes


def det_bytes(n: int, seed: int | None = None) -> bytes:
    return random.Random(n if seed is None else seed).randbytes(n)


def node_add(api: str, data: bytes, version: int, chunk: int = C, only_hash: bool = True) -> CID:
    params = {
        "cid-version": str(version),
        "raw-leaves": "true" if version else "false",
        "only-hash": "true" if only_hash else "false",
        "chunker": f"size-{chunk}",
    }
    r = httpx.post(
        f"{api}/api/v0/add",
        params=params,
        files={"file": ("f", data, "application/octet-stream")},
        timeout=120,
    )
    r.raise_for_status()
    return CID.parse(r.json()["Hash"])


def ours(data: bytes, version: int, chunk: int = C) -> CID:
    importer = FileImporter(cid_version=version, chunk_size=chunk)
    for start in range(0, len(data), chunk):
        importer.push(data[start : start + chunk])
    importer.finish()
    return importer.result.cid


@pytest.fixture
def store(jsipfs_api: str) -> Iterator[KuboStore]:
    with KuboStore(jsipfs_api, timeout=10) as s:
        yield s


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(0, C), (11, C), (C - 1, C), (C, C), (C + 1, C), (174 * C, C), (174 * C + 1, C),
     (174 * 174 * 256 + 1, 256)],
    ids=["empty", "tiny", "chunk-1", "chunk", "chunk+1", "174-leaves", "175-leaves", "three-levels"],
)  # fmt: skip
@pytest.mark.parametrize("version", [0, 1])
def test_importer_gives_the_daemons_cids(jsipfs_api: str, size: int, chunk: int, version: int) -> None:
    data = det_bytes(size, seed=size + 1)
    assert ours(data, version, chunk) == node_add(jsipfs_api, data, version, chunk)


@pytest.mark.parametrize("version", [0, 1])
def test_kubo_store_round_trip(store: KuboStore, version: int) -> None:
    data = det_bytes(3 * C + 1234, seed=version)
    result = store.put_bytes(data, cid_version=version)
    assert result.cid == compute_cid(data, cid_version=version).cid
    assert store.get_bytes(result.cid) == data
    assert store.has(result.cid)
    assert result.cid in store.pins()
    assert store.version()


def test_car_from_embedded_store_imports_into_jsipfs(
    store: KuboStore, jsipfs_api: str, tmp_path: Path
) -> None:
    embedded = EmbeddedStore(tmp_path / "blocks")
    data = det_bytes(175 * C + 7, seed=42)
    root = embedded.put_bytes(data).cid
    car = io.BytesIO()
    embedded.export_car(root, car)
    assert store.import_car(io.BytesIO(car.getvalue())) == [root]
    cat = httpx.post(f"{jsipfs_api}/api/v0/cat", params={"arg": str(root)}, timeout=60)
    assert cat.content == data
    assert root in store.pins()
    # and back: the daemon's `dag export` imports into a fresh embedded store
    back = io.BytesIO()
    store.export_car(root, back)
    fresh = EmbeddedStore(tmp_path / "fresh")
    assert fresh.import_car(io.BytesIO(back.getvalue())) == [root]
    assert fresh.get_bytes(root) == data


class _FlipProxy:
    """An HTTP proxy in front of the daemon that flips one byte of every cat / block/get answer."""

    def __init__(self, upstream: str) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                r = httpx.post(upstream + self.path, content=body, timeout=30)
                data = bytearray(r.content)
                if any(p in self.path for p in ("/cat", "/block/get")) and data:
                    data[len(data) // 2] ^= 0x01
                    proxy.flipped += 1
                self.send_response(r.status_code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(bytes(data))

            def log_message(self, *args: object) -> None:
                pass

        self.flipped = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("size", [100, 3 * C + 5], ids=["one-block", "multi-block"])
def test_proxy_flipping_a_byte_is_caught(store: KuboStore, size: int, tmp_path: Path) -> None:
    data = det_bytes(size, seed=7)
    root = store.put_bytes(data).cid
    proxy = _FlipProxy(store.url.removesuffix("/api/v0"))
    try:
        with KuboStore(proxy.url, timeout=10) as tampered:
            with pytest.raises(BlockMismatch, match=r"block b\w+ failed verification"):
                tampered.get_bytes(root)
            with pytest.raises(BlockMismatch):
                tampered.get_file(root, tmp_path / "out")
    finally:
        proxy.close()
    assert proxy.flipped >= 2
    assert not (tmp_path / "out").exists()


def test_missing_cid_fails_within_its_timeout(jsipfs_api: str) -> None:
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            with KuboStore(jsipfs_api, timeout=1.0) as s:
                s.get_bytes(MISSING)
        except BaseException as exc:  # reported to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(30)  # a hang would leave the thread running
    assert not worker.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreTimeout)


def test_pin_and_gc_on_the_daemon(store: KuboStore) -> None:
    kept = store.put_bytes(det_bytes(C + 1, seed=11)).cid
    dropped = store.put_bytes(det_bytes(C + 1, seed=12), pin=False).cid
    store.gc()
    assert store.has(kept)
    assert not store.has(dropped)
    store.unpin(kept)
    assert kept not in store.pins()
    store.gc()
    assert not store.has(kept)
