"""ERC-1271 contract wallets for tests, compiled here (never shipped in backend/chain/artifacts).

MockWallet accepts exactly its owner's ECDSA signatures. The hostile wallets attack whoever asks them:
LoopingWallet's isValidSignature never returns (it burns all the gas it is given), ReturnBombWallet fills as
much memory as the gas it is given allows and reverts with all of it (a returndata bomb: a caller that copies
the returned bytes pays for them a second time).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract

from backend.chain.compiler import PROJECT_ROOT, SETTINGS, find_solc

__all__ = ["HOSTILE_WALLETS_SOURCE", "WALLET_SOURCE", "deploy_hostile_wallet", "deploy_wallet"]

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

HOSTILE_WALLETS_SOURCE = """
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
contract LoopingWallet {
    function delegate(address token, address to) external { IVotes(token).delegate(to); }
    function isValidSignature(bytes32, bytes calldata) external view returns (bytes4 magic) {
        assembly {
            for {} 1 {} {}
        }
        magic = 0x1626ba7e;
    }
}
contract ReturnBombWallet {
    function delegate(address token, address to) external { IVotes(token).delegate(to); }
    function isValidSignature(bytes32, bytes calldata) external view returns (bytes4) {
        assembly {
            let size := 0
            for {} gt(gas(), 20000) { size := add(size, 0x20) } { mstore(size, not(0)) }
            revert(0, size)
        }
    }
}
"""


@cache
def _artifact(source: str, name: str) -> dict[str, Any]:
    import solcx

    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Wallets.sol": {"content": source}},
            "settings": SETTINGS,
        },
        solc_binary=find_solc(),
        base_path=str(PROJECT_ROOT),
        allow_paths=[str(PROJECT_ROOT)],
    )
    data: dict[str, Any] = out["contracts"]["Wallets.sol"][name]
    return data


def _deploy(w3: Web3, source: str, name: str, deployer: str, *args: Any) -> Contract:
    art = _artifact(source, name)
    factory = w3.eth.contract(abi=art["abi"], bytecode="0x" + art["evm"]["bytecode"]["object"])
    tx = factory.constructor(*args).transact({"from": deployer, "gas": 1_000_000})
    address = w3.eth.get_transaction_receipt(tx)["contractAddress"]
    return w3.eth.contract(address=address, abi=art["abi"])


def deploy_wallet(w3: Web3, owner: str, deployer: str) -> Contract:
    """Deploy a MockWallet owned by `owner` (sent from the unlocked account `deployer`)."""
    return _deploy(w3, WALLET_SOURCE, "MockWallet", deployer, owner)


def deploy_hostile_wallet(w3: Web3, name: str, deployer: str) -> Contract:
    """Deploy `LoopingWallet` or `ReturnBombWallet` (sent from the unlocked account `deployer`)."""
    return _deploy(w3, HOSTILE_WALLETS_SOURCE, name, deployer)
