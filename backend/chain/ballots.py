"""Sign CurationVoting ballots with eth-account and relay many of them in batched transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from backend.chain.contract import Receipt
from backend.chain.voting import VotingClient
from backend.errors import ChainError
from curation.ballots import Ballot, SignedBallot, SkipReason, Support
from curation.errors import InvalidInput

__all__ = [
    "MAX_BATCH",
    "CountedBallot",
    "RelayReport",
    "SkippedBallot",
    "recover_signer",
    "relay",
    "sign_ballot",
]

#: Ballots per relayBallots transaction by default (about 1.3M gas with ECDSA ballots).
MAX_BATCH = 50


def sign_ballot(account: LocalAccount, ballot: Ballot) -> SignedBallot:
    """Sign `ballot` as `account` (which must be the ballot's voter)."""
    if account.address != ballot.voter:
        raise InvalidInput(f"ballot is for voter {ballot.voter}, but the key belongs to {account.address}")
    signed = account.sign_message(encode_typed_data(full_message=ballot.typed_data()))
    if bytes(signed.message_hash) != ballot.digest():  # two independent EIP-712 encoders must agree
        raise ChainError("eth-account and curation.ballots disagree on the ballot digest")
    return SignedBallot(**ballot.model_dump(), signature=bytes(signed.signature))


def recover_signer(ballot: SignedBallot) -> str:
    """The EOA whose key produced this ballot's signature (an ERC-1271 wallet cannot be recovered)."""
    try:
        return str(Account._recover_hash(ballot.digest(), signature=ballot.signature))
    except Exception as exc:  # eth-keys raises several types for malformed signatures
        raise InvalidInput(
            f"signature of {ballot.voter}'s ballot is not a valid ECDSA signature: {exc}"
        ) from None


@dataclass(frozen=True)
class CountedBallot:
    voter: str
    proposal_id: int
    support: Support
    weight: int
    tx_hash: str


@dataclass(frozen=True)
class SkippedBallot:
    """A ballot that was not counted: `reason` from the contract, or `local` when never sent and why."""

    ballot: SignedBallot
    reason: SkipReason | None
    detail: str
    tx_hash: str | None = None


@dataclass
class RelayReport:
    counted: list[CountedBallot] = field(default_factory=list)
    skipped: list[SkippedBallot] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    @property
    def gas_used(self) -> int:
        return sum(r.gas_used for r in self.receipts)


def relay(voting: VotingClient, ballots: Sequence[SignedBallot], batch_size: int = MAX_BATCH) -> RelayReport:
    """Relay `ballots` in transactions of at most `batch_size`, from `voting`'s signer.

    Ballots for another chain or contract, and exact duplicates, are dropped before sending (reported as
    skipped with reason None); the contract skips the rest that cannot count and reports them by event.
    """
    if batch_size < 1:
        raise InvalidInput(f"batch size must be at least 1, got {batch_size}")
    report = RelayReport()
    chain_id = voting.w3.eth.chain_id
    seen: set[tuple[int, str]] = set()
    pending: list[SignedBallot] = []
    for b in ballots:
        if b.chain_id != chain_id or b.contract != voting.address:
            where = f"chain {b.chain_id}, contract {b.contract}"
            report.skipped.append(SkippedBallot(b, None, f"ballot is for {where}, not this deployment"))
        elif (b.proposal_id, b.voter) in seen:
            report.skipped.append(
                SkippedBallot(b, None, "another ballot of this voter on this proposal is queued")
            )
        else:
            seen.add((b.proposal_id, b.voter))
            pending.append(b)
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        receipt = voting.relay_ballots(batch)
        report.receipts.append(receipt)
        for ev in receipt.all("VoteCast"):
            report.counted.append(
                CountedBallot(
                    ev["voter"], ev["proposalId"], Support(ev["support"]), ev["weight"], receipt.tx_hash
                )
            )
        for ev in receipt.all("BallotSkipped"):
            reason = SkipReason(ev["reason"])
            report.skipped.append(
                SkippedBallot(batch[ev["index"]], reason, reason.explanation, receipt.tx_hash)
            )
    return report
