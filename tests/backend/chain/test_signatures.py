"""ERC-1271 checks against a real contract wallet on the embedded chain."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from backend.chain.signatures import erc1271_accepts
from backend.errors import ChainError
from tests.conftest import Chain
from tests.contracts.wallet import deploy_hostile_wallet, deploy_wallet

DIGEST = bytes(range(32))


def test_a_wallet_accepts_its_owners_signature_and_nothing_else(chain: Chain) -> None:
    owner, stranger = Account.create(), Account.create()
    wallet = deploy_wallet(chain.w3, owner.address, chain.admin.address)
    good = bytes(owner.unsafe_sign_hash(DIGEST).signature)
    assert erc1271_accepts(chain.w3, wallet.address, DIGEST, good)
    assert not erc1271_accepts(
        chain.w3, wallet.address, DIGEST, bytes(stranger.unsafe_sign_hash(DIGEST).signature)
    )
    assert not erc1271_accepts(chain.w3, wallet.address, bytes(32), good)  # signed another digest
    assert not erc1271_accepts(chain.w3, wallet.address, DIGEST, b"\x01\x02")  # malformed: the wallet refuses


def test_accounts_without_a_wallet_refuse(chain: Chain) -> None:
    owner = Account.create()
    sig = bytes(owner.unsafe_sign_hash(DIGEST).signature)
    assert not erc1271_accepts(chain.w3, owner.address, DIGEST, sig)  # an EOA has no code
    registry = chain.deployment.address("ContentRegistry")
    assert not erc1271_accepts(chain.w3, registry, DIGEST, sig)  # a contract without isValidSignature reverts


def test_a_wallet_that_loops_or_bombs_is_a_refusal_within_its_allowance(chain: Chain) -> None:
    # The node runs the wallet with CurationVoting's WALLET_CHECK_GAS, not its whole eth_call allowance.
    for name in ("LoopingWallet", "ReturnBombWallet"):
        wallet = deploy_hostile_wallet(chain.w3, name, chain.admin.address)
        assert not erc1271_accepts(chain.w3, wallet.address, DIGEST, b"\x01" * 65)


def test_a_node_that_does_not_answer_is_an_error_not_a_refusal() -> None:
    w3 = Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2}))
    with pytest.raises(ChainError, match="does not answer"):
        erc1271_accepts(w3, "0x" + "11" * 20, DIGEST, b"\x00" * 65)
    with pytest.raises(ValueError, match="32 bytes"):
        erc1271_accepts(w3, "0x" + "11" * 20, b"short", b"")
