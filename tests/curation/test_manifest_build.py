"""Manifest building: canonical bytes, digest, determinism, exclusions, attribution, sharding into parts."""

from __future__ import annotations

import json

import pytest

from curation.batches import leaf_item_id
from curation.canonical import canonical_bytes, parse_canonical, sha256_hex
from curation.errors import InvalidInput
from curation.jsondiff import diff_documents
from curation.manifest import (
    MANIFEST_SCHEMA_V1,
    MANIFEST_SCHEMA_V2,
    MANIFEST_SCHEMAS,
    BuiltManifest,
    ChainContext,
    ParentRelease,
    build_manifest,
)
from curation.manifest_read import ManifestMismatch, load_manifest, load_part
from curation.unixfs import compute_cid
from tests.curation.content_helpers import fold_checked
from tests.curation.test_state_fold import ALICE, BOB, story

CTX = ChainContext(31337, {"CurationVoting": "0xAB" + "00" * 19}, 100, "0x" + "11" * 32, 1_767_225_600)


def built(shard_items: int = 10_000, **kw: object) -> BuiltManifest:
    events, store = story()
    state = fold_checked(events, 100, store)
    return build_manifest(state, 1, CTX, shard_items=shard_items, **kw)  # type: ignore[arg-type]


def test_canonical_json_refuses_floats_and_unsafe_integers() -> None:
    assert canonical_bytes({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'
    with pytest.raises(InvalidInput, match="float"):
        canonical_bytes({"x": 0.5})
    with pytest.raises(InvalidInput, match=r"\$\.w = 1000000000000000000 is beyond 2\*\*53"):
        canonical_bytes({"w": 10**18})
    with pytest.raises(InvalidInput, match="not in canonical form"):
        parse_canonical(b'{"b":1, "a":2}')


def test_manifest_is_canonical_hashed_and_holds_every_designed_field() -> None:
    m = built()
    assert m.data == canonical_bytes(m.doc)
    assert m.sha256 == sha256_hex(m.data)
    assert m.cid == str(compute_cid(m.data).cid)
    assert load_manifest(m.data) == m.doc
    assert set(m.doc) == {
        "schema", "dataset", "state_block", "scheme", "parent", "sources", "removals", "totals",
        "items", "item_parts", "exclusions", "excluded_batches", "attribution",
    }  # fmt: skip
    assert m.doc["schema"] == MANIFEST_SCHEMA_V2
    assert m.doc["dataset"]["contracts"] == {"CurationVoting": "0xab" + "00" * 19}
    assert m.doc["scheme"]["id"] == "commons-v1"
    assert m.doc["scheme"]["params"]["alpha"] == "0.7"
    ids = [r["item_id"] for r in m.items]
    assert ids == ["1", str(leaf_item_id(1, 0)), str(leaf_item_id(1, 2))]
    assert sum(int(r["weight"]) for r in m.items) == 10**18
    assert {e["item_id"]: e["reason"] for e in m.doc["exclusions"]} == {
        "2": "revoked",
        str(leaf_item_id(1, 1)): "duplicate-cid",
    }
    attribution = {a["contributor"]: a for a in m.doc["attribution"]}
    assert attribution[ALICE]["licenses"] == ["CC0-1.0"]
    assert not attribution[ALICE]["attribution_required"]
    assert attribution[BOB]["licenses"] == ["CC-BY-4.0"]
    assert attribution[BOB]["attribution_required"]
    source = m.doc["sources"][0]
    assert (source["for_votes"], source["total_supply"], source["weight"]) == ("1000", "1000", str(10**18))


def test_manifest_is_a_pure_function_and_parameters_change_it() -> None:
    assert built().data == built().data
    other = built(params={"alpha": "0.5"})
    assert other.sha256 != built().sha256
    assert "$.scheme.params.alpha: '0.5', rebuilt '0.7'" in diff_documents(built().doc, other.doc)


def test_parent_link_and_out_of_range_parameters() -> None:
    parent = ParentRelease(3, "bafyparent", "ab" * 32, 90)
    assert built(parent=parent).doc["parent"] == {
        "release": 3,
        "manifest_cid": "bafyparent",
        "manifest_sha256": "ab" * 32,
        "state_block": 90,
    }
    with pytest.raises(InvalidInput, match="after this state block 100"):
        built(parent=ParentRelease(3, "x", "ab" * 32, 101))
    with pytest.raises(InvalidInput, match="floor_eps"):
        built(params={"floor_eps": "1.5"})
    with pytest.raises(InvalidInput, match="unknown weight scheme"):
        built(scheme_id="nope")
    with pytest.raises(InvalidInput, match="shard_items"):
        built(shard_items=0)


def test_long_item_lists_are_sharded_into_cid_addressed_parts() -> None:
    whole, sharded = built(), built(shard_items=2)
    assert sharded.doc["items"] == []
    assert len(sharded.parts) == 2
    entries = sharded.doc["item_parts"]
    assert [e["count"] for e in entries] == [2, 1]
    items = [item for p, e in zip(sharded.parts, entries, strict=True) for item in load_part(p.data, e)]
    assert items == list(whole.items)
    assert entries[0]["cid"] == str(compute_cid(sharded.parts[0].data).cid)
    with pytest.raises(ManifestMismatch, match="has sha256"):
        load_part(sharded.parts[0].data + b" ", entries[0])
    with pytest.raises(ManifestMismatch, match="not a manifest"):
        load_manifest(canonical_bytes(json.loads(sharded.parts[0].data)))


def test_item_records_are_the_manifest_items_and_do_not_follow_later_state_changes() -> None:
    events, store = story()
    state = fold_checked(events, 100, store)
    m = build_manifest(state, 1, CTX)
    assert list(m.items) == m.doc["items"] == [m.items[i] for i in range(len(m.items))]
    assert m.items[1:] == m.doc["items"][1:]
    first = m.items[0]
    first["weight"] = "0"  # a caller's edit of one record touches neither the manifest nor later reads
    assert m.items[0] == m.doc["items"][0] != first
    item = state.items[int(m.doc["items"][0]["item_id"])]
    item.consent, item.size = 0, item.size + 1  # the state folds on after the build
    assert list(m.items) == m.doc["items"]
    assert m.data == canonical_bytes(m.doc)


def test_one_builder_for_both_schemas_differing_only_where_v2_settles_a_question() -> None:
    v1, v2 = built(schema=MANIFEST_SCHEMA_V1), built()
    assert MANIFEST_SCHEMAS == (MANIFEST_SCHEMA_V1, MANIFEST_SCHEMA_V2)
    assert (v1.doc["schema"], v2.doc["schema"]) == (MANIFEST_SCHEMA_V1, MANIFEST_SCHEMA_V2)
    assert load_manifest(v1.data) == v1.doc
    assert load_manifest(v2.data) == v2.doc
    assert v1.items.rows == v2.items.rows
    (s1,), (s2,) = v1.doc["sources"], v2.doc["sources"]
    assert "accepted_log_index" not in s1
    assert (s2["accepted_block"], s2["accepted_log_index"]) == (s1["accepted_block"], 1)
    reasons = {e["item_id"]: (e["reason"], e["detail"]) for e in v2.doc["exclusions"]}
    assert reasons["2"] == ("revoked", "revoked in block 6")
    assert {e["item_id"]: e["detail"] for e in v1.doc["exclusions"]}["2"] == ""
    with pytest.raises(InvalidInput, match="unknown manifest schema 'curation-commons/manifest/v3'"):
        built(schema="curation-commons/manifest/v3")
    with pytest.raises(ManifestMismatch, match="not a manifest: expected schema"):
        load_manifest(v2.data.replace(b"manifest/v2", b"manifest/v3"))


def test_parts_are_the_same_bytes_under_every_schema() -> None:
    v1, v2 = built(shard_items=2, schema=MANIFEST_SCHEMA_V1), built(shard_items=2)
    assert [p.data for p in v1.parts] == [p.data for p in v2.parts]
    assert v1.doc["item_parts"] == v2.doc["item_parts"]
