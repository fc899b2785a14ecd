"""curation.jsonnum: the one rule for integers in JSON."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from curation.jsonnum import MAX_JSON_INT, UINT256_MAX, BigInt, json_safe, parse_uint


class _Out(BaseModel):
    amount: BigInt
    ids: list[BigInt]


def test_a_bigint_is_a_decimal_string_whatever_its_value() -> None:
    out = _Out(amount=5, ids=[1, "18446744073709551616"])
    assert out.amount == 5  # an int inside
    assert json.loads(out.model_dump_json()) == {"amount": "5", "ids": ["1", "18446744073709551616"]}
    assert _Out.model_json_schema()["properties"]["amount"]["type"] == "string"


@pytest.mark.parametrize("bad", [-1, UINT256_MAX + 1, "1e3", "0x10", " 1", "", "+1", True, 1.0])
def test_a_bigint_is_an_unsigned_256_bit_integer(bad: object) -> None:
    with pytest.raises(ValidationError):
        _Out(amount=bad, ids=[])
    with pytest.raises(ValueError):
        parse_uint(bad)


def test_json_safe_writes_only_unsafe_integers_as_strings() -> None:
    doc = {"a": MAX_JSON_INT, "b": [MAX_JSON_INT + 1, -(2**60)], "c": True, "d": None, "e": ("x", 2**64)}
    assert json_safe(doc) == {
        "a": MAX_JSON_INT,
        "b": [str(MAX_JSON_INT + 1), str(-(2**60))],
        "c": True,
        "d": None,
        "e": ["x", str(2**64)],
    }
