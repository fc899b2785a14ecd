"""curation.params and the license rules of curation.licenses: pure parsing and bounds, each refusal named."""

from __future__ import annotations

import pytest

from curation.licenses import (
    DEFAULT_LICENSES,
    KNOWN_CLASSES,
    InvalidLicenseClasses,
    InvalidSpdx,
    LicenseClass,
    canonical_spdx,
    parse_license_classes,
    resolve_license,
)
from curation.params import (
    PARAM_BOUNDS,
    InvalidAddress,
    InvalidAmount,
    ParamOutOfRange,
    check_param,
    parse_address,
    parse_wei,
)


@pytest.mark.parametrize(
    ("text", "wei"),
    [("1.5", 15 * 10**17), ("1.5 ETH", 15 * 10**17), ("2ether", 2 * 10**18), ("1500000000000000000wei", 15 * 10**17),
     ("0.000000000000000001", 1), ("7WEI", 7),
     # more digits than a default Decimal context keeps: exact, never rounded
     ("12345678901234567890123456789wei", 12345678901234567890123456789),
     ("123456789012.123456789012345678", 123456789012123456789012345678)],
)  # fmt: skip
def test_amounts_in_ether_or_wei(text: str, wei: int) -> None:
    assert parse_wei(text) == wei


@pytest.mark.parametrize("text", ["", "abc", "-1", "1e18", "0", "0wei", "0.0000000000000000001", "1.5wei"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(InvalidAmount, match=f"amount = {text!r}"):
        parse_wei(text)


def test_addresses_are_checksummed_and_bad_ones_named() -> None:
    raw = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    assert parse_address(raw) == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    for bad in ("70997970c51812dc3a010c7d01b50e0d17dc79c8", "0x1234", "0x" + "zz" * 20):
        with pytest.raises(InvalidAddress, match="expected 0x and 40 hex digits"):
            parse_address(bad)


@pytest.mark.parametrize("field", sorted(PARAM_BOUNDS))
def test_each_parameter_accepts_its_range_and_refuses_one_past_each_end(field: str) -> None:
    bound = PARAM_BOUNDS[field]
    assert check_param(field, bound.low) == bound.low
    assert check_param(field, bound.high) == bound.high
    for bad in (bound.low - 1, bound.high + 1):
        with pytest.raises(ParamOutOfRange, match=f"{field} = {bad} .* from {bound.low} to {bound.high}"):
            check_param(field, bad)
    with pytest.raises(ParamOutOfRange, match=f"{field} = True"):
        check_param(field, True)


def test_license_classes_parse_and_cover_the_registry_bits() -> None:
    assert parse_license_classes("commercial,share-alike,attribution") == KNOWN_CLASSES == 0x07
    assert parse_license_classes("Attribution") == LicenseClass.ATTRIBUTION
    assert parse_license_classes("none") == 0
    for bad in ("", "gratis", "commercial,,x"):
        with pytest.raises(InvalidLicenseClasses, match="classes = "):
            parse_license_classes(bad)


def test_spdx_ids_are_canonicalised_and_unknown_ones_need_custom() -> None:
    assert canonical_spdx("apache-2.0") == "Apache-2.0"
    assert canonical_spdx("GPL-3.0-only") is None
    assert resolve_license("odc-by-1.0", None) == ("ODC-By-1.0", DEFAULT_LICENSES["ODC-By-1.0"])
    assert resolve_license("LicenseRef-A+", "none", custom=True) == ("LicenseRef-A+", 0)
    with pytest.raises(InvalidSpdx, match="not a known license"):
        resolve_license("GPL-3.0-only", "attribution")
    with pytest.raises(InvalidSpdx, match="1 to 64 characters"):
        resolve_license("a/b", "attribution", custom=True)


def test_an_amount_longer_than_any_uint256_is_refused_unread() -> None:
    with pytest.raises(InvalidAmount, match="at most 100 characters"):
        parse_wei("9" * 100_000)
