"""Deterministic, versioned training-weight schemes; `commons-v1` is registered on import."""

from __future__ import annotations

from curation.weights import base
from curation.weights.base import *  # noqa: F403  (the shared names, listed once: base.__all__)
from curation.weights.commons_v1 import SCHEME_ID as COMMONS_V1
from curation.weights.commons_v1 import CommonsV1, CommonsV1Params

__all__ = [*base.__all__, "COMMONS_V1", "CommonsV1", "CommonsV1Params"]
