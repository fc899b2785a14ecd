"""build_release and rebuild_report: the report of an anchored release, rebuilt without exports or syncing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import backend.release.build as build_module
from backend.index import IndexEmptyError
from backend.release import RebuildMismatch, build_release, publish_release, rebuild_report
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


def test_rebuild_report_gives_the_published_report_without_exports(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    first = publish_release(session, build_release(session, ids["ds"]), chain.admin)
    s.registry.with_signer(s.signer(4)).revoke_consent(ids["i2"])
    second = publish_release(session, build_release(session, ids["ds"], {"alpha": "0.5"}), chain.admin)

    def no_exports(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rebuild_report built an export")

    monkeypatch.setattr(build_module, "croissant", no_exports)
    monkeypatch.setattr(build_module, "dataset_card", no_exports)
    for published in (first, second):
        report = rebuild_report(session, ids["ds"], published.number, sync=True)
        assert report == json.loads(s.store.get_bytes(published.report_cid))
    assert rebuild_report(session, ids["ds"], None, sync=True)["manifest"]["cid"] == second.manifest_cid


def test_rebuild_report_reads_the_index_only_unless_asked_to_sync(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    db = tmp_path / "index.sqlite"
    session = s.session(db=f"sqlite:///{db}")
    other = s.session()  # its own in-memory index
    published = publish_release(other, build_release(other, ids["ds"]), chain.admin)
    with pytest.raises(IndexEmptyError):
        rebuild_report(session, ids["ds"], 1)
    assert rebuild_report(session, ids["ds"], 1, sync=True)["manifest"]["cid"] == published.manifest_cid
    # now the index holds the state block: read without syncing
    assert rebuild_report(session, ids["ds"], 1)["manifest"]["cid"] == published.manifest_cid


def test_a_report_whose_manifest_does_not_rebuild_is_refused(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    built = build_release(session, ids["ds"], {"eta": "2"})
    doc_bytes = built.manifest_bytes.replace(b'"eta":"2"', b'"eta":"3"')
    stored = s.store.put_bytes(doc_bytes)
    s.releases.publish_release(
        ids["ds"], str(stored.cid), hashlib.sha256(doc_bytes).digest(), built.state_block, "commons-v1"
    )
    with pytest.raises(RebuildMismatch, match="curation verify"):
        rebuild_report(session, ids["ds"], 1, sync=True)
