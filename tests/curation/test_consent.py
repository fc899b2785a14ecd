"""curation.consent: the one known-consent mask, parsing, and the consent gates with the manifest's codes."""

from __future__ import annotations

import pytest

from curation.consent import ALL, Consent, covers, format_consent, gate, parse_consent, unknown_bits
from curation.errors import InvalidInput
from curation.weights.base import EXCLUSION_REASONS

USE = int(Consent.TRAIN | Consent.COMMERCIAL)


def test_the_known_mask_is_every_flag_and_what_the_registry_accepts() -> None:
    assert int(ALL) == 0x3F  # ConsentRules.KNOWN in contracts/libraries/ConsentRules.sol
    assert all(f in ALL for f in Consent)
    assert unknown_bits(int(ALL)) == 0
    assert unknown_bits(0x40 | 0x01) == 0x40
    assert unknown_bits(0xFFFF) == 0xFFC0


def test_parse_consent_refuses_unknown_bits_and_names() -> None:
    assert parse_consent("all") is ALL
    assert parse_consent("train, Commercial") == USE
    assert parse_consent("0x3") == USE
    assert format_consent(USE) == "train,commercial"
    with pytest.raises(InvalidInput, match="unknown bits"):
        parse_consent("0x40")
    with pytest.raises(InvalidInput, match="unknown consent flag"):
        parse_consent("train,telepathy")


@pytest.mark.parametrize(
    ("consent", "expiry", "now", "reason"),
    [
        (int(ALL), 0, 10**12, None),  # no expiry: consent holds forever
        (USE, 0, 0, None),  # exactly the use
        (0, 0, 0, "revoked"),  # consent 0 is a revocation
        (0, 5, 10, "revoked"),  # revocation comes before expiry
        (int(Consent.TRAIN), 0, 0, "consent-mismatch"),  # narrowed below the use
        (int(Consent.TRAIN), 5, 10, "consent-mismatch"),  # mismatch comes before expiry
        (USE, 100, 99, None),  # consent holds while the time is before the expiry
        (USE, 100, 100, "consent-expired"),  # and ends at it
        (USE, 100, 101, "consent-expired"),
    ],
)
def test_gate_gives_the_first_failing_consent_gate(
    consent: int, expiry: int, now: int, reason: str | None
) -> None:
    assert gate(consent, expiry, USE, now) == reason
    assert reason is None or reason in EXCLUSION_REASONS


def test_gate_takes_the_callers_revocation_flag_when_given() -> None:
    assert gate(int(ALL), 0, USE, 0, revoked=True) == "revoked"
    assert gate(0, 0, 0, 0, revoked=False) is None  # nothing granted, nothing asked: covered
    assert gate(0, 0, USE, 0, revoked=False) == "consent-mismatch"
    assert covers(0, 0)
