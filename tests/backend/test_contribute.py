"""store_batch_manifest: the one way a batch manifest is stored (contribute and the tests both use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.chain.registry import RegistryClient
from backend.contribute import ContributionFailed, contribute, store_batch_manifest
from backend.errors import ContractRevert
from backend.ipfs import EmbeddedStore
from curation.batches import build_batch_manifest, leaf_for_bytes, parse_batch_manifest
from curation.cid import CID
from curation.merkle import MerkleTree
from curation.unixfs import compute_cid
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


def _files(tmp_path: Path, *contents: bytes) -> list[Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(contents):
        path = tmp_path / f"c{i}.txt"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_a_license_id_in_any_letter_case_is_the_registrys_spelling(chain: Chain, tmp_path: Path) -> None:
    client = RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.signers[2])
    client.register("")
    store = EmbeddedStore(tmp_path / "blocks")
    done = contribute(client, store, _files(tmp_path, b"lower case license " * 5), "cc-by-4.0", 1)
    assert done.license == "CC-BY-4.0"
    assert client.item(done.files[0].item_id).license_id == client.license_id_of("CC-BY-4.0")


def test_a_failed_contribution_takes_back_the_pins_it_made(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.signers[3])
    client.register("")
    store = EmbeddedStore(tmp_path / "blocks")
    kept = store.put_bytes(b"pinned before", pin=True, cid_version=1).cid
    paths = _files(tmp_path, b"first of two " * 5, b"second of two " * 5)
    real = client.submit_item
    calls = []

    def second_fails(*args: object) -> object:
        calls.append(args)
        if len(calls) == 2:
            raise ContractRevert("the node refused it")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(client, "submit_item", second_fails)
    with pytest.raises(ContributionFailed, match="already submitted"):
        contribute(client, store, paths[:2], "CC0-1.0", 1)
    first = CID.parse(str(compute_cid(b"first of two " * 5).cid))
    assert set(store.pins()) == {kept, first}  # the submitted item stays pinned, the other is unpinned
    monkeypatch.setattr(client, "submit_batch", _raise)
    leaves = _files(tmp_path / "b", b"leaf a " * 5, b"leaf b " * 5)
    with pytest.raises(ContractRevert):
        contribute(client, store, leaves, "CC0-1.0", 1, batch=True)
    assert set(store.pins()) == {kept, first}  # neither the leaves nor the batch manifest stay pinned


def _raise(*_args: object, **_kw: object) -> object:
    raise ContractRevert("the node refused the batch")
