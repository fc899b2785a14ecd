"""Hypothesis state machine: random mints, delegations, transfers, proposals, votes, relays and finalizations
against an independent Python model of ERC20Votes checkpoints, checking docs/voting.md's voting invariants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend.chain.accounts import Signer
from backend.chain.voting import DatasetParams, Tally
from backend.errors import ContractRevert
from curation.ballots import SkipReason
from curation.events import BallotSkipped, ProposalCreated, ProposalFinalized, VoteCast
from curation.governance import ProposalKind, ProposalStatus, Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import World

N = 4
QUORUM_BPS, APPROVAL_BPS = 2000, 5000
voter_ix = st.integers(0, N - 1)
supports = st.sampled_from(list(Support))


@dataclass
class ModelProposal:
    snapshot: int
    deadline: int
    votes: dict[str, tuple[Support, int]] = field(default_factory=dict)
    outcome: ProposalStatus | None = None
    supply: int | None = None

    def tally(self) -> Tally:
        sums = {s: sum(w for sup, w in self.votes.values() if sup is s) for s in Support}
        return Tally(sums[Support.FOR], sums[Support.AGAINST], sums[Support.ABSTAIN])


class VotingMachine(RuleBasedStateMachine):
    world: ClassVar[World]
    accounts: ClassVar[list[LocalAccount]]
    dataset: ClassVar[int]
    item: ClassVar[list[int]]

    def __init__(self) -> None:
        super().__init__()
        self.w3 = self.world.w3
        self.snap = self.w3.testing.snapshot()
        self.addr = [a.address for a in self.accounts]
        self.balance = dict.fromkeys(self.addr, 0)
        self.delegate_of: dict[str, str | None] = dict.fromkeys(self.addr)
        # Independent model of ERC20Votes: per account (and supply) the list of (block, value) changes.
        self.history: dict[str, list[tuple[int, int]]] = {a: [(0, 0)] for a in [*self.addr, "supply"]}
        self.proposals: dict[int, ModelProposal] = {}
        self.used: list[tuple[int, LocalAccount, Support]] = []

    def teardown(self) -> None:
        self.w3.testing.revert(self.snap)

    # --- model ----------------------------------------------------------------------------------------------
    def _record(self, block: int) -> None:
        votes = dict.fromkeys(self.addr, 0)
        for holder, to in self.delegate_of.items():
            if to is not None:
                votes[to] += self.balance[holder]
        votes_and_supply = {**votes, "supply": sum(self.balance.values())}
        for key, value in votes_and_supply.items():
            if self.history[key][-1][1] != value:
                self.history[key].append((block, value))

    def _past(self, key: str, block: int) -> int:
        return [v for b, v in self.history[key] if b <= block][-1]

    def _signer(self, i: int) -> Signer:
        return Signer.from_key(self.accounts[i].key)

    def _next_block(self) -> int:
        return int(self.w3.eth.block_number) + 1

    def _expect(self, pid: int, voter: str, block: int) -> SkipReason:
        p = self.proposals.get(pid)
        if p is None:
            return SkipReason.UNKNOWN_PROPOSAL
        if block <= p.snapshot:
            return SkipReason.NOT_STARTED
        if block > p.deadline:
            return SkipReason.CLOSED
        if voter in p.votes:
            return SkipReason.ALREADY_VOTED
        return SkipReason.NONE

    def _counted(self, pid: int, voter: str, support: Support, weight: int) -> None:
        p = self.proposals[pid]
        expected = self._past(voter, p.snapshot)
        assert weight == expected, f"weight {weight} of {voter} != modelled past votes {expected}"
        assert weight == self.world.token.get_past_votes(voter, p.snapshot)
        assert voter not in p.votes, f"{voter} counted twice on proposal {pid}"
        p.votes[voter] = (support, weight)
        assert self.world.voting.has_voted(pid, voter)

    # --- token moves ----------------------------------------------------------------------------------------
    @rule(i=voter_ix, amount=st.integers(1, 1000))
    def mint(self, i: int, amount: int) -> None:
        r = self.world.token.mint(self.addr[i], amount)
        self.balance[self.addr[i]] += amount
        self._record(r.block_number)

    @rule(i=voter_ix, j=voter_ix)
    def delegate(self, i: int, j: int) -> None:
        r = self.world.token.with_signer(self._signer(i)).delegate(self.addr[j])
        self.delegate_of[self.addr[i]] = self.addr[j]
        self._record(r.block_number)

    @rule(i=voter_ix, j=voter_ix, percent=st.integers(1, 100))
    def transfer(self, i: int, j: int, percent: int) -> None:
        amount = self.balance[self.addr[i]] * percent // 100
        r = self.world.token.with_signer(self._signer(i)).transfer(self.addr[j], amount)
        self.balance[self.addr[i]] -= amount
        self.balance[self.addr[j]] += amount
        self._record(r.block_number)

    @rule(n=st.integers(1, 4))
    def mine(self, n: int) -> None:
        self.w3.testing.mine(n)

    # --- governance -----------------------------------------------------------------------------------------
    @rule(kind=st.sampled_from(list(ProposalKind)))
    def propose(self, kind: ProposalKind) -> None:
        ev = self.world.voting.propose(self.dataset, kind, self.item).event(ProposalCreated)
        self.proposals[ev.proposal_id] = ModelProposal(ev.snapshot, ev.deadline)

    @precondition(lambda self: self.proposals)
    @rule(i=voter_ix, k=st.integers(0, 3), support=supports, data=st.data())
    def vote(self, i: int, k: int, support: Support, data: st.DataObject) -> None:
        pid = sorted(self.proposals)[k % len(self.proposals)]
        voter = self.addr[i]
        expected = self._expect(pid, voter, self._next_block())
        client = self.world.voting.with_signer(self._signer(i))
        reason = data.draw(st.sampled_from([None, "", "fits the dataset"]))
        if expected is not SkipReason.NONE:
            try:
                client.cast_vote(pid, support, reason)
            except ContractRevert:
                return
            raise AssertionError(f"vote expected to fail ({expected.name}) was counted")
        ev = client.cast_vote(pid, support, reason).event(VoteCast)
        assert (ev.voter, ev.proposal_id, ev.support, ev.reason) == (
            voter.lower(),
            pid,
            support,
            reason or "",
        )
        self._counted(pid, voter, support, ev.weight)

    @precondition(lambda self: self.proposals)
    @rule(
        picks=st.lists(
            st.tuples(voter_ix, st.integers(0, 4), supports, st.booleans()), min_size=1, max_size=5
        ),
        replay=st.booleans(),
    )
    def relay(self, picks: list[tuple[int, int, Support, bool]], replay: bool) -> None:
        ids = sorted(self.proposals)
        plan = []
        for i, k, support, forge in picks:
            pid = ids[k] if k < len(ids) else 1000 + k  # some ballots name unknown proposals
            acct = self.accounts[i]
            signed = self.world.ballot(acct, pid, support)
            if forge:  # signed by the next voter: must never count
                other = self.accounts[(i + 1) % N]
                signed = signed.model_copy(
                    update={"signature": self.world.ballot(other, pid, support).signature}
                )
            plan.append((signed, forge))
        if replay and self.used:
            pid, acct, support = self.used[0]
            plan.append((self.world.ballot(acct, pid, support), False))  # a ballot counted before
        block = self._next_block()
        expected: list[SkipReason] = []
        pending: set[tuple[int, str]] = set()
        for signed, forge in plan:
            why = self._expect(signed.proposal_id, signed.voter, block)
            if why is SkipReason.NONE and (signed.proposal_id, signed.voter) in pending:
                why = SkipReason.ALREADY_VOTED
            if why is SkipReason.NONE and forge:
                why = SkipReason.BAD_SIGNATURE
            if why is SkipReason.NONE:
                pending.add((signed.proposal_id, signed.voter))
            expected.append(why)
        r = self.world.voting.relay_ballots([s for s, _ in plan])
        assert r.block_number == block
        skipped = {e.index: SkipReason(e.reason) for e in r.all(BallotSkipped)}
        assert [skipped.get(n, SkipReason.NONE) for n in range(len(plan))] == expected
        counted = iter(r.all(VoteCast))
        for (signed, _), why in zip(plan, expected, strict=True):
            if why is SkipReason.NONE:
                ev = next(counted)
                assert (ev.voter, ev.proposal_id) == (signed.voter.lower(), signed.proposal_id)
                self._counted(signed.proposal_id, signed.voter, signed.support, ev.weight)
                self.used.append(
                    (signed.proposal_id, self.accounts[self.addr.index(signed.voter)], signed.support)
                )

    @precondition(lambda self: self.proposals)
    @rule(k=st.integers(0, 3))
    def finalize(self, k: int) -> None:
        pid = sorted(self.proposals)[k % len(self.proposals)]
        p = self.proposals[pid]
        if p.outcome is not None or self._next_block() <= p.deadline:
            try:
                self.world.voting.finalize(pid)
            except ContractRevert:
                return
            raise AssertionError("finalize expected to revert succeeded")
        ev = self.world.voting.finalize(pid).event(ProposalFinalized)
        t, supply = p.tally(), self._past("supply", p.snapshot)
        quorum = (t.for_votes + t.abstain_votes) * 10_000 >= QUORUM_BPS * supply
        approved = t.for_votes > 0 and t.for_votes * 10_000 >= APPROVAL_BPS * (t.for_votes + t.against_votes)
        p.outcome = ProposalStatus.ACCEPTED if quorum and approved else ProposalStatus.REJECTED
        assert (ev.for_votes, ev.against_votes, ev.abstain_votes) == (
            t.for_votes,
            t.against_votes,
            t.abstain_votes,
        )
        assert (ev.past_total_supply, ev.outcome) == (supply, p.outcome)

    # --- invariants (docs/voting.md, "Attack regressions") --------------------------------------------------
    @invariant()
    def tallies_match_the_counted_weights_and_never_exceed_the_supply(self) -> None:
        for pid, p in self.proposals.items():
            on_chain = self.world.voting.get_tally(pid)
            assert on_chain == p.tally(), f"proposal {pid}: chain {on_chain} != model {p.tally()}"
            if p.votes:  # votes exist only after the snapshot, whose supply is then known
                if p.supply is None:
                    p.supply = self.world.token.get_past_total_supply(p.snapshot)
                    assert p.supply == self._past("supply", p.snapshot)
                assert on_chain.total <= p.supply


def test_random_governance_keeps_the_voting_invariants(chain: Chain) -> None:
    world = World(chain)
    VotingMachine.world = world
    base_votes = [100 * (i + 1) for i in range(N)]
    VotingMachine.accounts = [world.keyed(v) for v in base_votes]  # minted and self-delegated
    VotingMachine.dataset = world.dataset(
        DatasetParams(voting_delay=1, voting_period=4, quorum_bps=QUORUM_BPS, approval_bps=APPROVAL_BPS)
    )
    VotingMachine.item = world.items(1)
    # Every example starts with one proposal open for voting, so that votes and finalization happen within a
    # few steps; later proposals come from the `propose` rule.
    first = world.propose(VotingMachine.dataset, VotingMachine.item)
    opened = world.voting.get_proposal(first)
    world.mine_to(opened.snapshot)
    base = VotingMachine

    class Machine(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            for a, votes in zip(self.addr, base_votes, strict=True):
                self.delegate_of[a] = a
                self.balance[a] = votes
                self.history[a] = [(0, votes)]  # every snapshot queried lies after this state
            self.history["supply"] = [(0, sum(base_votes))]
            self.proposals[first] = ModelProposal(opened.snapshot, opened.deadline)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=200,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
