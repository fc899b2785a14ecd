"""Deterministic, versioned training-weight schemes; `commons-v1` is registered on import."""

from __future__ import annotations

from curation.weights.base import (
    EXCLUSION_REASONS,
    WAD,
    InfeasibleCaps,
    ItemFacts,
    SourceFacts,
    SourceWeight,
    UnknownScheme,
    WeightInputs,
    WeightResult,
    WeightScheme,
    available_schemes,
    compute_weights,
    get_scheme,
    register_scheme,
)
from curation.weights.commons_v1 import SCHEME_ID as COMMONS_V1
from curation.weights.commons_v1 import CommonsV1, CommonsV1Params

__all__ = [
    "COMMONS_V1",
    "EXCLUSION_REASONS",
    "WAD",
    "CommonsV1",
    "CommonsV1Params",
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
    "get_scheme",
    "register_scheme",
]
