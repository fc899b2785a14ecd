"""logsBloom helpers: which addresses and topics a block's 2048-bit bloom may hold (yellow paper, 4.3.1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from eth_utils.crypto import keccak

__all__ = ["bloom_mask", "filter_in_bloom", "in_bloom", "log_in_bloom", "logs_bloom", "parse_bloom"]


@lru_cache(maxsize=65536)
def bloom_mask(item: str) -> int:
    """The three logsBloom bits of an address or topic given as 0x hex."""
    digest = keccak(bytes.fromhex(item[2:]))
    return sum(1 << (int.from_bytes(digest[i : i + 2], "big") & 2047) for i in (0, 2, 4))


def in_bloom(bloom: int, item: str) -> bool:
    """True when `item` (an address or topic, 0x hex) may be in `bloom`; False means it certainly is not."""
    mask = bloom_mask(item)
    return bloom & mask == mask


def log_in_bloom(bloom: int, address: str, topics: Iterable[str]) -> bool:
    """True when a log's address and every one of its topics may be in `bloom` (a block must hold its logs)."""
    return in_bloom(bloom, address) and all(in_bloom(bloom, topic) for topic in topics)


def filter_in_bloom(
    bloom: int, addresses: Iterable[str], topics: Sequence[Sequence[str] | None] = ()
) -> bool:
    """True when the block may hold a log that an eth_getLogs filter matches: one of `addresses` and, for each
    topic position that is not None, one of its choices (ponder's isFilterInBloom)."""
    if not any(in_bloom(bloom, a) for a in addresses):
        return False
    return all(choices is None or any(in_bloom(bloom, t) for t in choices) for choices in topics)


def logs_bloom(logs: Iterable[tuple[str, Sequence[str]]]) -> int:
    """The bloom of `(address, topics)` logs, as a block header carries it for all of its receipts' logs."""
    bloom = 0
    for address, topics in logs:
        bloom |= bloom_mask(address)
        for topic in topics:
            bloom |= bloom_mask(topic)
    return bloom


def parse_bloom(value: Any) -> int:
    """A header's logsBloom as an int: 0x hex from a node, bytes or an int from web3's formatters."""
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value, 16)
    raise ValueError(f"expected a logsBloom, got {type(value).__name__}")
