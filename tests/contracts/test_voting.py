"""CurationVoting: datasets, proposals, direct votes, finalization with quorum and approval edges."""

from __future__ import annotations

import pytest

from backend.chain.voting import DatasetParams, Tally
from backend.errors import ContractRevert
from curation.events import (
    DatasetCreated,
    DatasetManagerSet,
    DatasetParamsSet,
    ProposalCreated,
    ProposalExtended,
    ProposalFinalized,
    VoteCast,
)
from curation.governance import ProposalKind, ProposalStatus, Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import DESCRIPTION, USE, World


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


# --- datasets ----------------------------------------------------------------------------------------------


def test_manager_creates_a_dataset_with_events_and_getters(world: World) -> None:
    params = DatasetParams(2, 30, 1234, 6000, 5, 77)
    r = world.voting.create_dataset("open code", DESCRIPTION, USE, params)
    created = r.event(DatasetCreated)
    assert created == DatasetCreated(
        created.at,
        dataset_id=1,
        creator=world.chain.admin.address.lower(),
        name="open code",
        description_cid=DESCRIPTION.to_bytes(),
        use=USE,
    )
    set_params = r.event(DatasetParamsSet)
    assert set_params == DatasetParamsSet(
        set_params.at,
        dataset_id=1,
        voting_delay=2,
        voting_period=30,
        quorum_bps=1234,
        approval_bps=6000,
        late_quorum_extension=5,
        proposal_threshold=77,
    )
    assert created.at.key < set_params.at.key  # log order
    info = world.voting.get_dataset(1)
    assert (info.name, info.description_cid, info.use, info.params) == (
        "open code",
        str(DESCRIPTION),
        USE,
        params,
    )
    assert world.voting.dataset_count() == 1
    assert world.dataset() == 2


def test_only_managers_create_datasets_and_set_params_and_only_the_admin_appoints_them(world: World) -> None:
    bob = world.chain.signers[3]
    as_bob = world.voting.with_signer(bob)
    with pytest.raises(
        ContractRevert, match=r"CurationVotingNotDatasetManager\(caller=0x.*dataset-manager role"
    ):
        as_bob.create_dataset("x", DESCRIPTION, USE)
    ds = world.dataset()
    with pytest.raises(ContractRevert, match="CurationVotingNotDatasetManager"):
        as_bob.set_dataset_params(ds, DatasetParams())
    with pytest.raises(ContractRevert, match=r"CurationVotingNotAdmin\(caller=0x.*not the admin"):
        as_bob.set_dataset_manager(bob.address, True)
    r = world.voting.set_dataset_manager(bob.address, True)
    appointed = r.event(DatasetManagerSet)
    assert appointed == DatasetManagerSet(appointed.at, account=bob.address.lower(), allowed=True)
    assert world.voting.is_dataset_manager(bob.address)
    as_bob.create_dataset("by bob", DESCRIPTION, USE)
    world.voting.set_dataset_manager(bob.address, False)
    with pytest.raises(ContractRevert, match="CurationVotingNotDatasetManager"):
        as_bob.create_dataset("again", DESCRIPTION, USE)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            DatasetParams(voting_delay=0),
            r"CurationVotingVotingDelayTooShort\(votingDelay=0\).*at least 1 block",
        ),
        (DatasetParams(voting_period=0), r"CurationVotingVotingPeriodTooShort\(votingPeriod=0\)"),
        (DatasetParams(quorum_bps=10_001), r"CurationVotingQuorumOutOfRange\(quorumBps=10001\)"),
        (DatasetParams(approval_bps=0), r"CurationVotingApprovalOutOfRange\(approvalBps=0\)"),
        (DatasetParams(approval_bps=10_001), r"CurationVotingApprovalOutOfRange\(approvalBps=10001\)"),
    ],
)
def test_invalid_parameters_are_rejected_on_create_and_update(
    world: World, params: DatasetParams, error: str
) -> None:
    with pytest.raises(ContractRevert, match=error):
        world.voting.create_dataset("x", DESCRIPTION, USE, params)
    ds = world.dataset()
    with pytest.raises(ContractRevert, match=error):
        world.voting.set_dataset_params(ds, params)


def test_empty_name_and_unknown_dataset_are_rejected(world: World) -> None:
    with pytest.raises(ContractRevert, match=r"CurationVotingEmptyName\(\).*non-empty name"):
        world.voting.create_dataset("", DESCRIPTION, USE)
    with pytest.raises(ContractRevert, match=r"CurationVotingUnknownDataset\(datasetId=1\)"):
        world.voting.get_dataset(1)
    with pytest.raises(ContractRevert, match="CurationVotingUnknownDataset"):
        world.voting.set_dataset_params(1, DatasetParams())
    with pytest.raises(ContractRevert, match="CurationVotingUnknownDataset"):
        world.voting.propose(1, ProposalKind.INCLUDE, world.items(1))


def test_new_parameters_apply_to_later_proposals_only(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_delay=1, voting_period=10, quorum_bps=100))
    first = world.propose(ds)
    r = world.voting.set_dataset_params(ds, DatasetParams(voting_delay=3, voting_period=40, quorum_bps=900))
    assert r.event(DatasetParamsSet).quorum_bps == 900
    second = world.propose(ds)
    p1, p2 = world.voting.get_proposal(first), world.voting.get_proposal(second)
    assert (p1.deadline - p1.snapshot, p1.quorum_bps) == (10, 100)
    assert (p2.deadline - p2.snapshot, p2.quorum_bps) == (40, 900)


# --- proposals ---------------------------------------------------------------------------------------------


def test_propose_sets_snapshot_and_deadline_and_logs_everything(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_delay=3, voting_period=7, approval_bps=6000))
    items, batches = world.items(3), world.batches(2)
    r = world.voting.propose(ds, ProposalKind.INCLUDE, [items[2], items[0]], batches, DESCRIPTION)
    ev = r.event(ProposalCreated)
    p_stored = world.voting.get_proposal(1)  # the event carries the thresholds the proposal is judged by
    assert ev == ProposalCreated(
        ev.at,
        proposal_id=1,
        dataset_id=ds,
        proposer=world.chain.admin.address.lower(),
        kind=0,
        item_ids=(items[0], items[2]),
        batch_ids=tuple(batches),
        description_cid=DESCRIPTION.to_bytes(),
        snapshot=r.block_number + 3,
        deadline=r.block_number + 10,
        quorum_bps=p_stored.quorum_bps,
        approval_bps=6000,
        late_quorum_extension=p_stored.late_quorum_extension,
    )
    p = world.voting.get_proposal(1)
    assert (p.dataset_id, p.kind, p.snapshot, p.deadline, p.approval_bps) == (
        ds,
        0,
        ev.snapshot,
        ev.deadline,
        6000,
    )
    assert p.state is ProposalStatus.PENDING
    assert world.voting.proposal_count() == 1
    assert world.voting.get_tally(1) == Tally(0, 0, 0)


def test_proposals_may_name_only_batches(world: World) -> None:
    ds = world.dataset()
    batches = world.batches(1)
    r = world.voting.propose(ds, ProposalKind.REMOVE, [], batches)
    created = r.event(ProposalCreated)
    assert (created.kind, created.item_ids, created.batch_ids) == (1, (), tuple(batches))


def test_proposal_naming_unknown_items_or_batches_reverts(world: World) -> None:
    ds = world.dataset()
    items = world.items(2)
    with pytest.raises(
        ContractRevert, match=r"CurationVotingUnknownItem\(itemId=3, itemCount=2\).*ContentRegistry"
    ):
        world.voting.propose(ds, ProposalKind.INCLUDE, [*items, 3])
    with pytest.raises(ContractRevert, match=r"CurationVotingUnknownBatch\(batchId=1, batchCount=0\)"):
        world.voting.propose(ds, ProposalKind.INCLUDE, items, [1])
    raw = world.voting  # bypass the client's sorting to reach the contract's own checks
    with pytest.raises(ContractRevert, match=r"CurationVotingUnknownItem\(itemId=0"):
        raw._transact("propose", ds, 0, [0, 1], [], b"", gas=300_000)
    with pytest.raises(ContractRevert, match=r"CurationVotingIdsNotAscending\(previousId=2, id=1\)"):
        raw._transact("propose", ds, 0, [2, 1], [], b"", gas=300_000)
    with pytest.raises(ContractRevert, match=r"CurationVotingIdsNotAscending\(previousId=1, id=1\)"):
        raw._transact("propose", ds, 0, [1, 1], [], b"", gas=300_000)
    with pytest.raises(ContractRevert, match=r"CurationVotingEmptyProposal\(\).*at least one item or batch"):
        raw._transact("propose", ds, 0, [], [], b"", gas=300_000)
    with pytest.raises(ContractRevert, match=r"CurationVotingInvalidKind\(kind=2\)"):
        raw._transact("propose", ds, 2, [1], [], b"", gas=300_000)


def test_proposal_threshold_counts_votes_at_the_previous_block(world: World) -> None:
    ds = world.dataset(DatasetParams(proposal_threshold=50))
    items = world.items(1)
    carol = world.chain.signers[4]
    with pytest.raises(
        ContractRevert, match=r"CurationVotingBelowProposalThreshold\(proposer=0x\w+, votes=0, threshold=50\)"
    ):
        world.propose(ds, items, by=carol)
    world.dev(4, 49)
    with pytest.raises(ContractRevert, match=r"CurationVotingBelowProposalThreshold\(.*threshold=50\)"):
        world.propose(ds, items, by=carol)
    world.token.mint(carol.address, 1)
    assert world.propose(ds, items, by=carol) == 1


def test_reading_an_unknown_proposal_reverts(world: World) -> None:
    for read in (world.voting.get_proposal, world.voting.proposal_state, world.voting.get_tally):
        with pytest.raises(
            ContractRevert, match=r"CurationVotingUnknownProposal\(proposalId=9\).*No proposal"
        ):
            read(9)


# --- direct votes ------------------------------------------------------------------------------------------


def test_votes_weigh_past_votes_at_the_snapshot_and_open_after_it(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_delay=2, voting_period=5))
    alice, bob = world.dev(1, 100), world.dev(2, 40)
    pid = world.propose(ds)
    p = world.voting.get_proposal(pid)
    world.mine_to(p.snapshot - 1)  # the next transaction lands in the snapshot block itself
    with pytest.raises(
        ContractRevert, match=rf"CurationVotingNotStarted\(proposalId={pid}, snapshot={p.snapshot}\)"
    ):
        world.voting.with_signer(alice).cast_vote(pid, Support.FOR)
    assert world.voting.proposal_state(pid) is ProposalStatus.PENDING  # a view at the head block
    r = world.voting.with_signer(alice).cast_vote(pid, Support.FOR)
    assert world.voting.proposal_state(pid) is ProposalStatus.ACTIVE
    assert r.block_number == p.snapshot + 1
    vote = r.event(VoteCast)
    assert vote == VoteCast(
        vote.at, voter=alice.address.lower(), proposal_id=pid, support=1, weight=100, reason=""
    )
    r = world.voting.with_signer(bob).cast_vote(pid, "against", reason="duplicates item 4")
    assert r.event(VoteCast).reason == "duplicates item 4"
    assert world.voting.get_tally(pid) == Tally(100, 40, 0)
    assert world.voting.has_voted(pid, alice.address)
    assert not world.voting.has_voted(pid, world.chain.signers[5].address)


def test_voting_twice_reverts_whatever_the_support(world: World) -> None:
    ds = world.dataset()
    alice = world.dev(1, 10)
    pid = world.propose(ds)
    world.open(pid)
    world.voting.with_signer(alice).cast_vote(pid, Support.FOR)
    for support in Support:
        with pytest.raises(
            ContractRevert, match=r"CurationVotingAlreadyVoted\(proposalId=1, voter=0x.*already voted"
        ):
            world.voting.with_signer(alice).cast_vote(pid, support)
    assert world.voting.get_tally(pid) == Tally(10, 0, 0)


def test_the_deadline_block_is_the_last_that_may_vote(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_period=3))
    alice, bob = world.dev(1, 10), world.dev(2, 10)
    pid = world.propose(ds)
    deadline = world.voting.get_proposal(pid).deadline
    world.mine_to(deadline - 1)
    assert world.voting.with_signer(alice).cast_vote(pid, Support.FOR).block_number == deadline
    # Mined in deadline + 1 and reverted; the error is named although the embedded chain mined the failure.
    with pytest.raises(
        ContractRevert, match=rf"CurationVotingClosed\(proposalId={pid}, deadline={deadline}\).*closed"
    ):
        world.voting.with_signer(bob).cast_vote(pid, Support.FOR)
    assert not world.voting.has_voted(pid, bob.address)
    assert world.voting.proposal_state(pid) is ProposalStatus.CLOSED


def test_invalid_support_and_unknown_proposal_revert(world: World) -> None:
    ds = world.dataset()
    alice = world.dev(1, 10)
    pid = world.propose(ds)
    world.open(pid)
    with pytest.raises(ContractRevert, match=r"CurationVotingInvalidSupport\(support=3\).*0 \(Against\)"):
        world.voting.with_signer(alice)._transact("castVote", pid, 3, gas=200_000)
    with pytest.raises(ContractRevert, match=r"CurationVotingUnknownProposal\(proposalId=7\)"):
        world.voting.with_signer(alice).cast_vote(7, Support.FOR)


def test_zero_weight_votes_count_as_zero_and_block_a_second_vote(world: World) -> None:
    ds = world.dataset()
    nobody = world.chain.signers[6]
    pid = world.propose(ds)
    world.open(pid)
    assert world.voting.with_signer(nobody).cast_vote(pid, Support.FOR).event(VoteCast).weight == 0
    assert world.voting.has_voted(pid, nobody.address)
    assert world.voting.get_tally(pid) == Tally(0, 0, 0)


# --- finalization ------------------------------------------------------------------------------------------


def _decided(
    world: World, params: DatasetParams, votes: dict[Support, int], filler: int = 0
) -> ProposalFinalized:
    """Mint `votes` to one voter per support (plus `filler` idle supply), vote, finalize; return the event."""
    ds = world.dataset(params)
    voters = {s: world.dev(i + 1, w) for i, (s, w) in enumerate(votes.items())}
    if filler:
        world.dev(8, filler)
    pid = world.propose(ds)
    world.open(pid)
    for support, signer in voters.items():
        world.voting.with_signer(signer).cast_vote(pid, support)
    world.close(pid)
    ev = world.voting.finalize(pid).event(ProposalFinalized)
    assert world.voting.proposal_state(pid) == ev.outcome
    return ev


def test_finalize_before_the_deadline_has_passed_reverts_then_succeeds(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_period=2))
    alice = world.dev(1, 10)
    pid = world.propose(ds)
    world.open(pid)
    world.voting.with_signer(alice).cast_vote(pid, Support.FOR)
    deadline = world.voting.get_proposal(pid).deadline
    world.mine_to(deadline - 1)
    with pytest.raises(
        ContractRevert, match=rf"CurationVotingVotingNotEnded\(proposalId={pid}, deadline={deadline}\)"
    ):
        world.voting.finalize(pid)  # lands in the deadline block
    r = world.voting.with_signer(world.chain.signers[9]).finalize(pid)  # anyone may finalize
    finalized = r.event(ProposalFinalized)
    assert finalized == ProposalFinalized(
        finalized.at,
        proposal_id=pid,
        outcome=ProposalStatus.ACCEPTED,
        for_votes=10,
        against_votes=0,
        abstain_votes=0,
        past_total_supply=10,
    )
    with pytest.raises(ContractRevert, match=rf"CurationVotingAlreadyFinalized\(proposalId={pid}\)"):
        world.voting.finalize(pid)
    with pytest.raises(ContractRevert, match=r"CurationVotingUnknownProposal\(proposalId=99\)"):
        world.voting.finalize(99)
    assert world.voting.get_proposal(pid).state is ProposalStatus.ACCEPTED


def test_quorum_exactly_met_accepts(world: World) -> None:
    # quorum 10% of 1000 = 100: For 60 + Abstain 40 is exactly at it; Against does not count towards it.
    params = DatasetParams(quorum_bps=1000)
    ev = _decided(world, params, {Support.FOR: 60, Support.ABSTAIN: 40, Support.AGAINST: 30}, filler=870)
    assert (ev.past_total_supply, ev.outcome) == (1000, ProposalStatus.ACCEPTED)


def test_quorum_one_vote_below_rejects(world: World) -> None:
    params = DatasetParams(quorum_bps=1000)
    ev = _decided(world, params, {Support.FOR: 60, Support.ABSTAIN: 39, Support.AGAINST: 30}, filler=871)
    assert (ev.past_total_supply, ev.outcome) == (1000, ProposalStatus.REJECTED)


def test_approval_exactly_met_accepts(world: World) -> None:
    params = DatasetParams(quorum_bps=0, approval_bps=6000)  # For / (For + Against) >= 60%
    ev = _decided(world, params, {Support.FOR: 60, Support.AGAINST: 40})
    assert ev.outcome == ProposalStatus.ACCEPTED


def test_approval_one_vote_below_rejects(world: World) -> None:
    params = DatasetParams(quorum_bps=0, approval_bps=6000)
    ev = _decided(world, params, {Support.FOR: 59, Support.AGAINST: 40})
    assert ev.outcome == ProposalStatus.REJECTED


def test_no_for_votes_rejects_even_without_a_quorum(world: World) -> None:
    ev = _decided(world, DatasetParams(quorum_bps=0, approval_bps=1), {Support.ABSTAIN: 50})
    assert (ev.for_votes, ev.abstain_votes, ev.outcome) == (0, 50, ProposalStatus.REJECTED)


def test_quorum_votes_is_known_after_the_snapshot(world: World) -> None:
    ds = world.dataset(DatasetParams(quorum_bps=333))
    world.dev(1, 1000)
    pid = world.propose(ds)
    with pytest.raises(ContractRevert, match="CurationVotingNotStarted"):
        world.voting.quorum_votes(pid)
    world.mine_to(world.voting.get_proposal(pid).snapshot + 1)
    assert world.voting.quorum_votes(pid) == 34  # ceil(1000 * 3.33%)


def test_remove_flow_includes_then_removes_an_item(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_period=3))
    alice = world.dev(1, 100)
    item = world.items(1)
    include = world.propose(ds, item)
    world.open(include)
    world.voting.with_signer(alice).cast_vote(include, Support.FOR)
    world.close(include)
    assert world.voting.finalize(include).event(ProposalFinalized).outcome == ProposalStatus.ACCEPTED
    r = world.voting.propose(ds, ProposalKind.REMOVE, item)
    remove = r.event(ProposalCreated)
    assert (remove.kind, remove.item_ids) == (ProposalKind.REMOVE, tuple(item))
    world.open(remove.proposal_id)
    world.voting.with_signer(alice).cast_vote(remove.proposal_id, Support.FOR)
    world.close(remove.proposal_id)
    world.voting.finalize(remove.proposal_id)
    p = world.voting.get_proposal(remove.proposal_id)
    assert (p.kind, p.state) == (ProposalKind.REMOVE, ProposalStatus.ACCEPTED)


def test_late_quorum_extends_the_deadline_once(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_period=10, quorum_bps=5000, late_quorum_extension=6))
    small, big, late = world.dev(1, 10), world.dev(2, 50), world.dev(3, 40)
    pid = world.propose(ds)
    p = world.voting.get_proposal(pid)
    world.open(pid)
    r = world.voting.with_signer(small).cast_vote(pid, Support.FOR)
    assert r.all(ProposalExtended) == []  # 10 of 100: no quorum yet
    world.mine_to(p.deadline - 2)
    r = world.voting.with_signer(big).cast_vote(
        pid, Support.ABSTAIN
    )  # 60 of 100: quorum, 1 block before the end
    extended = r.event(ProposalExtended)
    assert extended == ProposalExtended(extended.at, proposal_id=pid, deadline=r.block_number + 6)
    world.mine_to(p.deadline + 3)
    r = world.voting.with_signer(late).cast_vote(pid, Support.AGAINST)  # allowed only thanks to the extension
    assert r.all(ProposalExtended) == []
    assert world.voting.get_proposal(pid).deadline == p.deadline - 1 + 6


def test_early_quorum_does_not_extend(world: World) -> None:
    ds = world.dataset(DatasetParams(voting_period=20, quorum_bps=1000, late_quorum_extension=3))
    alice = world.dev(1, 100)
    pid = world.propose(ds)
    world.open(pid)
    assert world.voting.with_signer(alice).cast_vote(pid, Support.FOR).all(ProposalExtended) == []
    assert world.voting.get_proposal(pid).deadline == world.voting.get_proposal(pid).snapshot + 20
