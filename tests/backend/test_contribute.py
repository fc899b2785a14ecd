"""store_batch_manifest: the one way a batch manifest is stored (contribute and the tests both use it)."""

from __future__ import annotations

from pathlib import Path

from backend.chain.registry import RegistryClient
from backend.contribute import contribute, store_batch_manifest
from backend.ipfs import EmbeddedStore
from curation.batches import build_batch_manifest, leaf_for_bytes, parse_batch_manifest
from curation.cid import CID
from curation.merkle import MerkleTree
from tests.conftest import Chain


def test_a_stored_batch_manifest_is_pinned_and_names_its_root(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "blocks")
    leaves = [leaf_for_bytes(i, data, 1, 0x3F) for i, data in enumerate([b"one", b"two", b"three"])]
    stored = store_batch_manifest(store, leaves)
    assert stored.data == build_batch_manifest(leaves)
    assert stored.root == MerkleTree.from_leaves(leaves).root
    assert stored.count == 3
    assert store.get_bytes(stored.cid) == stored.data
    assert CID.parse(stored.cid) in store.pins()
    assert stored.cid.startswith("bafkrei")  # CIDv1, raw leaves


def test_a_contributed_batch_stores_its_manifest_the_same_way(chain: Chain, tmp_path: Path) -> None:
    client = RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.signers[1])
    client.register("")
    paths = []
    for i, data in enumerate([b"first leaf " * 9, b"second leaf " * 7]):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(data)
        paths.append(path)
    store = EmbeddedStore(tmp_path / "blocks")
    done = contribute(client, store, paths, "CC0-1.0", 0x3F, batch=True)
    assert done.batch_manifest_cid is not None
    leaves = parse_batch_manifest(store.get_bytes(done.batch_manifest_cid)).leaves
    again = store_batch_manifest(EmbeddedStore(tmp_path / "other"), leaves)
    assert again.cid == done.batch_manifest_cid
