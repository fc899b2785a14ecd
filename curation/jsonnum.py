"""The one rule for integers in JSON (API answers, `--json` output, manifests, reports).

JavaScript's `JSON.parse` reads every number as a double, exact only up to 2**53 - 1. So:

- an integer whose type lets it pass 2**53 is a **decimal string**, always (whatever its value, so a field
  never changes type): token amounts (balances, votes, tallies, supply, thresholds), weights (wad), item
  ids (a batch leaf's id is at least 2**64), sizes and byte counts, consent expiries;
- an integer that fits 2**53 by construction is a JSON number: ids the contracts assign one by one
  (dataset, proposal, batch, release, contributor, license), block numbers, leaf indexes, basis points,
  consent masks, counts, pagination.

This is the manifest's rule (docs/manifest.md), stated once for every face: `BigInt` is the pydantic type of
the first kind in API models (an int inside, a decimal string on the wire; it accepts both), `big` writes one
for hand-built JSON, and `json_safe` is the last guard of the CLI's `--json` output: any integer still
beyond 2**53 - 1 there becomes a decimal string, so no reader ever gets a rounded number.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["MAX_JSON_INT", "UINT256_MAX", "BigInt", "big", "json_safe", "parse_uint"]

#: Largest integer a JSON reader that uses doubles (JavaScript) reads exactly.
MAX_JSON_INT: Final = 2**53 - 1
#: Largest uint256: the top of every id and amount the contracts hold.
UINT256_MAX: Final = 2**256 - 1
_MAX_DIGITS: Final = 78  # len(str(UINT256_MAX))


def parse_uint(value: Any) -> int:
    """An unsigned integer from an int or its decimal string (at most 78 digits, no sign, no spaces)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and 0 < len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise ValueError(f"expected an unsigned integer or its decimal string, got {value!r:.80}")
    if not 0 <= number <= UINT256_MAX:
        raise ValueError(f"{number} is outside 0..2**256-1")
    return number


def big(value: int) -> str:
    """The decimal string of an integer of the first kind (see the module docstring)."""
    return str(int(value))


#: An integer of the first kind in an API model: validated from an int or a decimal string, written as a
#: decimal string, described in OpenAPI as a string of digits.
BigInt = Annotated[
    int,
    BeforeValidator(parse_uint),
    PlainSerializer(big, return_type=str, when_used="always"),
    WithJsonSchema(
        {"type": "string", "pattern": "^[0-9]{1,78}$", "description": "unsigned integer, decimal string"}
    ),
]


def json_safe(obj: Any) -> Any:
    """`obj` with every integer beyond +-(2**53 - 1) written as its decimal string (dicts, lists, tuples)."""
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return obj if -MAX_JSON_INT <= obj <= MAX_JSON_INT else str(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
