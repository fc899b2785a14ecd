"""Item references: parse_item_ref is the inverse of item_ref, and refuses everything else with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.batches import (
    LEAF_ID_BASE,
    MAX_ITEM_REF_CHARS,
    InvalidItemRef,
    item_ref,
    leaf_item_id,
    parse_item_ref,
)
from curation.errors import InvalidInput

_U32 = 1 << 32
single_ids = st.integers(min_value=1, max_value=LEAF_ID_BASE - 1)
leaf_ids = st.builds(
    leaf_item_id,
    st.integers(min_value=1, max_value=LEAF_ID_BASE - 1),
    st.integers(min_value=0, max_value=_U32 - 1),
)


@given(st.one_of(single_ids, leaf_ids))
def test_parse_item_ref_inverts_item_ref(item_id: int) -> None:
    assert parse_item_ref(item_ref(item_id)) == item_id


@given(single_ids)
def test_a_bare_number_is_a_single_items_id(item_id: int) -> None:
    assert parse_item_ref(str(item_id)) == item_id


@pytest.mark.parametrize(
    ("text", "item_id"),
    [
        ("5", 5),
        ("item:5", 5),
        ("  ITEM:5\n", 5),
        ("batch:3:7", leaf_item_id(3, 7)),
        ("Batch:3:0", leaf_item_id(3, 0)),
        ("007", 7),
        (f"item:{LEAF_ID_BASE - 1}", LEAF_ID_BASE - 1),
        (f"batch:{LEAF_ID_BASE - 1}:{_U32 - 1}", leaf_item_id(LEAF_ID_BASE - 1, _U32 - 1)),
    ],
)
def test_the_three_forms(text: str, item_id: int) -> None:
    assert parse_item_ref(text) == item_id


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is not an item id"),
        ("item:", "is not an item id"),
        ("item:-1", "is not an item id"),
        ("batch:3", "is not an item id"),
        ("batch:3:7:1", "is not an item id"),
        ("leaf:3:7", "is not an item id"),
        ("item:5 x", "is not an item id"),
        ("0x05", "is not an item id"),
        (
            "\u0665",
            "is not an item id",
        ),  # an Arabic-Indic digit: str.isdigit() says yes, int() would accept it
        ("²", "is not an item id"),  # str.isdigit() says yes, int() refuses it
        ("1" * 21, "is not an item id"),
        ("0", "item ids start at 1"),
        ("item:0", "item ids start at 1"),
        (str(LEAF_ID_BASE), "single item ids run from 1 to"),
        (str(leaf_item_id(3, 7)), "is the item id of a batch leaf: name it batch:3:7"),
        (f"item:{leaf_item_id(2, 1)}", "name it batch:2:1"),
        ("batch:0:1", "batch ids run from 1 to"),
        (f"batch:{LEAF_ID_BASE}:1", "batch ids run from 1 to"),
        (f"batch:1:{_U32}", "leaf indexes run from 0 to"),
        ("batch:1:" + "9" * 11, "is not an item id"),
        (" " * (MAX_ITEM_REF_CHARS + 1), f"at most {MAX_ITEM_REF_CHARS} characters"),
        ("5" * 10_000, f"at most {MAX_ITEM_REF_CHARS} characters, this one has 10000"),
    ],
)
def test_bad_references_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(InvalidItemRef, match=why) as info:
        parse_item_ref(text)
    assert isinstance(info.value, InvalidInput)


@given(st.text(max_size=MAX_ITEM_REF_CHARS * 2))
def test_any_text_parses_to_an_id_or_is_refused(text: str) -> None:
    try:
        item_id = parse_item_ref(text)
    except InvalidItemRef:
        return
    assert parse_item_ref(item_ref(item_id)) == item_id
