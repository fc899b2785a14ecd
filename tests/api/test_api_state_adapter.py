"""The API over the chain state: the demo's story, read through StateReadModel and FastAPI's TestClient."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import backend.demo
from backend.api.app import create_app
from backend.api.state_adapter import StateReadModel, open_read_model
from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.registry import RegistryClient
from backend.chain.voting import VotingClient
from backend.demo import DemoResult, run_demo
from backend.errors import ConfigError
from backend.ipfs import open_store
from backend.release import ReleaseEnv
from backend.settings import Settings
from curation.batches import leaf_item_id
from tests.api.api_helpers import FakeClock, TestClient, make_settings

WAD = 10**18


@dataclass
class Story:
    result: DemoResult
    env: ReleaseEnv
    home: Path


def run_story(home: Path) -> Story:
    """Run the demo on the embedded chain and keep its chain and store (they live only in this process)."""
    kept: dict[str, Any] = {}

    def keep_connect(rpc: str | None = None, **kw: Any) -> Any:
        kept["w3"] = connect(rpc, **kw)
        return kept["w3"]

    def keep_store(settings: Settings) -> Any:
        kept["store"] = open_store(settings)
        return kept["store"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backend.demo, "connect", keep_connect)
        mp.setattr(backend.demo, "open_store", keep_store)
        result = run_demo(Settings(home=home), home / "demo")
    assert result.verified
    assert result.deployment is not None
    return Story(result, ReleaseEnv(kept["w3"], result.deployment, kept["store"], "sqlite://"), home)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return run_story(tmp_path_factory.mktemp("demo-home"))


@pytest.fixture(scope="module")
def client(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    model = StateReadModel(story.env, ttl=60, clock=FakeClock())  # the clock never moves: one fold
    settings = make_settings(tmp_path_factory.mktemp("api"), api_chain_id=None)
    with TestClient(create_app(settings, model, story.env.store, story.env.deployment)) as c:
        yield c


def _json(client: TestClient, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def test_datasets_list_the_demo_dataset_with_its_release_and_voting_params(
    client: TestClient, story: Story
) -> None:
    (ds,) = _json(client, "/datasets")
    assert ds["id"] == story.result.dataset_id == 1
    assert (ds["name"], ds["use"], ds["use_names"]) == ("commons-text", 3, "train,commercial")
    assert (ds["release_count"], ds["latest_release"]) == (1, 1)
    assert ds["params"]["quorum_bps"] == 2000
    assert ds["params"]["approval_threshold_bps"] == 6000
    assert ds["description_cid"].startswith("bafkrei")
    assert _json(client, "/datasets/1") == ds


def test_latest_release_is_the_anchored_one(client: TestClient, story: Story) -> None:
    r = story.result
    latest = _json(client, "/datasets/1/releases/latest")
    assert latest["number"] == r.release == 1
    assert latest["manifest_cid"] == r.manifest_cid
    assert latest["manifest_sha256"] == "0x" + r.manifest_sha256
    assert latest["state_block"] == r.state_block
    assert latest["scheme_id"] == "commons-v1"
    assert latest["parent"] is None
    assert latest["item_count"] == len(r.weights)
    assert _json(client, "/datasets/1/releases") == [latest]
    assert _json(client, "/datasets/1/releases/1") == latest


def test_manifest_bytes_are_the_anchored_bytes_with_the_cid_as_etag(client: TestClient, story: Story) -> None:
    r = client.get("/datasets/1/releases/1/manifest")
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == story.result.manifest_sha256
    assert r.content == (Path(story.result.release_dir) / "manifest.json").read_bytes()
    assert r.content == story.env.store.get_bytes(story.result.manifest_cid)
    assert r.headers["etag"] == f'"{story.result.manifest_cid}"'
    again = client.get("/datasets/1/releases/1/manifest", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_weights_come_from_the_manifest_and_sum_to_one_wad(client: TestClient, story: Story) -> None:
    w = _json(client, "/datasets/1/releases/1/weights?limit=1000")
    assert w["total"] == str(WAD)
    assert sum(int(i["weight"]) for i in w["items"]["items"]) == WAD
    assert {i["item_id"]: int(i["weight"]) for i in w["items"]["items"]} == story.result.weights
    assert w["exclusions"] == {str(k): v for k, v in story.result.exclusions.items()}
    assert sum(int(s["weight"]) for s in w["sources"]) == WAD
    assert sum(int(c["weight"]) for c in w["contributors"]) == WAD
    assert w["params"]["alpha"] == "0.7"
    paged = _json(client, "/datasets/1/releases/1/weights?offset=2&limit=2")
    assert paged["items"]["total"] == len(story.result.weights)
    assert paged["items"]["items"] == w["items"]["items"][2:4]


def test_items_are_every_submitted_item_and_admitted_leaf(client: TestClient, story: Story) -> None:
    page = _json(client, "/items?limit=1000")
    ids = [i["id"] for i in page["items"]]
    assert ids == sorted(story.result.files)
    assert leaf_item_id(1, 0) in ids
    by_id = {i["id"]: i for i in page["items"]}
    assert by_id[4]["revoked"] is True  # bob revoked it after the vote
    assert by_id[1]["revoked"] is False
    manifest = json.loads((Path(story.result.release_dir) / "manifest.json").read_bytes())
    first = manifest["items"][0]
    assert by_id[1]["cid"] == first["cid"]
    assert by_id[1]["sha256"] == "0x" + first["sha256"]
    assert by_id[1]["size"] == int(first["size"])
    assert by_id[1]["license"] == "CC0-1.0"
    assert _json(client, "/items/1") == by_id[1]
    alice = first["contributor"]
    mine = _json(client, f"/items?contributor={alice}")
    assert [i["id"] for i in mine["items"]] == [1, 2, 3]


def test_contributors_are_the_registered_ones_with_their_counts(client: TestClient, story: Story) -> None:
    page = _json(client, "/contributors")
    assert page["total"] == 4
    assert [c["profile_uri"] for c in page["items"]] == [
        f"ipfs://profile-of-{n}" for n in ("alice", "bob", "carol", "dave")
    ]
    alice = page["items"][0]
    assert alice["item_count"] == 3
    assert _json(client, f"/contributors/{alice['address'].upper().replace('0X', '0x')}") == alice


def test_proposal_tallies_equal_the_chains(client: TestClient, story: Story) -> None:
    env = story.env
    voting = VotingClient(env.w3, env.deployment.address("CurationVoting"))
    page = _json(client, "/datasets/1/proposals")
    assert page["total"] == len(story.result.proposals) == 4
    for p, told in zip(page["items"], story.result.proposals, strict=True):
        tally = voting.get_tally(p["id"])
        assert p["tallies"] == {
            "for_votes": str(tally.for_votes),
            "against_votes": str(tally.against_votes),
            "abstain_votes": str(tally.abstain_votes),
        }
        assert p["status"] == told["outcome"].lower()
        assert p["total_supply"] == str(told["supply"] * WAD)
        assert p["voters"] == 3
        assert p["quorum_reached"] is True
    assert [p["kind"] for p in page["items"]] == ["include", "include", "include", "remove"]
    assert page["items"][2]["batch_ids"] == [1]
    assert _json(client, "/proposals/4") == page["items"][3]


def test_report_is_the_published_transparency_report(client: TestClient, story: Story) -> None:
    published = json.loads((Path(story.result.release_dir) / "report.json").read_text())
    rep = _json(client, "/datasets/1/releases/1/report")
    assert rep["manifest_cid"] == published["manifest"]["cid"] == story.result.manifest_cid
    assert rep["state_block"] == published["state_block"]
    assert rep["parent"] is None
    assert rep["item_count"] == int(published["totals"]["items"]) == len(story.result.weights)
    assert rep["diff"]["added_items"] == [int(a["item_id"]) for a in published["items_added"]]
    assert rep["diff"]["removed_items"] == {}
    assert rep["revocations"] == [4]
    assert [t["proposal_id"] for t in rep["turnout"]] == [1, 2, 3, 4]
    assert all(t["turnout_bps"] == 10_000 for t in rep["turnout"])  # every curator voted on everything
    # ana 400, ben 350, chen 250 of 1000 tokens: two of them hold a majority.
    assert rep["concentration"] == {
        "voters": 3,
        "top1_share_bps": 4000,
        "top10_share_bps": 10_000,
        "nakamoto": 2,
    }


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/2",
        "/datasets/2/releases",
        "/datasets/2/releases/latest",
        "/datasets/2/proposals",
        "/datasets/1/releases/2",
        "/datasets/1/releases/2/manifest",
        "/datasets/1/releases/2/weights",
        "/datasets/1/releases/2/report",
        "/proposals/99",
        "/items/999",
        "/contributors/0x" + "00" * 20,
    ],
)
def test_unknown_things_are_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "not-found"


def test_a_request_after_the_ttl_sees_new_chain_activity(story: Story) -> None:
    clock = FakeClock()
    model = StateReadModel(story.env, ttl=10, clock=clock)
    before = model.contributors(offset=0, limit=100).total
    w3 = story.env.w3
    snap = w3.testing.snapshot()  # type: ignore[attr-defined]
    try:
        newcomer = dev_signers(w3)[6]
        RegistryClient(w3, story.env.deployment.address("ContentRegistry"), newcomer).register("ipfs://eve")
        clock.advance(9)
        assert model.contributors(offset=0, limit=100).total == before  # still the cached fold
        clock.advance(1)
        assert model.contributors(offset=0, limit=100).total == before + 1
        assert model.contributor(newcomer.address).profile_uri == "ipfs://eve"
    finally:
        w3.testing.revert(snap)  # type: ignore[attr-defined]


def test_serve_without_an_rpc_url_or_record_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RPC URL"):
        open_read_model(Settings(home=tmp_path))
    with pytest.raises(ConfigError, match="no deployment record"):
        open_read_model(Settings(home=tmp_path, rpc="http://127.0.0.1:9"))
