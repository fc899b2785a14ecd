"""Weight scheme `commons-v1`: gates, vote-tilted temperature weights, floor, water-filled caps."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from itertools import groupby
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curation.errors import InvalidInput
from curation.weights.base import (
    WAD,
    InfeasibleCaps,
    SourceWeight,
    WeightInputs,
    WeightResult,
    eligibility_problem,
    register_scheme,
)

__all__ = ["DECIMAL_CONTEXT", "SCHEME_ID", "CommonsV1", "CommonsV1Params"]

SCHEME_ID: Final = "commons-v1"

#: The one arithmetic context of the scheme. exp and ln are correctly rounded (always half-even) and
#: + - * / are correctly rounded to `prec` digits, so every platform computes the same digits.
DECIMAL_CONTEXT: Final = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_SCORE_PLACES: Final = Decimal("1e-18")
_EXACT_PLACES: Final = Decimal("1e-30")
# Progressive filling may end with every cell frozen a few ulps short of 1 when the caps are exactly
# tight (e.g. contributor_cap * contributors == 1); below this gap that counts as "sums to one".
_FILL_TOLERANCE: Final = Decimal("1e-40")
_BPS: Final = 10_000
_LR_SHIFT: Final = 48  # wad (18 places) + 30 places of remainder
_LR_UNIT: Final = 10**30

_RANGES: Final = {
    "alpha": "0 <= alpha <= 1",
    "eta": "0 <= eta <= 20",
    "prior_strength_bps": "integer, 0 <= prior_strength_bps <= 10000",
    "floor_eps": "0 <= floor_eps <= 1",
    "budget_bytes": "integer >= 1, or null (no epoch cap); set together with max_epochs",
    "max_epochs": "0 < max_epochs <= 1000000, or null (no epoch cap); set together with budget_bytes",
    "contributor_cap": "0 < contributor_cap <= 1, or null (no contributor cap)",
}


class CommonsV1Params(BaseModel):
    """Parameters of commons-v1; see docs/weights.md for the reason behind each default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpha: Decimal = Field(Decimal("0.7"), ge=0, le=1, max_digits=30, decimal_places=18)
    eta: Decimal = Field(Decimal("4"), ge=0, le=20, max_digits=30, decimal_places=18)
    prior_strength_bps: int = Field(100, ge=0, le=_BPS)
    floor_eps: Decimal = Field(Decimal("0.05"), ge=0, le=1, max_digits=30, decimal_places=18)
    budget_bytes: int | None = Field(None, ge=1)
    max_epochs: Decimal | None = Field(None, gt=0, le=1_000_000, max_digits=30, decimal_places=18)
    contributor_cap: Decimal | None = Field(None, gt=0, le=1, max_digits=30, decimal_places=18)

    @model_validator(mode="after")
    def _epoch_cap_pair(self) -> CommonsV1Params:
        if (self.budget_bytes is None) != (self.max_epochs is None):
            raise ValueError(
                "budget_bytes and max_epochs enable the epoch cap together: set both or neither "
                f"(got budget_bytes={self.budget_bytes}, max_epochs={self.max_epochs})"
            )
        return self

    def canonical(self) -> dict[str, str | None]:
        """Every parameter as a canonical decimal string (None when off), in a fixed key order."""
        return {name: None if value is None else _canon(value) for name, value in self}


def _canon(value: object) -> str:
    if isinstance(value, Decimal):
        return "0" if value == 0 else format(value.normalize(), "f")
    return str(value)


def _parse(params: Mapping[str, object] | None) -> CommonsV1Params:
    if params is None:
        return CommonsV1Params()
    if not isinstance(params, Mapping):
        raise InvalidInput(f"{SCHEME_ID} parameters must be a mapping, got {type(params).__name__}")
    try:
        return CommonsV1Params.model_validate(dict(params))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "parameters"
            allowed = _RANGES.get(name)
            hint = f" (allowed: {allowed})" if allowed else f" (known parameters: {', '.join(_RANGES)})"
            got = f"{name}={err['input']!r}" if err["loc"] else "parameters"
            problems.append(f"{got}: {err['msg']}{hint}")
        raise InvalidInput(f"invalid {SCHEME_ID} parameters: " + "; ".join(problems)) from None


@dataclass(slots=True)
class _Source:
    proposal_id: int
    score: Decimal
    ids: list[int]
    sizes: list[int]
    owners: list[str]
    nbytes: int = 0


@dataclass(slots=True)
class _Cells:
    """Allocation units in parallel lists: a whole source, or with the contributor cap one contributor's
    part of a source. Cells are ordered by source (acceptance order), then contributor address."""

    src: list[int] = field(default_factory=list)  # index into the active sources
    owner: list[str] = field(default_factory=list)  # "" for a whole-source cell
    nbytes: list[int] = field(default_factory=list)
    tie: list[int] = field(default_factory=list)  # smallest item id: rounding ties go to the smaller id
    pos: list[list[int] | None] = field(default_factory=list)  # positions in the source; None = all
    start: list[int] = field(default_factory=list)  # first cell of each active source, then len(cells)


class CommonsV1:
    """The `commons-v1` scheme (stateless; one registered instance)."""

    scheme_id: Final = SCHEME_ID

    def canonical_params(self, params: Mapping[str, object] | None = None) -> dict[str, str | None]:
        """Validated parameters, defaults filled in, as canonical strings."""
        return _parse(params).canonical()

    def compute(self, inputs: WeightInputs, params: Mapping[str, object] | None = None) -> WeightResult:
        """Apply the gates, then steps 1-5 of docs/weights.md, "Scheme `commons-v1`"."""
        if not isinstance(inputs, WeightInputs):
            raise InvalidInput(f"inputs must be WeightInputs, got {type(inputs).__name__}")
        canon = _parse(params).canonical()
        with localcontext(DECIMAL_CONTEXT):
            return _compute(inputs, canon)


def _dec(canon: Mapping[str, str | None], name: str) -> Decimal:
    value = canon[name]
    assert value is not None
    return Decimal(value)


def _compute(inputs: WeightInputs, canon: dict[str, str | None]) -> WeightResult:
    # Parameters are read back from their canonical strings, so a manifest's params recompute the same.
    alpha, eta, eps = _dec(canon, "alpha"), _dec(canon, "eta"), _dec(canon, "floor_eps")
    bps = int(_dec(canon, "prior_strength_bps"))
    per_owner = canon["contributor_cap"] is not None
    sources, item_source, exclusions = _gate(inputs, bps)

    active = [s for s in sources if s.nbytes > 0]
    cells = _make_cells(active, per_owner)
    weights: list[Decimal] = []
    if active:
        base = _source_weights(active, alpha, eta, eps)
        if per_owner:
            factor = [b / s.nbytes for b, s in zip(base, active, strict=True)]
            x = [factor[si] * nb for si, nb in zip(cells.src, cells.nbytes, strict=True)]
        else:
            x = base
        weights = _apply_caps(x, cells, active, canon)
        del x
    wads = _to_wads(weights, cells.tie)

    item_weights: list[tuple[int, int]] = []
    contributors: dict[str, int] = {}
    source_wad = [0] * len(active)
    source_exact = [Decimal(0)] * len(active)
    for ci, wad in enumerate(wads):
        si = cells.src[ci]
        act = active[si]
        source_wad[si] += wad
        source_exact[si] += weights[ci]
        positions = cells.pos[ci]
        if positions is None:
            positions = list(range(len(act.ids)))
        if per_owner:
            owner = cells.owner[ci]
            contributors[owner] = contributors.get(owner, 0) + wad
            _split_by_size(act, positions, cells.nbytes[ci], wad, item_weights)
        else:
            first = len(item_weights)
            _split_by_size(act, positions, cells.nbytes[ci], wad, item_weights)
            for pos, (_, w) in zip(positions, item_weights[first:], strict=True):
                owner = act.owners[pos]
                contributors[owner] = contributors.get(owner, 0) + w

    by_pid = {s.proposal_id: i for i, s in enumerate(active)}
    out_sources = []
    for s in sources:
        i = by_pid.get(s.proposal_id)
        out_sources.append(
            SourceWeight(
                proposal_id=s.proposal_id,
                score=str(s.score.quantize(_SCORE_PLACES)),
                eligible_items=len(s.ids),
                eligible_bytes=s.nbytes,
                weight=0 if i is None else source_wad[i],
                exact_weight=str((Decimal(0) if i is None else source_exact[i]).quantize(_EXACT_PLACES)),
            )
        )
    item_weights.sort()
    return WeightResult(
        scheme_id=SCHEME_ID,
        params=canon,
        sources=tuple(out_sources),
        items=dict(item_weights),
        item_source=dict(sorted(item_source.items())),
        exclusions=dict(sorted(exclusions.items())),
        contributors=dict(sorted(contributors.items())),
    )


def _gate(inputs: WeightInputs, bps: int) -> tuple[list[_Source], dict[int, int], dict[int, str]]:
    """Sources in acceptance order with their eligible items; each item counted in its earliest source."""
    use, now, removed, facts = (
        int(inputs.dataset_use),  # a plain int: IntFlag arithmetic is ~10x slower per item
        inputs.state_timestamp,
        inputs.removed_item_ids,
        inputs.items,
    )
    license_ok: dict[int, bool] = {}  # memo: license_allows_use is pure and there are 256 class masks
    item_source: dict[int, int] = {}
    exclusions: dict[int, str] = {}
    sources: list[_Source] = []
    half = Decimal(1) / 2
    for src in sorted(inputs.sources, key=lambda s: (s.order_key, s.proposal_id)):
        pid = src.proposal_id
        # Score with a prior worth prior_strength_bps of the snapshot supply, in integers first:
        # s = (F + m/2) / (F + A + m), m = bps * supply / 10000. Scaling every token amount by c scales
        # numerator and denominator by c, and a correctly rounded quotient depends only on their ratio.
        num = 2 * _BPS * src.for_votes + bps * src.total_supply
        den = 2 * _BPS * (src.for_votes + src.against_votes) + 2 * bps * src.total_supply
        entry = _Source(pid, Decimal(num) / Decimal(den) if den else half, [], [], [])
        ids, sizes, owners = entry.ids, entry.sizes, entry.owners
        for iid in src.item_ids:
            if iid in item_source:
                continue  # already counted in an earlier accepted source (or twice in this one)
            item_source[iid] = pid
            item = facts.get(iid)
            if item is None:
                raise InvalidInput(
                    f"proposal {pid} includes item {iid}, but inputs.items has no facts for it"
                )
            if item.item_id != iid:
                raise InvalidInput(f"inputs.items[{iid}] holds the facts of item {item.item_id}")
            why = "removed" if iid in removed else eligibility_problem(item, use, now, license_ok)
            if why is not None:
                exclusions[iid] = why
            else:
                ids.append(iid)
                sizes.append(item.size)
                owners.append(item.contributor)
                entry.nbytes += item.size
        sources.append(entry)
    return sources, item_source, exclusions


def _source_weights(active: Sequence[_Source], alpha: Decimal, eta: Decimal, eps: Decimal) -> list[Decimal]:
    """Steps 2-3: r = n^alpha * exp(eta (s - 1/2)) as one exp of a sum, normalise, floor."""
    half = Decimal(1) / 2
    raw = [(alpha * Decimal(s.nbytes).ln() + eta * (s.score - half)).exp() for s in active]
    total = sum(raw, Decimal(0))
    k = len(active)
    lift = eps / k
    keep = 1 - eps
    return [keep * (r / total) + lift for r in raw]


def _make_cells(active: Sequence[_Source], per_owner: bool) -> _Cells:
    cells = _Cells()
    for si, s in enumerate(active):
        cells.start.append(len(cells.src))
        if not per_owner:
            cells.src.append(si)
            cells.owner.append("")
            cells.nbytes.append(s.nbytes)
            cells.tie.append(min(s.ids))
            cells.pos.append(None)
            continue
        owners, ids, sizes = s.owners, s.ids, s.sizes
        perm = sorted(range(len(ids)), key=owners.__getitem__)
        for owner, group in groupby(perm, key=owners.__getitem__):
            positions = list(group)
            cells.src.append(si)
            cells.owner.append(owner)
            if len(positions) == 1:
                cells.nbytes.append(sizes[positions[0]])
                cells.tie.append(ids[positions[0]])
            else:
                cells.nbytes.append(sum(sizes[p] for p in positions))
                cells.tie.append(min(ids[p] for p in positions))
            cells.pos.append(positions)
    cells.start.append(len(cells.src))
    return cells


def _apply_caps(
    x: list[Decimal], cells: _Cells, active: Sequence[_Source], canon: Mapping[str, str | None]
) -> list[Decimal]:
    """Step 4: both caps at once by progressive filling (water-filling generalised to two cap families)."""
    caps: list[Decimal] = []
    members: list[Sequence[int]] = []
    families: list[list[int]] = []  # per family: cell -> group index
    if canon["max_epochs"] is not None:
        max_epochs, budget = _dec(canon, "max_epochs"), int(_dec(canon, "budget_bytes"))
        total_bytes = sum(s.nbytes for s in active)
        p, q = max_epochs.as_integer_ratio()
        if p * total_bytes < q * budget:
            need = Decimal(budget) / Decimal(total_bytes)
            raise InfeasibleCaps(
                f"epoch cap infeasible: max_epochs={canon['max_epochs']} but budget_bytes={budget} over "
                f"{total_bytes} eligible bytes needs at least {need.quantize(_SCORE_PLACES)} epochs of some "
                "source; raise max_epochs or lower budget_bytes"
            )
        # epochs_i = w_i * budget / n_i <= max_epochs  <=>  w_i <= max_epochs * n_i / budget
        caps += [max_epochs * s.nbytes / budget for s in active]
        members += [range(cells.start[i], cells.start[i + 1]) for i in range(len(active))]
        families.append(cells.src)
    if canon["contributor_cap"] is not None:
        cap = _dec(canon, "contributor_cap")
        by_owner: dict[str, list[int]] = {}
        for ci, owner in enumerate(cells.owner):
            by_owner.setdefault(owner, []).append(ci)
        p, q = cap.as_integer_ratio()
        if p * len(by_owner) < q:
            raise InfeasibleCaps(
                f"contributor cap infeasible: contributor_cap={canon['contributor_cap']} with "
                f"{len(by_owner)} eligible contributors leaves weight unassigned; it must be >= "
                f"1/{len(by_owner)} = {(Decimal(1) / len(by_owner)).quantize(_SCORE_PLACES)}"
            )
        offset = len(caps)
        index = {owner: offset + i for i, owner in enumerate(sorted(by_owner))}
        caps += [cap] * len(index)
        members += [by_owner[o] for o in sorted(by_owner)]
        families.append([index[o] for o in cells.owner])
    if not caps:
        return x
    return _progressive_fill(x, caps, members, families)


def _progressive_fill(
    x: Sequence[Decimal], caps: Sequence[Decimal], members: Sequence[Sequence[int]], families: list[list[int]]
) -> list[Decimal]:
    """Grow every free cell as t * x until a group reaches its cap (its cells freeze) or the total is 1.

    With one family of groups this is plain water-filling, y = min(cap share, t * x). A group's time to
    reach its cap only grows as other groups freeze some of its cells, so a lazy heap finds the next event.
    """
    n, ng = len(x), len(caps)
    y: list[Decimal | None] = [None] * n
    frozen = [Decimal(0)] * ng
    free = [Decimal(0)] * ng
    free_count = [len(m) for m in members]
    for family in families:
        for c, h in enumerate(family):
            free[h] += x[c]
    heap = [(caps[g] / free[g], g) for g in range(ng) if free_count[g]]
    heapq.heapify(heap)
    frozen_total, free_total, free_cells = Decimal(0), sum(x, Decimal(0)), n
    while heap and free_cells:
        t_old, g = heapq.heappop(heap)
        if not free_count[g]:
            continue
        t = (caps[g] - frozen[g]) / free[g]
        if t > t_old:
            heapq.heappush(heap, (t, g))
            continue
        if t >= (1 - frozen_total) / free_total:
            break  # the total reaches one before this group reaches its cap
        for c in members[g]:
            if y[c] is not None:
                continue
            xc = x[c]
            v = t * xc
            y[c] = v
            frozen_total += v
            free_total -= xc
            free_cells -= 1
            for family in families:
                h = family[c]
                frozen[h] += v
                free[h] -= xc
                free_count[h] -= 1
    if free_cells:
        finish = (1 - frozen_total) / free_total
        return [finish * x[c] if v is None else v for c, v in enumerate(y)]
    if 1 - frozen_total > _FILL_TOLERANCE:
        raise InfeasibleCaps(
            "caps infeasible together: with max_epochs and contributor_cap as given, every source or "
            f"contributor reaches its cap while only {frozen_total.quantize(_SCORE_PLACES)} of the weight is "
            "assigned; raise max_epochs or contributor_cap"
        )
    return [Decimal(0) if v is None else v for v in y]


def _to_wads(weights: Sequence[Decimal], tie: Sequence[int]) -> list[int]:
    """Largest remainder to integers summing to 10**18; remainders compared to 1e-30 wei, ties by `tie`."""
    if not weights:
        return []
    scaled = [int(w.scaleb(_LR_SHIFT)) for w in weights]  # w * 10**48, truncated (w >= 0)
    wads = [v // _LR_UNIT for v in scaled]
    left = WAD - sum(wads)
    if not 0 <= left <= len(wads):
        raise AssertionError(f"largest remainder: {left} units left for {len(wads)} quotas")
    if left:
        order = sorted(range(len(wads)), key=lambda i: (-(scaled[i] % _LR_UNIT), tie[i]))
        for i in order[:left]:
            wads[i] += 1
    return wads


def _split_by_size(
    src: _Source, positions: Sequence[int], total: int, wad: int, out: list[tuple[int, int]]
) -> None:
    """Step 5 in integers: item share = wad * size / cell bytes, largest remainder, ties by item id."""
    ids, sizes = src.ids, src.sizes
    if len(positions) == 1:
        out.append((ids[positions[0]], wad))
        return
    first = len(out)
    rems: list[tuple[int, int, int]] = []
    given = 0
    for k, pos in enumerate(positions):
        q, r = divmod(wad * sizes[pos], total)
        out.append((ids[pos], q))
        given += q
        if r:
            rems.append((-r, ids[pos], first + k))
    left = wad - given
    if left:
        rems.sort()
        for _, iid, k in rems[:left]:
            out[k] = (iid, out[k][1] + 1)


register_scheme(CommonsV1())
