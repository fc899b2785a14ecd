"""License classes (SPDX id + class flags) as recorded in the on-chain allowlist, and their parsing."""

from __future__ import annotations

import re
from enum import IntFlag
from typing import Final

from curation.consent import Consent
from curation.errors import InvalidInput

__all__ = [
    "DEFAULT_LICENSES",
    "KNOWN_CLASSES",
    "MAX_SPDX_LENGTH",
    "InvalidLicenseClasses",
    "InvalidSpdx",
    "LicenseClass",
    "canonical_spdx",
    "check_spdx",
    "format_license_classes",
    "license_allows_use",
    "parse_license_classes",
    "resolve_license",
]


class LicenseClass(IntFlag):
    """Class flags of an allowlisted license (uint8 on-chain)."""

    COMMERCIAL_USE = 1 << 0  # permits commercial use
    SHARE_ALIKE = 1 << 1  # derivatives must carry the same license
    ATTRIBUTION = 1 << 2  # requires attribution


_C, _S, _A = LicenseClass.COMMERCIAL_USE, LicenseClass.SHARE_ALIKE, LicenseClass.ATTRIBUTION

#: The open licenses the demo and a fresh deployment allow (governance may add or remove).
DEFAULT_LICENSES: dict[str, LicenseClass] = {
    "CC0-1.0": _C,
    "CC-BY-4.0": _C | _A,
    "CC-BY-SA-4.0": _C | _S | _A,
    "CC-BY-NC-4.0": _A,
    "MIT": _C | _A,
    "Apache-2.0": _C | _A,
    "ODC-By-1.0": _C | _A,
    "CDLA-Permissive-2.0": _C,
}


def license_allows_use(classes: int, use: int) -> bool:
    """A dataset whose use includes COMMERCIAL admits only licenses that permit commercial use."""
    return not (use & Consent.COMMERCIAL) or bool(classes & LicenseClass.COMMERCIAL_USE)


class InvalidSpdx(InvalidInput):
    """An SPDX id the registry would refuse, or one this module does not know (without `custom`)."""


class InvalidLicenseClasses(InvalidInput):
    """License class names that do not parse, or that contradict the known classes of the license."""


#: Longest SPDX id ContentRegistry accepts (`_MAX_SPDX`), and its alphabet (`_checkSpdx`).
MAX_SPDX_LENGTH: Final = 64
_SPDX_CHARS = re.compile(r"^[A-Za-z0-9.+-]+$")

#: Every class bit the registry knows (ContentRegistry `_KNOWN_CLASSES` = 0x07).
KNOWN_CLASSES: Final = LicenseClass(sum(LicenseClass))

_CLASS_NAMES: Final[dict[str, LicenseClass]] = {
    "commercial": _C,
    "commercial-use": _C,
    "share-alike": _S,
    "sharealike": _S,
    "attribution": _A,
}


def format_license_classes(classes: int) -> str:
    """`commercial,share-alike,attribution` for the given flags (`none` for 0)."""
    names = [n for n, f in (("commercial", _C), ("share-alike", _S), ("attribution", _A)) if classes & f]
    return ",".join(names) if names else "none"


def parse_license_classes(text: str) -> LicenseClass:
    """Parse `commercial,share-alike,attribution` (case-insensitive, `none` for no class)."""
    s = text.strip().lower()
    if s == "none":
        return LicenseClass(0)
    out = LicenseClass(0)
    for name in (p.strip() for p in s.replace("|", ",").split(",")):
        if not name:
            continue
        flag = _CLASS_NAMES.get(name.replace("_", "-"))
        if flag is None:
            raise InvalidLicenseClasses(
                f"classes = {text!r}: unknown class {name!r}; known: commercial, share-alike, attribution, none"
            )
        out |= flag
    if not s:
        raise InvalidLicenseClasses(
            "classes = '' is empty: give commercial, share-alike, attribution or none"
        )
    return out


def check_spdx(spdx: str) -> str:
    """`spdx` if the registry would accept it: 1 to 64 characters from A-Z, a-z, 0-9, '.', '-', '+'."""
    if not 1 <= len(spdx) <= MAX_SPDX_LENGTH or not _SPDX_CHARS.match(spdx):
        raise InvalidSpdx(
            f"spdx = {spdx!r} is not a valid SPDX id: 1 to {MAX_SPDX_LENGTH} characters from A-Z, a-z, 0-9, "
            "'.', '-' and '+'"
        )
    return spdx


def canonical_spdx(spdx: str) -> str | None:
    """The spelling of DEFAULT_LICENSES for `spdx` in any letter case (`cc-by-4.0` -> `CC-BY-4.0`), or None."""
    folded = spdx.strip().casefold()
    return next((k for k in DEFAULT_LICENSES if k.casefold() == folded), None)


def resolve_license(spdx: str, classes: str | None, *, custom: bool = False) -> tuple[str, LicenseClass]:
    """The SPDX id (canonical spelling) and class flags to allowlist, checked before anything is sent.

    A known license (DEFAULT_LICENSES) takes its known classes; `classes`, if given, must agree with them.
    Any other id is refused unless `custom` (then `classes` is required and the id only has to be valid).
    """
    known = canonical_spdx(spdx)
    if known is None:
        if not custom:
            raise InvalidSpdx(
                f"spdx = {spdx!r} is not a known license (known: {', '.join(DEFAULT_LICENSES)}); "
                "pass --custom with --classes to add another valid SPDX id"
            )
        check_spdx(spdx.strip())
        if classes is None:
            raise InvalidLicenseClasses(f"spdx = {spdx!r} is a custom license: give its --classes")
        return spdx.strip(), parse_license_classes(classes)
    expected = DEFAULT_LICENSES[known]
    if classes is not None:
        given = parse_license_classes(classes)
        if given != expected:
            raise InvalidLicenseClasses(
                f"classes = {classes!r} contradicts {known}, whose classes are "
                f"{format_license_classes(expected)}"
            )
    return known, expected
