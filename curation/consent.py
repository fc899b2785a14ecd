"""Consent flags (per item, per dataset use), their parsing and the consent gates; one definition for Python."""

from __future__ import annotations

from enum import IntFlag
from functools import lru_cache
from typing import Final

from curation.errors import InvalidInput

__all__ = ["ALL", "Consent", "covers", "format_consent", "gate", "parse_consent", "unknown_bits"]


class Consent(IntFlag):
    """Bit flags a contributor grants, and a dataset declares as its intended use (uint16 on-chain).

    An item may enter a dataset only if its consent covers every bit of the dataset's use.
    """

    TRAIN = 1 << 0  # use the content to train models
    COMMERCIAL = 1 << 1  # models or products built from it may be used commercially
    GENERATIVE = 1 << 2  # generative models (that can produce content resembling it)
    EVALUATION = 1 << 3  # evaluation and benchmarking
    REDISTRIBUTE = 1 << 4  # the bytes may be redistributed as part of the published dataset
    SYNTHETIC = 1 << 5  # may be used to produce synthetic training data


#: Every consent bit the registry knows (TRAIN..SYNTHETIC = 0x3F): the only Python definition of the mask,
#: mirrored on-chain by ConsentRules.KNOWN (contracts/libraries/ConsentRules.sol).
ALL: Final = Consent(sum(Consent))


def unknown_bits(consent: int) -> int:
    """The bits of `consent` that no Consent flag names (0 when every bit is known)."""
    return consent & ~int(ALL)


def parse_consent(text: str) -> Consent:
    """Parse `train,commercial` (names, case-insensitive), `all`, `none`, or an integer bit mask."""
    s = text.strip().lower()
    if s in ("", "none"):
        return Consent(0)
    if s == "all":
        return ALL
    if s.isdigit() or s.startswith("0x"):
        value = int(s, 0)
        if unknown_bits(value):
            raise InvalidInput(f"consent mask {text!r} sets unknown bits; known flags: {format_consent(ALL)}")
        return Consent(value)
    out = Consent(0)
    for name in (p.strip() for p in s.replace("|", ",").split(",")):
        if not name:
            continue
        try:
            out |= Consent[name.upper()]
        except KeyError:
            known = ", ".join(f.name.lower() for f in Consent if f.name)
            raise InvalidInput(f"unknown consent flag {name!r}; known flags: {known}") from None
    return out


@lru_cache(maxsize=256)
def format_consent(flags: int) -> str:
    """`train,commercial` for the given mask (`none` for 0); cached: manifests format it per item."""
    names = [f.name.lower() for f in Consent if f.name and flags & f]
    return ",".join(names) if names else "none"


def covers(consent: int, use: int) -> bool:
    """True when every bit of `use` is granted by `consent`."""
    return consent & use == use


def gate(consent: int, expiry: int, use: int, now: int, *, revoked: bool | None = None) -> str | None:
    """Why consent keeps an item out of a dataset of `use` at unix time `now`, or None when it lets it in.

    The reason is the manifest's exclusion code (curation.weights.base.EXCLUSION_REASONS), first failing gate
    first: "revoked", then "consent-mismatch" (`consent` does not cover every bit of `use`), then
    "consent-expired" (`expiry` is set and `expiry <= now`: consent holds while the time is before it).
    Consent 0 is a revocation (the registry never accepts 0 as new consent); a caller that tracks revocation
    itself (the fold's sticky `ItemState.revoked`) passes `revoked` to decide that gate instead.
    """
    if (consent == 0) if revoked is None else revoked:
        return "revoked"
    if not covers(consent, use):
        return "consent-mismatch"
    if expiry and expiry <= now:
        return "consent-expired"
    return None
