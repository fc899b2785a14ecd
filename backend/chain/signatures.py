"""ERC-1271: whether a contract wallet accepts a signature over a digest (for sign-in by Safe-style wallets)."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3RPCError

from backend.chain.contract import REVERTS
from backend.errors import ChainError

__all__ = ["ERC1271_MAGIC", "erc1271_accepts"]

#: `isValidSignature(bytes32,bytes)` selector, which is also the value a wallet returns to accept.
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


def erc1271_accepts(w3: Web3, account: str, digest: bytes, signature: bytes) -> bool:
    """True when `account` is a contract whose `isValidSignature(digest, signature)` returns the magic value.

    An account without code, a revert or any other answer is a refusal (as in OpenZeppelin's
    SignatureChecker); a node that cannot be reached is a ChainError, not a refusal.
    """
    if len(digest) != 32:
        raise ValueError(f"digest must be 32 bytes, got {len(digest)}")
    address = to_checksum_address(account)
    data = ERC1271_MAGIC + abi_encode(["bytes32", "bytes"], [digest, signature])
    try:
        if not w3.eth.get_code(address):
            return False
        answer = bytes(w3.eth.call({"to": address, "data": data}))
    except REVERTS:
        return False
    except Web3RPCError as exc:
        if "revert" in str(exc).lower():
            return False
        raise ChainError(f"could not ask {address} about a signature: {exc}") from None
    except OSError as exc:
        raise ChainError(
            f"could not ask {address} about a signature: the node does not answer ({exc})"
        ) from None
    return len(answer) >= 32 and answer[:32] == ERC1271_MAGIC.ljust(32, b"\0")
