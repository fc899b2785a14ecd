"""License classes (SPDX id + class flags) as recorded in the on-chain allowlist."""

from __future__ import annotations

from enum import IntFlag

from curation.consent import Consent

__all__ = ["DEFAULT_LICENSES", "LicenseClass", "license_allows_use"]


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
