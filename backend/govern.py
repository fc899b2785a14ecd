"""The commons' governance use cases: propose, vote, queue, execute, list and show Governor proposals, and
the genesis token allocation (`curation gov ...`, `curation token allocate`).

Every change a proposal makes is a list of contract calls (backend.chain.contract.Call); people see them
decoded (backend.chain.governance.describe_call), never as raw hex only. The operator use cases
(backend.operate) turn a change into a proposal here when the timelock, not the signer, holds the role.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backend.chain.accounts import Signer
from backend.chain.blocks import block_header
from backend.chain.contract import Call
from backend.chain.deployment import Deployment
from backend.chain.governance import (
    CallDescription,
    GenesisBatch,
    GovernorClient,
    GovernorState,
    TimelockClient,
    describe_call,
    genesis_close_calls,
    proposal_calls,
)
from backend.chain.token import TokenClient
from backend.errors import ConfigError
from backend.session import Session
from curation.allocation import Allocation
from curation.errors import InvalidInput
from curation.events import GovernorProposalCreated
from curation.governance import Support
from curation.params import GOVERNANCE_BOUNDS

__all__ = [
    "GOVERNOR_SETTINGS",
    "AllocationResult",
    "Governance",
    "NotConfirmed",
    "NotGoverned",
    "ProposalRow",
    "Proposed",
    "UnknownGovProposal",
    "WrongProposalState",
    "allocate",
    "cast_vote",
    "execute",
    "list_proposals",
    "mint_call",
    "propose",
    "queue",
    "setting_call",
    "show_proposal",
]


class NotConfirmed(InvalidInput):
    """The operator declined the plan, or could not be asked (no terminal, no --yes): nothing was sent."""


class NotGoverned(ConfigError):
    """The deployment has no Governor: it was deployed direct (`curation deploy --governed` makes one)."""


class UnknownGovProposal(InvalidInput):
    """No Governor proposal has this id."""


class WrongProposalState(InvalidInput):
    """The proposal is not in the state the action needs (vote while active, queue once succeeded...)."""


@dataclass(frozen=True)
class Governance:
    """A governed deployment's Governor (with the session's signer) and its record."""

    governor: GovernorClient
    deployment: Deployment

    @classmethod
    def from_session(cls, s: Session) -> Governance:
        if not s.deployment.governed:
            raise NotGoverned(
                "this deployment is not governed (its admin is the deployer): deploy with "
                "`curation deploy --governed` to have roles and parameters changed by proposals"
            )
        return cls(s.governor(), s.deployment)

    @classmethod
    def maybe(cls, s: Session) -> Governance | None:
        return cls.from_session(s) if s.deployment.governed else None

    @property
    def timelock(self) -> str:
        return self.deployment.address("CommonsTimelock")

    def signer(self) -> Signer:
        if self.governor.signer is None:
            raise ConfigError("this needs a signer: pass --keystore FILE or --dev-account N")
        return self.governor.signer


@dataclass(frozen=True)
class Proposed:
    """A proposal sent: its id, description and calls (decoded), the block its vote opens and closes."""

    proposal_id: int
    description: str
    calls: tuple[CallDescription, ...]
    vote_start: int
    vote_end: int
    tx_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "proposal_id": str(self.proposal_id),
            "description": self.description,
            "actions": [c.text() for c in self.calls],
            "vote_start": self.vote_start,
            "vote_end": self.vote_end,
            "tx_hash": self.tx_hash,
        }


@dataclass(frozen=True)
class ProposalRow:
    """One Governor proposal as `gov list` and `gov show` print it."""

    proposal_id: int
    state: GovernorState
    proposer: str
    title: str
    description: str
    actions: tuple[CallDescription, ...]
    vote_start: int
    vote_end: int
    against: int
    for_: int
    abstain: int
    quorum: int | None
    eta: int
    created_block: int

    def to_json(self) -> dict[str, Any]:
        return {
            "proposal_id": str(self.proposal_id),
            "state": self.state.label,
            "proposer": self.proposer,
            "title": self.title,
            "description": self.description,
            "actions": [c.text() for c in self.actions],
            "vote_start": self.vote_start,
            "vote_end": self.vote_end,
            "votes": {"against": str(self.against), "for": str(self.for_), "abstain": str(self.abstain)},
            "quorum": None if self.quorum is None else str(self.quorum),
            "eta": self.eta,
            "created_block": self.created_block,
        }


#: Shown the decoded calls and description before sending; True sends.
ConfirmProposal = Callable[[str, Sequence[CallDescription]], bool]


def _always(_d: str, _c: Sequence[CallDescription]) -> bool:
    return True


def propose(
    gov: Governance, calls: Sequence[Call], description: str, confirm: ConfirmProposal = _always
) -> Proposed:
    """Send a Governor proposal of `calls`; the description's first line is its title."""
    me = gov.signer().address
    if not calls:
        raise InvalidInput("a proposal needs at least one action")
    if not description.strip():
        raise InvalidInput("a proposal needs a description (its first line is the title)")
    described = tuple(describe_call(gov.deployment, c) for c in calls)
    threshold = gov.governor.proposal_threshold()
    if threshold:
        token = TokenClient(gov.governor.w3, gov.deployment.address("CurationToken"))
        now = gov.governor.w3.eth.block_number
        power = token.get_past_votes(me, now - 1) if now else 0
        if power < threshold:
            raise InvalidInput(
                f"{me} has {power} votes but proposing needs {threshold} (the Governor's proposal threshold); "
                "nothing was sent"
            )
    pid = gov.governor.hash_proposal(calls, description)
    if _created(gov, pid) is not None:
        raise WrongProposalState(
            f"the same proposal (same actions and description) already exists as {pid}: "
            f"`curation gov show {pid}`; change the description to propose it again"
        )
    if not confirm(description, described):
        raise NotConfirmed("cancelled: nothing was sent")
    receipt = gov.governor.propose(calls, description)
    ev = receipt.event(GovernorProposalCreated)
    return Proposed(ev.proposal_id, description, described, ev.vote_start, ev.vote_end, receipt.tx_hash)


def _created(gov: Governance, proposal_id: int) -> GovernorProposalCreated | None:
    found = gov.governor.proposals(gov.deployment.deploy_block, proposal_id)
    return found[0] if found else None


def _need(gov: Governance, proposal_id: int) -> GovernorProposalCreated:
    created = _created(gov, proposal_id)
    if created is None:
        raise UnknownGovProposal(
            f"there is no governance proposal {proposal_id}: `curation gov list` shows the proposals"
        )
    return created


def _row(gov: Governance, created: GovernorProposalCreated) -> ProposalRow:
    g = gov.governor
    pid = created.proposal_id
    state = g.state(pid)
    against, for_, abstain = g.votes(pid)
    now = g.w3.eth.block_number
    quorum = g.quorum(created.vote_start) if created.vote_start < now else None
    description = str(created.description)
    title = description.strip().splitlines()[0] if description.strip() else "(no description)"
    actions = tuple(describe_call(gov.deployment, c) for c in proposal_calls(created))
    return ProposalRow(
        pid,
        state,
        created.proposer,
        title[:200],
        description,
        actions,
        created.vote_start,
        created.vote_end,
        against,
        for_,
        abstain,
        quorum,
        g.eta(pid),
        created.at.block_number,
    )


def list_proposals(gov: Governance) -> list[ProposalRow]:
    """Every Governor proposal, oldest first, with its state and votes now."""
    return [_row(gov, c) for c in gov.governor.proposals(gov.deployment.deploy_block)]


def show_proposal(gov: Governance, proposal_id: int) -> ProposalRow:
    return _row(gov, _need(gov, proposal_id))


def _require_state(row: ProposalRow, wanted: GovernorState, action: str, now: int, now_time: int) -> None:
    if row.state is wanted:
        return
    why = f"proposal {row.proposal_id} is {row.state.label}"
    if row.state is GovernorState.PENDING:
        why += f": its vote opens after block {row.vote_start} (now {now})"
    elif row.state is GovernorState.ACTIVE:
        why += f": its vote runs to block {row.vote_end} (now {now})"
    elif row.state is GovernorState.QUEUED and action == "execute":
        why += f", ready at time {row.eta} (now {now_time})"
    raise WrongProposalState(f"cannot {action}: {why}; nothing was sent")


def cast_vote(
    gov: Governance, proposal_id: int, support: str, reason: str = ""
) -> tuple[int, str, list[str]]:
    """Vote on a Governor proposal; returns (weight, tx hash, warnings)."""
    side = Support.parse(support)
    me = gov.signer().address
    row = show_proposal(gov, proposal_id)
    now = gov.governor.w3.eth.block_number
    if row.state is not GovernorState.ACTIVE:
        _require_state(row, GovernorState.ACTIVE, "vote", now, block_header(gov.governor.w3).timestamp)
    if gov.governor.has_voted(proposal_id, me):
        raise WrongProposalState(f"{me} has already voted on proposal {proposal_id}; nothing was sent")
    token = TokenClient(gov.governor.w3, gov.deployment.address("CurationToken"))
    weight = token.get_past_votes(me, row.vote_start)
    warnings = []
    if weight == 0:
        warnings.append(
            f"{me} had no voting power at block {row.vote_start} (delegate to yourself before a vote opens: "
            "`curation delegate`); the vote is recorded with weight 0"
        )
    receipt = gov.governor.cast_vote(proposal_id, int(side), reason)
    return weight, receipt.tx_hash, warnings


def queue(gov: Governance, proposal_id: int) -> tuple[int, str]:
    """Queue a succeeded proposal in the timelock; returns (eta, tx hash)."""
    created = _need(gov, proposal_id)
    row = _row(gov, created)
    w3 = gov.governor.w3
    _require_state(row, GovernorState.SUCCEEDED, "queue", w3.eth.block_number, block_header(w3).timestamp)
    receipt = gov.governor.queue(proposal_calls(created), str(created.description))
    return gov.governor.eta(proposal_id), receipt.tx_hash


def execute(gov: Governance, proposal_id: int) -> str:
    """Execute a queued proposal whose timelock delay has passed; returns the tx hash."""
    created = _need(gov, proposal_id)
    row = _row(gov, created)
    w3 = gov.governor.w3
    now_time = block_header(w3).timestamp
    _require_state(row, GovernorState.QUEUED, "execute", w3.eth.block_number, now_time)
    if row.eta > now_time + 1:  # the next block is at least one second later
        raise WrongProposalState(
            f"cannot execute: proposal {proposal_id} waits in the timelock until time {row.eta} "
            f"(now {now_time}, {row.eta - now_time} s left); nothing was sent"
        )
    return gov.governor.execute(proposal_calls(created), str(created.description)).tx_hash


# --- governor settings and minting by proposal ---------------------------------------------------------------

#: `gov propose --set NAME=VALUE`: the Governor/timelock setter each governance setting changes.
GOVERNOR_SETTINGS: dict[str, tuple[str, str]] = {
    "voting_delay": ("CommonsGovernor", "setVotingDelay"),
    "voting_period": ("CommonsGovernor", "setVotingPeriod"),
    "proposal_threshold": ("CommonsGovernor", "setProposalThreshold"),
    "quorum_percent": ("CommonsGovernor", "updateQuorumNumerator"),
    "min_delay": ("CommonsTimelock", "updateDelay"),
}


def setting_call(gov: Governance, name: str, value: int) -> Call:
    """The call that changes governance setting `name` (checked against curation.params.GOVERNANCE_BOUNDS)."""
    key = name.strip().lower().replace("-", "_")
    if key not in GOVERNOR_SETTINGS:
        raise InvalidInput(
            f"setting = {name!r} is not a governance setting; known: {', '.join(GOVERNOR_SETTINGS)}"
        )
    bound = GOVERNANCE_BOUNDS[key]
    if not bound.low <= value <= bound.high:
        raise InvalidInput(
            f"{key} = {value} is out of range: it must be from {bound.low} to {bound.high} ({bound.unit})"
        )
    contract, fn = GOVERNOR_SETTINGS[key]
    if contract == "CommonsTimelock":
        return TimelockClient(gov.governor.w3, gov.timelock).encode(fn, value)
    return gov.governor.encode(fn, value)


def mint_call(gov: Governance, to: str, amount: int) -> Call:
    token = TokenClient(gov.governor.w3, gov.deployment.address("CurationToken"))
    return token.encode("mint", to, amount)


# --- genesis allocation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationResult:
    """The genesis allocation done: who got how much, and whether genesis closed with it."""

    rows: tuple[tuple[str, int], ...]
    total: int
    tx_hashes: tuple[str, ...]
    governed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "allocations": [{"address": a, "amount": str(v)} for a, v in self.rows],
            "total": str(self.total),
            "tx_hashes": list(self.tx_hashes),
            "governed": self.governed,
            "minting": "by governance proposal only"
            if self.governed
            else "no minter left (the admin may grant one)",
        }


def allocate(
    s: Session,
    allocation: Allocation,
    confirm: Callable[[Allocation], bool] | None = None,
    progress: Callable[[str], None] | None = None,
) -> AllocationResult:
    """Mint the genesis allocation, then leave minting to governance.

    Governed: one timelock batch per MAX_BATCH_CALLS mints, the last one also closing genesis (see
    backend.chain.governance); the signer must be the deployer with genesis open. Direct: the signer mints
    (it must hold the minter role) and then drops its minter role. Refused when any token exists already
    (the allocation is the genesis step: run once).
    """
    me = s.need_signer()
    token = s.token()
    supply = token.total_supply()
    if supply:
        raise WrongProposalState(
            f"{supply} token units exist already: the allocation is the genesis step and runs once; "
            "mint more with a governance proposal (`curation gov propose --mint ADDRESS=AMOUNT`)"
        )
    say = progress or (lambda _m: None)
    if s.deployment.governed:
        batch = GenesisBatch(s.w3, s.deployment, me)
        if not batch.is_open():
            raise WrongProposalState(
                f"genesis is closed ({me.address} no longer controls the timelock): mint with a governance "
                "proposal (`curation gov propose --mint ADDRESS=AMOUNT`)"
            )
    elif not token.is_minter(me.address):
        raise ConfigError(
            f"{me.address} is not a minter of the token, so it cannot allocate; nothing was sent"
        )
    if confirm is not None and not confirm(allocation):
        raise NotConfirmed("cancelled: nothing was sent")
    hashes: list[str] = []
    if s.deployment.governed:
        for address, amount in allocation.rows:
            batch.mint(address, amount)
        for call in genesis_close_calls(s.w3, s.deployment):
            batch.add(call)
        say(f"minting {len(allocation.rows)} allocations and closing genesis through the timelock")
        hashes = [r.tx_hash for r in batch.run("genesis allocation")]
    else:
        for i, (address, amount) in enumerate(allocation.rows, 1):
            hashes.append(token.mint(address, amount).tx_hash)
            say(f"minted {i}/{len(allocation.rows)}")
        hashes.append(token.set_minter(me.address, False).tx_hash)
    return AllocationResult(allocation.rows, allocation.total, tuple(hashes), s.deployment.governed)
