"""verify: equal rebuilds pass; a one-byte change, a wrong anchored digest or another parameter fail."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.release import (
    UnknownRelease,
    build_release,
    fetch_manifest,
    publish_release,
    verify_release,
)
from curation.batches import leaf_item_id
from curation.errors import InvalidInput
from curation.events import BatchSubmitted
from curation.manifest_read import ManifestMismatch
from curation.state import UnknownDataset
from tests.backend.release.release_helpers import Story, governed
from tests.conftest import Chain


def _anchor(s: Story, ds: int, cid: str, sha: bytes, block: int) -> None:
    s.releases.publish_release(ds, cid, sha, block, "commons-v1")


def test_verify_passes_for_an_honest_release_and_a_second_one_links_its_parent(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    first = publish_release(session, build_release(session, ids["ds"]), chain.admin)
    # alice revokes item 2 and a REMOVE takes item 4 out: both leave in release 2 with their reasons
    s.registry.with_signer(s.signer(4)).revoke_consent(ids["i2"])
    s.decide(ids["ds"], [ids["i4"]], {s.signer(1): 1}, kind=1)
    built = build_release(session, ids["ds"], {"alpha": "0.5"})
    assert built.manifest.doc["parent"] == {
        "release": 1,
        "manifest_cid": first.manifest_cid,
        "manifest_sha256": first.manifest_sha256,
        "state_block": first.state_block,
    }
    removed = {r["item_id"]: r["reason"] for r in built.report["items_removed"]}
    assert removed == {str(ids["i2"]): "revoked", str(ids["i4"]): "removed"}
    assert [r["item_id"] for r in built.report["revocations_since_parent"]] == [str(ids["i2"])]
    second = publish_release(session, built, chain.admin)
    assert second.number == 2
    for number in (1, 2):
        result = verify_release(session, ids["ds"], number)
        assert result.equal, result.differences
    assert verify_release(session, ids["ds"], 2, fresh_index=False).equal


def test_verify_catches_a_manifest_altered_by_one_byte(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    built = build_release(session, ids["ds"])
    data = bytearray(built.manifest_bytes)
    at = data.index(b'"weight":"') + len(b'"weight":"')
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    altered = s.store.put_bytes(bytes(data))
    _anchor(s, ids["ds"], str(altered.cid), bytes.fromhex(built.sha256), built.state_block)
    result = verify_release(session, ids["ds"])
    assert not result.equal
    assert any("has sha256" in d and "the anchor says" in d for d in result.differences)
    assert any("CID" in d for d in result.differences)
    with pytest.raises(ManifestMismatch, match="refusing it"):
        fetch_manifest(chain.w3, chain.deployment, s.store, ids["ds"])


def test_verify_catches_a_wrong_anchored_digest(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    built = build_release(session, ids["ds"])
    s.store.put_bytes(built.manifest_bytes)
    wrong = hashlib.sha256(b"not the manifest").digest()
    _anchor(s, ids["ds"], built.cid, wrong, built.state_block)
    result = verify_release(session, ids["ds"], 1)
    assert not result.equal
    assert result.rebuilt_sha256 == built.sha256 != result.anchored_sha256 == wrong.hex()
    assert any("rebuilt from chain logs" in d for d in result.differences)


def test_verify_catches_a_different_scheme_parameter(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    published = publish_release(session, build_release(session, ids["ds"], {"eta": "2"}), chain.admin)
    # asking for the parameters the verifier expects: a different eta does not rebuild the anchor
    result = verify_release(session, ids["ds"], params={"eta": "3"})
    assert not result.equal
    assert any("$.scheme.params.eta" in d for d in result.differences)
    # a manifest that declares parameters it was not computed with (weights from eta=2, says eta=3)
    built = build_release(session, ids["ds"], {"eta": "2"})
    doc_bytes = built.manifest_bytes.replace(b'"eta":"2"', b'"eta":"3"')
    stored = s.store.put_bytes(doc_bytes)
    _anchor(s, ids["ds"], str(stored.cid), hashlib.sha256(doc_bytes).digest(), published.state_block)
    lie = verify_release(session, ids["ds"], 2)
    assert not lie.equal
    assert any("$.items[" in d and "weight" in d for d in lie.differences)


def test_batch_manifest_that_does_not_match_its_root_excludes_the_batch(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    bob = s.registry.with_signer(s.signer(5))
    good_root = hashlib.sha256(b"some other root").digest()
    manifest_cid = s.store.put_bytes(b'{"schema":"curation-commons/batch/v1","leaves":[]}').cid
    r = bob.submit_batch_root(good_root, 2, manifest_cid, s.lic("CC0-1.0"), 0x3F)
    b2 = r.event(BatchSubmitted).batch_id
    s.decide(ids["ds"], [], {s.signer(1): 1}, batches=[b2])
    built = build_release(s.session(), ids["ds"])
    (entry,) = built.manifest.doc["excluded_batches"]
    assert entry["batch_id"] == str(b2)
    assert entry["reason"] == "batch-manifest-invalid"
    assert "at least one leaf" in entry["detail"]
    assert str(leaf_item_id(b2, 0)) not in {r["item_id"] for r in built.manifest.items}


def test_bad_inputs_give_clear_errors(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    with pytest.raises(UnknownDataset, match="dataset 9 does not exist"):
        build_release(session, 9)
    with pytest.raises(UnknownRelease, match="has no release yet"):
        verify_release(session, ids["ds"])
    with pytest.raises(InvalidInput, match="alpha"):
        build_release(session, ids["ds"], {"alpha": "2"})
    publish_release(session, build_release(session, ids["ds"]), chain.admin)
    with pytest.raises(UnknownRelease, match=r"releases 1\.\.1; release 5 does not exist"):
        verify_release(session, ids["ds"], 5)
