"""Hand-computed examples, gates, parameters and the registry of curation.weights."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pytest

from curation.consent import Consent
from curation.errors import CurationError, InvalidInput
from curation.licenses import LicenseClass
from curation.weights import (
    WAD,
    CommonsV1,
    InfeasibleCaps,
    ItemFacts,
    SourceFacts,
    UnknownScheme,
    WeightInputs,
    available_schemes,
    compute_weights,
    get_scheme,
    register_scheme,
)
from tests.curation.weights_helpers import FLAT, NOW, OWNERS, USE, inputs, item, source

A, B, C = OWNERS[:3]
LIST_IDS: Any = [1]  # a list where a tuple belongs


def run(inp: WeightInputs, params: dict[str, Any] | None = None) -> Any:
    return compute_weights("commons-v1", inp, params)


def test_bytes_proportional_example_with_largest_remainder_ties_by_item_id() -> None:
    # alpha=1, eta=0, eps=0: weights are proportional to bytes. Source 1 holds 2 of 3 bytes.
    res = run(inputs([source(1, (7, 3)), source(2, (5,))], [item(7, 1), item(3, 1), item(5, 1)]), FLAT)
    # sources: 2/3 and 1/3 of 10**18 -> 666..666.67 and 333..333.33; the one unit left goes to source 1
    assert [s.weight for s in res.sources] == [666666666666666667, 333333333333333333]
    # within source 1: 666..667 / 2 = 333..333.5 each; the tie goes to the smaller item id (3)
    assert res.items == {3: 333333333333333334, 5: 333333333333333333, 7: 333333333333333333}
    assert sum(res.items.values()) == WAD
    assert res.item_source == {3: 1, 5: 2, 7: 1}
    assert res.exclusions == {}


def test_items_split_by_size_within_a_source() -> None:
    res = run(inputs([source(1, (1, 2))], [item(1, 1), item(2, 2)]), FLAT)
    # 1/3 -> 333..333.33, 2/3 -> 666..666.67: the unit left goes to the larger remainder (item 2)
    assert res.items == {1: 333333333333333333, 2: 666666666666666667}


def test_score_uses_prior_in_units_of_snapshot_supply() -> None:
    # m = 1000 bps of 1000 = 100 votes: s = (30 + 50) / (30 + 10 + 100) = 4/7
    res = run(inputs([source(1, (1,), f=30, a=10, supply=1000)], [item(1, 5)]), {"prior_strength_bps": 1000})
    assert res.sources[0].score == "0.571428571428571429"
    # no votes and no prior: neutral score 1/2
    res = run(inputs([source(1, (1,))], [item(1, 5)]), {"prior_strength_bps": 0})
    assert res.sources[0].score == "0.500000000000000000"


def test_approval_tilt_matches_hand_formula() -> None:
    # equal bytes, s1 = 1, s2 = 0 (no prior): r1 / r2 = exp(4 * 1/2) / exp(-4 * 1/2) = e**4
    # w1 = e^4 / (1 + e^4); with floor eps = 0.1 over k = 2: 0.9 * w1 + 0.05
    inp = inputs([source(1, (1,), f=10), source(2, (2,), a=10)], [item(1, 100), item(2, 100)])
    res = run(inp, {"prior_strength_bps": 0, "floor_eps": "0.1"})
    with localcontext() as ctx:
        ctx.prec = 80
        e4 = Decimal(4).exp()
        w1 = Decimal("0.9") * e4 / (1 + e4) + Decimal("0.05")
    expected = int((w1 * WAD).to_integral_value())
    assert abs(res.sources[0].weight - expected) <= 1
    assert res.sources[0].weight + res.sources[1].weight == WAD
    assert res.sources[0].exact_weight.startswith(str(w1)[:28])


def test_alpha_flattens_bytes() -> None:
    # eta = 0, eps = 0: w proportional to n**alpha; 4x the bytes at alpha 0.5 is 2x the weight
    inp = inputs([source(1, (1,)), source(2, (2,))], [item(1, 400), item(2, 100)])
    res = run(inp, {"alpha": "0.5", "eta": 0, "floor_eps": 0})
    assert [s.weight for s in res.sources] == [666666666666666667, 333333333333333333]


def test_floor_eps_one_gives_every_source_the_same_weight() -> None:
    inp = inputs([source(1, (1,), f=100), source(2, (2,), a=50)], [item(1, 10**6), item(2, 1)])
    res = run(inp, {"floor_eps": 1})
    assert [s.weight for s in res.sources] == [WAD // 2, WAD // 2]


def test_item_in_several_sources_counts_once_in_the_earliest_accepted() -> None:
    # proposal 9 was accepted first (order 1) even though it is listed last
    inp = inputs(
        [source(1, (1, 2), order=5), source(9, (2, 3), order=1)], [item(1, 10), item(2, 10), item(3, 10)]
    )
    res = run(inp, FLAT)
    assert res.item_source == {1: 1, 2: 9, 3: 9}
    by_pid = {s.proposal_id: s for s in res.sources}
    assert by_pid[9].eligible_bytes == 20
    assert by_pid[1].eligible_bytes == 10
    assert [s.proposal_id for s in res.sources] == [9, 1]  # acceptance order
    assert 2 not in res.exclusions


def test_tuple_accepted_order_is_block_then_log_index() -> None:
    inp = inputs(
        [
            SourceFacts(1, 0, 0, 0, (10, 5), (1,), 0),
            SourceFacts(2, 0, 0, 0, (10, 2), (1,), 0),
        ],
        [item(1, 10)],
    )
    assert run(inp).item_source == {1: 2}


def test_each_gate_excludes_with_its_reason_and_zero_weight() -> None:
    items = [
        item(1, 10),
        item(2, 10),  # removed
        item(3, 10, revoked=True),
        item(4, 10, consent=int(Consent.TRAIN)),  # no COMMERCIAL
        item(5, 10, expiry=NOW),  # expires exactly at the state timestamp
        item(6, 10, allowed=False),
        item(7, 10, classes=int(LicenseClass.ATTRIBUTION)),  # non-commercial license, commercial use
        item(8, 0),
        item(9, 10, expiry=NOW + 1),  # still valid
    ]
    res = run(inputs([source(1, tuple(range(1, 10)))], items, frozenset({2})))
    assert res.exclusions == {
        2: "removed",
        3: "revoked",
        4: "consent-mismatch",
        5: "consent-expired",
        6: "license-not-allowlisted",
        7: "license-not-allowed",
        8: "empty",
    }
    assert set(res.items) == {1, 9}
    assert res.items[1] == res.items[9] == WAD // 2
    assert res.item_source == dict.fromkeys(range(1, 10), 1)


def test_first_failing_gate_is_reported() -> None:
    res = run(inputs([source(1, (1,))], [item(1, 10, revoked=True, allowed=False)], frozenset({1})))
    assert res.exclusions == {1: "removed"}


def test_no_eligible_item_gives_empty_weights() -> None:
    res = run(inputs([source(1, (1,), f=5)], [item(1, 10, revoked=True)]))
    assert res.items == {}
    assert res.contributors == {}
    assert res.sources[0].weight == 0
    assert run(inputs([], [])).items == {}


def test_epoch_cap_by_water_filling() -> None:
    # base weights ~0.98 / 0.02 (s = 1 vs 0); each source 100 bytes, budget 200 bytes, max 1.2 epochs:
    # cap per source = 1.2 * 100 / 200 = 0.6, so the result is exactly 0.6 / 0.4
    inp = inputs([source(1, (1,), f=10), source(2, (2,), a=10)], [item(1, 100), item(2, 100)])
    res = run(inp, {"prior_strength_bps": 0, "budget_bytes": 200, "max_epochs": "1.2"})
    assert [s.weight for s in res.sources] == [6 * 10**17, 4 * 10**17]


def test_contributor_cap_by_water_filling() -> None:
    inp = inputs([source(1, (1, 2))], [item(1, 3, A), item(2, 1, B)])
    res = run(inp, {**FLAT, "contributor_cap": "0.6"})
    assert res.contributors == {A: 6 * 10**17, B: 4 * 10**17}
    assert res.items == {1: 6 * 10**17, 2: 4 * 10**17}


def test_contributor_cap_redistributes_across_sources() -> None:
    # A: 3 of 4 bytes overall (source 1 and 2), B and C one byte each in source 2 and 3
    inp = inputs(
        [source(1, (1,)), source(2, (2, 3)), source(3, (4,))],
        [item(1, 4, A), item(2, 2, A), item(3, 1, B), item(4, 1, C)],
    )
    res = run(inp, {**FLAT, "contributor_cap": "0.5"})
    assert res.contributors[A] == WAD // 2
    # the other half goes to B and C in proportion to their base weights (1:1)
    assert res.contributors[B] == res.contributors[C] == WAD // 4
    # A's two items keep their 4:2 ratio (1/3 and 1/6, up to one wei of rounding each)
    assert res.items[1] == 333333333333333333
    assert res.items[2] == 166666666666666667


def test_infeasible_contributor_cap_raises_with_the_minimum() -> None:
    inp = inputs([source(1, (1, 2))], [item(1, 3, A), item(2, 1, B)])
    with pytest.raises(InfeasibleCaps, match=r"contributor_cap=0\.4 with 2 eligible contributors.*1/2"):
        run(inp, {"contributor_cap": "0.4"})
    assert run(inp, {"contributor_cap": "0.5"}).contributors == {A: WAD // 2, B: WAD // 2}


def test_infeasible_epoch_cap_raises_with_the_minimum() -> None:
    inp = inputs([source(1, (1,)), source(2, (2,))], [item(1, 100), item(2, 100)])
    with pytest.raises(InfeasibleCaps, match=r"max_epochs=2 .* needs at least 5\.0+ epochs"):
        run(inp, {"budget_bytes": 1000, "max_epochs": 2})
    res = run(inp, {"budget_bytes": 1000, "max_epochs": 5})  # exactly tight: everyone at 5 epochs
    assert [s.weight for s in res.sources] == [WAD // 2, WAD // 2]


def test_caps_that_stall_progressive_filling_raise() -> None:
    # S1 = {A: 20 bytes}, S2 = {A: 10, B: 10}; caps 0.5 per source and per contributor. A fills first and
    # freezes part of S2 below what B could take: filling stops at 5/6, so the scheme refuses.
    inp = inputs([source(1, (1,)), source(2, (2, 3))], [item(1, 20, A), item(2, 10, A), item(3, 10, B)])
    with pytest.raises(InfeasibleCaps, match="caps infeasible together"):
        run(inp, {**FLAT, "budget_bytes": 40, "max_epochs": 1, "contributor_cap": "0.5"})


def test_params_are_canonical_in_the_result() -> None:
    res = run(
        inputs([source(1, (1,))], [item(1, 10)]),
        {"alpha": "0.50", "eta": 4.0, "budget_bytes": "10", "max_epochs": 1},
    )
    assert res.scheme_id == "commons-v1"
    assert res.params == {
        "alpha": "0.5",
        "eta": "4",
        "prior_strength_bps": "100",
        "floor_eps": "0.05",
        "budget_bytes": "10",
        "max_epochs": "1",
        "contributor_cap": None,
    }
    # the canonical params reproduce the same result
    again = run(inputs([source(1, (1,))], [item(1, 10)]), res.params)
    assert again == res


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"alpha": "1.5"}, r"alpha='1\.5'.*0 <= alpha <= 1"),
        ({"alpha": "-0.1"}, r"alpha='-0\.1'"),
        ({"eta": 21}, r"eta=21.*0 <= eta <= 20"),
        ({"floor_eps": "2"}, r"floor_eps='2'.*0 <= floor_eps <= 1"),
        ({"prior_strength_bps": 10_001}, r"prior_strength_bps=10001.*<= 10000"),
        ({"prior_strength_bps": "1.5"}, "prior_strength_bps"),
        ({"contributor_cap": 0}, r"contributor_cap=0.*0 < contributor_cap <= 1"),
        ({"contributor_cap": "1.01"}, "contributor_cap"),
        ({"max_epochs": 2}, "budget_bytes and max_epochs enable the epoch cap together"),
        ({"budget_bytes": 0, "max_epochs": 1}, r"budget_bytes=0.*integer >= 1"),
        ({"budget_bytes": 10, "max_epochs": 0}, r"max_epochs=0"),
        ({"alpha": "NaN"}, "alpha"),
        ({"alpha": "0.1234567890123456789"}, "alpha"),  # more than 18 decimal places
        ({"temperature": 1}, r"temperature=1.*known parameters: alpha"),
    ],
)
def test_bad_parameters_are_rejected_with_name_value_and_range(params: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        get_scheme("commons-v1").canonical_params(params)


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: item(-1, 1), r"item_id must be >= 0, got -1"),
        (lambda: item(1, -5), r"size of item 1 must be >= 0, got -5"),
        (lambda: item(1, 1, "0xABC"), "lowercase 0x address"),
        (lambda: item(1, 1, "0x" + "A" * 40), "lowercase 0x address"),
        (lambda: item(1, 1, consent=1 << 16), r"consent of item 1 must be >= 0 and < 65536"),
        (lambda: SourceFacts(1, 5, 5, 0, 1, (1,), 9), r"votes cast \(10\) exceed total_supply.*\(9\)"),
        (lambda: SourceFacts(1, -1, 0, 0, 1, (1,), 9), "for_votes of proposal 1 must be >= 0"),
        (lambda: SourceFacts(1, 0, 0, 0, (), (1,), 9), "accepted_order of proposal 1 must not be empty"),
        (lambda: SourceFacts(1, 0, 0, 0, 1, LIST_IDS, 9), "item_ids of proposal 1 must be a tuple"),
        (lambda: inputs([source(1, (1,)), source(1, (2,), order=7)], []), "proposal 1 appears twice"),
        (lambda: inputs([source(1, (1,), order=3), source(2, (2,), order=3)], []), "share accepted_order 3"),
        (lambda: WeightInputs(1 << 16, NOW, (), frozenset(), {}), "dataset_use must be >= 0 and < 65536"),
    ],
)
def test_bad_facts_are_rejected(build: Any, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        build()


def test_missing_item_facts_are_an_input_error() -> None:
    with pytest.raises(InvalidInput, match=r"proposal 1 includes item 2, but inputs\.items has no facts"):
        run(inputs([source(1, (1, 2))], [item(1, 1)]))
    inp = WeightInputs(USE, NOW, (source(1, (1,)),), frozenset(), {1: item(2, 1)})
    with pytest.raises(InvalidInput, match=r"inputs.items\[1\] holds the facts of item 2"):
        run(inp)


def test_registry_knows_commons_v1_and_refuses_replacement() -> None:
    assert "commons-v1" in available_schemes()
    scheme = get_scheme("commons-v1")
    assert isinstance(scheme, CommonsV1)
    assert register_scheme(scheme) is scheme  # idempotent for the same object
    with pytest.raises(CurationError, match="already registered"):
        register_scheme(CommonsV1())
    with pytest.raises(UnknownScheme, match=r"unknown weight scheme 'commons-v9'; registered: .*commons-v1"):
        get_scheme("commons-v9")


def test_a_new_scheme_is_added_beside_commons_v1() -> None:
    class Uniform(CommonsV1):
        scheme_id = "test-uniform-v1"  # type: ignore[misc]

        def compute(self, inputs: WeightInputs, params: Any = None) -> Any:
            return super().compute(inputs, {"floor_eps": 1})

    register_scheme(Uniform())
    inp = inputs([source(1, (1,), f=9), source(2, (2,))], [item(1, 1), item(2, 1000)])
    assert [s.weight for s in compute_weights("test-uniform-v1", inp).sources] == [WAD // 2] * 2
    assert compute_weights("commons-v1", inp).sources[0].weight != WAD // 2


def test_to_dict_is_plain_data() -> None:
    d = run(inputs([source(1, (1, 2))], [item(1, 1), item(2, 1, revoked=True)])).to_dict()
    assert d["items"] == {"1": WAD}
    assert d["exclusions"] == {"2": "revoked"}
    assert d["sources"][0]["weight"] == WAD
    assert isinstance(ItemFacts, type)
