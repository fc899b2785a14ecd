"""Builders and hypothesis strategies shared by the weight tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from curation.consent import Consent
from curation.licenses import LicenseClass
from curation.weights import ItemFacts, SourceFacts, WeightInputs

USE = int(Consent.TRAIN | Consent.COMMERCIAL)
NOW = 1_700_000_000
OWNERS = [f"0x{i:040x}" for i in range(1, 9)]
FULL = 0x3F


def item(
    iid: int,
    size: int,
    owner: str = OWNERS[0],
    *,
    consent: int = FULL,
    expiry: int = 0,
    revoked: bool = False,
    classes: int = int(LicenseClass.COMMERCIAL_USE),
    allowed: bool = True,
) -> ItemFacts:
    return ItemFacts(iid, size, classes, allowed, owner, consent, expiry, revoked)


def source(
    pid: int,
    ids: tuple[int, ...],
    f: int = 0,
    a: int = 0,
    ab: int = 0,
    order: int | None = None,
    supply: int = 0,
) -> SourceFacts:
    return SourceFacts(pid, f, a, ab, pid if order is None else order, ids, max(supply, f + a + ab))


def inputs(
    sources: list[SourceFacts], items: list[ItemFacts], removed: frozenset[int] = frozenset()
) -> WeightInputs:
    return WeightInputs(USE, NOW, tuple(sources), removed, {i.item_id: i for i in items})


# Plain proportional-to-bytes weights: easy to compute by hand.
FLAT: dict[str, Any] = {"alpha": 1, "eta": 0, "floor_eps": 0, "prior_strength_bps": 0}


_KINDS = ["ok"] * 6 + ["revoked", "mismatch", "expired", "nc", "delisted"]


@st.composite
def item_facts(draw: st.DrawFn, iid: int, gated: bool = True) -> ItemFacts:
    """Mostly eligible items; with `gated`, some fail one of the gates."""
    kind = draw(st.sampled_from(_KINDS)) if gated else "ok"
    size, owner, variant = draw(
        st.tuples(st.integers(1, 10_000), st.sampled_from(OWNERS[:5]), st.integers(0, 2))
    )
    return item(
        iid,
        size,
        owner,
        consent=int(Consent.TRAIN) if kind == "mismatch" else (FULL, USE, USE | 4)[variant],
        expiry=(NOW - 1, NOW, NOW)[variant] if kind == "expired" else (0, NOW + 1, 0)[variant],
        revoked=kind == "revoked",
        classes=int(LicenseClass.ATTRIBUTION) if kind == "nc" else int(LicenseClass.COMMERCIAL_USE | 4),
        allowed=kind != "delisted",
    )


@st.composite
def weight_inputs(draw: st.DrawFn, gated: bool = True, max_sources: int = 5) -> WeightInputs:
    n_items = draw(st.integers(1, 16))
    items = [draw(item_facts(i, gated)) for i in range(1, n_items + 1)]
    n_sources = draw(st.integers(1, max_sources))
    orders = draw(st.lists(st.integers(0, 10**6), min_size=n_sources, max_size=n_sources, unique=True))
    sources = []
    for j in range(n_sources):
        ids = tuple(draw(st.lists(st.integers(1, n_items), min_size=1, max_size=8)))
        f = draw(st.integers(0, 10**6))
        a = draw(st.integers(0, 10**6))
        ab = draw(st.integers(0, 10**5))
        # headroom in the supply, so For votes can grow with everything else equal
        supply = f + a + ab + draw(st.integers(0, 10**7))
        sources.append(SourceFacts(100 + j, f, a, ab, (orders[j], j % 3), ids, supply))
    removed = frozenset(draw(st.lists(st.integers(1, n_items), max_size=3))) if gated else frozenset()
    return WeightInputs(USE, NOW, tuple(sources), removed, {i.item_id: i for i in items})


params_strategy = st.fixed_dictionaries(
    {
        "alpha": st.sampled_from(["0", "0.3", "0.7", "1"]),
        "eta": st.sampled_from(["0", "1", "4", "12.5"]),
        "floor_eps": st.sampled_from(["0", "0.05", "0.5", "1"]),
        "prior_strength_bps": st.sampled_from([0, 1, 100, 10_000]),
    }
)
