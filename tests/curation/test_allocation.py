"""curation.allocation: the genesis allocation file, every line checked before anything is sent."""

from __future__ import annotations

import pytest

from curation.allocation import (
    MAX_ALLOCATION_BYTES,
    MAX_ALLOCATION_ROWS,
    SUPPLY_CAP,
    InvalidAllocation,
    parse_allocation,
)
from curation.errors import InvalidInput
from curation.units import parse_token_amount

A = "0x" + "ab" * 20
B = "0x" + "cd" * 20


def test_rows_in_tokens_or_raw_units_with_header_comments_and_blanks() -> None:
    text = f"address,amount\n# founders\n\n{A}, 12.5\n{B},7raw\n"
    got = parse_allocation(text.encode())
    assert [v for _, v in got.rows] == [12_500_000_000_000_000_000, 7]
    assert got.rows[0][0] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # checksummed
    assert got.total == 12_500_000_000_000_000_007


def test_six_decimals_token() -> None:
    assert parse_token_amount("1.000001", 6) == 1_000_001
    with pytest.raises(InvalidInput, match="more than 6 fractional digits"):
        parse_token_amount("1.0000001", 6)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f"{A}", "line 1: expected `ADDRESS,AMOUNT`"),
        (f"{A},1,2", "line 1: expected"),
        ("0x12,1", "line 1: address = '0x12' is not an account address"),
        (f"{A},0", "line 1: amount = '0' must be more than 0"),
        (f"{A},-3", "does not parse"),
        (f"{A},1.5raw", "base units"),
        (f"{A},1\n{A.upper().replace('0X', '0x')},2", "line 2: .* is already allocated on line 1"),
        ("# nothing\n", "no `ADDRESS,AMOUNT` line"),
    ],
)
def test_bad_lines_are_named(text: str, match: str) -> None:
    with pytest.raises(InvalidAllocation, match=match):
        parse_allocation(text.encode())


def test_limits() -> None:
    with pytest.raises(InvalidAllocation, match="not UTF-8"):
        parse_allocation(b"\xff\xfe")
    with pytest.raises(InvalidAllocation, match=f"at most {MAX_ALLOCATION_BYTES}"):
        parse_allocation(b"#" * (MAX_ALLOCATION_BYTES + 1))
    many = "\n".join(f"0x{i:040x},1" for i in range(1, MAX_ALLOCATION_ROWS + 2))
    with pytest.raises(InvalidAllocation, match=f"more than {MAX_ALLOCATION_ROWS}"):
        parse_allocation(many.encode())
    half = SUPPLY_CAP // 2 + 1
    with pytest.raises(InvalidAllocation, match="above the token's cap"):
        parse_allocation(f"{A},{half}raw\n{B},{half}raw".encode())
