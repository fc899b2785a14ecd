"""The genesis token allocation file: who receives how many voting tokens when the commons starts.

The file is CSV-like text, one `ADDRESS,AMOUNT` per line; blank lines and lines starting with `#` are
skipped, and a first line `address,amount` is a header. AMOUNT is in whole tokens with up to `decimals`
fractional digits (`1000`, `12.5`), or in base units with a `raw` suffix (`1000000000000000000raw`).
Everything is checked before anything is sent: the size, every address (each may appear once), every
amount (positive), and the total against ERC20Votes' supply cap (2^208 - 1 base units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from curation.errors import InvalidInput
from curation.params import parse_address
from curation.units import parse_token_amount

__all__ = [
    "MAX_ALLOCATION_BYTES",
    "MAX_ALLOCATION_ROWS",
    "SUPPLY_CAP",
    "Allocation",
    "InvalidAllocation",
    "parse_allocation",
]

#: Largest allocation file read, and most rows in it (each row is one mint in a genesis batch).
MAX_ALLOCATION_BYTES: Final = 1_000_000
MAX_ALLOCATION_ROWS: Final = 2_000
#: ERC20Votes refuses a total supply above type(uint208).max.
SUPPLY_CAP: Final = 2**208 - 1


class InvalidAllocation(InvalidInput):
    """The allocation file is too large, or a line does not parse (the message names the line)."""


@dataclass(frozen=True)
class Allocation:
    """Checked rows (checksummed address, base units), in file order, and their total."""

    rows: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(v for _, v in self.rows)


def parse_allocation(data: bytes, decimals: int = 18) -> Allocation:
    """The allocation in `data` (the file's bytes), every line checked; InvalidAllocation names the first bad line."""
    if len(data) > MAX_ALLOCATION_BYTES:
        raise InvalidAllocation(
            f"the allocation file is {len(data)} bytes; at most {MAX_ALLOCATION_BYTES} are read"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidAllocation(f"the allocation file is not UTF-8 text (byte {exc.start})") from None
    rows: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or (not rows and s.replace(" ", "").lower() == "address,amount"):
            continue
        parts = [p.strip() for p in s.split(",")]
        if len(parts) != 2:
            raise InvalidAllocation(f"line {n}: expected `ADDRESS,AMOUNT`, got {s[:120]!r}")
        try:
            address = parse_address(parts[0])
            amount = parse_token_amount(parts[1], decimals)
        except InvalidInput as exc:
            raise InvalidAllocation(f"line {n}: {exc}") from None
        if address in seen:
            raise InvalidAllocation(f"line {n}: {address} is already allocated on line {seen[address]}")
        seen[address] = n
        rows.append((address, amount))
        if len(rows) > MAX_ALLOCATION_ROWS:
            raise InvalidAllocation(f"line {n}: more than {MAX_ALLOCATION_ROWS} allocations in one file")
    if not rows:
        raise InvalidAllocation("the allocation file has no `ADDRESS,AMOUNT` line")
    allocation = Allocation(tuple(rows))
    if allocation.total > SUPPLY_CAP:
        raise InvalidAllocation(
            f"the allocations total {allocation.total} base units, above the token's cap {SUPPLY_CAP}"
        )
    return allocation
