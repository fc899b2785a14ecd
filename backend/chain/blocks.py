"""Block headers and plain value transfers: the raw chain reads and writes the use cases need, kept here."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.types import BlockIdentifier, Wei

__all__ = ["BlockHeader", "advance", "block_header", "send_value"]


@dataclass(frozen=True)
class BlockHeader:
    """A block's number, hash (0x hex) and timestamp (unix seconds)."""

    number: int
    hash: str
    timestamp: int


def block_header(w3: Web3, block: int | str = "latest") -> BlockHeader:
    """The header of `block` (a number, or a tag such as "latest")."""
    which: BlockIdentifier = block  # type: ignore[assignment]  # an int or a tag web3 knows
    header = w3.eth.get_block(which)
    return BlockHeader(int(header["number"]), "0x" + bytes(header["hash"]).hex(), int(header["timestamp"]))


def send_value(w3: Web3, sender: str, to: str, wei: int, *, gas: int = 21_000) -> str:
    """Send `wei` from an account the node holds unlocked to `to`; returns the transaction hash (0x hex)."""
    tx_hash = w3.eth.send_transaction({"from": sender, "to": to, "value": Wei(wei), "gas": gas})
    return "0x" + bytes(tx_hash).hex()


def advance(w3: Web3, blocks: int, seconds: int = 0) -> BlockHeader:
    """Mine `blocks` empty blocks, `seconds` later in time (dev chains only: Hardhat or the embedded chain).

    Hardhat moves its clock with evm_increaseTime; the embedded chain's blocks are BLOCK_TIME seconds apart,
    so there enough blocks are mined to cover `seconds`. Returns the new head.
    """
    from backend.chain.devchain import BLOCK_TIME

    provider = w3.provider
    tester = getattr(provider, "ethereum_tester", None)
    if tester is not None:
        tester.mine_blocks(max(blocks, -(-seconds // BLOCK_TIME)))
    else:
        if seconds:
            provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        for _ in range(max(blocks, 1 if seconds else 0)):
            provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return block_header(w3)
