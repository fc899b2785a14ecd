"""Numbers in API answers: every integer that can pass 2**53 is a decimal string, and paths take the whole
uint256 range (curation.jsonnum, docs/api.md "Numbers and names")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from backend.api.models import Item
from curation.batches import item_ref, leaf_item_id
from curation.jsonnum import MAX_JSON_INT, UINT256_MAX
from tests.backend.api.api_helpers import ALICE, TestClient, sample_model

LEAF = leaf_item_id(3, 7)  # 2**64 + 3 * 2**32 + 7: far above 2**53
BIG_EXPIRY = 2**64 - 1


def _model_with_a_leaf() -> Any:
    model = sample_model()
    model.add_item(
        Item(
            id=LEAF,
            ref=item_ref(LEAF),
            cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            sha256=hashlib.sha256(b"leaf").hexdigest(),
            size=4,
            license_id=1,
            license="CC0-1.0",
            contributor=ALICE.address,
            consent=1,
            consent_names="train",
            expiry=BIG_EXPIRY,
            revoked=False,
            block=30,
        )
    )
    return model


def _big_numbers(obj: Any, path: str = "$") -> list[str]:
    """Paths of JSON numbers JavaScript's JSON.parse would round."""
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int):
        return [] if abs(obj) <= MAX_JSON_INT else [f"{path} = {obj}"]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _big_numbers(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _big_numbers(v, f"{path}[{i}]")]
    return []


def test_a_batch_leaf_is_served_by_its_full_id_as_a_decimal_string(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(_model_with_a_leaf())) as client:
        r = client.get(f"/items/{LEAF}")
        assert r.status_code == 200, r.text
        body = json.loads(r.text)  # as a JavaScript client would read it: no number past 2**53
        assert _big_numbers(body) == []
        assert (body["id"], body["ref"], body["expiry"], body["size"]) == (
            str(LEAF),
            "batch:3:7",
            str(BIG_EXPIRY),
            "4",
        )
        listed = client.get("/items", params={"offset": 0, "limit": 100}).json()
        assert str(LEAF) in [i["id"] for i in listed["items"]]


def test_paths_take_the_whole_uint256_range(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(_model_with_a_leaf())) as client:
        for path in (f"/items/{2**63}", f"/items/{UINT256_MAX}", f"/proposals/{UINT256_MAX}"):
            r = client.get(path)
            assert (r.status_code, r.json()["code"]) == (404, "not-found"), path  # was 422 past 2**63 - 1
        assert client.get(f"/datasets/{2**64}/releases/{2**70}").status_code == 404
        for bad in (f"/items/{UINT256_MAX + 1}", "/items/-1", "/items/1e3", "/items/0x10"):
            assert client.get(bad).status_code == 422, bad


def test_no_answer_carries_a_number_past_2_53(build_app: Callable[..., FastAPI]) -> None:
    with TestClient(build_app(_model_with_a_leaf())) as client:
        paths = [
            "/datasets",
            "/datasets/1",
            "/datasets/1/releases",
            "/datasets/1/releases/2/weights",
            "/datasets/1/releases/2/report",
            "/datasets/1/proposals",
            "/proposals/1",
            "/items",
            "/contributors",
            "/openapi.json",
        ]
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
            assert _big_numbers(json.loads(r.text)) == [], path
        proposal = client.get("/proposals/1").json()
        assert proposal["item_ids"] == ["1", "2", "3"]
        assert proposal["tallies"]["for_votes"] == str(600 * 10**18)
        weights = client.get("/datasets/1/releases/2/weights").json()
        assert all(isinstance(i["item_id"], str) for i in weights["items"]["items"])


def test_one_vocabulary_with_the_manifest(client: TestClient) -> None:
    params = client.get("/datasets/1").json()["params"]
    assert set(params) == {
        "voting_delay",
        "voting_period",
        "quorum_bps",
        "approval_bps",
        "late_quorum_extension",
        "proposal_threshold",
    }
    release = client.get("/datasets/1/releases/1").json()
    assert len(release["manifest_sha256"]) == 64  # hex, no 0x: as in the manifest and the reports
    assert int(release["manifest_sha256"], 16) >= 0
    item = client.get("/items/1").json()
    assert len(item["sha256"]) == 64
