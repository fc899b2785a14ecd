"""`curation pull --manifest-only` and `curation sample` on its directory, on the embedded chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.cli.main import app
from backend.trainer import TrainerClient
from backend.trainer.stream import StreamingDataset
from curation.batches import parse_item_ref
from curation.manifest_read import part_file_name
from tests.backend.trainer.test_pull import CONTENT, Story, make_story
from tests.conftest import Chain

runner = CliRunner()


@pytest.fixture
def story(cli: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Story:
    story = make_story(cli, tmp_path / "story")
    monkeypatch.setattr(TrainerClient, "from_settings", classmethod(lambda cls, s: story.client))
    monkeypatch.setattr(type(story.store), "close", lambda self: None)  # the test reads the store after
    return story


def test_manifest_only_verifies_and_writes_the_manifest_but_no_item(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["pull", str(story.dataset_id), "-o", str(out), "--manifest-only"])
    assert result.exit_code == 0, result.output
    assert "manifest only" in result.stdout
    assert "none fetched" in result.stdout
    assert f"curation pull {story.dataset_id} --release 1 -o {out}" in result.stdout
    assert (out / "manifest.json").exists()
    assert (out / "pull-report.json").exists()
    assert (out / "ATTRIBUTION.md").exists()
    assert not (out / "items").exists() or not any((out / "items").iterdir())
    report = json.loads((out / "pull-report.json").read_text())
    assert (report["totals"]["fetched"], report["totals"]["not_fetched"]) == (0, len(CONTENT))
    assert "not fetched 4" in (out / "ATTRIBUTION.md").read_text()

    # `sample` works on it now, and a stream fetches the items, verified, while it runs.
    sampled = runner.invoke(app, ["sample", "--manifest", str(out), "--seed", "2", "--count", "12"])
    assert sampled.exit_code == 0, sampled.output
    refs = [parse_item_ref(line) for line in sampled.stdout.split()]
    stream = StreamingDataset.from_pull_dir(out, story.store, seed=2, count=12)
    examples = list(stream)
    assert [int(e["item_id"]) for e in examples] == refs
    assert {e["data"] for e in examples} <= set(CONTENT)

    # The JSON form says the same, and a full pull into the directory then fetches every item.
    again = runner.invoke(app, ["pull", str(story.dataset_id), "-o", str(out), "--manifest-only", "--json"])
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout.strip().splitlines()[-1])
    assert (doc["manifest_only"], doc["fetched"], doc["not_fetched"]) == (True, 0, len(CONTENT))
    full = runner.invoke(app, ["pull", str(story.dataset_id), "-o", str(out), "--json"])
    assert full.exit_code == 0, full.output
    assert json.loads(full.stdout.strip().splitlines()[-1])["fetched"] == len(CONTENT)


def test_manifest_only_checks_the_manifest_against_the_chain_like_pull(story: Story, tmp_path: Path) -> None:
    info = story.client.releases.latest_release(story.dataset_id)
    manifest = story.store.get_bytes(info.manifest_cid)
    blocks = story.store._path(story.store.put_bytes(b"").cid).parent.parent
    (path,) = [p for p in blocks.rglob("*") if p.is_file() and p.read_bytes() == manifest]
    path.write_bytes(manifest.replace(b'"tests"', b'"TESTS"'))
    out = tmp_path / "out"
    result = runner.invoke(app, ["pull", str(story.dataset_id), "-o", str(out), "--manifest-only"])
    assert result.exit_code == 1
    assert "failed verification" in result.output
    assert not (out / "manifest.json").exists()
    assert not (out / part_file_name(0)).exists()


def test_sample_take_counts_skipped_samples_and_zero_takes_none(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        runner.invoke(app, ["pull", str(story.dataset_id), "-o", str(out), "--manifest-only"]).exit_code == 0
    )
    none = runner.invoke(
        app, ["sample", "--manifest", str(out), "--seed", "1", "--count", "9", "--take", "0"]
    )
    assert none.exit_code == 0
    assert none.stdout == ""
    five = runner.invoke(
        app, ["sample", "--manifest", str(out), "--seed", "1", "--count", "9", "--take", "5"]
    )
    assert len(five.stdout.split()) == 5
