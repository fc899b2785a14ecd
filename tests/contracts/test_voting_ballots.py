"""CurationVoting signed ballots: castVoteBySig, ERC-1271 wallets, relayed batches and signature replays."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from backend.chain.accounts import Signer
from backend.chain.ballots import recover_signer, relay, sign_ballot
from backend.chain.contract import deploy_contract
from backend.chain.voting import DatasetParams, Tally, VotingClient
from backend.errors import ContractRevert
from curation.ballots import Ballot, SignedBallot, SkipReason
from curation.errors import InvalidInput
from curation.events import BallotSkipped, ProposalCreated, VoteCast
from curation.governance import Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import World
from tests.contracts.wallet import deploy_wallet


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


def _open(world: World, voters: int = 2, votes: int = 10) -> tuple[int, list[Any]]:
    ds = world.dataset()
    accts = [world.keyed(votes) for _ in range(voters)]
    pid = world.propose(ds)
    # One block past the first voting block: the embedded chain mines a failed transaction and
    # backend.chain.contract replays it as a call to name the error (see `_send` there).
    world.mine_to(world.voting.get_proposal(pid).snapshot + 1)
    return pid, accts


def _forged(ballot: SignedBallot, **changes: Any) -> SignedBallot:
    data = {**ballot.model_dump(), **changes}
    return SignedBallot(**data)


# --- castVoteBySig ----------------------------------------------------------------------------------------


def test_a_signed_ballot_counts_the_voters_weight_whoever_sends_it(world: World) -> None:
    pid, (alice, _) = _open(world)
    ballot = world.ballot(alice, pid, Support.AGAINST)
    assert recover_signer(ballot) == alice.address
    assert world.voting.ballot_digest(pid, Support.AGAINST, alice.address) == ballot.digest()
    r = world.voting.with_signer(world.chain.signers[7]).cast_vote_by_sig(ballot)
    vote = r.event(VoteCast)
    assert vote == VoteCast(
        vote.at, voter=alice.address.lower(), proposal_id=pid, support=0, weight=10, reason=""
    )
    assert world.voting.get_tally(pid) == Tally(0, 10, 0)


def test_the_eip712_domain_matches_the_python_ballot(world: World) -> None:
    domain = world.voting.eip712_domain()
    ballot = world.voting.ballot(1, Support.FOR, world.chain.admin.address)
    assert domain == ballot.typed_data()["domain"]


def test_a_signature_by_another_key_or_malformed_is_rejected(world: World) -> None:
    pid, (alice, bob) = _open(world)
    by_bob = sign_ballot(bob, world.voting.ballot(pid, Support.FOR, bob.address))
    for bad in (
        _forged(by_bob, voter=alice.address),  # bob's signature presented as alice's ballot
        _forged(by_bob, voter=alice.address, signature=by_bob.signature[:64]),  # truncated
        _forged(by_bob, voter=alice.address, signature=b"\x01" * 65),  # garbage
    ):
        with pytest.raises(
            ContractRevert, match=r"CurationVotingInvalidSignature\(proposalId=1, voter=0x.*signature"
        ):
            world.voting.cast_vote_by_sig(bad)
    assert not world.voting.has_voted(pid, alice.address)


def test_changing_the_support_of_a_signed_ballot_invalidates_it(world: World) -> None:
    pid, (alice, _) = _open(world)
    ballot = world.ballot(alice, pid, Support.AGAINST)
    with pytest.raises(ContractRevert, match="CurationVotingInvalidSignature"):
        world.voting.cast_vote_by_sig(_forged(ballot, support=Support.FOR))


def test_replaying_a_signature_on_the_same_proposal_is_rejected(world: World) -> None:
    pid, (alice, _) = _open(world)
    ballot = world.ballot(alice, pid)
    world.voting.cast_vote_by_sig(ballot)
    with pytest.raises(ContractRevert, match=r"CurationVotingAlreadyVoted\(proposalId=1"):
        world.voting.cast_vote_by_sig(ballot)
    assert world.voting.get_tally(pid) == Tally(10, 0, 0)


def test_replaying_a_signature_on_another_proposal_is_rejected(world: World) -> None:
    pid, (alice, _) = _open(world)
    other = world.propose(1)
    world.mine_to(world.voting.get_proposal(other).snapshot + 1)
    ballot = world.ballot(alice, pid)
    with pytest.raises(ContractRevert, match=rf"CurationVotingInvalidSignature\(proposalId={other}"):
        world.voting.cast_vote_by_sig(_forged(ballot, proposal_id=other))
    world.voting.cast_vote_by_sig(ballot)
    assert world.voting.get_tally(other) == Tally(0, 0, 0)


def test_replaying_a_signature_on_another_contract_is_rejected(world: World) -> None:
    pid, (alice, _) = _open(world)
    d = world.chain.deployment
    twin_contract = deploy_contract(
        world.w3,
        world.chain.admin,
        "CurationVoting",
        d.address("CurationToken"),
        d.address("ContentRegistry"),
        world.chain.admin.address,
        d.address("CommonsForwarder"),
    )
    twin = VotingClient(world.w3, twin_contract.address, world.chain.admin)
    twin.create_dataset("twin", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 1)
    twin_pid = twin.propose(1, 0, [1]).event(ProposalCreated).proposal_id
    world.w3.testing.mine(2)
    assert twin_pid == pid  # same id, same voter, same support: only the domain differs
    ballot = world.ballot(alice, pid)
    with pytest.raises(ContractRevert, match="CurationVotingInvalidSignature"):
        twin.cast_vote_by_sig(_forged(ballot, contract=twin.address))


def test_a_signature_for_another_chain_id_is_rejected(world: World) -> None:
    pid, (alice, _) = _open(world)
    foreign = sign_ballot(
        alice,
        Ballot(
            chain_id=1,
            contract=world.voting.address,
            proposal_id=pid,
            support=Support.FOR,
            voter=alice.address,
        ),
    )
    with pytest.raises(ContractRevert, match="CurationVotingInvalidSignature"):
        world.voting.cast_vote_by_sig(foreign)
    report = relay(world.voting, [foreign])  # the relayer refuses it without spending gas
    assert report.counted == []
    assert report.receipts == []
    assert "chain 1" in report.skipped[0].detail


def test_the_relayer_leaves_out_a_ballot_for_another_contract(world: World) -> None:
    pid, (alice, _) = _open(world)
    ballot = _forged(world.ballot(alice, pid), contract="0x" + "22" * 20)
    report = relay(world.voting, [ballot])
    assert (report.counted, report.receipts) == ([], [])
    assert report.skipped[0].left_out
    assert f"is for the voting contract {ballot.contract}" in report.skipped[0].detail


def test_sign_ballot_refuses_a_key_that_is_not_the_voters(world: World) -> None:
    with pytest.raises(InvalidInput, match="belongs to"):
        sign_ballot(Account.create(), world.voting.ballot(1, Support.FOR, world.chain.admin.address))


def test_an_erc1271_wallet_votes_with_its_owners_signature(world: World) -> None:
    owner, stranger = Account.create(), Account.create()
    wallet = deploy_wallet(world.w3, owner.address, world.chain.admin.address)
    world.token.mint(wallet.address, 25)
    wallet.functions.delegate(world.token.address, wallet.address).transact(
        {"from": world.chain.admin.address, "gas": 200_000}
    )
    ds = world.dataset()
    pid = world.propose(ds)
    world.mine_to(world.voting.get_proposal(pid).snapshot + 1)
    unsigned = world.voting.ballot(pid, Support.FOR, wallet.address)

    def signed_by(acct: Any) -> SignedBallot:
        sig = acct.unsafe_sign_hash(unsigned.digest()).signature
        return SignedBallot(**unsigned.model_dump(), signature=bytes(sig))

    with pytest.raises(ContractRevert, match="CurationVotingInvalidSignature"):
        world.voting.cast_vote_by_sig(signed_by(stranger))
    r = world.voting.cast_vote_by_sig(signed_by(owner))
    assert (r.event(VoteCast).voter, r.event(VoteCast).weight) == (wallet.address.lower(), 25)


# --- relayBallots -----------------------------------------------------------------------------------------


def test_a_relayed_batch_counts_exactly_the_good_ballots(world: World) -> None:
    short = world.dataset(DatasetParams(voting_period=2))
    main = world.dataset(DatasetParams(voting_period=40))
    slow = world.dataset(DatasetParams(voting_delay=100))
    voters = [world.keyed(10 + i) for i in range(6)]
    item = world.items(1)
    early_pid = world.propose(short, item)
    pid = world.propose(main, item)
    not_open = world.propose(slow, item)  # its snapshot is still ahead when the batch is sent
    world.mine_to(world.voting.get_proposal(early_pid).deadline)
    a, b, c, d, e, f = voters
    world.voting.with_signer(Signer.from_key(e.key)).cast_vote(pid, Support.FOR)  # e voted directly already
    good = [
        world.ballot(a, pid, Support.FOR),
        world.ballot(b, pid, Support.AGAINST),
        world.ballot(c, pid, Support.ABSTAIN),
    ]
    batch = [
        good[0],
        _forged(world.ballot(d, pid), voter=f.address),  # d's signature claimed for f
        good[1],
        good[0],  # duplicate inside the batch
        world.ballot(e, pid),  # e already voted
        world.ballot(d, early_pid),  # late: early_pid's deadline has passed
        world.ballot(d, 99),  # unknown proposal
        world.ballot(d, not_open),  # not started
        good[2],
    ]
    r = world.voting.relay_ballots(batch)
    counted = r.all(VoteCast)
    assert [(v.voter, v.support, v.weight) for v in counted] == [
        (a.address.lower(), 1, 10),
        (b.address.lower(), 0, 11),
        (c.address.lower(), 2, 12),
    ]
    skipped = [(s.index, SkipReason(s.reason)) for s in r.all(BallotSkipped)]
    assert skipped == [
        (1, SkipReason.BAD_SIGNATURE),
        (3, SkipReason.ALREADY_VOTED),
        (4, SkipReason.ALREADY_VOTED),
        (5, SkipReason.CLOSED),
        (6, SkipReason.UNKNOWN_PROPOSAL),
        (7, SkipReason.NOT_STARTED),
    ]
    assert world.voting.get_tally(pid) == Tally(10 + 14, 11, 12)  # e's direct 14 plus the good ballots
    assert not world.voting.has_voted(pid, f.address)
    assert not world.voting.has_voted(early_pid, d.address)


def test_a_relayed_ballot_with_invalid_support_is_skipped(world: World) -> None:
    pid, (alice, _) = _open(world)
    good = world.ballot(alice, pid)
    r = world.voting._transact(
        "relayBallots",
        [(pid, 3, alice.address, good.signature), (pid, 1, alice.address, good.signature)],
        gas=400_000,
    )
    assert [SkipReason(s.reason) for s in r.all(BallotSkipped)] == [SkipReason.INVALID_SUPPORT]
    assert len(r.all(VoteCast)) == 1


def test_an_empty_batch_reverts(world: World) -> None:
    with pytest.raises(ContractRevert, match=r"CurationVotingEmptyBatch\(\).*empty"):
        world.voting.relay_ballots([])


def test_the_relayer_batches_and_reports_each_ballot(world: World) -> None:
    pid, voters = _open(world, voters=5, votes=3)
    ballots = [world.ballot(v, pid) for v in voters]
    ballots.insert(2, ballots[0])  # a duplicate is dropped before sending
    report = relay(world.voting, ballots, batch_size=2)
    assert len(report.receipts) == 3
    assert sorted(c.voter for c in report.counted) == sorted(v.address for v in voters)
    assert [(s.reason, s.ballot.voter) for s in report.skipped] == [(None, voters[0].address)]
    assert world.voting.get_tally(pid) == Tally(15, 0, 0)
    again = relay(world.voting, ballots[:1])  # relaying it later is skipped on-chain
    assert [s.reason for s in again.skipped] == [SkipReason.ALREADY_VOTED]
    with pytest.raises(InvalidInput, match="batch size"):
        relay(world.voting, ballots, batch_size=0)
