"""The artifacts shipped in the package are exactly what the pinned compiler makes of contracts/."""

from __future__ import annotations

import json
from pathlib import Path

from backend.chain.artifacts import error_index, load_artifact
from backend.chain.compiler import ARTIFACTS_DIR, SOLC_VERSION, find_solc, write_artifacts


def test_committed_artifacts_are_byte_identical_to_a_fresh_compile(tmp_path: Path) -> None:
    fresh = {p.name: p.read_bytes() for p in write_artifacts(out_dir=tmp_path)}
    shipped = {p.name: p.read_bytes() for p in ARTIFACTS_DIR.glob("*.json")}
    assert sorted(fresh) == sorted(shipped), "artifact set differs: run `make contracts` and commit"
    stale = [name for name in fresh if fresh[name] != shipped[name]]
    assert not stale, f"stale artifacts (run `make contracts` and commit): {stale}"


def test_artifacts_record_compiler_settings_and_source_hashes() -> None:
    data = json.loads((ARTIFACTS_DIR / "CurationToken.json").read_text())
    assert data["compiler"]["version"] == SOLC_VERSION
    assert data["compiler"]["settings"]["evmVersion"] == "cancun"
    assert "contracts/CurationToken.sol" in data["sources"]
    assert all(len(h) == 64 for h in data["sources"].values())
    assert data["bytecode"].startswith("0x")
    assert len(data["bytecode"]) > 1000


def test_the_pinned_compiler_is_found() -> None:
    assert find_solc().exists()


def test_custom_errors_are_indexed_with_their_natspec_notice() -> None:
    by_name = {spec.name: spec for spec in error_index().values()}
    assert by_name["CurationTokenNotMinter"].notice == "The caller lacks the minter role."
    assert load_artifact("CurationToken").abi
