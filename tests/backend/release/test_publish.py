"""publish: build -> publish -> fetch -> verify on the embedded chain (contents, report, companions,
anchor), and the race with another release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.errors import ChainError
from backend.release import ReleaseRaceError, build_release, fetch_manifest, publish_release, verify_release
from curation.batches import leaf_item_id
from curation.canonical import sha256_hex
from curation.cid import CID
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


def test_release_is_built_published_fetched_and_verified(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session(db=f"sqlite:///{tmp_path / 'index.sqlite'}")
    built = build_release(session, ids["ds"])
    doc = built.manifest.doc
    items = {r["item_id"]: r for r in built.manifest.items}
    leaf0, leaf1, leaf2 = (str(leaf_item_id(ids["b1"], i)) for i in range(3))
    assert set(items) == {str(ids["i1"]), str(ids["i2"]), leaf0, leaf2, str(ids["i4"])}
    assert sum(int(r["weight"]) for r in items.values()) == 10**18
    reasons = {e["item_id"]: e["reason"] for e in doc["exclusions"]}
    assert reasons == {str(ids["i3"]): "license-not-allowed", leaf1: "duplicate-cid"}
    assert [src["proposal_id"] for src in doc["sources"]] == [ids["p1"], ids["p2"]]
    print(built.report_markdown)
    published = publish_release(session, built, chain.admin, out_dir=tmp_path / "out")
    assert published.number == 1
    assert set(published.export_cids) == {"report_json", "report_md", "croissant", "card", "parquet"}
    for name, cid in published.export_cids.items():  # stored, pinned, and the same bytes as the file
        assert s.store.get_bytes(cid) == published.files[name].read_bytes()
        assert CID.parse(cid) in s.store.pins()
    assert json.loads(s.store.get_bytes(published.report_cid)) == built.report
    fetched = fetch_manifest(chain.w3, chain.deployment, s.store, ids["ds"])
    assert fetched.data == built.manifest_bytes
    assert fetched.sha256 == sha256_hex(built.manifest_bytes)
    result = verify_release(session, ids["ds"], parquet=published.files["parquet"])
    assert result.equal, result.differences
    assert result.parquet is not None
    assert result.parquet.equal, result.parquet.differences
    assert published.files["parquet_items"].read_bytes() == built.parquet.files[0].data


def test_a_release_built_before_another_was_anchored_is_refused(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    stale = build_release(session, ids["ds"])
    publish_release(session, build_release(session, ids["ds"]), chain.admin)
    with pytest.raises(ReleaseRaceError, match="now has 1 releases, but this release was built on release 0"):
        publish_release(session, stale, chain.admin)
    assert isinstance(ReleaseRaceError("x"), ChainError)
