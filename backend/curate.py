"""The curator's use cases: delegate, propose, vote, sign a ballot, relay ballots, finalize, list proposals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.chain.accounts import Signer
from backend.chain.ballots import RelayReport, deployment_mismatch, relay, sign_ballot_as
from backend.chain.token import TokenClient
from backend.chain.voting import ProposalInfo, Tally, VotingClient
from backend.errors import ConfigError
from curation.ballots import MAX_BALLOT_FILE_BYTES, SignedBallot, dump_ballots, load_ballots
from curation.cid import CID
from curation.errors import InvalidInput
from curation.events import ProposalCreated, VoteCast
from curation.governance import ProposalKind, ProposalStatus, Support
from curation.state import UnknownDataset

__all__ = [
    "AlreadyFinalized",
    "BallotFileError",
    "Delegation",
    "DuplicateBallot",
    "Finalized",
    "ForeignBallot",
    "NoBallots",
    "ProposalRow",
    "Proposed",
    "UnknownProposal",
    "Voted",
    "VotingNotEnded",
    "ballot_warnings",
    "delegate",
    "finalize",
    "list_proposals",
    "propose",
    "relay_ballot_files",
    "sign_ballot_to_file",
    "vote",
]


class UnknownProposal(InvalidInput):
    """No proposal has this id."""


class VotingNotEnded(InvalidInput):
    """The proposal is still pending or active: it can be finalized only after its deadline block."""


class AlreadyFinalized(InvalidInput):
    """The proposal has been finalized already (accepted or rejected)."""


class ForeignBallot(InvalidInput):
    """A ballot is for another chain or another CurationVoting contract: nothing was relayed."""


class NoBallots(InvalidInput):
    """The ballot files given to relay hold no ballots."""


class DuplicateBallot(InvalidInput):
    """The ballot file already holds a ballot of this voter on this proposal."""


class BallotFileError(ConfigError):
    """A ballot file is missing or unreadable, cannot be written, or exists where a new one would be written."""


@dataclass(frozen=True)
class Delegation:
    delegator: str
    delegatee: str
    votes: int
    tx_hash: str


@dataclass(frozen=True)
class Proposed:
    proposal_id: int
    dataset_id: int
    kind: ProposalKind
    snapshot: int
    deadline: int
    tx_hash: str


@dataclass(frozen=True)
class Voted:
    proposal_id: int
    support: Support
    weight: int
    tx_hash: str


@dataclass(frozen=True)
class Finalized:
    proposal_id: int
    outcome: ProposalStatus
    tally: Tally
    tx_hash: str


@dataclass(frozen=True)
class ProposalRow:
    info: ProposalInfo
    tally: Tally


# --- preconditions (the contract checks them too; these say more: what exists, until when) ------------------


def _require_dataset(voting: VotingClient, dataset_id: int) -> None:
    count = voting.dataset_count()
    if not 1 <= dataset_id <= count:
        known = f"datasets are numbered 1..{count}" if count else "there are no datasets yet"
        raise UnknownDataset(f"dataset {dataset_id} does not exist ({known})")


def _require_proposal(voting: VotingClient, proposal_id: int) -> None:
    count = voting.proposal_count()
    if not 1 <= proposal_id <= count:
        known = f"proposals are numbered 1..{count}" if count else "there are no proposals yet"
        raise UnknownProposal(f"proposal {proposal_id} does not exist ({known})")


def _require_signer(client: VotingClient | TokenClient) -> Signer:
    if client.signer is None:
        raise ConfigError("this needs a signer: pass --keystore FILE or --dev-account N")
    return client.signer


# --- use cases --------------------------------------------------------------------------------------------


def delegate(token: TokenClient, to: str | None = None) -> Delegation:
    """Delegate the signer's voting power to `to` (to the signer itself when None)."""
    me = _require_signer(token).address
    target = to or me
    receipt = token.delegate(target)
    return Delegation(me, target, token.get_votes(target), receipt.tx_hash)


def propose(
    voting: VotingClient,
    dataset_id: int,
    kind: ProposalKind,
    item_ids: Sequence[int] = (),
    batch_ids: Sequence[int] = (),
    description_cid: str | bytes | CID = "",
) -> Proposed:
    """Propose including (or removing) items and batches in an existing dataset."""
    _require_dataset(voting, dataset_id)
    receipt = voting.propose(dataset_id, kind, item_ids, batch_ids, description_cid)
    proposal_id = receipt.event(ProposalCreated).proposal_id
    info = voting.get_proposal(proposal_id)
    return Proposed(proposal_id, dataset_id, kind, info.snapshot, info.deadline, receipt.tx_hash)


def vote(voting: VotingClient, proposal_id: int, support: Support, reason: str | None = None) -> Voted:
    """Vote on an existing proposal from the signer, weighted by its voting power at the snapshot block."""
    _require_proposal(voting, proposal_id)
    receipt = voting.cast_vote(proposal_id, support, reason)
    weight = receipt.event(VoteCast).weight
    return Voted(proposal_id, support, weight, receipt.tx_hash)


def sign_ballot_to_file(
    voting: VotingClient, proposal_id: int, support: Support, out: Path, *, append: bool = False
) -> SignedBallot:
    """Sign the signer's ballot on an existing proposal and write it to `out` (added to it with `append`).

    Nothing is sent. The file is replaced whole, so a failure leaves the previous file as it was.
    """
    existing: list[SignedBallot] = []
    if out.exists():
        if not append:
            raise BallotFileError(
                f"{out} exists: pass --append to add this ballot to it, or choose another file"
            )
        existing = _read_ballots(out)
    _require_proposal(voting, proposal_id)
    signer = _require_signer(voting)
    if any(b.proposal_id == proposal_id and b.voter == signer.address for b in existing):
        raise DuplicateBallot(f"{out} already holds a ballot of {signer.address} on proposal {proposal_id}")
    signed = sign_ballot_as(voting.w3, signer, voting.ballot(proposal_id, support, signer.address))
    tmp = out.with_name(f".{out.name}.part")
    try:
        tmp.write_text(dump_ballots([*existing, signed]))
        os.replace(tmp, out)
    except OSError as exc:
        raise BallotFileError(f"ballot file {out} cannot be written: {exc.strerror}") from None
    return signed


def ballot_warnings(voting: VotingClient, proposal_id: int, voter: str) -> list[str]:
    """Why a ballot just signed may never count (it is still written: a wallet may sign before it knows),
    in words: the voter has already voted on the proposal, so the contract will skip the ballot."""
    if voting.has_voted(proposal_id, voter):
        return [
            f"{voter} has already voted on proposal {proposal_id}: the contract counts one vote per wallet, "
            "so a relayer's transaction will skip this ballot (BallotSkipped: already voted)"
        ]
    return []


def relay_ballot_files(voting: VotingClient, files: Sequence[Path]) -> RelayReport:
    """Relay the ballots of `files` in batched transactions from the signer, who pays the gas.

    Every ballot must be for this chain and this CurationVoting: one that is not refuses the whole lot before
    anything is sent. The ballots that cannot count are reported, each with why.
    """
    entries = _load_files(files)
    if not entries:
        raise NoBallots("the ballot files hold no ballots")
    chain_id = voting.w3.eth.chain_id
    for path, index, b in entries:
        why = deployment_mismatch(b, chain_id, voting.address)
        if why is not None:
            raise ForeignBallot(
                f"{path}: ballot {index} ({b.voter} on proposal {b.proposal_id}) {why}: nothing was relayed"
            )
    return relay(voting, [b for _path, _index, b in entries])


def finalize(voting: VotingClient, proposal_id: int) -> Finalized:
    """Finalize an existing proposal whose deadline has passed (anyone may): accepted or rejected."""
    _require_proposal(voting, proposal_id)
    state = voting.proposal_state(proposal_id)
    if state in (ProposalStatus.PENDING, ProposalStatus.ACTIVE):
        deadline = voting.get_proposal(proposal_id).deadline
        raise VotingNotEnded(
            f"proposal {proposal_id} is {state.name.lower()} until block {deadline} "
            f"(now {voting.w3.eth.block_number}): finalize after the deadline"
        )
    if state in (ProposalStatus.ACCEPTED, ProposalStatus.REJECTED):
        raise AlreadyFinalized(f"proposal {proposal_id} is already finalized: {state.name.lower()}")
    receipt = voting.finalize(proposal_id)
    return Finalized(
        proposal_id, voting.proposal_state(proposal_id), voting.get_tally(proposal_id), receipt.tx_hash
    )


def list_proposals(voting: VotingClient, dataset_id: int | None = None) -> list[ProposalRow]:
    """Every proposal (only dataset `dataset_id`'s when given) with its state and tally, by id; InvalidInput
    for a dataset that does not exist (an empty list means: a dataset without proposals)."""
    if dataset_id is not None:
        count = voting.dataset_count()
        if not 1 <= dataset_id <= count:
            raise InvalidInput(f"dataset {dataset_id} does not exist (the commons has {count} datasets)")
    rows: list[ProposalRow] = []
    for proposal_id in range(1, voting.proposal_count() + 1):
        info = voting.get_proposal(proposal_id)
        if dataset_id is None or info.dataset_id == dataset_id:
            rows.append(ProposalRow(info, voting.get_tally(proposal_id)))
    return rows


# --- ballot files -----------------------------------------------------------------------------------------


def _read_ballots(path: Path) -> list[SignedBallot]:
    """The ballots of `path`, reading at most one byte more than a ballot file may hold (load_ballots refuses
    a larger file with its reason)."""
    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_BALLOT_FILE_BYTES + 1)
    except FileNotFoundError:
        raise BallotFileError(f"ballot file {path} does not exist") from None
    except OSError as exc:
        raise BallotFileError(f"ballot file {path} cannot be read: {exc.strerror}") from None
    try:
        return load_ballots(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def _load_files(files: Sequence[Path]) -> list[tuple[Path, int, SignedBallot]]:
    return [(path, i, b) for path in files for i, b in enumerate(_read_ballots(path))]
