"""curation.manifest_read: typed item records, duplicate ids, part file names (load_*: test_manifest_build)."""

from __future__ import annotations

from typing import Any

import pytest

from curation.cid import cid_v1_raw
from curation.manifest_read import ManifestItem, ManifestMismatch, parse_items, part_file_name

CID = str(cid_v1_raw(b"\x01" * 32))


def _record(**kw: Any) -> dict[str, Any]:
    return {
        "item_id": "7",
        "cid": CID,
        "sha256": "AB" * 32,
        "size": "11",
        "license": "CC0-1.0",
        "contributor": "0x" + "11" * 20,
        "consent": 3,
        "consent_expiry": "0",
        "source": 1,
        "weight": str(10**18),
        **kw,
    }


def test_part_files_are_numbered_with_five_digits() -> None:
    assert part_file_name(0) == "manifest-part-00000.json"
    assert part_file_name(12) == "manifest-part-00012.json"


def test_an_item_record_becomes_a_typed_item() -> None:
    item = ManifestItem.from_record(_record())
    assert (item.item_id, item.size, item.weight, item.ref) == (7, 11, 10**18, "item:7")
    assert (item.cid, item.sha256) == (CID, "ab" * 32)
    assert ManifestItem.from_record(_record(source=None)).source == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cid", "not-a-cid", "is not a CID"),
        ("sha256", "ab", "sha256 must be 64 hex digits"),
        ("size", "-1", "size must be a non-negative integer"),
        ("size", "²", "size must be a non-negative integer"),
        ("weight", 10**80, "an integer of 266 bits"),
    ],
)
def test_a_malformed_record_is_refused_with_its_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ManifestMismatch, match=message):
        ManifestItem.from_record(_record(**{field: value}))


def test_items_come_back_in_id_order_and_an_id_listed_twice_is_refused() -> None:
    items = parse_items([_record(item_id="9"), _record(item_id="2")])
    assert [i.item_id for i in items] == [2, 9]
    with pytest.raises(ManifestMismatch, match="lists item item:2 twice"):
        parse_items([_record(item_id="2"), _record(item_id="2")])
