"""`curation demo`: the whole story runs on embedded defaults, verifies, and is reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.demo import DemoResult, run_demo
from backend.settings import Settings
from curation.batches import leaf_item_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    home = tmp_path_factory.mktemp("demo-home")
    return run_demo(Settings(home=home), home / "demo")


def test_demo_publishes_a_release_that_verifies_from_chain_logs(story: DemoResult) -> None:
    assert story.release == 1
    assert story.verified, story.verify_differences
    assert story.manifest_cid.startswith("bafkrei")
    assert len(story.manifest_sha256) == 64
    assert sum(story.weights.values()) == 10**18


def test_demo_outcomes_follow_votes_consent_and_licenses(story: DemoResult) -> None:
    outcomes = {p["title"]: p["outcome"] for p in story.proposals}
    assert outcomes == {
        "fables": "Accepted",
        "essays": "Accepted",
        "field notes": "Accepted",
        "drop the ant": "Rejected",
    }
    assert story.exclusions == {4: "revoked", 5: "license-not-allowed", 7: "consent-mismatch"}
    assert set(story.weights) == {1, 2, 3, 6, leaf_item_id(1, 0), leaf_item_id(1, 1)}
    assert story.relayed == (8, 0)


def test_demo_trainer_pulls_every_weighted_item_and_samples_only_them(story: DemoResult) -> None:
    assert story.pulled == len(story.weights)
    assert len(story.samples) == 12
    assert set(story.samples) <= set(story.weights)
    manifest = Path(story.pull_dir) / "manifest.json"
    assert manifest.is_file()


def test_two_demo_runs_give_the_same_manifest(story: DemoResult, tmp_path: Path) -> None:
    again = run_demo(Settings(home=tmp_path), tmp_path / "demo")
    assert again.manifest_sha256 == story.manifest_sha256
    assert again.weights == story.weights


def test_demo_json_cli_ends_with_the_summary_line(tmp_path: Path, story: DemoResult) -> None:
    env = {**os.environ, "CURATION_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "backend.cli.main", "demo", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(summary) == {"chain_id", "dataset_id", "release", "manifest_cid", "manifest_sha256", "weights"}
    assert summary["manifest_sha256"] == story.manifest_sha256
    assert {int(k): int(v) for k, v in summary["weights"].items()} == story.weights  # strings past 2^53
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli.main",
            "ipfs",
            "get",
            summary["manifest_cid"],
            "-o",
            str(tmp_path / "m.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "verified" in got.stdout + got.stderr
    import hashlib

    assert hashlib.sha256((tmp_path / "m.json").read_bytes()).hexdigest() == story.manifest_sha256
