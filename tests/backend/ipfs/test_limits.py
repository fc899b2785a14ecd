"""Read limits of every store: `max_bytes`, answers longer than a block, and the release-side readers that
tell a content (format) limit from an operator (resource) limit."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from backend.cli import ipfs_cmd
from backend.errors import StoreError
from backend.ipfs import ContentTooLarge, EmbeddedStore, GatewayReader, KuboStore, UnexpectedResponse, limits
from backend.ipfs.limits import (
    BATCH_MANIFEST_SETTING,
    get_batch_manifest,
    get_limited,
    get_manifest,
    get_manifest_part,
)
from backend.settings import Settings
from curation.batches import (
    BatchManifestMismatch,
    batch_manifest_max_bytes,
    build_batch_manifest,
    leaf_for_bytes,
    verify_batch_manifest,
)
from curation.blocks import MAX_BLOCK_SIZE, BlockTooLarge, block_cid
from curation.car import write_car
from curation.cid import CID
from curation.manifest_read import ManifestMismatch
from curation.merkle import merkle_root
from curation.unixfs import CHUNK_SIZE

DATA = random.Random(5).randbytes(3 * CHUNK_SIZE + 17)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "blocks")


def _node(store: EmbeddedStore, data: bytes, requests: list[str], oversize: bool = False) -> KuboStore:
    """A node serving block/get from `store` (or an endless answer) and `cat` of `data`, logging requests."""

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path.rsplit("/", 1)[-1])
        arg = request.url.params["arg"]
        if request.url.path.endswith("/block/get"):
            if oversize:
                return httpx.Response(200, content=iter([b"\0" * 65536] * 10_000))  # 655 MB, never sent
            return httpx.Response(200, content=store._read_raw(CID.parse(arg)))
        body = data[int(request.url.params.get("offset", "0")) :]
        return httpx.Response(200, content=body)

    return KuboStore("http://kubo.test:5001", transport=httpx.MockTransport(handler), backoff=0.001)


@pytest.mark.parametrize("limit", [len(DATA), len(DATA) + 1, None])
def test_every_store_reads_a_file_within_its_limit(store: EmbeddedStore, limit: int | None) -> None:
    root = store.put_bytes(DATA).cid
    assert store.get_bytes(root, max_bytes=limit) == DATA
    assert _node(store, DATA, []).get_bytes(root, max_bytes=limit) == DATA


def test_a_file_one_byte_over_the_limit_is_refused_before_any_byte(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    root = store.put_bytes(DATA).cid
    with pytest.raises(ContentTooLarge) as caught:
        next(iter(store.iter_bytes(root, max_bytes=len(DATA) - 1)))
    assert (caught.value.limit, caught.value.declared, caught.value.cid) == (
        len(DATA) - 1,
        len(DATA),
        str(root),
    )
    assert isinstance(caught.value, StoreError)
    requests: list[str] = []
    with pytest.raises(ContentTooLarge):
        _node(store, DATA, requests).get_bytes(root, max_bytes=len(DATA) - 1)
    assert requests == ["get"]  # the root's block/get; the cat stream is never opened
    with pytest.raises(ContentTooLarge):
        store.get_file(root, tmp_path / "out", max_bytes=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks"]
    small = store.put_bytes(b"hello").cid  # a single raw block: its length is its declared size
    with pytest.raises(ContentTooLarge, match="5 bytes"):
        store.get_bytes(small, max_bytes=4)
    with pytest.raises(ValueError, match="max_bytes"):
        store.get_bytes(small, max_bytes=-1)


def test_an_answer_longer_than_any_block_is_cut_off(store: EmbeddedStore) -> None:
    root = store.put_bytes(DATA).cid
    requests: list[str] = []
    with pytest.raises(UnexpectedResponse, match=f"more than {MAX_BLOCK_SIZE} bytes for block {root}"):
        _node(store, DATA, requests, oversize=True).get_block(root)

    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"\0" * 65536] * 10_000))

    reader = GatewayReader("http://gw.test", transport=httpx.MockTransport(gateway))
    with pytest.raises(UnexpectedResponse, match="more than any IPFS block holds"):
        reader.get_bytes(root)

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(MAX_BLOCK_SIZE + 1)}, content=b"")

    reader = GatewayReader("http://gw.test", transport=httpx.MockTransport(declared))
    with pytest.raises(UnexpectedResponse, match="faulty or hostile"):
        reader.get_block(root)


def test_oversized_blocks_are_never_stored_or_read(store: EmbeddedStore) -> None:
    big = bytes(MAX_BLOCK_SIZE + 1)
    cid = block_cid(big, 0x55)
    with pytest.raises(BlockTooLarge, match=f"over the {MAX_BLOCK_SIZE}-byte limit"):
        store.put_block(cid, big)
    car = io.BytesIO()
    write_car(car, [cid], [(cid, big)])
    car.seek(0)
    with pytest.raises(BlockTooLarge):
        store.import_car(car)
    store._path(cid).parent.mkdir(parents=True, exist_ok=True)
    store._path(cid).write_bytes(big)  # a damaged store
    with pytest.raises(StoreError, match="the store is damaged"):
        store.get_block(cid)


def _batch(n: int) -> tuple[bytes, bytes]:
    leaves = [leaf_for_bytes(i, b"item %d" % i, 1, 1) for i in range(n)]
    return build_batch_manifest(leaves), merkle_root(leaves)


def test_batch_manifest_within_both_limits_verifies(store: EmbeddedStore) -> None:
    data, root = _batch(3)
    cid = store.put_bytes(data).cid
    got = get_batch_manifest(store, cid, 3, max_bytes=Settings().max_batch_manifest_bytes)
    assert verify_batch_manifest(got, root, 3).count == 3


def test_batch_manifest_over_the_format_limit_is_invalid_content(store: EmbeddedStore) -> None:
    data, _ = _batch(3)
    padded = data[:-1] + b',"pad":"' + b"x" * 10 * CHUNK_SIZE + b'"}'  # 2.5 MB for a batch of 3 leaves
    cid = store.put_bytes(padded).cid
    with pytest.raises(BatchManifestMismatch, match=f"more than the {batch_manifest_max_bytes(3)} bytes"):
        get_batch_manifest(store, cid, 3, max_bytes=100)  # a content error even under a low operator limit


def test_batch_manifest_over_the_operator_limit_names_the_setting(store: EmbeddedStore) -> None:
    data, _ = _batch(20)
    cid = store.put_bytes(data).cid
    with pytest.raises(ContentTooLarge, match=f"raise {BATCH_MANIFEST_SETTING}") as caught:
        get_batch_manifest(store, cid, 20, max_bytes=len(data) - 1)
    assert caught.value.setting == BATCH_MANIFEST_SETTING
    assert caught.value.what == "batch manifest"
    assert caught.value.declared == len(data)


def test_manifest_reads_keep_the_format_limits(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = store.put_bytes(DATA).cid
    assert get_manifest(store, cid) == DATA
    assert get_manifest_part(store, cid) == DATA
    monkeypatch.setattr(limits, "MAX_PART_BYTES", len(DATA) - 1)
    with pytest.raises(ManifestMismatch, match=f"manifest part {cid} is {len(DATA)} bytes, over the"):
        get_manifest_part(store, cid)
    assert get_limited(store, cid, max_bytes=len(DATA), setting="X") == DATA
    with pytest.raises(ContentTooLarge, match="raise X"):
        get_limited(store, cid, max_bytes=10, setting="X")


def test_default_limit_fits_a_million_leaf_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # measured: a canonical 1,000,000-leaf manifest is 220,366,041 bytes (257,889,031 at every field's maximum)
    assert Settings().max_batch_manifest_bytes == 256 * 2**20 > 257_889_031
    monkeypatch.setenv(BATCH_MANIFEST_SETTING, "2000")
    assert Settings().max_batch_manifest_bytes == 2000


def test_cli_get_and_cat_take_a_max_bytes(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    ipfs_cmd.register(app)
    src = tmp_path / "f"
    src.write_bytes(b"0123456789")
    home = ["ipfs", "--home", str(tmp_path / "home")]
    runner = CliRunner()
    cid = runner.invoke(app, [*home, "add", str(src)]).stdout.strip()
    assert runner.invoke(app, [*home, "cat", cid, "--max-bytes", "10"]).stdout == "0123456789"
    refused = runner.invoke(app, [*home, "get", cid, "-o", str(tmp_path / "o"), "--max-bytes", "9"])
    assert refused.exit_code == 1
    assert "is 10 bytes (as its UnixFS root declares), over the limit of 9 bytes" in refused.stderr
    assert not (tmp_path / "o").exists()
    assert hashlib.sha256(src.read_bytes()).hexdigest()  # the source is untouched
