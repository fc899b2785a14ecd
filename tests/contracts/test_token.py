"""CurationToken: minting by role, checkpointed votes, block-number clock."""

from __future__ import annotations

import pytest

from backend.chain.token import TokenClient
from backend.errors import ContractRevert
from curation.events import MinterSet
from tests.conftest import Chain


def _token(chain: Chain) -> TokenClient:
    return TokenClient(chain.w3, chain.deployment.address("CurationToken"), chain.admin)


def test_admin_mints_and_votes_need_delegation(chain: Chain) -> None:
    token = _token(chain)
    alice = chain.signers[1]
    token.mint(alice.address, 100)
    assert token.balance_of(alice.address) == 100
    assert token.get_votes(alice.address) == 0
    token.with_signer(alice).delegate(alice.address)
    assert token.get_votes(alice.address) == 100


def test_non_minter_mint_reverts_with_named_error(chain: Chain) -> None:
    token = _token(chain).with_signer(chain.signers[2])
    with pytest.raises(
        ContractRevert, match=r"CurationTokenNotMinter\(caller=0x[0-9a-fA-F]{40}\).*minter role"
    ):
        token.mint(chain.signers[2].address, 1)


def test_set_minter_is_admin_only_and_grants_the_role(chain: Chain) -> None:
    token = _token(chain)
    bob = chain.signers[3]
    with pytest.raises(ContractRevert, match="CurationTokenNotAdmin"):
        token.with_signer(bob).set_minter(bob.address, True)
    receipt = token.set_minter(bob.address, True)
    appointed = receipt.event(MinterSet)
    assert appointed == MinterSet(appointed.at, account=bob.address.lower(), allowed=True)
    token.with_signer(bob).mint(bob.address, 5)
    assert token.balance_of(bob.address) == 5
    assert token.is_minter(bob.address)


def test_clock_is_block_number_and_past_votes_are_checkpointed(chain: Chain) -> None:
    token = _token(chain)
    alice = chain.signers[1]
    assert token.clock_mode() == "mode=blocknumber&from=default"
    token.with_signer(alice).delegate(alice.address)
    r = token.mint(alice.address, 70)
    token.mint(alice.address, 30)
    assert token.get_past_votes(alice.address, r.block_number) == 70
    assert token.get_past_total_supply(r.block_number) == 70
    assert token.clock() == chain.w3.eth.block_number
