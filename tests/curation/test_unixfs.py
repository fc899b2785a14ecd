"""The UnixFS importer gives exactly the CIDs of `ipfs add` (vectors recorded from js-ipfs 0.66.1)."""

from __future__ import annotations

import hashlib
import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.blocks import BlockMismatch, verify_block
from curation.car import CarError, read_car, write_car
from curation.cid import CID, DAG_PB, RAW
from curation.errors import InvalidInput
from curation.unixfs import (
    CHUNK_SIZE,
    FileImporter,
    NotAFile,
    compute_cid,
    decode_pbnode,
    decode_unixfs,
    import_bytes,
    iter_file,
)

C = CHUNK_SIZE


def det_bytes(n: int) -> bytes:
    """n pseudo-random bytes, the same on every machine and Python version (seeded by n)."""
    return random.Random(n).randbytes(n)


# (size, chunk size, CIDv0 of `ipfs add`, CIDv1 of `ipfs add --cid-version=1 --raw-leaves`);
# the data is det_bytes(size)
GOLDEN = [
    (11, C, "QmVpZ3toqU65zGGJeTnX2R3kmB5zbtBMngem3gDxk4oD1q",
     "bafkreihlhs5vy7gqzr6sdubkzip4dfdahan27sucu334wh4bszftn3vylm"),
    (C, C, "Qmbd9VNLTfpBW2arj1AkAJnVRYBq1WEY6Uu6wLEiemGipi",
     "bafkreih2bk74eu5axngebs6vftmmkcaqboysjjy726xzy5hksnqmfgw5fy"),
    (C + 1, C, "QmdkAszdeWKht9nXSzPKGUYvUqpMfm325GuCn1pZnTa9ja",
     "bafybeidbbs6ocod3v27jtr4uhvc6n55y3gbrtur3bvjsnraudtbxkozi2y"),
    (174 * C, C, "QmNWRuH9CkAYPi3Gf99g1nB74Cw3y5NuPKohRs7KX2KsJz",
     "bafybeih3ebhydpblov22wbakszm4spvku7hbo3oa5gdhgoh7gnub26mtx4"),
    (174 * C + 1, C, "QmWvAUzQsaCFMPzTTFKwGmTmijHZ5aVRwJqGwrSHF89cuy",
     "bafybeidsyc3rx6lmbjml2fg4ucagkjh3kse6tbphoyyhms46fqhmu6ujbi"),
    (175 * C + 12345, C, "QmbGJQHpLepUmffhjJtGMHzGYGDuAiyGnFYfBoCD37gapk",
     "bafybeihul7v46wqdmz3ovjaq3d5de3sjgscmfh2u3mpnhpa7gb3shmjv54"),
    # three levels of parents: 174*174 leaves of 256 bytes (`--chunker=size-256`), and one more leaf
    (174 * 174 * 256, 256, "Qmb5ZQCptXALHzpgssC6xX2RJ8sFzca1vyWfKqfx8ERajs",
     "bafybeick2osrhqjnvu7hpf6cqn2jagimpqodqv2u5xjuzszjywiaageiby"),
    (174 * 174 * 256 + 1, 256, "QmdTJa78UrceaFGYTZbSYA4uVWYS6rZqP5TZ9TQ28EkpH2",
     "bafybeif62qnol2d5rmdrwudutp74vf5xmqkuxnfygxboxuxozc5diudt3q"),
]  # fmt: skip


def cid_with(data: bytes, version: int, chunk_size: int = C, max_links: int = 174) -> CID:
    importer = FileImporter(cid_version=version, chunk_size=chunk_size, max_links=max_links)
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        importer.push(view[start : start + chunk_size])
    importer.finish()
    return importer.result.cid


def test_toolchain_vectors() -> None:
    assert (
        str(compute_cid(b"hello IPFS\n", cid_version=0).cid)
        == "QmYDAmHsFu5oWsJU21esKnN4ZRyE8txJNvrZxvxXLymC2L"
    )
    assert (
        str(compute_cid(b"hello IPFS\n").cid) == "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxsa"
    )
    assert str(compute_cid(b"").cid) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert str(compute_cid(b"", cid_version=0).cid) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


@pytest.mark.parametrize(("size", "chunk", "v0", "v1"), GOLDEN, ids=[str(g[0]) for g in GOLDEN])
def test_golden_vectors_match_ipfs_add(size: int, chunk: int, v0: str, v1: str) -> None:
    data = det_bytes(size)
    assert str(cid_with(data, 0, chunk)) == v0
    assert str(cid_with(data, 1, chunk)) == v1


def test_file_up_to_one_chunk_is_the_raw_cid_of_its_sha256() -> None:
    data = det_bytes(C)
    cid = compute_cid(data).cid
    assert (cid.codec, cid.digest) == (RAW, hashlib.sha256(data).digest())
    bigger = compute_cid(data + b"x").cid
    assert bigger.codec == DAG_PB
    assert bigger.digest != hashlib.sha256(data + b"x").digest()


def test_stream_and_buffer_give_the_same_root() -> None:
    data = det_bytes(3 * C + 7)
    assert compute_cid(io.BytesIO(data)) == compute_cid(data)


def _reference_balanced(leaves: list[bytes], version: int, max_links: int) -> CID:
    """Kubo's balanced builder, recursively (fillNodeRec), as an independent oracle for the streaming one."""
    from curation.unixfs import PBLink, _unixfs_file, encode_pbnode

    def leaf(chunk: bytes) -> tuple[CID, int, int]:
        if version == 1:
            return CID(1, RAW, 0x12, hashlib.sha256(chunk).digest()), len(chunk), len(chunk)
        block = encode_pbnode((), _unixfs_file(chunk, len(chunk)))
        return CID(0, DAG_PB, 0x12, hashlib.sha256(block).digest()), len(block), len(chunk)

    def parent(children: list[tuple[CID, int, int]]) -> tuple[CID, int, int]:
        size = sum(c[2] for c in children)
        data = _unixfs_file(None, size, [c[2] for c in children])
        block = encode_pbnode([PBLink(c[0], "", c[1]) for c in children], data)
        return (
            CID(version, DAG_PB, 0x12, hashlib.sha256(block).digest()),
            len(block) + sum(c[1] for c in children),
            size,
        )

    queue = list(leaves)

    def fill(depth: int) -> tuple[CID, int, int]:
        children: list[tuple[CID, int, int]] = []
        while queue and len(children) < max_links:
            children.append(leaf(queue.pop(0)) if depth == 1 else fill(depth - 1))
        return parent(children)

    root = leaf(queue.pop(0))
    depth = 1
    while queue:
        children = [root]
        while queue and len(children) < max_links:
            children.append(leaf(queue.pop(0)) if depth == 1 else fill(depth - 1))
        root = parent(children)
        depth += 1
    return root[0]


@settings(max_examples=60, deadline=None)
@given(
    n_leaves=st.integers(min_value=1, max_value=70),
    max_links=st.integers(min_value=2, max_value=5),
    version=st.sampled_from([0, 1]),
    tail=st.integers(min_value=1, max_value=8),
)
def test_streaming_layout_equals_the_recursive_balanced_builder(
    n_leaves: int, max_links: int, version: int, tail: int
) -> None:
    data = det_bytes(8 * (n_leaves - 1) + tail)
    leaves = [data[i : i + 8] for i in range(0, len(data), 8)]
    assert cid_with(data, version, 8, max_links) == _reference_balanced(leaves, version, max_links)


@pytest.mark.parametrize("version", [0, 1])
def test_every_block_is_emitted_and_reading_them_back_gives_the_bytes(version: int) -> None:
    data = det_bytes(175 * C + 99)
    blocks: dict[CID, bytes] = {}
    gen = import_bytes(data, cid_version=version)
    while True:
        try:
            block = next(gen)
        except StopIteration as stop:
            root = stop.value
            break
        verify_block(block.cid, block.data)
        blocks[block.cid] = bytes(block.data)
    assert root.cid in blocks
    assert root.size == len(data)
    assert len(blocks) == root.blocks == 176 + 2 + 1
    assert b"".join(iter_file(root.cid, blocks.__getitem__)) == data
    node = decode_pbnode(blocks[root.cid])
    meta = decode_unixfs(node.data or b"")
    assert meta.filesize == len(data)
    assert sum(meta.blocksizes) == len(data)


def test_reader_names_the_tampered_block() -> None:
    data = det_bytes(3 * C)
    blocks = {b.cid: bytes(b.data) for b in import_bytes(data)}
    root = compute_cid(data).cid
    leaf = next(c for c in blocks if c.codec == RAW)
    bad = bytearray(blocks[leaf])
    bad[100] ^= 1
    blocks[leaf] = bytes(bad)
    with pytest.raises(BlockMismatch, match=str(leaf)):
        b"".join(iter_file(root, blocks.__getitem__))


def test_reader_with_leaf_stream_verifies_each_leaf() -> None:
    data = det_bytes(3 * C + 5)
    blocks = {b.cid: bytes(b.data) for b in import_bytes(data)}
    root = compute_cid(data).cid
    calls: list[tuple[int, int]] = []

    def leaves(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        chunk = bytearray(data[offset : offset + length])
        if offset == 2 * C:
            chunk[0] ^= 0xFF
        return bytes(chunk)

    out = iter_file(root, blocks.__getitem__, leaves)
    assert bytes(next(out)) == data[:C]
    assert bytes(next(out)) == data[C : 2 * C]
    with pytest.raises(BlockMismatch):
        next(out)
    assert calls == [(0, C), (C, C), (2 * C, C)]


def test_reader_rejects_a_directory() -> None:
    from curation.unixfs import encode_pbnode

    block = encode_pbnode((), b"\x08\x01")
    cid = CID(1, DAG_PB, 0x12, hashlib.sha256(block).digest())
    with pytest.raises(NotAFile, match="directory"):
        list(iter_file(cid, {cid: block}.__getitem__))


def test_importer_rejects_bad_use() -> None:
    with pytest.raises(InvalidInput):
        FileImporter(cid_version=0, raw_leaves=True)
    with pytest.raises(InvalidInput):
        FileImporter(cid_version=2)
    importer = FileImporter()
    importer.push(b"short")
    with pytest.raises(InvalidInput, match="last chunk"):
        importer.push(b"more")
    with pytest.raises(InvalidInput, match="larger"):
        FileImporter().push(b"\0" * (C + 1))


def test_car_round_trip_verifies_blocks() -> None:
    data = det_bytes(2 * C + 1)
    blocks = [(b.cid, bytes(b.data)) for b in import_bytes(data)]
    root = compute_cid(data).cid
    buf = io.BytesIO()
    write_car(buf, [root], blocks)
    roots, sections = read_car(io.BytesIO(buf.getvalue()))
    assert roots == [root]
    assert list(sections) == blocks
    tampered = bytearray(buf.getvalue())
    tampered[-1] ^= 1
    _, sections = read_car(io.BytesIO(bytes(tampered)))
    with pytest.raises(BlockMismatch):
        list(sections)
    with pytest.raises(CarError):
        read_car(io.BytesIO(b"\x05hello"))


def _file_node(
    links: list[tuple[CID, int]], filesize: int | None = None, blocksizes: int | None = None
) -> bytes:
    from curation.multiformats import varint
    from curation.unixfs import PBLink, encode_pbnode

    sizes = [size for _, size in links][: blocksizes if blocksizes is not None else len(links)]
    data = b"\x08\x02\x18" + varint(sum(sizes) if filesize is None else filesize)
    data += b"".join(b"\x20" + varint(size) for size in sizes)
    return encode_pbnode((PBLink(cid, "", size) for cid, size in links), data)


def test_reader_limits_bytes_by_the_roots_declared_size() -> None:
    from curation.unixfs import ReadLimitExceeded

    data = det_bytes(2 * C + 3)
    blocks = {b.cid: bytes(b.data) for b in import_bytes(data)}
    root = compute_cid(data).cid
    assert b"".join(iter_file(root, blocks.__getitem__, max_bytes=len(data))) == data
    fetched: list[CID] = []

    def get(cid: CID) -> bytes:
        fetched.append(cid)
        return blocks[cid]

    with pytest.raises(ReadLimitExceeded) as caught:
        next(iter_file(root, get, max_bytes=len(data) - 1))
    assert (caught.value.limit, caught.value.declared) == (len(data) - 1, len(data))
    assert fetched == [root]


def test_reader_refuses_declared_sizes_that_do_not_add_up() -> None:
    from curation.unixfs import SizeMismatch

    leaf = b"abc"
    leaf_cid = CID(1, RAW, 0x12, hashlib.sha256(leaf).digest())
    cases = {
        "declares a filesize of 7 bytes": _file_node([(leaf_cid, 3)], filesize=7),
        "has 2 links but declares 1 blocksizes": _file_node([(leaf_cid, 3), (leaf_cid, 3)], blocksizes=1),
        "holds 3 bytes, its parent declares 4": _file_node([(leaf_cid, 4)]),
    }
    for message, block in cases.items():
        cid = CID(1, DAG_PB, 0x12, hashlib.sha256(block).digest())
        with pytest.raises(SizeMismatch, match=message):
            b"".join(iter_file(cid, {cid: block, leaf_cid: leaf}.__getitem__))


def test_reader_refuses_a_declared_oversize_leaf_before_asking_the_leaf_reader() -> None:
    from curation.blocks import MAX_BLOCK_SIZE, BlockTooLarge

    leaf_cid = CID(1, RAW, 0x12, hashlib.sha256(b"x").digest())
    block = _file_node([(leaf_cid, 4 * 2**40)])
    cid = CID(1, DAG_PB, 0x12, hashlib.sha256(block).digest())

    def leaves(offset: int, length: int) -> bytes:
        raise AssertionError(f"asked for {length} bytes")

    with pytest.raises(BlockTooLarge, match=f"over the {MAX_BLOCK_SIZE}-byte limit"):
        list(iter_file(cid, {cid: block}.__getitem__, leaves))
