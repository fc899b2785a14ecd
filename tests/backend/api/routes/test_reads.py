"""Read endpoints in-process: datasets, releases, manifest with ETag, weights, items, contributors, proposals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi import FastAPI

from backend.api.models import Dataset
from backend.api.readmodel import InMemoryReadModel
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import ALICE, BOB, CONTENTS, TestClient


def test_datasets_list_and_one(client: TestClient) -> None:
    r = client.get("/datasets")
    assert r.status_code == 200
    assert [d["name"] for d in r.json()] == ["open-text", "empty"]
    one = client.get("/datasets/1").json()
    assert one["release_count"] == 2
    assert one["latest_release"] == 2
    assert one["params"]["proposal_threshold"] == str(10**18)


def test_unknown_dataset_and_release_are_404_with_a_json_reason(client: TestClient) -> None:
    r = client.get("/datasets/99")
    assert r.status_code == 404
    assert r.json() == {
        "detail": "dataset 99 does not exist",
        "code": "not-found",
        "request_id": r.headers["x-request-id"],
    }
    r = client.get("/datasets/1/releases/7")
    assert r.status_code == 404
    assert "no release 7" in r.json()["detail"]
    r = client.get("/datasets/2/releases/latest")
    assert r.status_code == 404
    assert "no release yet" in r.json()["detail"]
    r = client.get("/datasets/99/releases/1/manifest")
    assert r.status_code == 404


def test_releases_in_order_and_latest(client: TestClient) -> None:
    rows = client.get("/datasets/1/releases").json()
    assert [(r["number"], r["parent"]) for r in rows] == [(1, None), (2, 1)]
    assert client.get("/datasets/1/releases/latest").json() == rows[-1]
    assert client.get("/datasets/1/releases/1").json() == rows[0]


def test_manifest_bytes_are_served_as_published_with_the_sha256_as_etag(client: TestClient) -> None:
    release = client.get("/datasets/1/releases/2").json()
    r = client.get("/datasets/1/releases/2/manifest")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert str(compute_cid(r.content).cid) == release["manifest_cid"]
    assert hashlib.sha256(r.content).hexdigest() == release["manifest_sha256"]
    assert r.headers["etag"] == f'"{release["manifest_sha256"]}"'
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["accept-ranges"] == "bytes"
    assert json.loads(r.content)["release"] == 2
    old = client.get(
        "/datasets/1/releases/2/manifest", headers={"If-None-Match": f'"{release["manifest_cid"]}"'}
    )
    assert old.status_code == 304  # the CID ETag served before still names these bytes


def test_manifest_if_none_match_gives_304_only_for_the_current_etag(client: TestClient) -> None:
    etag = client.get("/datasets/1/releases/2/manifest").headers["etag"]
    r = client.get("/datasets/1/releases/2/manifest", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    other = client.get("/datasets/1/releases/1/manifest").headers["etag"]
    r = client.get("/datasets/1/releases/2/manifest", headers={"If-None-Match": f"{other}, W/{other}"})
    assert r.status_code == 200


def test_weights_sum_to_one_wad_and_page(client: TestClient) -> None:
    w = client.get("/datasets/1/releases/2/weights").json()
    assert w["scheme_id"] == "commons-v1"
    assert sum(int(i["weight"]) for i in w["items"]["items"]) == 10**18 == int(w["total"])
    assert w["exclusions"] == {"3": "removed"}
    page = client.get("/datasets/1/releases/2/weights", params={"offset": 1, "limit": 1}).json()["items"]
    assert page["total"] == 2
    assert [i["item_id"] for i in page["items"]] == ["2"]


def test_transparency_report(client: TestClient) -> None:
    rep = client.get("/datasets/1/releases/2/report").json()
    assert rep["diff"]["removed_items"] == {"3": "removed"}
    assert rep["revocations"] == ["3"]
    assert rep["turnout"][0]["turnout_bps"] == 7050


def test_items_filter_by_contributor_and_one_item(client: TestClient) -> None:
    everything = client.get("/items").json()
    assert everything["total"] == len(CONTENTS)
    bobs = client.get("/items", params={"contributor": BOB.address.lower()}).json()
    assert [i["id"] for i in bobs["items"]] == ["3", "4"]
    item = client.get("/items/4").json()
    assert item["cid"] == str(compute_cid(CONTENTS[4]).cid)
    assert client.get("/items/99").status_code == 404


def test_contributors(client: TestClient) -> None:
    page = client.get("/contributors", params={"limit": 1}).json()
    assert page["total"] == 2
    assert page["items"][0]["address"] == ALICE.address
    assert client.get(f"/contributors/{BOB.address}").json()["item_count"] == 2
    r = client.get("/contributors/0x" + "00" * 20)
    assert r.status_code == 404
    assert "not a registered contributor" in r.json()["detail"]


def test_proposals_carry_tallies(client: TestClient) -> None:
    page = client.get("/datasets/1/proposals").json()
    assert [p["id"] for p in page["items"]] == [1, 2, 3]
    first = client.get("/proposals/1").json()
    assert first["tallies"] == {
        "for_votes": str(600 * 10**18),
        "against_votes": str(100 * 10**18),
        "abstain_votes": str(5 * 10**18),
    }
    assert client.get("/datasets/99/proposals").status_code == 404


def test_licenses_list_the_allowlist(client: TestClient) -> None:
    rows = client.get("/licenses").json()
    by_spdx = {r["spdx"]: r for r in rows}
    assert by_spdx["CC-BY-SA-4.0"]["share_alike"] is True
    assert by_spdx["CC-BY-ND-4.0"]["allowed"] is False


def test_bad_parameters_and_unknown_routes_get_json_errors(client: TestClient) -> None:
    r = client.get("/items", params={"offset": -1})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid-input"
    assert "offset" in r.json()["detail"]
    r = client.get("/datasets/abc")
    assert r.status_code == 422
    r = client.get("/nowhere")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found", "code": "not-found", "request_id": r.headers["x-request-id"]}


def test_openapi_documents_every_resource(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/datasets",
        "/datasets/{dataset_id}/releases/{number}/manifest",
        "/datasets/{dataset_id}/releases/{number}/weights",
        "/datasets/{dataset_id}/releases/{number}/report",
        "/datasets/{dataset_id}/proposals",
        "/items",
        "/contributors",
        "/auth/nonce",
        "/auth/verify",
        "/uploads",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_a_bug_in_the_read_model_is_a_json_500_without_internals(build_app: Callable[..., FastAPI]) -> None:
    class Broken(InMemoryReadModel):
        def datasets(self) -> list[Dataset]:
            raise RuntimeError("secret connection string")

    with TestClient(build_app(model=Broken()), raise_server_exceptions=False) as c:
        r = c.get("/datasets")
    assert r.status_code == 500
    assert r.json() == {
        "detail": "internal error",
        "code": "internal-error",
        "request_id": r.headers["x-request-id"],
    }
