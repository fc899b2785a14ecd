"""curation.units: token amounts between base units and whole tokens, exact both ways."""

from __future__ import annotations

import random

import pytest

from curation.errors import InvalidInput
from curation.units import MAX_DECIMALS, format_units, parse_token_amount


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1_500_000_000_000_000_000, 18, "1.5"),
        (10**21, 18, "1000"),
        (7, 18, "0.000000000000000007"),
        (0, 18, "0"),
        (2**256 - 1, 18, "115792089237316195423570985008687907853269984665640564039457.584007913129639935"),
        (123, 0, "123"),
        (-5, 1, "-0.5"),
    ],
)
def test_format_units(value: int, decimals: int, text: str) -> None:
    assert format_units(value, decimals) == text


def test_parse_is_the_inverse_of_format() -> None:
    rng = random.Random(1307)  # seeded: the same cases on every run
    for _ in range(500):
        decimals = rng.choice([0, 6, 8, 18])
        value = rng.randrange(1, 2**200)
        assert parse_token_amount(format_units(value, decimals), decimals) == value
        assert parse_token_amount(f"{value}raw", decimals) == value


def test_bad_decimals_and_amounts() -> None:
    with pytest.raises(InvalidInput, match="not a token's decimals"):
        format_units(1, MAX_DECIMALS + 1)
    with pytest.raises(InvalidInput, match="more than 2 fractional digits"):
        parse_token_amount("1.005", 2)
    with pytest.raises(InvalidInput, match="does not parse"):
        parse_token_amount("1e18", 18)
