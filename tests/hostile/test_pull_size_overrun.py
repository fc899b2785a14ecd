"""Attack: an item whose content is far larger than its declared size, to make `curation pull` read and
write without bound.

A contributor registers an item of 10 bytes whose CID is a UnixFS DAG of two blocks: a 256 KiB leaf linked
1,024 times, 256 MiB when read. `curation pull` used to stream and write all of it to disk before noticing
the size differs from the manifest's (and a deeper DAG of the kind makes that terabytes).

Promised: an item is read with its declared size as the limit; content whose UnixFS root declares more is
refused right after that root block, so nothing past the declared size is read or written, no file (not
even a temp file) is left, the item is reported as failed with a reason naming its declared size, and the
other items are fetched as usual.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.ipfs import EmbeddedStore
from backend.trainer.pull import ITEMS_DIR, fetch_items, item_path
from curation.blocks import block_cid
from curation.cid import CID, DAG_PB, RAW
from curation.manifest_read import ManifestItem
from curation.multiformats import varint
from curation.unixfs import CHUNK_SIZE, MAX_LINKS_PER_NODE, PBLink, encode_pbnode

LINKS = MAX_LINKS_PER_NODE  # within the format limits: the declared size is what must stop the read
DECLARED_BY_DAG = CHUNK_SIZE * LINKS  # 256 MiB


class CountingStore(EmbeddedStore):
    """The embedded store, counting the blocks read from disk (instrumentation, no fault)."""

    reads = 0

    def _read_raw(self, cid: CID) -> bytes:
        self.reads += 1
        return super()._read_raw(cid)


def _repeated_link_file(store: EmbeddedStore) -> CID:
    leaf = bytes(CHUNK_SIZE)
    leaf_cid = block_cid(leaf, RAW)
    data = (
        b"\x08\x02\x18"
        + varint(DECLARED_BY_DAG)
        + b"".join(b"\x20" + varint(CHUNK_SIZE) for _ in range(LINKS))
    )
    root = encode_pbnode([PBLink(leaf_cid, "", CHUNK_SIZE)] * LINKS, data)
    root_cid = block_cid(root, DAG_PB)
    store.put_block(leaf_cid, leaf)
    store.put_block(root_cid, root)
    return root_cid


def _item(item_id: int, cid: CID, size: int, sha256: str) -> ManifestItem:
    return ManifestItem(item_id, str(cid), sha256, size, "CC0-1.0", "0x" + "11" * 20, 1, 0, 1, 5 * 10**17)


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path / "store")


def test_an_item_larger_than_declared_is_refused_at_its_root(store: CountingStore, tmp_path: Path) -> None:
    bomb = _item(1, _repeated_link_file(store), 10, hashlib.sha256(b"0123456789").hexdigest())
    honest_data = b"an honest item"
    honest = _item(
        2, store.put_bytes(honest_data).cid, len(honest_data), hashlib.sha256(honest_data).hexdigest()
    )
    out = tmp_path / "pull"
    store.reads = 0
    outcome = fetch_items(store, [bomb, honest], out, workers=1)
    assert outcome.status == {1: "failed", 2: "fetched"}
    reason = outcome.failures[1]
    assert f"holds {DECLARED_BY_DAG} bytes" in reason
    assert "declared size of 10 bytes" in reason
    assert store.reads == 2  # the bomb's root block and the honest item's one block: nothing more
    assert sorted(p.name for p in (out / ITEMS_DIR).iterdir()) == [honest.cid]  # no file, no temp file
    assert item_path(out, honest).read_bytes() == honest_data


def test_content_one_byte_over_its_declared_size_is_refused_before_writing(
    store: CountingStore, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 2000  # 512,000 bytes: two leaves under a root
    cid = store.put_bytes(data).cid
    item = _item(3, cid, len(data) - 1, hashlib.sha256(data[:-1]).hexdigest())
    store.reads = 0
    outcome = fetch_items(store, [item], tmp_path / "pull", workers=1)
    assert outcome.status == {3: "failed"}
    assert (
        f"holds {len(data)} bytes, more than its declared size of {len(data) - 1} bytes"
        in outcome.failures[3]
    )
    assert store.reads == 1
    assert list((tmp_path / "pull" / ITEMS_DIR).iterdir()) == []
