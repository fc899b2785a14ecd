"""The read side: resolve a release, fetch its manifest checked against the anchor; it needs no build code."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import backend.release.fetch as fetch_module
from backend.release import UnknownRelease, build_release, fetch_manifest, publish_release, resolve_release
from curation.canonical import sha256_hex
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


def test_fetch_resolves_the_latest_or_a_numbered_release_and_checks_it(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    with pytest.raises(UnknownRelease, match="has no release yet"):
        resolve_release(session, ids["ds"], None)
    built = build_release(session, ids["ds"])
    published = publish_release(session, built, chain.admin)
    info = resolve_release(session, ids["ds"], None)
    assert (info.number, info.manifest_cid) == (published.number, built.cid)
    assert resolve_release(session.releases(), ids["ds"], 1) == info
    with pytest.raises(UnknownRelease, match=r"releases 1\.\.1; release 2 does not exist"):
        resolve_release(session, ids["ds"], 2)
    fetched = fetch_manifest(chain.w3, chain.deployment, s.store, ids["ds"])
    assert fetched.release == info
    assert fetched.data == built.manifest_bytes
    assert fetched.sha256 == sha256_hex(built.manifest_bytes) == built.sha256
    assert [row["item_id"] for row in fetched.items] == [row["item_id"] for row in built.manifest.items]


def test_the_read_side_imports_nothing_that_builds_or_publishes() -> None:
    tree = ast.parse(inspect.getsource(fetch_module))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in imported if m.startswith("backend.release") or m == "backend.chainstate"}
