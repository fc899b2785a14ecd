"""Transparency report metrics: Gini and Nakamoto coefficients, exact decimals, report contents."""

from __future__ import annotations

from fractions import Fraction

import pytest

from curation.errors import InvalidInput
from curation.report import build_report, decimal_string, gini, nakamoto, render_markdown
from tests.curation.content_helpers import fold_checked
from tests.curation.test_manifest_build import CTX, built
from tests.curation.test_state_fold import story


def test_gini_of_equal_shares_is_zero_and_of_one_holder_among_many_approaches_one() -> None:
    assert gini([5, 5, 5, 5]) == 0
    assert gini([]) == 0
    assert gini([0, 0]) == 0
    assert gini([0, 0, 0, 10]) == Fraction(3, 4)  # (n - 1) / n
    assert gini([100, 300, 600]) == Fraction(1, 3)
    with pytest.raises(InvalidInput):
        gini([-1, 2])


def test_nakamoto_counts_holders_needed_for_a_strict_majority() -> None:
    assert nakamoto([600, 300, 100]) == 1
    assert nakamoto([500, 500]) == 2  # exactly half is not a majority
    assert nakamoto([1] * 10) == 6
    assert nakamoto([]) == 0


def test_decimal_strings_round_half_even_without_floats() -> None:
    assert decimal_string(Fraction(1, 3)) == "0.333333"
    assert decimal_string(Fraction(2, 3)) == "0.666667"
    assert decimal_string(Fraction(1, 2_000_000)) == "0.000000"  # half to even
    assert decimal_string(Fraction(3, 2_000_000)) == "0.000002"


def test_report_lists_exclusions_turnout_concentration_and_revocations() -> None:
    events, store = story()
    state = fold_checked(events, 100, store)
    m = built()
    report = build_report(state, m, None)
    assert [a["item_id"] for a in report["items_added"]] == [r["item_id"] for r in m.items]
    assert report["items_removed"] == []
    assert report["exclusions_by_reason"] == {"duplicate-cid": 1, "revoked": 1}
    (p,) = report["proposals"]
    assert (p["status"], p["turnout"], p["total_supply"]) == ("accepted", "1.000000", "1000")
    (c,) = report["concentration"]
    assert (c["snapshot"], c["holders"], c["gini"], c["nakamoto"]) == (4, 1, "0.000000", 1)
    assert [(r["item_id"], r["in_dataset"]) for r in report["revocations_since_parent"]] == [("2", True)]
    md = render_markdown(report)
    assert "| 1 | include | accepted | 1000 | 0 | 0 | 1000 | 1.000000 |" in md
    # against a parent that had item 2: it is reported removed with the reason from this manifest
    parent_items = [{"item_id": "2", "ref": "item:2", "cid": "bafy"}, *m.items]
    parent_doc = {"state_block": {"number": 5}}
    again = build_report(state, m, parent_doc, parent_items)
    assert again["items_added"] == []
    assert again["items_removed"] == [
        {"item_id": "2", "ref": "item:2", "cid": "bafy", "reason": "revoked", "detail": "revoked in block 6"}
    ]
    assert [r["block"] for r in again["revocations_since_parent"]] == [6]
    later = build_report(state, m, {"state_block": {"number": 6}}, parent_items)
    assert later["revocations_since_parent"] == []
    assert CTX.state_block == 100


def test_markdown_cuts_item_tables_but_says_how_many_rows_the_json_holds() -> None:
    events, store = story()
    state = fold_checked(events, 100, store)
    report = build_report(state, built(), None)
    added = report["items_added"]
    assert len(added) >= 2
    full = render_markdown(report)
    assert all(f"| {a['ref']} |" in full for a in added)
    assert "more: every row" not in full
    cut = render_markdown(report, max_rows=1)
    assert f"| {added[0]['ref']} |" in cut
    assert f"| {added[1]['ref']} |" not in cut
    assert f"... and {len(added) - 1} more: every row is in the JSON report." in cut
