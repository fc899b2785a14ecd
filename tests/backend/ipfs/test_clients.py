"""Kubo RPC client and gateway reader against scripted HTTP answers: retries, garbage, down, tampering."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import httpx
import pytest

from backend.ipfs import (
    EmbeddedStore,
    GatewayReader,
    KuboStore,
    StoreTimeout,
    StoreUnavailable,
    UnexpectedResponse,
    open_store,
)
from backend.ipfs.kubo import rpc_base_url
from backend.settings import Settings
from curation.blocks import BlockMismatch
from curation.cid import CID
from curation.errors import InvalidInput
from curation.unixfs import CHUNK_SIZE, compute_cid

HELLO_V1 = "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxsa"


def det_bytes(n: int) -> bytes:
    return random.Random(n).randbytes(n)


def kubo(handler: httpx.MockTransport, **kw: float) -> KuboStore:
    return KuboStore("http://kubo.test:5001", transport=handler, backoff=0.001, **kw)  # type: ignore[arg-type]


def test_rpc_url_forms() -> None:
    assert rpc_base_url("http://127.0.0.1:5001") == "http://127.0.0.1:5001/api/v0"
    assert rpc_base_url("http://h:1/api/v0/") == "http://h:1/api/v0"
    assert rpc_base_url("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001/api/v0"
    with pytest.raises(InvalidInput, match="multiaddr"):
        rpc_base_url("localhost:5001")


def test_add_sends_cid_version_1_raw_leaves_and_checks_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = request.read()
        assert b"Content-Type: application/octet-stream" in body
        assert b"hello IPFS\n" in body
        # the node answers in base58, as js-ipfs does without cid-base
        cid = CID.parse(HELLO_V1).encode("base58btc")
        return httpx.Response(200, text=f'{{"Name":"file","Hash":"{cid}","Size":"11"}}\n')

    result = kubo(httpx.MockTransport(handler)).put_bytes(b"hello IPFS\n")
    assert str(result.cid) == HELLO_V1
    params = seen[0].url.params
    assert (params["cid-version"], params["raw-leaves"], params["cid-base"]) == ("1", "true", "base32")
    assert "timeout" in params


def test_add_refuses_a_cid_that_is_not_ours_and_unpins_it() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/add"):
            request.read()
            return httpx.Response(200, json={"Hash": str(compute_cid(b"other").cid)})
        return httpx.Response(200, json={"Pins": []})

    with pytest.raises(UnexpectedResponse, match="misconfigured"):
        kubo(httpx.MockTransport(handler)).put_bytes(b"hello IPFS\n")
    assert calls[-1].endswith("/pin/rm")


def test_transient_failures_are_retried_with_backoff() -> None:
    attempts = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx.ConnectError("refused")
        if attempts["n"] == 2:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"Version": "0.18.1"})

    assert kubo(httpx.MockTransport(handler)).version() == "0.18.1"
    assert attempts["n"] == 3


def test_garbage_answers_raise_unexpected_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>not an IPFS node</html>")

    with pytest.raises(UnexpectedResponse, match="not JSON"):
        kubo(httpx.MockTransport(handler)).version()

    def bad_cid(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(200, json={"Hash": "garbage"})

    with pytest.raises(UnexpectedResponse, match="bad CID"):
        kubo(httpx.MockTransport(bad_cid)).put_bytes(b"x")


def test_node_timeout_message_becomes_store_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["timeout"] == "1000ms"
        return httpx.Response(
            500, json={"Message": "Failed to get block: request timed out", "Type": "error"}
        )

    with pytest.raises(StoreTimeout, match="timed out"):
        kubo(httpx.MockTransport(handler), timeout=1.0).get_block(HELLO_V1)


def test_client_side_read_timeout_is_an_error_not_a_hang() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(StoreTimeout, match="did not answer"):
        kubo(httpx.MockTransport(handler), timeout=0.5).get_bytes(HELLO_V1)


def test_daemon_down_raises_store_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = KuboStore(f"http://127.0.0.1:{port}", timeout=2, retries=1, backoff=0.01)
    with pytest.raises(StoreUnavailable, match="is the daemon running"):
        store.version()


def test_tampered_block_from_the_node_is_caught() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"hello IPFS!")

    with pytest.raises(BlockMismatch, match=HELLO_V1):
        kubo(httpx.MockTransport(handler)).get_bytes(HELLO_V1)


def test_open_store_uses_kubo_when_configured() -> None:
    store = open_store(Settings(ipfs="http://127.0.0.1:5001", ipfs_timeout=3))
    assert isinstance(store, KuboStore)
    assert store.timeout == 3


def _gateway(store: EmbeddedStore, flip: CID | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/vnd.ipld.raw"
        cid = CID.parse(request.url.path.rsplit("/", 1)[-1])
        if not store.has(cid):
            return httpx.Response(404)
        data = bytearray(store._read_raw(cid))
        if flip is not None and cid == flip:
            data[len(data) // 2] ^= 0x01
        return httpx.Response(200, content=bytes(data))

    return httpx.MockTransport(handler)


def test_gateway_reader_rebuilds_the_file_from_verified_blocks(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    data = det_bytes(2 * CHUNK_SIZE + 9)
    root = store.put_bytes(data, cid_version=0).cid
    reader = GatewayReader("http://gw.test", transport=_gateway(store))
    assert reader.get_bytes(root) == data
    dest = tmp_path / "out"
    assert reader.get_file(root, dest) == len(data)
    assert dest.read_bytes() == data


def test_gateway_that_flips_a_byte_is_caught(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    data = det_bytes(2 * CHUNK_SIZE + 9)
    root = store.put_bytes(data).cid
    reader = GatewayReader("http://gw.test", transport=_gateway(store, flip=root))
    with pytest.raises(BlockMismatch, match=str(root)):
        reader.get_bytes(root)
    with pytest.raises(BlockMismatch, match=str(root)):
        reader.get_file(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _kubo_serving(
    store: EmbeddedStore, data: bytes, piece: int, cut: int | None = None
) -> httpx.MockTransport:
    """A node that answers block/get from `store` and streams `cat` in `piece`-byte chunks (cut short at `cut`)."""

    def handler(request: httpx.Request) -> httpx.Response:
        arg = request.url.params["arg"]
        if request.url.path.endswith("/block/get"):
            return httpx.Response(200, content=store._read_raw(CID.parse(arg)))
        assert request.url.path.endswith("/cat")
        body = data[int(request.url.params.get("offset", "0")) : cut]
        return httpx.Response(200, content=iter([body[i : i + piece] for i in range(0, len(body), piece)]))

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("piece", [1000, CHUNK_SIZE - 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 5])
def test_cat_leaves_split_across_any_chunking_of_the_stream(tmp_path: Path, piece: int) -> None:
    store = EmbeddedStore(tmp_path)
    data = det_bytes(4 * CHUNK_SIZE + 123)
    root = store.put_bytes(data).cid
    assert kubo(_kubo_serving(store, data, piece)).get_bytes(root) == data


def test_cat_stream_that_ends_early_names_the_byte(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    data = det_bytes(3 * CHUNK_SIZE)
    root = store.put_bytes(data).cid
    cut = CHUNK_SIZE + 77
    with pytest.raises(UnexpectedResponse, match=f"ended early at byte {cut}"):
        kubo(_kubo_serving(store, data, 4096, cut=cut)).get_bytes(root)
