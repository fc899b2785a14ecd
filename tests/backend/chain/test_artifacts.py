"""The artifacts shipped in the package are exactly what the pinned compiler makes of contracts/."""

from __future__ import annotations

import json
from pathlib import Path

from backend.chain.artifacts import error_index, load_artifact
from backend.chain.compiler import (
    ARTIFACTS_DIR,
    MOCK_ARTIFACTS_DIR,
    SOLC_VERSION,
    find_solc,
    write_artifacts,
)


def test_committed_artifacts_are_byte_identical_to_a_fresh_compile(tmp_path: Path) -> None:
    written = write_artifacts(out_dir=tmp_path / "shipped", mocks_dir=tmp_path / "mocks")
    for fresh_dir, committed_dir in (
        (tmp_path / "shipped", ARTIFACTS_DIR),
        (tmp_path / "mocks", MOCK_ARTIFACTS_DIR),
    ):
        fresh = {p.name: p.read_bytes() for p in written if p.parent == fresh_dir}
        committed = {p.name: p.read_bytes() for p in committed_dir.glob("*.json")}
        assert sorted(fresh) == sorted(committed), "artifact set differs: run `make contracts` and commit"
        stale = [name for name in fresh if fresh[name] != committed[name]]
        assert not stale, f"stale artifacts (run `make contracts` and commit): {stale}"


def test_test_only_contracts_do_not_ship() -> None:
    """contracts/mocks/ (the OpenZeppelin Governor of the gas benchmark) compiles beside the package, not into it."""
    shipped = {p.stem for p in ARTIFACTS_DIR.glob("*.json")}
    assert "OZGovernor" not in shipped
    assert (MOCK_ARTIFACTS_DIR / "OZGovernor.json").is_file()
    assert {"CurationVoting", "ContentRegistry", "CurationToken", "ReleaseRegistry"} <= shipped


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
