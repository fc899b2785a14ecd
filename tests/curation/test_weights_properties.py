"""Property tests of commons-v1: exact sums, gates, monotonicity, caps, invariances."""

from __future__ import annotations

import dataclasses
import random
from decimal import Context, Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from curation.consent import covers
from curation.licenses import license_allows_use
from curation.weights import WAD, InfeasibleCaps, WeightInputs, WeightResult, compute_weights
from tests.curation.weights_helpers import params_strategy, weight_inputs

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(inp: WeightInputs, params: dict[str, Any] | None = None) -> WeightResult:
    return compute_weights("commons-v1", inp, params)


def outcome(inp: WeightInputs, params: dict[str, Any]) -> WeightResult | str:
    """The result, or the message of the refusal when the caps are infeasible."""
    try:
        return run(inp, params)
    except InfeasibleCaps as exc:
        return str(exc)


def expected_reason(inp: WeightInputs, iid: int) -> str | None:
    """Independent statement of the gates."""
    f = inp.items[iid]
    use = inp.dataset_use
    if iid in inp.removed_item_ids:
        return "removed"
    if f.revoked:
        return "revoked"
    if not covers(f.consent, use):
        return "consent-mismatch"
    if f.consent_expiry != 0 and f.consent_expiry <= inp.state_timestamp:
        return "consent-expired"
    if not f.license_allowed:
        return "license-not-allowlisted"
    if not license_allows_use(f.license_classes, use):
        return "license-not-allowed"
    if f.size == 0:
        return "empty"
    return None


caps_strategy = st.fixed_dictionaries(
    {
        "max_epochs": st.sampled_from([None, "1", "1.5", "3"]),
        "contributor_cap": st.sampled_from([None, "0.25", "0.4", "0.6", "1"]),
    }
)


def with_caps(inp: WeightInputs, base: dict[str, Any], caps: dict[str, Any]) -> dict[str, Any]:
    params = dict(base)
    if caps["max_epochs"] is not None:
        total = sum(f.size for f in inp.items.values())
        params["max_epochs"] = caps["max_epochs"]
        params["budget_bytes"] = max(1, total // 2)  # often feasible, sometimes binding
    if caps["contributor_cap"] is not None:
        params["contributor_cap"] = caps["contributor_cap"]
    return params


@PROPS
@given(weight_inputs(), params_strategy)
def test_weights_sum_to_exactly_one_wad_and_only_eligible_items_weigh(inp: WeightInputs, params: Any) -> None:
    res = run(inp, params)
    included = {i for s in inp.sources for i in s.item_ids}
    eligible = {i for i in included if expected_reason(inp, i) is None}
    assert set(res.items) == eligible
    assert set(res.item_source) == included
    assert res.exclusions == {i: expected_reason(inp, i) for i in sorted(included - eligible)}
    if eligible:
        assert sum(res.items.values()) == WAD
        assert sum(res.contributors.values()) == WAD
    else:
        assert res.items == {}
    assert all(w >= 0 for w in res.items.values())
    assert sum(s.weight for s in res.sources) == sum(res.items.values())
    for s in res.sources:
        assert s.weight == sum(w for i, w in res.items.items() if res.item_source[i] == s.proposal_id)
    # each item counts in the earliest accepted source that includes it
    first: dict[int, int] = {}
    for src in sorted(inp.sources, key=lambda src: src.order_key):
        for i in src.item_ids:
            first.setdefault(i, src.proposal_id)
    assert res.item_source == first
    # contributor totals are the sums of their items
    totals: dict[str, int] = {}
    for i, w in res.items.items():
        owner = inp.items[i].contributor
        totals[owner] = totals.get(owner, 0) + w
    assert res.contributors == totals


@PROPS
@given(weight_inputs(), params_strategy, st.data())
def test_gated_items_weigh_exactly_zero_whatever_else_happens(
    inp: WeightInputs, params: Any, data: Any
) -> None:
    # Turn one included item ineligible in a random way: it must drop out and nothing else may weigh it.
    included = sorted({i for s in inp.sources for i in s.item_ids})
    iid = data.draw(st.sampled_from(included))
    how = data.draw(st.sampled_from(["removed", "revoked", "consent-expired", "consent-mismatch", "license"]))
    f = inp.items[iid]
    items = dict(inp.items)
    removed = inp.removed_item_ids
    if how == "removed":
        removed = removed | {iid}
    elif how == "revoked":
        items[iid] = dataclasses.replace(f, revoked=True)
    elif how == "consent-expired":
        items[iid] = dataclasses.replace(f, consent_expiry=inp.state_timestamp)
    elif how == "consent-mismatch":
        items[iid] = dataclasses.replace(f, consent=f.consent & ~inp.dataset_use & 0xFFFF)
    else:
        items[iid] = dataclasses.replace(f, license_allowed=False)
    res = run(dataclasses.replace(inp, items=items, removed_item_ids=removed), params)
    assert iid not in res.items
    assert iid in res.exclusions


@PROPS
@given(weight_inputs(gated=False), params_strategy, caps_strategy, st.data())
def test_more_for_votes_never_lower_a_source_weight(
    inp: WeightInputs, params: Any, caps: Any, data: Any
) -> None:
    """Exact property: with everything else equal (supply included), adding For votes to one source never
    lowers its exact weight; its integer weight never drops either without caps, and by at most one wei per
    rounding cell (source, or source x contributor) with caps, where the others can pass it in rounding."""
    params = with_caps(inp, params, caps)
    try:
        before = run(inp, params)
    except InfeasibleCaps:
        assume(False)
        raise
    j = data.draw(st.integers(0, len(inp.sources) - 1))
    src = inp.sources[j]
    room = src.total_supply - src.for_votes - src.against_votes - src.abstain_votes
    delta = data.draw(st.integers(0, room))
    # also try moving Against votes to For
    moved = data.draw(st.integers(0, src.against_votes))
    new = dataclasses.replace(
        src, for_votes=src.for_votes + delta + moved, against_votes=src.against_votes - moved
    )
    sources = list(inp.sources)
    sources[j] = new
    after = outcome(dataclasses.replace(inp, sources=tuple(sources)), params)
    # both caps together can stall progressive filling, and whether they do depends on the weights
    assume(isinstance(after, WeightResult))
    assert isinstance(after, WeightResult)
    b = {s.proposal_id: s for s in before.sources}[src.proposal_id]
    a = {s.proposal_id: s for s in after.sources}[src.proposal_id]
    assert Decimal(a.score) >= Decimal(b.score)
    assert Decimal(a.exact_weight) >= Decimal(b.exact_weight)
    if caps["max_epochs"] is None and caps["contributor_cap"] is None:
        assert a.weight >= b.weight
    else:
        cells = len({inp.items[i].contributor for i, p in after.item_source.items() if p == src.proposal_id})
        assert a.weight >= b.weight - cells


@PROPS
@given(weight_inputs(), params_strategy, caps_strategy)
def test_caps_hold_or_are_refused(inp: WeightInputs, params: Any, caps: Any) -> None:
    params = with_caps(inp, params, caps)
    try:
        res = run(inp, params)
    except InfeasibleCaps:
        assume(False)
        raise
    owners_per_source: dict[int, set[str]] = {}
    for i, p in res.item_source.items():
        if i in res.items:
            owners_per_source.setdefault(p, set()).add(inp.items[i].contributor)
    if "max_epochs" in params:
        budget, max_epochs = Decimal(params["budget_bytes"]), Decimal(params["max_epochs"])
        for s in res.sources:
            slack = len(owners_per_source.get(s.proposal_id, ())) if "contributor_cap" in params else 1
            with localcontext(Context(prec=80)):  # exact enough to compare 30-place strings
                cap = max_epochs * s.eligible_bytes / budget
                assert Decimal(s.exact_weight) <= cap + Decimal("1e-29")
                assert s.weight <= cap * WAD + slack
    if "contributor_cap" in params:
        cap = Decimal(params["contributor_cap"]) * WAD
        for owner, total in res.contributors.items():
            cells = sum(owner in o for o in owners_per_source.values())
            assert total <= cap + cells


@PROPS
@given(weight_inputs(), params_strategy, caps_strategy, st.integers(2, 10**30))
def test_scaling_all_token_amounts_changes_nothing(inp: WeightInputs, params: Any, caps: Any, c: int) -> None:
    params = with_caps(inp, params, caps)
    scaled = tuple(
        dataclasses.replace(
            s,
            for_votes=s.for_votes * c,
            against_votes=s.against_votes * c,
            abstain_votes=s.abstain_votes * c,
            total_supply=s.total_supply * c,
        )
        for s in inp.sources
    )
    assert outcome(dataclasses.replace(inp, sources=scaled), params) == outcome(inp, params)


@PROPS
@given(weight_inputs(), params_strategy, caps_strategy, st.randoms(use_true_random=False))
def test_presentation_order_changes_nothing(
    inp: WeightInputs, params: Any, caps: Any, rnd: random.Random
) -> None:
    params = with_caps(inp, params, caps)
    sources = [
        dataclasses.replace(s, item_ids=tuple(rnd.sample(s.item_ids, len(s.item_ids)))) for s in inp.sources
    ]
    rnd.shuffle(sources)
    keys = list(inp.items)
    rnd.shuffle(keys)
    shuffled = WeightInputs(
        inp.dataset_use,
        inp.state_timestamp,
        tuple(sources),
        frozenset(sorted(inp.removed_item_ids, reverse=True)),
        {k: inp.items[k] for k in keys},
    )
    res = outcome(inp, params)
    again = outcome(shuffled, params)
    assert again == res
    if isinstance(again, WeightResult):
        assert list(again.items) == sorted(again.items)
