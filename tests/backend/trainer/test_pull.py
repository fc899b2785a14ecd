"""Trainer pull on the embedded chain: anchored manifest, verified items, resume, revocations, the report."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.cli.main import app
from backend.contribute import contribute
from backend.ipfs import EmbeddedStore
from backend.release import UnknownRelease, build_release, publish_release
from backend.session import Session
from backend.settings import Settings
from backend.trainer import PulledDataset, PullProgress, ShardedSampler, TrainerClient, pull
from curation.batches import parse_item_ref
from curation.blocks import BlockMismatch
from curation.consent import Consent
from curation.events import DatasetCreated, ProposalCreated
from curation.governance import ProposalKind, Support
from curation.licenses import LicenseClass
from curation.manifest_read import ManifestItem
from curation.state import UnknownDataset
from curation.unixfs import compute_cid
from tests.conftest import Chain

USE = Consent.TRAIN
CONTENT = [b"alpha " * 100, b"bravo " * 3000, bytes(range(256)) * 1500, b"delta"]  # one is > 256 KiB


@dataclass
class Story:
    client: TrainerClient
    store: EmbeddedStore
    dataset_id: int
    item_ids: list[int]
    alice: RegistryClient


def _release(chain: Chain, store: EmbeddedStore, dataset_id: int) -> int:
    session = Session(chain.w3, chain.deployment, Settings(db="sqlite://"), store=store)
    return publish_release(session, build_release(session, dataset_id), chain.admin).number


def make_story(chain: Chain, tmp_path: Path) -> Story:
    w3, dep, admin, alice_signer = chain.w3, chain.deployment, chain.admin, chain.signers[1]
    store = EmbeddedStore(tmp_path / "blocks")
    alice = RegistryClient(w3, dep.address("ContentRegistry"), alice_signer)
    alice.register("")
    paths = []
    for i, data in enumerate(CONTENT):
        path = tmp_path / f"file{i}.bin"
        path.write_bytes(data)
        paths.append(path)
    result = contribute(alice, store, paths, "CC-BY-4.0", int(USE | Consent.COMMERCIAL))
    item_ids = [f.item_id for f in result.files]
    token = TokenClient(w3, dep.address("CurationToken"), admin)
    token.mint(admin.address, 10**21)
    token.delegate(admin.address)
    voting = VotingClient(w3, dep.address("CurationVoting"), admin)
    desc = str(compute_cid(b"a dataset for tests").cid)
    params = DatasetParams(voting_delay=1, voting_period=3, quorum_bps=100)
    dataset_id = voting.create_dataset("tests", desc, int(USE), params).event(DatasetCreated).dataset_id
    pid = voting.propose(dataset_id, ProposalKind.INCLUDE, item_ids).event(ProposalCreated).proposal_id
    info = voting.get_proposal(pid)
    w3.testing.mine(max(0, info.snapshot - w3.eth.block_number))
    voting.cast_vote(pid, Support.FOR)
    w3.testing.mine(max(0, info.deadline - w3.eth.block_number + 1))
    voting.finalize(pid)
    _release(chain, store, dataset_id)
    return Story(TrainerClient(w3, dep, store), store, dataset_id, item_ids, alice)


@pytest.fixture
def story(chain: Chain, tmp_path: Path) -> Story:
    return make_story(chain, tmp_path)


class Recorder(PullProgress):
    def __init__(self) -> None:
        self.events: list[tuple[int, str]] = []
        self.total: tuple[int, int] | None = None

    def start(self, items: int, total_bytes: int) -> None:
        self.total = (items, total_bytes)

    def advance(self, item: ManifestItem, status: str) -> None:
        self.events.append((item.item_id, status))


def test_the_report_credits_contributors_as_the_release_says_not_as_the_registry_says_now(
    chain: Chain, story: Story, tmp_path: Path
) -> None:
    # The license manager drops the attribution class after the release: the release's manifest (schema 2)
    # still requires crediting Alice, whose items were submitted under CC-BY's terms; so must the pull report.
    manager = RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.admin)
    manager.set_license("CC-BY-4.0", int(LicenseClass.COMMERCIAL_USE), True)
    pull(story.client, story.dataset_id, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "pull-report.json").read_text())
    assert report["licenses"][0]["attribution"] is False  # the registry's classes now, shown as such
    assert [a["attribution_required"] for a in report["attribution"]] == [True]


def test_pull_fetches_every_item_verified_and_writes_the_reports(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    progress = Recorder()
    result = pull(story.client, story.dataset_id, out, workers=3, progress=progress)
    assert (result.release, result.items, result.fetched, result.already_present) == (1, 4, 4, 0)
    assert progress.total == (4, sum(len(c) for c in CONTENT))
    assert sorted(progress.events) == sorted((i, "fetched") for i in story.item_ids)
    mask = os.umask(0o022)
    os.umask(mask)
    for data in CONTENT:
        path = out / "items" / str(compute_cid(data).cid)
        assert path.read_bytes() == data
        # as any file written here: readable by the group and others the umask allows, not 0600
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    report = json.loads((out / "pull-report.json").read_text())
    assert report["totals"]["items"] == 4
    assert report["excluded"] == []
    assert report["licenses"] == [
        {
            "spdx": "CC-BY-4.0",
            "items": 4,
            "bytes": str(sum(len(c) for c in CONTENT)),
            "commercial_use": True,
            "share_alike": False,
            "attribution": True,
        }
    ]
    assert report["attribution"][0]["contributor"] == story.alice.signer.address.lower()  # type: ignore[union-attr]
    assert report["attribution"][0]["attribution_required"] is True
    md = (out / "ATTRIBUTION.md").read_text()
    assert "CC-BY-4.0" in md
    assert story.alice.signer.address.lower() in md
    assert not list(out.rglob("*.part")), "no temp file is left behind"


def test_a_second_pull_resumes_and_refetches_only_a_damaged_file(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pull(story.client, str(story.dataset_id), out)
    damaged = out / "items" / str(compute_cid(CONTENT[1]).cid)
    damaged.write_bytes(b"x" * len(CONTENT[1]))  # same size, wrong bytes
    (out / "items" / str(compute_cid(CONTENT[3]).cid)).unlink()
    again = pull(story.client, "tests", out)  # by name
    assert (again.fetched, again.already_present) == (2, 2)
    assert damaged.read_bytes() == CONTENT[1]


def test_items_revoked_or_narrowed_after_the_state_block_are_excluded_and_deleted(
    story: Story, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    pull(story.client, story.dataset_id, out)
    revoked, narrowed = story.item_ids[0], story.item_ids[2]
    story.alice.revoke_consent(revoked)
    story.alice.narrow_consent(narrowed, int(Consent.COMMERCIAL), 0)  # no longer TRAIN
    result = pull(story.client, story.dataset_id, out)
    assert {k: c.reason for k, c in result.excluded.items()} == {
        revoked: "revoked",
        narrowed: "consent-mismatch",
    }
    assert not (out / "items" / str(compute_cid(CONTENT[0]).cid)).exists()
    assert not (out / "items" / str(compute_cid(CONTENT[2]).cid)).exists()
    assert len(result.removed) == 2
    assert result.items == 2
    report = json.loads((out / "pull-report.json").read_text())
    assert [e["reason"] for e in report["excluded"]] == ["revoked", "consent-mismatch"]
    assert "revoked" in (out / "ATTRIBUTION.md").read_text()
    # Sampling skips what was excluded: no sample ever serves a revoked item.
    pulled = PulledDataset.open(out)
    sampler = ShardedSampler.for_manifest(pulled.manifest, seed=1, count=200)
    served = {int(e["item_id"]) for e in pulled.examples(sampler)}
    assert served
    assert not served & {revoked, narrowed}
    # So does the `sample` command on the pull directory, and it says so.
    result_cli = CliRunner().invoke(app, ["sample", "--manifest", str(out), "--seed", "1", "--count", "200"])
    assert result_cli.exit_code == 0, result_cli.output
    printed = {parse_item_ref(line) for line in result_cli.stdout.split()}
    assert printed == served
    assert "skipped" in result_cli.stderr
    assert "pull-report.json" in result_cli.stderr


def test_unknown_dataset_and_release_are_refused_before_anything_is_written(
    story: Story, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(UnknownDataset, match="dataset 9 does not exist"):
        pull(story.client, 9, out)
    with pytest.raises(UnknownDataset, match="no dataset is named 'nope'"):
        pull(story.client, "nope", out)
    with pytest.raises(UnknownRelease, match="release 2 does not exist"):
        pull(story.client, story.dataset_id, out, release=2)
    assert not out.exists()


def test_a_manifest_that_does_not_match_its_anchor_is_refused(story: Story, tmp_path: Path) -> None:
    info = story.client.releases.latest_release(story.dataset_id)
    blocks = story.store._path(compute_cid(b"").cid).parent.parent  # the store's block directory
    manifest = story.store.get_bytes(info.manifest_cid)
    # Tamper with the stored block behind the manifest CID: the store's own CID check refuses it.
    (path,) = [p for p in blocks.rglob("*") if p.is_file() and p.read_bytes() == manifest]
    path.write_bytes(manifest.replace(b'"tests"', b'"TESTS"'))
    with pytest.raises(BlockMismatch, match="failed verification"):
        pull(story.client, story.dataset_id, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("bad", ["²", "١٢", "-1", -1, True, 1.5, "9" * 100])
def test_a_manifest_item_with_a_malformed_number_is_a_mismatch(bad: object) -> None:
    from curation.manifest_read import ManifestMismatch

    record = {
        "item_id": "1",
        "cid": "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxsa",
        "sha256": "ab" * 32,
        "size": bad,
        "consent": 1,
        "weight": "1000000000000000000",
    }
    with pytest.raises(ManifestMismatch, match="size must be a non-negative integer"):
        ManifestItem.from_record(record)
    assert ManifestItem.from_record({**record, "size": "11"}).size == 11
