"""The API over the chain state (ChainReadModel): the demo's story and a small governed dataset, read through the
read model and FastAPI's TestClient; statuses agree with the report, read-only mode writes nothing, and
integrity failures keep their kind."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import backend.api.chain_readmodel
import backend.demo
from backend.api.app import create_app
from backend.api.chain_readmodel import ChainReadModel, open_read_model
from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.registry import RegistryClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.chainstate import StateBlockAhead
from backend.demo import DemoResult, run_demo
from backend.errors import ConfigError, StoreError
from backend.ipfs import EmbeddedStore, open_store
from backend.ipfs.base import CidLike
from backend.release import RebuildMismatch, build_release, publish_release, rebuild_report
from backend.session import Session
from backend.settings import Settings
from curation.batches import leaf_item_id
from curation.cid import CID
from curation.events import DatasetParamsSet, ProposalCreated
from curation.governance import ProposalKind, Support
from curation.manifest_read import ManifestMismatch
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import FakeClock, TestClient, make_settings
from tests.backend.release.release_helpers import Story as Governed
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain

WAD = 10**18


@dataclass
class Story:
    result: DemoResult
    session: Session
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
    session = Session(kept["w3"], result.deployment, Settings(home=home, db="sqlite://"), store=kept["store"])
    return Story(result, session, home)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return run_story(tmp_path_factory.mktemp("demo-home"))


@pytest.fixture(scope="module")
def client(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    model = ChainReadModel(story.session, ttl=60, clock=FakeClock())  # the clock never moves: one fold
    settings = make_settings(tmp_path_factory.mktemp("api"), api_chain_id=None)
    with TestClient(create_app(settings, model, story.session.need_store(), story.session.deployment)) as c:
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
    assert ds["params"]["approval_bps"] == 6000
    assert ds["description_cid"].startswith("bafkrei")
    assert _json(client, "/datasets/1") == ds


def test_latest_release_is_the_anchored_one(client: TestClient, story: Story) -> None:
    r = story.result
    latest = _json(client, "/datasets/1/releases/latest")
    assert latest["number"] == r.release == 1
    assert latest["manifest_cid"] == r.manifest_cid
    assert latest["manifest_sha256"] == r.manifest_sha256
    assert latest["state_block"] == r.state_block
    assert latest["scheme_id"] == "commons-v1"
    assert latest["parent"] is None
    assert latest["item_count"] == len(r.weights)
    assert _json(client, "/datasets/1/releases") == [latest]
    assert _json(client, "/datasets/1/releases/1") == latest


def test_manifest_bytes_are_the_anchored_bytes_with_their_sha256_as_etag(
    client: TestClient, story: Story
) -> None:
    r = client.get("/datasets/1/releases/1/manifest")
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == story.result.manifest_sha256
    assert r.content == (Path(story.result.release_dir) / "manifest.json").read_bytes()
    assert r.content == story.session.need_store().get_bytes(story.result.manifest_cid)
    assert r.headers["etag"] == f'"{story.result.manifest_sha256}"'
    again = client.get("/datasets/1/releases/1/manifest", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    by_cid = client.get(
        "/datasets/1/releases/1/manifest", headers={"If-None-Match": f'"{story.result.manifest_cid}"'}
    )
    assert by_cid.status_code == 304


def test_weights_come_from_the_manifest_and_sum_to_one_wad(client: TestClient, story: Story) -> None:
    w = _json(client, "/datasets/1/releases/1/weights?limit=1000")
    assert w["total"] == str(WAD)
    assert sum(int(i["weight"]) for i in w["items"]["items"]) == WAD
    assert {int(i["item_id"]): int(i["weight"]) for i in w["items"]["items"]} == story.result.weights
    assert w["exclusions"] == {str(k): v for k, v in story.result.exclusions.items()}
    assert sum(int(s["weight"]) for s in w["sources"]) == WAD
    assert sum(int(c["weight"]) for c in w["contributors"]) == WAD
    assert w["params"]["alpha"] == "0.7"
    paged = _json(client, "/datasets/1/releases/1/weights?offset=2&limit=2")
    assert paged["items"]["total"] == len(story.result.weights)
    assert paged["items"]["items"] == w["items"]["items"][2:4]


def test_items_are_every_submitted_item_and_admitted_leaf(client: TestClient, story: Story) -> None:
    page = _json(client, "/items?limit=1000")
    ids = [int(i["id"]) for i in page["items"]]
    assert [i["id"] for i in page["items"]] == [str(i) for i in sorted(story.result.files)]
    assert leaf_item_id(1, 0) in ids
    by_id = {int(i["id"]): i for i in page["items"]}
    assert by_id[4]["revoked"] is True  # bob revoked it after the vote
    assert by_id[1]["revoked"] is False
    manifest = json.loads((Path(story.result.release_dir) / "manifest.json").read_bytes())
    first = manifest["items"][0]
    assert by_id[1]["cid"] == first["cid"]
    assert by_id[1]["sha256"] == first["sha256"]
    assert by_id[1]["size"] == first["size"]
    assert by_id[1]["license"] == "CC0-1.0"
    assert _json(client, "/items/1") == by_id[1]
    alice = first["contributor"]
    mine = _json(client, f"/items?contributor={alice}")
    assert [i["id"] for i in mine["items"]] == ["1", "2", "3"]


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
    session = story.session
    voting = VotingClient(session.w3, session.deployment.address("CurationVoting"))
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
    assert rep["diff"]["added_items"] == [str(a["item_id"]) for a in published["items_added"]]
    assert rep["diff"]["removed_items"] == {}
    assert rep["revocations"] == ["4"]
    assert [t["proposal_id"] for t in rep["turnout"]] == [1, 2, 3, 4]
    assert all(t["turnout_bps"] == 10_000 for t in rep["turnout"])  # every curator voted on everything
    # ana 400, ben 350, chen 250 of 1000 tokens: two of them hold a majority.
    assert rep["concentration"] == {
        "voters": 3,
        "top1_share_bps": 4000,
        "top10_share_bps": 10_000,
        "nakamoto": 2,
    }
    # Every number is the report's own: the API maps report.json and computes nothing.
    assert rep["diff"]["changed_weights"] == published["changed_weights"] == 0
    assert rep["turnout"] == [
        {
            "proposal_id": p["proposal_id"],
            "votes_cast": p["votes_cast"],
            "total_supply": p["total_supply"],
            "turnout_bps": p["turnout_bps"],
            "voters": p["voters"],
        }
        for p in published["proposals"]
    ]
    last = published["concentration"][-1]
    assert rep["concentration"] == {
        "voters": last["holders"],
        "top1_share_bps": last["top1_share_bps"],
        "top10_share_bps": last["top10_share_bps"],
        "nakamoto": last["nakamoto"],
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
    model = ChainReadModel(story.session, ttl=10, clock=clock)
    before = model.contributors(offset=0, limit=100).total
    w3 = story.session.w3
    snap = w3.testing.snapshot()
    try:
        newcomer = dev_signers(w3)[6]
        registry = story.session.deployment.address("ContentRegistry")
        RegistryClient(w3, registry, newcomer).register("ipfs://eve")
        clock.advance(9)
        assert model.contributors(offset=0, limit=100).total == before  # still the cached fold
        clock.advance(1)
        assert model.contributors(offset=0, limit=100).total == before + 1
        assert model.contributor(newcomer.address).profile_uri == "ipfs://eve"
    finally:
        w3.testing.revert(snap)


def test_serve_without_an_rpc_url_or_record_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CURATION_RPC", raising=False)
    with pytest.raises(ConfigError, match=r"`curation serve` needs --rpc URL \(or CURATION_RPC\)"):
        open_read_model(Settings(home=tmp_path))
    with pytest.raises(ConfigError, match="no deployment record"):
        open_read_model(Settings(home=tmp_path, rpc="http://127.0.0.1:9"))


# --- a small governed dataset: status boundaries, read-only mode, integrity failures -------------------------

#: The API's word for each report status (a CLOSED proposal is named by what `finalize` would decide).
API_WORDS = {
    "pending": {"pending"},
    "active": {"active"},
    "closed": {"succeeded", "defeated"},
    "accepted": {"accepted"},
    "rejected": {"rejected"},
}


def _statuses(s: Governed, model: ChainReadModel, dataset_id: int, pid: int) -> tuple[str, str]:
    """The API's and report.json's status of proposal `pid` at the head, after checking they agree."""
    session = s.session()
    api = model.proposal(pid)  # ttl=0: folded again at the head
    report = build_release(session, dataset_id, parent=None).report  # what a release at the head publishes
    row = next(p for p in report["proposals"] if p["proposal_id"] == pid)
    assert model.state_block == report["state_block"] == s.block
    assert api.status in API_WORDS[row["status"]], (s.block, api.status, row["status"])
    assert row["status"] == s.voting.proposal_state(pid).word  # and both are the contract's state()
    assert (None if api.total_supply is None else str(api.total_supply)) == row[
        "total_supply"
    ]  # the snapshot's supply: known to both or to neither
    return api.status, row["status"]


def test_the_api_and_the_report_agree_on_a_proposals_status_at_every_boundary_block(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    ds = ids["ds"]
    model = ChainReadModel(s.session(), ttl=0)
    i5 = s.item(s.registry.with_signer(s.signer(5)), b"epsilon " * 40)
    created = s.voting.propose(ds, ProposalKind.INCLUDE, [i5], [])
    pid = created.event(ProposalCreated).proposal_id
    info = s.voting.get_proposal(pid)
    seen = [_statuses(s, model, ds, pid)]  # the block it was created in
    chain.w3.testing.mine(info.snapshot - s.block)  # type: ignore[attr-defined]
    seen.append(_statuses(s, model, ds, pid))  # at the snapshot: still pending
    chain.w3.testing.mine(1)  # type: ignore[attr-defined]
    seen.append(_statuses(s, model, ds, pid))  # the first block votes count in
    s.voting.with_signer(s.signer(1)).cast_vote(pid, Support.FOR)
    chain.w3.testing.mine(info.deadline - s.block)  # type: ignore[attr-defined]
    seen.append(_statuses(s, model, ds, pid))  # at the deadline: still active
    chain.w3.testing.mine(1)  # type: ignore[attr-defined]
    seen.append(_statuses(s, model, ds, pid))  # after it: closed, not finalized
    s.voting.finalize(pid)
    seen.append(_statuses(s, model, ds, pid))
    assert seen == [
        ("pending", "pending"),
        ("pending", "pending"),
        ("active", "active"),
        ("active", "active"),
        ("succeeded", "closed"),
        ("accepted", "accepted"),
    ]


def _index_rows(db: Path) -> dict[str, int]:
    """Rows per table of a SQLite index database."""
    with closing(sqlite3.connect(db)) as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_a_report_request_in_read_only_mode_writes_nothing_to_the_index(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    db = tmp_path / "index.sqlite"
    session = s.session(db=f"sqlite:///{db}")
    built = build_release(session, ids["ds"])  # syncs the index to the head
    publish_release(session, built, chain.admin)
    s.item(s.registry.with_signer(s.signer(4)), b"submitted after the release " * 5)  # logs the index lacks
    before = _index_rows(db)
    model = ChainReadModel(session, ttl=60, sync=False, clock=FakeClock())
    report = model.report(ids["ds"], 1)
    assert _index_rows(db) == before
    assert (report.manifest_cid, report.state_block) == (built.cid, built.state_block)
    assert report.diff.added_items == [int(a["item_id"]) for a in built.report["items_added"]]
    ChainReadModel(session, ttl=60, clock=FakeClock()).refresh()  # a syncing model does store the new logs
    assert _index_rows(db) != before


def _altered(manifest: bytes) -> bytes:
    """The manifest with one digit of its first weight changed: still a well-formed manifest."""
    data = bytearray(manifest)
    at = data.index(b'"weight":"') + len(b'"weight":"')
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    return bytes(data)


def _served(s: Governed, tmp_path: Path, model: ChainReadModel | None = None) -> TestClient:
    """The app over `model` (default: a read model of the story that syncs its own in-memory index)."""
    model = model or ChainReadModel(s.session(), ttl=60, clock=FakeClock())
    (tmp_path / "api").mkdir()
    settings = make_settings(tmp_path / "api", api_chain_id=None)
    return TestClient(create_app(settings, model, s.store, s.chain.deployment))


def test_a_store_serving_other_bytes_than_the_anchored_manifest_is_an_integrity_error(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    built = build_release(s.session(), ids["ds"])
    other = s.store.put_bytes(_altered(built.manifest_bytes)).cid  # the anchored digest is the honest one
    s.releases.publish_release(
        ids["ds"], str(other), bytes.fromhex(built.sha256), built.state_block, "commons-v1"
    )
    model = ChainReadModel(s.session(), ttl=60, clock=FakeClock())
    listed = model.release(ids["ds"], 1)  # still listed, from the chain's anchor, saying what is wrong
    assert (listed.manifest_cid, listed.item_count) == (str(other), None)
    assert "refusing it" in (listed.manifest_problem or "")
    with pytest.raises(ManifestMismatch, match="refusing it") as caught:
        model.manifest(ids["ds"], 1)
    assert not isinstance(caught.value, StoreError)  # it keeps its kind: an integrity failure
    with _served(s, tmp_path) as client:
        r = client.get(f"/datasets/{ids['ds']}/releases/1/manifest")
    assert (r.status_code, r.json()["code"]) == (502, "integrity-error")
    assert "refusing it" in r.json()["detail"]


def test_one_unreadable_manifest_does_not_take_the_other_releases_or_endpoints_down(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    publish_release(session, build_release(session, ids["ds"]), chain.admin)
    lost = b'{"a manifest":"that no store holds"}'
    s.releases.publish_release(  # release 2 anchors bytes nobody stored
        ids["ds"],
        str(compute_cid(lost).cid),
        hashlib.sha256(lost).digest(),
        chain.w3.eth.block_number,
        "commons-v1",
    )
    with _served(s, tmp_path) as client:
        assert client.get("/datasets").status_code == 200
        assert client.get("/licenses").status_code == 200
        releases = client.get(f"/datasets/{ids['ds']}/releases").json()
        assert [(r["number"], r["manifest_problem"] is None) for r in releases] == [(1, True), (2, False)]
        assert releases[0]["item_count"] > 0
        assert releases[1]["item_count"] is None
        assert "not available from the store" in releases[1]["manifest_problem"]
        assert client.get(f"/datasets/{ids['ds']}/releases/1/manifest").status_code == 200
        r = client.get(f"/datasets/{ids['ds']}/releases/2/manifest")
    assert (r.status_code, r.json()["code"]) == (502, "store-error")


def test_a_release_the_chain_logs_do_not_reproduce_has_no_report_but_an_integrity_error(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    built = build_release(s.session(), ids["ds"])
    data = _altered(built.manifest_bytes)  # well formed, anchored with its own digest, not reproducible
    cid = s.store.put_bytes(data).cid
    s.releases.publish_release(
        ids["ds"], str(cid), hashlib.sha256(data).digest(), built.state_block, "commons-v1"
    )
    model = ChainReadModel(s.session(), ttl=60, clock=FakeClock())
    assert model.release(ids["ds"], 1).manifest_cid == str(cid)  # the anchored bytes themselves are served
    with pytest.raises(RebuildMismatch, match="curation verify"):
        model.report(ids["ds"], 1)
    with _served(s, tmp_path) as client:
        assert client.get(f"/datasets/{ids['ds']}/releases/1/manifest").status_code == 200
        r = client.get(f"/datasets/{ids['ds']}/releases/1/report")
    assert (r.status_code, r.json()["code"]) == (502, "integrity-error")
    assert f"the chain anchors {cid}" in r.json()["detail"]


def test_a_report_past_the_block_a_read_only_index_holds_is_503_index_behind(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    lagging = s.session(db=f"sqlite:///{tmp_path / 'index.sqlite'}")
    ChainReadModel(lagging, ttl=60, clock=FakeClock()).refresh()  # indexed once, then left behind
    s.item(s.registry.with_signer(s.signer(4)), b"submitted after the index stopped " * 5)
    publish_release(s.session(), build_release(s.session(), ids["ds"]), chain.admin)  # at the head
    model = ChainReadModel(lagging, ttl=60, sync=False, clock=FakeClock())
    with pytest.raises(StateBlockAhead):
        model.report(ids["ds"], 1)
    with _served(s, tmp_path, model) as client:
        r = client.get(f"/datasets/{ids['ds']}/releases/1/report")
    assert (r.status_code, r.json()["code"]) == (503, "index-behind")


def test_the_report_lists_each_parameter_change_with_the_proposal_that_made_it(
    chain: Chain, tmp_path: Path
) -> None:
    """A direct deployment: the dataset's creation set its parameters (release 1 reports it), then its manager
    set new ones (release 2 reports only that); no Governor proposal made either, so `proposal` is null."""
    s, ids = governed(chain, tmp_path / "store")
    ds = ids["ds"]
    session = s.session()
    (created,) = s.voting.event_logs(DatasetParamsSet, 0, filters={"dataset_id": ds})
    publish_release(session, build_release(session, ds), chain.admin)
    new = DatasetParams(
        voting_delay=2,
        voting_period=9,
        quorum_bps=700,
        approval_bps=6600,
        late_quorum_extension=3,
        proposal_threshold=12 * 10**23,  # past 2**53: a decimal string on the wire
    )
    changed = s.voting.set_dataset_params(ds, new)
    publish_release(session, build_release(session, ds), chain.admin)
    with _served(s, tmp_path) as client:
        first = client.get(f"/datasets/{ds}/releases/1/report")
        second = client.get(f"/datasets/{ds}/releases/2/report")
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["parameter_changes"] == [
        {
            "block": created.at.block_number,
            "params": {
                "voting_delay": 1,
                "voting_period": 4,
                "quorum_bps": 400,
                "approval_bps": 5000,
                "late_quorum_extension": 0,
                "proposal_threshold": "0",
            },
            "proposal": None,
        }
    ]
    assert second.json()["parameter_changes"] == [
        {
            "block": changed.block_number,
            "params": {
                "voting_delay": 2,
                "voting_period": 9,
                "quorum_bps": 700,
                "approval_bps": 6600,
                "late_quorum_extension": 3,
                "proposal_threshold": "1200000000000000000000000",
            },
            "proposal": None,
        }
    ]
    # The API maps what the report says and adds nothing: the same rows as the rebuilt report.json.
    rebuilt = rebuild_report(session, ds, 2, sync=True)
    assert second.json()["parameter_changes"] == rebuilt["parameter_changes"]


def test_a_report_from_before_parameter_changes_were_reported_lists_none(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    session = s.session()
    publish_release(session, build_release(session, ids["ds"]), chain.admin)

    def older(*args: Any, **kwargs: Any) -> dict[str, Any]:  # a report.json written before the key existed
        doc = dict(rebuild_report(*args, **kwargs))
        del doc["parameter_changes"]
        return doc

    monkeypatch.setattr(backend.api.chain_readmodel, "rebuild_report", older)
    report = ChainReadModel(session, ttl=60, clock=FakeClock()).report(ids["ds"], 1)
    assert report.parameter_changes == []
    assert report.manifest_cid == session.releases().get_release(ids["ds"], 1).manifest_cid


# --- manifest parts: fetched by CID, checked against the sha256 the anchored manifest lists, cached ---------


class _TamperingStore(EmbeddedStore):
    """An embedded store that, once `tamper` is set, answers one CID with other bytes: a fault a CID-checking
    store cannot produce (a broken gateway can), so it is injected."""

    tamper: tuple[str, bytes] | None = None

    def get_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> bytes:
        if self.tamper is not None and str(CID.parse(cid)) == self.tamper[0]:
            return self.tamper[1]
        return super().get_bytes(cid, max_bytes=max_bytes)


def _parted(chain: Chain, tmp_path: Path) -> tuple[ChainReadModel, _TamperingStore, Any, int]:
    """A published release of 2 items per part, and a read model over a store that can be made to lie."""
    s, ids = governed(chain, tmp_path / "store")
    built = build_release(s.session(), ids["ds"], shard_items=2)
    assert len(built.manifest.parts) >= 2
    publish_release(s.session(), built, chain.admin)
    store = _TamperingStore(s.store_dir)
    settings = Settings.model_validate({"home": tmp_path / "home", "db": "sqlite://"})
    session = Session(chain.w3, chain.deployment, settings, store=store)
    return ChainReadModel(session, ttl=60, clock=FakeClock()), store, built, ids["ds"]


def _client(model: ChainReadModel, tmp_path: Path) -> TestClient:
    (tmp_path / "api").mkdir()
    settings = make_settings(tmp_path / "api", api_chain_id=None)
    return TestClient(create_app(settings, model, model.session.need_store(), model.session.deployment))


def test_parts_are_served_as_the_manifest_lists_them_and_an_unlisted_part_is_404(
    chain: Chain, tmp_path: Path
) -> None:
    model, _, built, ds = _parted(chain, tmp_path)
    listed = json.loads(built.manifest_bytes)["item_parts"]
    with _client(model, tmp_path) as client:
        for entry, part in zip(listed, built.manifest.parts, strict=True):
            r = client.get(f"/datasets/{ds}/releases/1/parts/{entry['part']}")
            assert r.status_code == 200, r.text
            assert r.content == part.data
            assert r.headers["etag"] == f'"{entry["sha256"]}"' == f'"{hashlib.sha256(r.content).hexdigest()}"'
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
            ranged = client.get(
                f"/datasets/{ds}/releases/1/parts/{entry['part']}", headers={"Range": "bytes=-7"}
            )
            assert (ranged.status_code, ranged.content) == (206, part.data[-7:])
        r = client.get(f"/datasets/{ds}/releases/1/parts/{len(listed)}")
        assert (r.status_code, r.json()["code"]) == (404, "not-found")
        assert f"lists {len(listed)} manifest parts" in r.json()["detail"]
        assert client.get(f"/datasets/{ds}/releases/2/parts/0").status_code == 404


def test_a_part_the_store_serves_wrong_is_502_and_never_cached(chain: Chain, tmp_path: Path) -> None:
    model, store, built, ds = _parted(chain, tmp_path)
    model.manifest(ds, 1)  # the manifest and its parts fetched honestly once; the store lies from now on
    part = built.manifest.parts[0]
    store.tamper = (part.cid, part.data.replace(b'"item_id"', b'"item_jd"', 1))
    with _client(model, tmp_path) as client:
        r = client.get(f"/datasets/{ds}/releases/1/parts/{part.index}")
        assert (r.status_code, r.json()["code"]) == (502, "integrity-error")
        assert f"expected {part.sha256}" in r.json()["detail"]
        assert model.cached_document(ds, 1, part.index) is None  # refused bytes are not kept
        assert client.get(f"/datasets/{ds}/releases/1/parts/{part.index}").status_code == 502
        store.tamper = None
        r = client.get(f"/datasets/{ds}/releases/1/parts/{part.index}")
        assert (r.status_code, r.content) == (200, part.data)
    held = model.cached_document(ds, 1, part.index)
    assert held is not None
    assert held.data == part.data


def test_the_document_cache_keeps_within_its_byte_budget(chain: Chain, tmp_path: Path) -> None:
    """Room for the largest part but not for two: each fetch evicts the least recently used one."""
    honest, _, built, ds = _parted(chain, tmp_path)
    budget = max(len(p.data) for p in built.manifest.parts)
    assert len(built.manifest_bytes) > budget
    model = ChainReadModel(honest.session, ttl=60, clock=FakeClock(), cache_bytes=budget)
    first, second = built.manifest.parts[:2]
    assert model.manifest_part(ds, 1, first.index).data == first.data
    assert model.cached_document(ds, 1, first.index) is not None
    assert model.manifest_part(ds, 1, second.index).data == second.data
    assert model.cached_document(ds, 1, first.index) is None  # evicted
    assert model.cached_document(ds, 1, second.index) is not None
    assert model.manifest(ds, 1).data == built.manifest_bytes  # larger than the budget: served, not kept
    assert model.cached_document(ds, 1, None) is None
    assert model.manifest_part(ds, 1, first.index).data == first.data  # fetched and checked again
