"""Attack: a UnixFS DAG bomb. Three blocks, 688 kB in all, read back as 4 TiB.

A raw leaf of 256 KiB, a node linking it 4,096 times and a root linking that node 4,096 times: every block
verifies against its CID, so the reader used to stream 4 TiB (and `get_bytes` to hold it in memory) from a
CID anyone can submit as a batch manifest or an item.

Promised: a file DAG must keep the format limits (MAX_LINKS_PER_NODE links per node, MAX_DAG_DEPTH, blocks
of at most MAX_BLOCK_SIZE, declared sizes adding up), else the read fails with a content error (an
InvalidInput, the same on every machine) right at the offending block. A DAG within those limits that
declares more than the reader's `max_bytes` is refused with ContentTooLarge (carrying the limit and the
declared size) right after its root block: nothing more is fetched, nothing is yielded, no file is left,
and memory stays bounded. The same holds on a real node (js-ipfs, blocks put with `block/put`).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.errors import StoreError
from backend.ipfs import ContentTooLarge, EmbeddedStore, KuboStore
from curation.blocks import MAX_BLOCK_SIZE, BlockTooLarge, block_cid
from curation.cid import CID, DAG_PB, RAW
from curation.errors import InvalidInput
from curation.multiformats import varint
from curation.unixfs import (
    CHUNK_SIZE,
    MAX_DAG_DEPTH,
    MAX_LINKS_PER_NODE,
    DagLimitExceeded,
    PBLink,
    SizeMismatch,
    encode_pbnode,
)

TiB = 1 << 40
Blocks = list[tuple[CID, bytes]]


def _unixfs_file(filesize: int, blocksizes: list[int], data: bytes = b"") -> bytes:
    """UnixFS Data of a file node: Type=file, Data, filesize, blocksizes (written by hand, as an attacker)."""
    out = b"\x08\x02"
    if data:
        out += b"\x12" + varint(len(data)) + data
    out += b"\x18" + varint(filesize)
    for size in blocksizes:
        out += b"\x20" + varint(size)
    return out


def _node(links: list[tuple[CID, int]], filesize: int | None = None) -> tuple[CID, bytes]:
    """A dag-pb file node linking (cid, blocksize) pairs; filesize their sum unless a lie is asked for."""
    sizes = [size for _, size in links]
    data = _unixfs_file(sum(sizes) if filesize is None else filesize, sizes)
    block = encode_pbnode((PBLink(cid, "", size) for cid, size in links), data)
    return block_cid(block, DAG_PB), block


def bomb(fanout: int, leaf_size: int = CHUNK_SIZE) -> tuple[CID, Blocks]:
    """leaf <- middle (fanout links to the leaf) <- root (fanout links to middle): three blocks."""
    leaf = bytes(leaf_size)
    leaf_cid = block_cid(leaf, RAW)
    middle_cid, middle = _node([(leaf_cid, leaf_size)] * fanout)
    root_cid, root = _node([(middle_cid, leaf_size * fanout)] * fanout)
    return root_cid, [(leaf_cid, leaf), (middle_cid, middle), (root_cid, root)]


class CountingStore(EmbeddedStore):
    """The embedded store, counting the blocks a read takes from disk (instrumentation, no fault)."""

    reads = 0

    def _read_raw(self, cid: CID) -> bytes:
        self.reads += 1
        return super()._read_raw(cid)


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path / "store")


def _put(store: EmbeddedStore | KuboStore, blocks: Blocks) -> None:
    for cid, data in blocks:
        store.put_block(cid, data)


def _bounded(fn: Callable[[], object]) -> tuple[BaseException, float, float]:
    """Run fn, which must raise; return (error, seconds, peak MiB of Python heap while it ran)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
    except BaseException as exc:  # returned to the test, which checks its type
        error = exc
    else:
        raise AssertionError("the read was not refused")
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return error, seconds, peak


def test_the_bomb_is_three_small_blocks_that_declare_4_tib() -> None:
    _, blocks = bomb(4096)
    assert len(blocks) == 3
    assert sum(len(b) for _, b in blocks) < 700_000
    assert 4 * TiB == CHUNK_SIZE * 4096 * 4096


@pytest.mark.parametrize("max_bytes", [None, 2**20])
def test_the_bomb_breaks_the_links_per_node_limit_at_its_root(
    store: CountingStore, tmp_path: Path, max_bytes: int | None
) -> None:
    root, blocks = bomb(4096)
    _put(store, blocks)
    error, seconds, peak = _bounded(lambda: store.get_bytes(root, max_bytes=max_bytes))
    assert isinstance(error, DagLimitExceeded)
    assert isinstance(error, InvalidInput)  # a content error: the same on every machine
    assert f"4096 links, over the format limit of {MAX_LINKS_PER_NODE}" in str(error)
    assert store.reads == 1  # the root block only
    assert seconds < 5
    assert peak < 8
    dest = tmp_path / "out"
    with pytest.raises(DagLimitExceeded):
        store.get_file(root, dest, max_bytes=max_bytes)
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]  # no file, no temp file


def test_a_bomb_within_the_format_limits_is_refused_by_its_declared_size(
    store: CountingStore, tmp_path: Path
) -> None:
    root, blocks = bomb(MAX_LINKS_PER_NODE)  # 3 blocks declaring 256 GiB
    _put(store, blocks)
    declared = CHUNK_SIZE * MAX_LINKS_PER_NODE**2
    error, seconds, peak = _bounded(lambda: store.get_bytes(root, max_bytes=10 * 2**20))
    assert isinstance(error, ContentTooLarge)
    assert isinstance(error, StoreError)
    assert (error.limit, error.declared) == (10 * 2**20, declared)
    assert f"{declared} bytes" in str(error)
    assert str(root) in str(error)
    assert store.reads == 1
    assert seconds < 5
    assert peak < 8
    chunks = store.iter_bytes(root, max_bytes=declared - 1)
    with pytest.raises(ContentTooLarge):
        next(chunks)  # not one byte is yielded
    with pytest.raises(ContentTooLarge):
        store.get_file(root, tmp_path / "out", max_bytes=10 * 2**20)
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]


def test_a_root_that_understates_its_repeated_links_is_refused(store: CountingStore) -> None:
    leaf = bytes(CHUNK_SIZE)
    leaf_cid = block_cid(leaf, RAW)
    # declares 10 bytes, links the 256 KiB leaf 1,000 times
    lying_cid, lying = _node([(leaf_cid, CHUNK_SIZE)] * 1000, filesize=10)
    _put(store, [(leaf_cid, leaf), (lying_cid, lying)])
    with pytest.raises(SizeMismatch, match="declares a filesize of 10 bytes"):
        store.get_bytes(lying_cid, max_bytes=10)
    # a consistent root over a child that holds more than the root says: refused at that child
    middle_cid, middle = _node([(leaf_cid, CHUNK_SIZE)] * 1000)
    root_cid, root = _node([(middle_cid, 10)])
    _put(store, [(middle_cid, middle), (root_cid, root)])
    store.reads = 0
    with pytest.raises(SizeMismatch, match="parent declares 10"):
        store.get_bytes(root_cid, max_bytes=10)
    assert store.reads == 2


def test_a_dag_deeper_than_the_limit_is_refused(store: CountingStore) -> None:
    leaf = b"x"
    cid = block_cid(leaf, RAW)
    blocks: Blocks = [(cid, leaf)]
    for _ in range(MAX_DAG_DEPTH + 1):
        cid, block = _node([(cid, 1)])
        blocks.append((cid, block))
    _put(store, blocks)
    with pytest.raises(DagLimitExceeded, match=f"deeper than the format limit of {MAX_DAG_DEPTH}"):
        store.get_bytes(cid)
    assert store.get_bytes(blocks[-2][0]) == b"x"  # exactly MAX_DAG_DEPTH deep is fine


def test_a_leaf_declared_larger_than_any_block_is_refused_before_it_is_read(store: CountingStore) -> None:
    leaf = b"y" * 100
    leaf_cid = block_cid(leaf, RAW)
    root_cid, root = _node([(leaf_cid, MAX_BLOCK_SIZE + 1)])
    _put(store, [(leaf_cid, leaf), (root_cid, root)])
    with pytest.raises(BlockTooLarge, match="declared by its parent"):
        store.get_bytes(root_cid)
    assert store.reads == 1
    with pytest.raises(BlockTooLarge):
        store.put_block(block_cid(bytes(MAX_BLOCK_SIZE + 1), RAW), bytes(MAX_BLOCK_SIZE + 1))


def test_a_file_with_repeated_chunks_still_reads_back(store: CountingStore) -> None:
    """Repeated links are how Kubo stores repeated content (zero padding): within the limits they read."""
    root, blocks = bomb(8, leaf_size=1024)
    _put(store, blocks)
    assert store.get_bytes(root, max_bytes=64 * 1024) == bytes(64 * 1024)
    with pytest.raises(ContentTooLarge):
        store.get_bytes(root, max_bytes=64 * 1024 - 1)


@pytest.fixture
def node(jsipfs_api: str) -> Iterator[KuboStore]:
    with KuboStore(jsipfs_api, timeout=20) as kubo:
        yield kubo


@pytest.mark.integration
def test_on_js_ipfs_the_bomb_is_refused_at_its_root(node: KuboStore, tmp_path: Path) -> None:
    root, blocks = bomb(4096)
    _put(node, blocks)  # block/put accepts every block: they are valid blocks
    assert node.get_block(root) == blocks[-1][1]
    error, seconds, peak = _bounded(lambda: node.get_bytes(root, max_bytes=2**20))
    assert isinstance(error, DagLimitExceeded)
    assert seconds < 10
    assert peak < 8

    within, blocks = bomb(MAX_LINKS_PER_NODE, leaf_size=CHUNK_SIZE - 1)
    _put(node, blocks)
    error, seconds, peak = _bounded(lambda: node.get_bytes(within, max_bytes=2**20))
    assert isinstance(error, ContentTooLarge)
    assert error.declared == (CHUNK_SIZE - 1) * MAX_LINKS_PER_NODE**2
    assert seconds < 10
    assert peak < 8
    with pytest.raises(ContentTooLarge):
        node.get_file(within, tmp_path / "out", max_bytes=2**20)
    assert list(tmp_path.iterdir()) == []
