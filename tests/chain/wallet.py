"""A minimal ERC-1271 contract wallet for tests: it accepts exactly its owner's ECDSA signatures."""

from __future__ import annotations

from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract

from backend.chain.compiler import PROJECT_ROOT, SETTINGS, find_solc

__all__ = ["WALLET_SOURCE", "deploy_wallet"]

WALLET_SOURCE = """
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
contract MockWallet {
    address private immutable _owner;
    constructor(address owner_) { _owner = owner_; }
    function delegate(address token, address to) external { IVotes(token).delegate(to); }
    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, sig);
        return err == ECDSA.RecoverError.NoError && signer == _owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}
"""


@cache
def _wallet_artifact() -> dict[str, Any]:
    import solcx

    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"MockWallet.sol": {"content": WALLET_SOURCE}},
            "settings": SETTINGS,
        },
        solc_binary=find_solc(),
        base_path=str(PROJECT_ROOT),
        allow_paths=[str(PROJECT_ROOT)],
    )
    data: dict[str, Any] = out["contracts"]["MockWallet.sol"]["MockWallet"]
    return data


def deploy_wallet(w3: Web3, owner: str, deployer: str) -> Contract:
    """Deploy a MockWallet owned by `owner` (sent from the unlocked account `deployer`)."""
    art = _wallet_artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode="0x" + art["evm"]["bytecode"]["object"])
    tx = factory.constructor(owner).transact({"from": deployer, "gas": 1_000_000})
    address = w3.eth.get_transaction_receipt(tx)["contractAddress"]
    return w3.eth.contract(address=address, abi=art["abi"])
