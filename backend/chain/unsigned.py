"""Unsigned transactions for a user's wallet to sign: calldata built offline from the shipped ABI."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from backend.chain.artifacts import load_artifact
from backend.chain.registry import cid_bytes
from curation.cid import CID
from curation.errors import InvalidInput

__all__ = ["SUBMIT_ITEM_GAS", "UnsignedTx", "submit_item_tx"]

#: Gas limit suggested for submitItem (an upper bound; the wallet may estimate its own).
SUBMIT_ITEM_GAS = 250_000

_UINT16 = 1 << 16
_UINT64 = 1 << 64


@dataclass(frozen=True)
class UnsignedTx:
    """`to`, `data`, `value`, `gas` and `chain_id` of a call; the wallet adds nonce and fees, then signs."""

    sender: str
    to: str
    data: str
    value: int
    gas: int
    chain_id: int

    def as_dict(self) -> dict[str, Any]:
        """The fields as eth_account / web3 name them (`from`, `chainId`)."""
        return {
            "from": self.sender,
            "to": self.to,
            "data": self.data,
            "value": self.value,
            "gas": self.gas,
            "chainId": self.chain_id,
        }


@cache
def _registry(address: str) -> Contract:
    # No provider: encoding calldata needs only the ABI, never a node or a key.
    return Web3().eth.contract(address=to_checksum_address(address), abi=load_artifact("ContentRegistry").abi)


def submit_item_tx(
    *,
    registry: str,
    chain_id: int,
    sender: str,
    cid: str | bytes | CID,
    sha256: bytes,
    size: int,
    license_id: int,
    consent: int,
    expiry: int,
) -> UnsignedTx:
    """ContentRegistry.submitItem(cid, sha256, size, licenseId, consent, expiry) from `sender`, unsigned."""
    if len(sha256) != 32:
        raise InvalidInput(f"sha256 must be 32 bytes, got {len(sha256)}")
    for name, value, bound in (
        ("size", size, _UINT64),
        ("license id", license_id, _UINT16),
        ("consent", consent, _UINT16),
        ("expiry", expiry, _UINT64),
    ):
        if not 0 <= value < bound:
            raise InvalidInput(f"{name} {value} does not fit the contract's type (0 <= value < {bound})")
    contract = _registry(registry)
    data = contract.encode_abi("submitItem", args=[cid_bytes(cid), sha256, size, license_id, consent, expiry])
    return UnsignedTx(
        sender=to_checksum_address(sender),
        to=contract.address,
        data=str(data),
        value=0,
        gas=SUBMIT_ITEM_GAS,
        chain_id=chain_id,
    )
