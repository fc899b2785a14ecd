"""Attack: ballots that sink a relayed batch.

A voter that is a contract wallet is asked `isValidSignature` (ERC-1271) for its ballot. A hostile wallet
whose `isValidSignature` loops forever used to receive 63/64 of all the gas left, so `relayBallots` ran out of
gas and reverted with no ballot counted; a wallet that reverts with huge data (a returndata bomb) could make
the relayer pay for that data again. And the Python relayer sent each batch blindly with a fixed gas limit, so
any ballot that makes the whole transaction revert sank every other ballot in its batch.

Promised behaviour:
- CurationVoting gives each ERC-1271 check at most WALLET_CHECK_GAS (500,000). A wallet that burns it,
  reverts or answers anything but the magic value has not signed: its ballot is skipped with BallotSkipped
  (BadSignature) and the rest of the batch counts. The relayer pays at most that allowance for the wallet;
  the bytes a wallet returns are never copied beyond 32, so a returndata bomb costs no more.
- A transaction that leaves too little gas to give a wallet its full allowance reverts
  (CurationVotingGasTooLowForWallet) instead of skipping an honest wallet's ballot as a bad signature.
- `relay()` simulates every batch first; when it would revert, it bisects to find the ballots that make it
  revert, relays the others and reports each ballot left out and why, beside the ballots the contract skipped
  (read from its BallotSkipped events). The CLI prints both.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.chain.ballots import relay
from backend.chain.signatures import WALLET_CHECK_GAS
from backend.chain.voting import Tally
from backend.cli.curator_cmd import relay_output
from backend.errors import ContractRevert
from curation.ballots import SignedBallot, SkipReason
from curation.events import BallotSkipped, VoteCast
from curation.governance import Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import World
from tests.contracts.wallet import deploy_hostile_wallet, deploy_wallet

#: Gas of a wallet's ballot beyond the wallet's own allowance (measured 12,111): calldata, the cold wallet
#: account and has-voted slot, the digest, the call, the skip event. Far below what copying a returndata bomb
#: would add (hundreds of thousands).
OVERHEAD = 15_000


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


def _wallet(world: World, name: str, votes: int = 7) -> Any:
    wallet = deploy_hostile_wallet(world.w3, name, world.chain.admin.address)
    world.token.mint(wallet.address, votes)
    wallet.functions.delegate(world.token.address, wallet.address).transact(
        {"from": world.chain.admin.address, "gas": 200_000}
    )
    return wallet


def _wallet_ballot(world: World, pid: int, wallet: str) -> SignedBallot:
    unsigned = world.voting.ballot(pid, Support.FOR, wallet)
    return SignedBallot(**unsigned.model_dump(), signature=b"\x01" * 65)


def _open(world: World, voters: int, votes: int = 10) -> tuple[int, list[LocalAccount]]:
    accts = [world.keyed(votes + i) for i in range(voters)]
    pid = world.propose(world.dataset())
    world.mine_to(world.voting.get_proposal(pid).snapshot + 1)
    return pid, accts


def test_the_contract_and_the_client_agree_on_the_wallet_allowance(world: World) -> None:
    assert world.voting._call("WALLET_CHECK_GAS") == WALLET_CHECK_GAS == 500_000


@pytest.mark.parametrize("name", ["LoopingWallet", "ReturnBombWallet"])
def test_a_hostile_wallet_is_skipped_and_costs_at_most_its_allowance(world: World, name: str) -> None:
    hostile = _wallet(world, name)
    pid, (a, b, c, d, e) = _open(world, 5)
    world.voting.relay_ballots([world.ballot(e, pid)])  # the tally slot is written once before measuring
    # Same shape twice, first-time voters both times: the only difference is the hostile wallet's ballot.
    plain = world.voting.relay_ballots([world.ballot(a, pid), world.ballot(b, pid)], gas=3_000_000)
    attacked = world.voting.relay_ballots(
        [world.ballot(c, pid), _wallet_ballot(world, pid, hostile.address), world.ballot(d, pid)],
        gas=3_000_000,
    )
    assert [e.voter for e in attacked.all(VoteCast)] == [c.address.lower(), d.address.lower()]
    assert [(e.voter, e.index, SkipReason(e.reason)) for e in attacked.all(BallotSkipped)] == [
        (hostile.address.lower(), 1, SkipReason.BAD_SIGNATURE)
    ]
    extra = attacked.gas_used - plain.gas_used
    # The wallet got its whole allowance and burnt it (the bomb keeps 20,000 of it to revert with all the
    # memory it filled), so the cap is what bounds it; and the relayer paid nothing beyond it.
    assert WALLET_CHECK_GAS - 20_000 <= extra <= WALLET_CHECK_GAS + OVERHEAD
    assert world.voting.get_tally(pid) == Tally(10 + 11 + 12 + 13 + 14, 0, 0)
    assert not world.voting.has_voted(pid, hostile.address)


def test_the_relayer_counts_everyone_but_a_looping_wallet_and_says_why(world: World) -> None:
    looping = _wallet(world, "LoopingWallet")
    pid, voters = _open(world, 3)
    ballots = [world.ballot(voters[0], pid), _wallet_ballot(world, pid, looping.address)]
    ballots += [world.ballot(v, pid, Support.AGAINST) for v in voters[1:]]
    report = relay(world.voting, ballots)
    assert len(report.receipts) == 1
    assert sorted(c.voter for c in report.counted) == sorted(v.address for v in voters)
    assert report.left_out == []
    [skipped] = report.skipped_on_chain
    assert (skipped.ballot.voter, skipped.reason) == (looping.address, SkipReason.BAD_SIGNATURE)
    assert "contract wallet" in skipped.detail
    assert "500,000 gas" in skipped.detail
    assert world.voting.get_tally(pid) == Tally(10, 11 + 12, 0)


def test_too_little_gas_for_a_wallet_reverts_rather_than_skipping_an_honest_wallet(world: World) -> None:
    owner = Account.create()
    honest = deploy_wallet(world.w3, owner.address, world.chain.admin.address)
    world.token.mint(honest.address, 5)
    honest.functions.delegate(world.token.address, honest.address).transact(
        {"from": world.chain.admin.address, "gas": 200_000}
    )
    pid, _ = _open(world, 1)
    unsigned = world.voting.ballot(pid, Support.FOR, honest.address)
    ballot = SignedBallot(
        **unsigned.model_dump(), signature=bytes(owner.unsafe_sign_hash(unsigned.digest()).signature)
    )
    with pytest.raises(ContractRevert, match=r"CurationVotingGasTooLowForWallet\(wallet=0x\w+, gasLeft=\d+"):
        world.voting.relay_ballots([ballot], gas=400_000)
    assert not world.voting.has_voted(pid, honest.address)
    report = relay(world.voting, [ballot])  # the relayer sizes the gas for the wallet's allowance
    assert [(c.voter, c.weight) for c in report.counted] == [(honest.address, 5)]


def test_a_ballot_that_would_revert_the_batch_is_left_out_and_the_rest_relayed(world: World) -> None:
    # A real peer's ballot that makes relayBallots revert: a whale whose weight does not fit the For tally
    # (uint128), so counting it reverts with SafeCastOverflowedUintDowncast and would take the batch down.
    looping = _wallet(world, "LoopingWallet")
    voters = [world.keyed(10 + i) for i in range(6)]
    whale = world.keyed(2**128)
    pid = world.propose(world.dataset())
    world.mine_to(world.voting.get_proposal(pid).snapshot + 1)
    ballots = [world.ballot(v, pid) for v in voters[:3]]
    ballots += [world.ballot(whale, pid), _wallet_ballot(world, pid, looping.address)]
    ballots += [world.ballot(v, pid) for v in voters[3:]]
    with pytest.raises(ContractRevert, match="SafeCastOverflowedUintDowncast"):
        world.voting.relay_ballots(ballots)  # what relaying it blindly does

    report = relay(world.voting, ballots)
    assert len(report.receipts) == 1  # the good ballots still go in one transaction
    assert sorted(c.voter for c in report.counted) == sorted(v.address for v in voters)
    [left_out] = report.left_out
    assert left_out.ballot.voter == whale.address
    assert "would revert the whole batch" in left_out.detail
    assert "SafeCastOverflowedUintDowncast" in left_out.detail
    [skipped] = report.skipped_on_chain
    assert (skipped.ballot.voter, skipped.reason) == (looping.address, SkipReason.BAD_SIGNATURE)
    assert world.voting.get_tally(pid) == Tally(sum(range(10, 16)), 0, 0)
    assert not world.voting.has_voted(pid, whale.address)

    result, lines = relay_output(report)
    assert lines[0].startswith(
        "counted 6 ballots, left out by the relayer 1, skipped by the contract 1, gas "
    )
    assert lines[1].startswith(
        f"  left out {whale.address} on proposal {pid}: relaying this ballot would revert"
    )
    assert lines[2].startswith(
        f"  skipped {looping.address} on proposal {pid}: the voter is a contract wallet"
    )
    assert [(s["voter"], s["left_out"], s["code"]) for s in result["skipped"]] == [
        (whale.address, True, None),
        (looping.address, False, "bad_signature"),
    ]


def test_a_batch_too_big_for_one_transaction_is_split_by_gas(world: World) -> None:
    wallets = [_wallet(world, "LoopingWallet", votes=1) for _ in range(3)]
    pid, voters = _open(world, 2)
    ballots = [world.ballot(voters[0], pid)]
    ballots += [_wallet_ballot(world, pid, w.address) for w in wallets]
    ballots.append(world.ballot(voters[1], pid))
    # Each looping wallet may take its whole allowance: at most two fit in 1.5M gas, so two transactions.
    report = relay(world.voting, ballots, max_gas=1_500_000)
    assert len(report.receipts) == 2
    assert all(r.gas_used <= 1_500_000 for r in report.receipts)
    assert sorted(c.voter for c in report.counted) == sorted(v.address for v in voters)
    assert sorted(s.ballot.voter for s in report.skipped_on_chain) == sorted(w.address for w in wallets)
    too_small = relay(world.voting, ballots[1:2], max_gas=400_000)
    assert too_small.receipts == []
    assert "more than one relay transaction may use (400,000)" in too_small.left_out[0].detail
