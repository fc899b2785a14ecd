"""curation.governance: the contract's enums, status() at every boundary block, the outcome rule, turnout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from backend.chain.voting import DatasetParams
from curation import events as ev
from curation.errors import InvalidInput
from curation.governance import (
    ProposalKind,
    ProposalStatus,
    Support,
    api_status_word,
    approved,
    passes,
    quorum_met,
    quorum_reached,
    snapshot_passed,
    snapshot_supply,
    status,
    turnout,
    turnout_bps,
    votes_cast,
    would_pass,
)
from curation.state import fold_events
from tests.conftest import Chain
from tests.contracts.voting_helpers import World

INTERFACE = Path(__file__).resolve().parents[2] / "contracts" / "interfaces" / "ICurationVoting.sol"


@dataclass
class Record:
    """A proposal as governance reads it (curation.state.ProposalRecord has these fields and more)."""

    snapshot: int = 10
    deadline: int = 20
    outcome: ProposalStatus | None = None
    for_votes: int = 0
    against_votes: int = 0
    abstain_votes: int = 0
    quorum_bps: int = 2000
    approval_bps: int = 6000
    past_total_supply: int | None = None


def _solidity_enum(name: str) -> list[str]:
    body = re.search(rf"enum {name} \{{([^}}]*)\}}", INTERFACE.read_text())
    assert body is not None, f"enum {name} not found in {INTERFACE.name}"
    return [m.strip() for m in body.group(1).split(",") if m.strip()]


@pytest.mark.parametrize(
    ("solidity", "enum"),
    [("ProposalKind", ProposalKind), ("Support", Support), ("ProposalState", ProposalStatus)],
)
def test_enums_are_the_contracts_in_the_contracts_order(solidity: str, enum: type[object]) -> None:
    assert [m.upper() for m in _solidity_enum(solidity)] == [m.name for m in enum]  # type: ignore[attr-defined]
    assert [m.value for m in enum] == list(range(len(_solidity_enum(solidity))))  # type: ignore[attr-defined]


def test_words_are_the_lower_case_names() -> None:
    assert [k.word for k in ProposalKind] == ["include", "remove"]
    assert [s.word for s in ProposalStatus] == ["pending", "active", "closed", "accepted", "rejected"]


@pytest.mark.parametrize(
    ("text", "support"),
    [
        ("for", Support.FOR),
        ("AGAINST", Support.AGAINST),
        (" abstain ", Support.ABSTAIN),
        ("1", Support.FOR),
        (2, Support.ABSTAIN),
    ],
)
def test_support_parses_words_and_numbers(text: str | int, support: Support) -> None:
    assert Support.parse(text) is support


@pytest.mark.parametrize("bad", ["yes", "3", 5, ""])
def test_support_rejects_anything_else(bad: str | int) -> None:
    with pytest.raises(InvalidInput, match="support"):
        Support.parse(bad)


# --- status at every boundary ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (0, ProposalStatus.PENDING),
        (10, ProposalStatus.PENDING),  # the snapshot block itself: votes open in the block after it
        (11, ProposalStatus.ACTIVE),
        (20, ProposalStatus.ACTIVE),  # the deadline block is the last that may vote
        (21, ProposalStatus.CLOSED),
        (10**9, ProposalStatus.CLOSED),
    ],
)
def test_status_follows_the_contract_at_the_snapshot_and_deadline_blocks(
    block: int, expected: ProposalStatus
) -> None:
    assert status(Record(), block) is expected


@pytest.mark.parametrize("outcome", [ProposalStatus.ACCEPTED, ProposalStatus.REJECTED])
def test_a_recorded_outcome_is_the_status_whatever_the_block(outcome: ProposalStatus) -> None:
    for block in (0, 10, 15, 21):
        assert status(Record(outcome=outcome), block) is outcome


def test_the_supply_at_the_snapshot_is_known_once_the_snapshot_has_passed() -> None:
    def supply_at(block: int) -> int:
        return 1000 + block

    record = Record()
    assert not snapshot_passed(record, 10)
    assert snapshot_supply(record, 10, supply_at) is None  # getPastTotalSupply(snapshot) reverts here
    assert snapshot_passed(record, 11)
    assert snapshot_supply(record, 11, supply_at) == 1010
    assert snapshot_supply(Record(past_total_supply=7), 0, supply_at) == 7  # finalization recorded it


# --- the outcome rule (VotingTally.sol) --------------------------------------------------------------------


def test_quorum_counts_for_and_abstain_exactly_at_the_threshold() -> None:
    assert quorum_met(15, 5, 2000, 100)  # 20 of 100 at 20 %
    assert not quorum_met(15, 4, 2000, 100)  # one below
    assert not quorum_met(0, 0, 2000, 100)


def test_approval_is_for_over_for_plus_against_and_needs_a_for_vote() -> None:
    assert approved(6, 4, 6000)  # exactly 60 %
    assert not approved(599, 401, 6000)  # one below
    assert not approved(0, 0, 0)


def test_passes_needs_both() -> None:
    assert passes(60, 40, 0, 100, 1000, 6000)
    assert not passes(60, 40, 0, 1000, 1001, 6000)  # approval yes, quorum no
    assert not passes(50, 50, 0, 100, 1000, 6000)  # quorum yes, approval no


def test_a_proposal_is_judged_by_the_thresholds_it_froze() -> None:
    record = Record(for_votes=15, against_votes=10, abstain_votes=5)  # 20 % quorum, 60 % approval
    assert quorum_reached(record, 100)
    assert would_pass(record, 100)
    assert not would_pass(Record(for_votes=15, against_votes=11, abstain_votes=5), 100)
    assert not quorum_reached(Record(for_votes=15, abstain_votes=4), 100)


def test_the_api_names_a_closed_proposal_by_what_finalize_would_decide() -> None:
    winning = Record(for_votes=30)
    losing = Record(for_votes=10)
    assert api_status_word(winning, 21, 100) == "succeeded"
    assert api_status_word(losing, 21, 100) == "defeated"
    assert [api_status_word(winning, b, 100) for b in (10, 11)] == ["pending", "active"]
    assert api_status_word(Record(outcome=ProposalStatus.REJECTED, for_votes=30), 21, 100) == "rejected"
    assert api_status_word(Record(outcome=ProposalStatus.ACCEPTED), 21, None) == "accepted"


def test_turnout_is_cast_over_supply_and_unknown_without_one() -> None:
    record = Record(for_votes=2, against_votes=3, abstain_votes=1)
    assert votes_cast(record) == 6
    assert turnout(6, 9) == Fraction(2, 3)
    assert turnout(6, None) is None
    assert turnout(0, 0) is None
    assert turnout_bps(6, 9) == 6666  # rounded down
    assert turnout_bps(6, None) == 0
    assert turnout_bps(6, 0) == 0


# --- against the contract: the fold's record and status() at every block of a proposal's life ---------------


def _voting_events(world: World) -> list[ev.ChainEvent]:
    out: list[ev.ChainEvent] = []
    for kind in (
        ev.DatasetCreated,
        ev.DatasetParamsSet,
        ev.ProposalCreated,
        ev.VoteCast,
        ev.ProposalExtended,
    ):
        out += world.voting.event_logs(kind, 0)
    out += world.voting.event_logs(ev.ProposalFinalized, 0)
    out += world.token.event_logs(ev.Transfer, 0)
    return out


def test_status_equals_the_contracts_state_at_every_block_of_a_proposals_life(chain: Chain) -> None:
    world = World(chain)
    params = DatasetParams(
        voting_delay=5, voting_period=6, quorum_bps=5000, approval_bps=6000, late_quorum_extension=3
    )
    ds = world.dataset(params)
    small, big = world.dev(1, 10), world.dev(2, 60)
    world.dev(3, 30)  # never votes: 100 tokens in all
    first = world.propose(ds)
    start = world.block
    world.voting.set_dataset_params(ds, DatasetParams(voting_period=20, quorum_bps=100, approval_bps=9000))
    second = world.propose(ds)  # under the new parameters; never finalized
    p = world.voting.get_proposal(first)
    world.open(first)
    world.voting.with_signer(small).cast_vote(first, Support.AGAINST)
    world.mine_to(p.deadline - 1)
    extended = world.voting.with_signer(big).cast_vote(first, Support.FOR)  # quorum in the last block
    assert extended.all(ev.ProposalExtended)  # the deadline moved: status must follow it
    world.mine_to(world.voting.get_proposal(first).deadline + 1)
    world.voting.finalize(first)
    world.mine_to(world.voting.get_proposal(second).deadline + 2)
    head = world.block

    events = _voting_events(world)
    checked = 0
    for block in range(start, head + 1):
        state = fold_events(events, block)
        for pid in (first, second):
            if pid not in state.proposals:
                continue
            record = state.proposals[pid]
            assert status(record, block) is world.voting.proposal_state(pid, block=block), (pid, block)
            supply = snapshot_supply(record, block, state.supply.at)
            if supply is not None:
                assert supply == world.token.get_past_total_supply(record.snapshot)
            checked += 1
    assert checked > 2 * (head - start) - 5  # every block of both proposals' lives was compared

    state = fold_events(events, head)
    for pid in (first, second):
        record, info = state.proposals[pid], world.voting.get_proposal(pid)
        assert (record.quorum_bps, record.approval_bps, record.late_quorum_extension) == (
            info.quorum_bps,
            info.approval_bps,
            info.late_quorum_extension,
        )
        assert (record.kind, record.deadline) == (info.kind, info.deadline)
    done = state.proposals[first]
    assert done.outcome is ProposalStatus.ACCEPTED
    assert would_pass(done, 100)  # the rule with the frozen thresholds gives what finalize decided
    open_one = state.proposals[second]
    assert status(open_one, head) is ProposalStatus.CLOSED
    assert api_status_word(open_one, head, 100) == "defeated"  # no votes: quorum of 1 % not met
