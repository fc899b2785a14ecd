"""Inputs, result and scheme registry shared by every weight scheme."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from curation.consent import gate
from curation.errors import CurationError, InvalidInput
from curation.licenses import license_allows_use

__all__ = [
    "EXCLUSION_REASONS",
    "WAD",
    "InfeasibleCaps",
    "ItemFacts",
    "SourceFacts",
    "SourceWeight",
    "UnknownScheme",
    "WeightInputs",
    "WeightResult",
    "WeightScheme",
    "available_schemes",
    "compute_weights",
    "eligibility_problem",
    "get_scheme",
    "register_scheme",
]

WAD = 10**18
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_UINT16 = 1 << 16

#: Exclusion reason codes, in the order the gates are checked (an item reports the first that fails).
EXCLUSION_REASONS = (
    "removed",  # an accepted REMOVE proposal took it out
    "revoked",  # the contributor revoked consent
    "consent-mismatch",  # consent does not cover every bit of the dataset's use
    "consent-expired",  # consent expiry <= state block timestamp
    "license-not-allowlisted",  # license is not (or no longer) on the allowlist
    "license-not-allowed",  # license classes do not allow the dataset's use (e.g. NC for commercial)
    "empty",  # zero bytes: nothing to train on, and nothing to split a weight by
)


def eligibility_problem(
    item: ItemFacts, use: int, now: int, license_memo: dict[int, bool] | None = None
) -> str | None:
    """The first gate after "removed" that `item` fails for a dataset of `use` at time `now`, or None.

    One definition for every scheme and for the selection that decides whose bytes are checked; the codes
    are EXCLUSION_REASONS. `license_memo` caches license_allows_use per class mask (256 masks at most).
    """
    why = gate(item.consent, item.consent_expiry, use, now, revoked=item.revoked)
    if why is not None:
        return why
    if not item.license_allowed:
        return "license-not-allowlisted"
    classes = item.license_classes
    allowed = None if license_memo is None else license_memo.get(classes)
    if allowed is None:
        allowed = license_allows_use(classes, use)
        if license_memo is not None:
            license_memo[classes] = allowed
    if not allowed:
        return "license-not-allowed"
    if item.size == 0:
        return "empty"
    return None


class UnknownScheme(InvalidInput):
    """No weight scheme is registered under the requested id."""


class InfeasibleCaps(InvalidInput):
    """The caps asked for cannot all hold while the weights sum to one; the message says which to relax."""


def _check_int(name: str, value: object, *, lo: int = 0, hi: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < lo or (hi is not None and value >= hi):
        upper = f" and < {hi}" if hi is not None else ""
        raise InvalidInput(f"{name} must be >= {lo}{upper}, got {value}")


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the chain says about one item at the state block."""

    item_id: int
    size: int  # bytes
    license_classes: int  # LicenseClass flags of the item's license
    license_allowed: bool  # the license is on the allowlist at the state block
    contributor: str  # 0x address, lowercase
    consent: int  # Consent flags
    consent_expiry: int  # 0 = none, else unix seconds; consent holds while timestamp < expiry
    revoked: bool

    def __post_init__(self) -> None:
        _check_int("ItemFacts.item_id", self.item_id)
        _check_int(f"ItemFacts.size of item {self.item_id}", self.size)
        _check_int(f"ItemFacts.license_classes of item {self.item_id}", self.license_classes, hi=256)
        _check_int(f"ItemFacts.consent of item {self.item_id}", self.consent, hi=_UINT16)
        _check_int(f"ItemFacts.consent_expiry of item {self.item_id}", self.consent_expiry)
        if not isinstance(self.contributor, str) or not _ADDRESS.fullmatch(self.contributor):
            raise InvalidInput(
                f"ItemFacts.contributor of item {self.item_id} must be a lowercase 0x address "
                f"(0x + 40 hex digits), got {self.contributor!r}"
            )


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """One accepted INCLUDE proposal of the dataset, with its final tallies.

    `accepted_order` orders acceptance: (block number, log index) of the finalisation event, or one int.
    `total_supply` is the token's total supply at the proposal's snapshot block (getPastTotalSupply), the
    unit in which the prior strength is expressed.
    """

    proposal_id: int
    for_votes: int
    against_votes: int
    abstain_votes: int
    accepted_order: int | tuple[int, ...]
    item_ids: tuple[int, ...]
    total_supply: int

    def __post_init__(self) -> None:
        _check_int("SourceFacts.proposal_id", self.proposal_id)
        pid = self.proposal_id
        _check_int(f"SourceFacts.for_votes of proposal {pid}", self.for_votes)
        _check_int(f"SourceFacts.against_votes of proposal {pid}", self.against_votes)
        _check_int(f"SourceFacts.abstain_votes of proposal {pid}", self.abstain_votes)
        _check_int(f"SourceFacts.total_supply of proposal {pid}", self.total_supply)
        cast = self.for_votes + self.against_votes + self.abstain_votes
        if cast > self.total_supply:
            raise InvalidInput(
                f"proposal {pid}: votes cast ({cast}) exceed total_supply at snapshot ({self.total_supply})"
            )
        order = self.accepted_order
        parts = order if isinstance(order, tuple) else (order,)
        if not parts:
            raise InvalidInput(f"SourceFacts.accepted_order of proposal {pid} must not be empty")
        for p in parts:
            _check_int(f"SourceFacts.accepted_order of proposal {pid}", p)
        if not isinstance(self.item_ids, tuple):
            raise InvalidInput(
                f"SourceFacts.item_ids of proposal {pid} must be a tuple, got {type(self.item_ids).__name__}"
            )

    @property
    def order_key(self) -> tuple[int, ...]:
        """accepted_order as a tuple, so int and (block, log index) orders compare alike."""
        o = self.accepted_order
        return o if isinstance(o, tuple) else (o,)


@dataclass(frozen=True, slots=True)
class WeightInputs:
    """Everything a scheme may read: dataset use, state block timestamp, sources, removals, item facts."""

    dataset_use: int  # Consent flags the dataset declares
    state_timestamp: int  # unix seconds of the state block B
    sources: tuple[SourceFacts, ...]
    removed_item_ids: frozenset[int]
    items: Mapping[int, ItemFacts]

    def __post_init__(self) -> None:
        _check_int("WeightInputs.dataset_use", self.dataset_use, hi=_UINT16)
        _check_int("WeightInputs.state_timestamp", self.state_timestamp)
        pids: set[int] = set()
        orders: dict[tuple[int, ...], int] = {}
        for s in self.sources:
            if not isinstance(s, SourceFacts):
                raise InvalidInput(f"WeightInputs.sources must hold SourceFacts, got {type(s).__name__}")
            if s.proposal_id in pids:
                raise InvalidInput(f"proposal {s.proposal_id} appears twice in WeightInputs.sources")
            pids.add(s.proposal_id)
            other = orders.setdefault(s.order_key, s.proposal_id)
            if other != s.proposal_id:
                raise InvalidInput(
                    f"proposals {other} and {s.proposal_id} share accepted_order {s.accepted_order!r}; "
                    "acceptance order must be unique (block number, log index)"
                )


@dataclass(frozen=True, slots=True)
class SourceWeight:
    """Per-source outcome: score, eligible content and weight."""

    proposal_id: int
    score: str  # Decimal, fixed number of places
    eligible_items: int
    eligible_bytes: int
    weight: int  # wad: sum of this source's item weights
    exact_weight: str  # Decimal share before integer rounding, fixed number of places


@dataclass(frozen=True)
class WeightResult:
    """Outcome of a scheme; every mapping is ordered by key (item id, contributor address)."""

    scheme_id: str
    params: dict[str, str | None]
    sources: tuple[SourceWeight, ...]  # in acceptance order
    items: dict[int, int]  # eligible item id -> weight in wad; sums to 10**18 unless empty
    item_source: dict[int, int]  # every included item (eligible or excluded) -> earliest accepted proposal
    exclusions: dict[int, str]  # included but not eligible item id -> reason code
    contributors: dict[str, int] = field(default_factory=dict)  # contributor -> total weight in wad

    def to_dict(self) -> dict[str, Any]:
        """Plain data (ints stay ints; item ids become decimal strings as JSON keys must be strings)."""
        return {
            "scheme_id": self.scheme_id,
            "params": dict(self.params),
            "sources": [
                {
                    "proposal_id": s.proposal_id,
                    "score": s.score,
                    "eligible_items": s.eligible_items,
                    "eligible_bytes": s.eligible_bytes,
                    "weight": s.weight,
                    "exact_weight": s.exact_weight,
                }
                for s in self.sources
            ],
            "items": {str(k): v for k, v in self.items.items()},
            "item_source": {str(k): v for k, v in self.item_source.items()},
            "exclusions": {str(k): v for k, v in self.exclusions.items()},
            "contributors": dict(self.contributors),
        }


class WeightScheme(Protocol):
    """A versioned, deterministic weight scheme. Implementations never change once released."""

    @property
    def scheme_id(self) -> str:
        """Stable id recorded in manifests and on-chain, e.g. `commons-v1`."""
        ...

    def canonical_params(self, params: Mapping[str, object] | None = None) -> dict[str, str | None]:
        """Validate `params` (missing keys take defaults) and return them in canonical form."""
        ...

    def compute(self, inputs: WeightInputs, params: Mapping[str, object] | None = None) -> WeightResult:
        """Weights for `inputs`; raises InvalidInput (or a subclass) on bad parameters or inputs."""
        ...


_REGISTRY: dict[str, WeightScheme] = {}


def register_scheme(scheme: WeightScheme) -> WeightScheme:
    """Add a scheme under its id. Registering a different object under a taken id is refused."""
    sid = scheme.scheme_id
    if not isinstance(sid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", sid):
        raise InvalidInput(f"scheme id must be lowercase letters, digits, '.' and '-', got {sid!r}")
    existing = _REGISTRY.get(sid)
    if existing is not None and existing is not scheme:
        raise CurationError(
            f"weight scheme {sid!r} is already registered; add a new id instead of replacing it"
        )
    _REGISTRY[sid] = scheme
    return scheme


def get_scheme(scheme_id: str) -> WeightScheme:
    """The scheme registered under `scheme_id`."""
    try:
        return _REGISTRY[scheme_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownScheme(f"unknown weight scheme {scheme_id!r}; registered: {known}") from None


def available_schemes() -> tuple[str, ...]:
    """Ids of every registered scheme, sorted."""
    return tuple(sorted(_REGISTRY))


def compute_weights(
    scheme_id: str, inputs: WeightInputs, params: Mapping[str, object] | None = None
) -> WeightResult:
    """Shorthand for `get_scheme(scheme_id).compute(inputs, params)`."""
    return get_scheme(scheme_id).compute(inputs, params)
