"""Token amounts between base units (what the chain counts, like wei) and whole tokens (what people read).

A token with `decimals` d counts 10^d base units per token. Both directions are exact integer arithmetic:
`format_units(1500000000000000000, 18) == "1.5"`, `parse_token_amount("1.5", 18) == 1500000000000000000`.
JSON output keeps base units, as decimal strings; `format_units` is for people (`--raw` prints base units).
"""

from __future__ import annotations

import re
from typing import Final

from curation.errors import InvalidInput

__all__ = ["MAX_DECIMALS", "format_units", "parse_token_amount"]

#: More decimals than any token uses; bounds the arithmetic on values read from a contract.
MAX_DECIMALS: Final = 77
_AMOUNT = re.compile(r"^(?P<whole>[0-9]{1,80})(?:\.(?P<frac>[0-9]{1,80}))?(?P<raw>raw)?$")


def _check_decimals(decimals: int) -> None:
    if not 0 <= decimals <= MAX_DECIMALS:
        raise InvalidInput(f"decimals = {decimals} is not a token's decimals (0..{MAX_DECIMALS})")


def format_units(value: int, decimals: int) -> str:
    """`value` base units as whole tokens, exactly, without trailing zeros (`-` kept for negative values)."""
    _check_decimals(decimals)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    text = str(whole)
    if frac:
        text += "." + str(frac).rjust(decimals, "0").rstrip("0")
    return sign + text


def parse_token_amount(text: str, decimals: int) -> int:
    """Base units of a token amount: `12.5` (whole tokens, at most `decimals` fraction digits) or `125raw`."""
    _check_decimals(decimals)
    m = _AMOUNT.match(text.strip())
    if m is None:
        raise InvalidInput(
            f"amount = {text[:90]!r} does not parse: give tokens (`12.5`) or base units (`125raw`)"
        )
    if m["raw"]:
        if m["frac"]:
            raise InvalidInput(f"amount = {text!r}: base units (`raw`) are whole numbers")
        value = int(m["whole"])
    else:
        frac = (m["frac"] or "").rstrip("0")
        if len(frac) > decimals:
            raise InvalidInput(
                f"amount = {text!r} has more than {decimals} fractional digits (the token's decimals)"
            )
        value = int(m["whole"]) * 10**decimals + (int(frac.ljust(decimals, "0")) if frac else 0)
    if value <= 0:
        raise InvalidInput(f"amount = {text!r} must be more than 0")
    return value
