"""`curation demo --rpc --ipfs` on a real Hardhat node and js-ipfs daemon; then verify, pull and sample
from other processes, as a trainer would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.hardhat import HardhatNode

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _curation(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=check,
    )


def test_demo_against_real_nodes_then_verify_pull_sample_elsewhere(
    hardhat: HardhatNode, jsipfs_api: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "CURATION_HOME": str(tmp_path / "home"),
        "CURATION_RPC": hardhat.url,
        "CURATION_IPFS": jsipfs_api,
    }
    demo = _curation(env, "demo", "--json")
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    dataset = str(summary["dataset_id"])
    assert summary["chain_id"] == 31337

    verified = _curation(env, "verify", dataset, "--release", str(summary["release"]), "--json")
    assert json.loads(verified.stdout.strip().splitlines()[-1])["equal"] is True

    out = tmp_path / "pulled"
    _curation(env, "pull", dataset, "-o", str(out))
    manifest = out / "manifest.json"
    import hashlib

    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == summary["manifest_sha256"]

    one = _curation(env, "sample", "--manifest", str(manifest), "--seed", "7", "--count", "20", "--ids")
    ids = one.stdout.split()
    assert len(ids) == 20
    assert {int(i) for i in ids} <= {int(k) for k in summary["weights"]}
    ranks = [
        _curation(
            env,
            "sample",
            "--manifest",
            str(manifest),
            "--seed",
            "7",
            "--count",
            "20",
            "--world-size",
            "2",
            "--rank",
            str(r),
            "--ids",
        ).stdout.split()
        for r in (0, 1)
    ]
    assert sorted(ranks[0] + ranks[1]) == sorted(ids)
    interleaved = [x for pair in zip(ranks[0], ranks[1], strict=True) for x in pair]
    assert interleaved == ids
