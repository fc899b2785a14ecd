"""CurationVoting's vocabulary and lifecycle in one place: kinds, support, status, the outcome rule, turnout.

Mirrors `contracts/interfaces/ICurationVoting.sol` (the enums, numbered as the contract numbers them),
`CurationVoting._state` (`status`) and `contracts/libraries/VotingTally.sol` (`quorum_met`, `approved`) in
exact integers. Manifests and reports keep writing plain ints and lower-case words (`int(kind)`,
`kind.word`), so their bytes do not depend on these types.

Words for a status: reports use `ProposalStatus.word` (`pending`, `active`, `closed`, `accepted`,
`rejected`: the contract's names). The HTTP API names a CLOSED proposal (deadline passed, nobody has
finalized it yet) by what `finalize` would decide, in OpenZeppelin Governor's words: `succeeded` when
`would_pass` holds, else `defeated` (`api_status_word`); every other status keeps its word.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from fractions import Fraction
from typing import Final, Literal, Protocol

from curation.errors import InvalidInput

__all__ = [
    "BPS",
    "ApiStatusWord",
    "Proposal",
    "ProposalKind",
    "ProposalStatus",
    "Support",
    "api_status_word",
    "approved",
    "passes",
    "quorum_met",
    "quorum_reached",
    "share_bps",
    "snapshot_passed",
    "snapshot_supply",
    "status",
    "turnout",
    "turnout_bps",
    "votes_cast",
    "would_pass",
]

#: Basis points in one whole (thresholds and turnout are given in them).
BPS: Final = 10_000

#: The HTTP API's words for a status (`api_status_word`).
ApiStatusWord = Literal["pending", "active", "succeeded", "defeated", "accepted", "rejected"]


class ProposalKind(IntEnum):
    """What a proposal does to its items and batches (ICurationVoting.ProposalKind)."""

    INCLUDE = 0
    REMOVE = 1

    @property
    def word(self) -> str:
        """`include` or `remove`, as reports and the API write it."""
        return self.name.lower()


class Support(IntEnum):
    """A vote's direction, numbered as the contract (and OpenZeppelin's GovernorCountingSimple) numbers it."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2

    @classmethod
    def parse(cls, value: str | int) -> Support:
        """`for` / `against` / `abstain` (any case) or 0 / 1 / 2."""
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            number = int(value)
            try:
                return cls(number)
            except ValueError:
                raise InvalidInput(f"support {number} is not 0 (against), 1 (for) or 2 (abstain)") from None
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise InvalidInput(f"support {value!r} is not one of: for, against, abstain") from None


class ProposalStatus(IntEnum):
    """A proposal's life cycle (ICurationVoting.ProposalState); ACCEPTED and REJECTED are the outcomes
    `finalize` records (ProposalFinalized.outcome). CLOSED: the deadline has passed and nobody has finalized
    the proposal yet."""

    PENDING = 0
    ACTIVE = 1
    CLOSED = 2
    ACCEPTED = 3
    REJECTED = 4

    @property
    def word(self) -> str:
        """The lower-case name (`pending` .. `rejected`), as reports write it."""
        return self.name.lower()


class Proposal(Protocol):
    """What the lifecycle reads of a proposal (curation.state.ProposalRecord is one)."""

    @property
    def snapshot(self) -> int: ...
    @property
    def deadline(self) -> int: ...
    @property
    def outcome(self) -> ProposalStatus | None: ...
    @property
    def for_votes(self) -> int: ...
    @property
    def against_votes(self) -> int: ...
    @property
    def abstain_votes(self) -> int: ...
    @property
    def quorum_bps(self) -> int: ...
    @property
    def approval_bps(self) -> int: ...
    @property
    def past_total_supply(self) -> int | None: ...


def status(proposal: Proposal, block: int) -> ProposalStatus:
    """The proposal's status at the end of `block`: what `CurationVoting.state()` answers in a call at
    `block` (block.number == block), given the proposal as the logs up to `block` leave it.

    Voting is open in blocks snapshot+1 .. deadline inclusive: PENDING while `block <= snapshot`, ACTIVE
    while `block <= deadline` (a late-quorum extension moves the deadline), then CLOSED until finalized.
    """
    if proposal.outcome is not None:
        return proposal.outcome
    if block <= proposal.snapshot:
        return ProposalStatus.PENDING
    if block <= proposal.deadline:
        return ProposalStatus.ACTIVE
    return ProposalStatus.CLOSED


def snapshot_passed(proposal: Proposal, block: int) -> bool:
    """Whether the snapshot is in the past at `block`: `getPastTotalSupply(snapshot)` and `getPastVotes`
    answer only for `snapshot < block` (ERC-5805: a timepoint must be before the clock), so the supply at
    the snapshot is known exactly when the proposal is no longer PENDING."""
    return proposal.snapshot < block


def snapshot_supply(proposal: Proposal, block: int, supply_at: Callable[[int], int]) -> int | None:
    """The token's total supply at the snapshot, as the contract knows it at `block`: the supply recorded at
    finalization, else `supply_at(snapshot)` once the snapshot has passed, else None."""
    if proposal.past_total_supply is not None:
        return proposal.past_total_supply
    return supply_at(proposal.snapshot) if snapshot_passed(proposal, block) else None


def quorum_met(for_votes: int, abstain_votes: int, quorum_bps: int, supply: int) -> bool:
    """For + Abstain reach `quorum_bps` of the past total supply at the snapshot (Against does not count)."""
    return (for_votes + abstain_votes) * BPS >= quorum_bps * supply


def approved(for_votes: int, against_votes: int, approval_bps: int) -> bool:
    """For > 0 and For reach `approval_bps` of For + Against."""
    return for_votes != 0 and for_votes * BPS >= approval_bps * (for_votes + against_votes)


def passes(
    for_votes: int, against_votes: int, abstain_votes: int, supply: int, quorum_bps: int, approval_bps: int
) -> bool:
    """What `finalize` would decide: Accepted when both quorum and approval hold."""
    return quorum_met(for_votes, abstain_votes, quorum_bps, supply) and approved(
        for_votes, against_votes, approval_bps
    )


def quorum_reached(proposal: Proposal, supply: int) -> bool:
    """`quorum_met` for the proposal's tallies and the quorum it froze when it was created."""
    return quorum_met(proposal.for_votes, proposal.abstain_votes, proposal.quorum_bps, supply)


def would_pass(proposal: Proposal, supply: int) -> bool:
    """`passes` for the proposal's tallies and the thresholds it froze when it was created."""
    return passes(
        proposal.for_votes,
        proposal.against_votes,
        proposal.abstain_votes,
        supply,
        proposal.quorum_bps,
        proposal.approval_bps,
    )


_API_WORDS: Final[dict[ProposalStatus, ApiStatusWord]] = {
    ProposalStatus.PENDING: "pending",
    ProposalStatus.ACTIVE: "active",
    ProposalStatus.ACCEPTED: "accepted",
    ProposalStatus.REJECTED: "rejected",
}


def api_status_word(proposal: Proposal, block: int, supply: int | None) -> ApiStatusWord:
    """The HTTP API's word for `status(proposal, block)`: CLOSED becomes `succeeded` or `defeated` by what
    `finalize` would decide (`would_pass`, with no supply counting as 0), every other status its `word`."""
    current = status(proposal, block)
    if current is not ProposalStatus.CLOSED:
        return _API_WORDS[current]
    return "succeeded" if would_pass(proposal, supply or 0) else "defeated"


def votes_cast(proposal: Proposal) -> int:
    """For + Against + Abstain."""
    return proposal.for_votes + proposal.against_votes + proposal.abstain_votes


def turnout(cast: int, supply: int | None) -> Fraction | None:
    """Votes cast as a share of the supply at the snapshot; None when that supply is unknown or zero."""
    return Fraction(cast, supply) if supply else None


def share_bps(part: int, whole: int | None) -> int:
    """`part` of `whole` in whole basis points, rounded down (0 when `whole` is unknown or zero)."""
    return part * BPS // whole if whole else 0


def turnout_bps(cast: int, supply: int | None) -> int:
    """`turnout` in whole basis points, rounded down (0 when the supply is unknown or zero)."""
    return share_bps(cast, supply)
