"""ERC-1271: whether a contract wallet accepts a signature over a digest (for sign-in by Safe-style wallets)."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3RPCError

from backend.chain.contract import REVERTS
from backend.errors import ChainError

__all__ = ["ERC1271_MAGIC", "WALLET_CALL_MIN_GAS", "WALLET_CHECK_GAS", "erc1271_accepts"]

#: `isValidSignature(bytes32,bytes)` selector, which is also the value a wallet returns to accept.
ERC1271_MAGIC = bytes.fromhex("1626ba7e")

#: Gas a wallet's `isValidSignature` may use, as CurationVoting.WALLET_CHECK_GAS (a test checks they agree):
#: a wallet that needs more has not signed. Enough for a Safe with many owners and for passkey (P-256) wallets
#: verifying in Solidity; see docs/voting.md.
WALLET_CHECK_GAS = 500_000

#: Gas CurationVoting needs left just before asking a wallet (WALLET_CHECK_GAS under EIP-150's 63/64 rule,
#: plus the call's own cost); with less it reverts CurationVotingGasTooLowForWallet instead of skipping.
WALLET_CALL_MIN_GAS = WALLET_CHECK_GAS + WALLET_CHECK_GAS // 63 + 3_000


def erc1271_accepts(w3: Web3, account: str, digest: bytes, signature: bytes) -> bool:
    """True when `account` is a contract whose `isValidSignature(digest, signature)` returns the magic value.

    An account without code, a revert, running out of WALLET_CHECK_GAS or any other answer is a refusal (as
    in CurationVoting); a node that cannot be reached is a ChainError, not a refusal.
    """
    if len(digest) != 32:
        raise ValueError(f"digest must be 32 bytes, got {len(digest)}")
    address = to_checksum_address(account)
    data = ERC1271_MAGIC + abi_encode(["bytes32", "bytes"], [digest, signature])
    try:
        if not w3.eth.get_code(address):
            return False
        # The wallet gets what CurationVoting would give it, not the node's whole eth_call allowance: a wallet
        # that loops costs the node WALLET_CHECK_GAS, not tens of millions of gas per sign-in.
        gas = 21_000 + 16 * len(data) + WALLET_CHECK_GAS
        answer = bytes(w3.eth.call({"to": address, "data": data, "gas": gas}))
    except REVERTS:
        return False
    except Web3RPCError as exc:
        message = str(exc).lower()
        if "revert" in message or "out of gas" in message:  # Hardhat: "Transaction ran out of gas"
            return False
        raise ChainError(f"could not ask {address} about a signature: {exc}") from None
    except OSError as exc:
        raise ChainError(
            f"could not ask {address} about a signature: the node does not answer ({exc})"
        ) from None
    return len(answer) >= 32 and answer[:32] == ERC1271_MAGIC.ljust(32, b"\0")
