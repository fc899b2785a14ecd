"""Attack regressions on CurationVoting: each must fail for the attacker."""

from __future__ import annotations

import pytest

from backend.chain.voting import DatasetParams, Tally
from curation.events import ProposalFinalized, VoteCast
from curation.governance import ProposalStatus, Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import World


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


def _proposal(world: World, delay: int = 2) -> tuple[int, int]:
    ds = world.dataset(DatasetParams(voting_delay=delay, voting_period=20, quorum_bps=5000))
    pid = world.propose(ds)
    return pid, world.voting.get_proposal(pid).snapshot


def test_tokens_minted_and_delegated_after_the_snapshot_weigh_zero(world: World) -> None:
    honest = world.dev(1, 100)
    pid, snapshot = _proposal(world)
    world.mine_to(snapshot)
    attacker = world.chain.signers[5]
    world.token.mint(attacker.address, 10_000)  # block snapshot + 1: the first block that may vote
    world.token.with_signer(attacker).delegate(attacker.address)
    assert world.token.get_votes(attacker.address) == 10_000
    r = world.voting.with_signer(attacker).cast_vote(pid, Support.AGAINST)
    assert r.event(VoteCast).weight == 0
    world.voting.with_signer(honest).cast_vote(pid, Support.FOR)
    world.close(pid)
    ev = world.voting.finalize(pid).event(ProposalFinalized)
    assert (ev.against_votes, ev.past_total_supply, ev.outcome) == (0, 100, ProposalStatus.ACCEPTED)


def test_tokens_bought_after_the_snapshot_weigh_zero_for_the_buyer(world: World) -> None:
    seller = world.dev(1, 500)
    buyer = world.dev(2, 0)
    pid, snapshot = _proposal(world)
    world.mine_to(snapshot)
    world.token.with_signer(seller).transfer(buyer.address, 500)
    assert world.voting.with_signer(buyer).cast_vote(pid, Support.FOR).event(VoteCast).weight == 0
    # The seller keeps the weight it had at the snapshot: the same tokens are never counted twice.
    assert world.voting.with_signer(seller).cast_vote(pid, Support.AGAINST).event(VoteCast).weight == 500
    assert world.voting.get_tally(pid) == Tally(0, 500, 0)


def test_delegation_after_the_snapshot_moves_no_weight(world: World) -> None:
    whale, puppet = world.dev(1, 300), world.dev(2, 1)
    pid, snapshot = _proposal(world)
    world.mine_to(snapshot)
    world.token.with_signer(whale).delegate(puppet.address)
    assert world.voting.with_signer(puppet).cast_vote(pid, Support.FOR).event(VoteCast).weight == 1
    assert world.voting.with_signer(whale).cast_vote(pid, Support.FOR).event(VoteCast).weight == 300


def test_tokens_borrowed_and_returned_before_the_snapshot_weigh_zero(world: World) -> None:
    # Beanstalk borrowed, voted and repaid in one transaction. Here voting opens only after the snapshot block,
    # at least one block after the proposal, and weights are read at the snapshot: a loan repaid by then
    # weighs 0, whatever the attacker held in between.
    attacker = world.dev(3, 0)
    world.dev(1, 100)
    pid, snapshot = _proposal(world, delay=4)
    world.token.mint(attacker.address, 1_000)  # "borrowed" after the proposal ...
    world.token.with_signer(attacker).transfer(world.chain.signers[9].address, 1_000)  # ... and "repaid"
    world.mine_to(snapshot)
    assert world.voting.with_signer(attacker).cast_vote(pid, Support.FOR).event(VoteCast).weight == 0


def test_the_snapshot_block_is_the_last_whose_acquisitions_count(world: World) -> None:
    # weight = getPastVotes(voter, snapshot): the balance at the END of the snapshot block (OpenZeppelin's
    # convention). A transaction in the snapshot block still counts; the next block does not.
    late = world.dev(2, 0)
    pid, snapshot = _proposal(world, delay=3)
    world.mine_to(snapshot - 1)
    world.token.mint(late.address, 7)  # lands in the snapshot block
    world.token.mint(late.address, 5)  # lands in snapshot + 1
    assert world.voting.with_signer(late).cast_vote(pid, Support.FOR).event(VoteCast).weight == 7
    assert world.token.get_past_votes(late.address, snapshot) == 7


def test_vote_transfer_and_vote_again_from_the_receiver_counts_zero(world: World) -> None:
    alice, bob = world.dev(1, 100), world.dev(2, 0)
    pid, snapshot = _proposal(world)
    world.mine_to(snapshot)
    world.voting.with_signer(alice).cast_vote(pid, Support.FOR)
    world.token.with_signer(alice).transfer(bob.address, 100)
    assert world.voting.with_signer(bob).cast_vote(pid, Support.FOR).event(VoteCast).weight == 0
    assert world.voting.get_tally(pid) == Tally(100, 0, 0)


def test_a_signature_relayed_twice_and_cast_directly_counts_once(world: World) -> None:
    alice = world.keyed(40)
    pid, snapshot = _proposal(world)
    world.mine_to(snapshot + 1)
    ballot = world.ballot(alice, pid)
    first = world.voting.relay_ballots([ballot, ballot])
    assert len(first.all(VoteCast)) == 1
    second = world.voting.relay_ballots([ballot])
    assert second.all(VoteCast) == []
    assert world.voting.get_tally(pid) == Tally(40, 0, 0)
