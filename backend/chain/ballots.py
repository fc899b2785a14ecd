"""Sign CurationVoting ballots with eth-account and relay many of them in batched transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from backend.chain.contract import Receipt
from backend.chain.signatures import WALLET_CHECK_GAS
from backend.chain.voting import RELAY_BASE_GAS, VotingClient, ballot_gas
from backend.errors import ChainError, ContractRevert
from curation.ballots import Ballot, SignedBallot, SkipReason, Support
from curation.errors import InvalidInput

__all__ = [
    "MAX_BATCH",
    "MAX_RELAY_GAS",
    "CountedBallot",
    "RelayReport",
    "SkippedBallot",
    "recover_signer",
    "relay",
    "sign_ballot",
]

#: Ballots per relayBallots transaction by default (about 1.3M gas with ECDSA ballots).
MAX_BATCH = 50

#: Most gas one relay transaction may be given (and never more than the latest block's gas limit): batches
#: with contract wallets are cut short to stay below it, since each wallet ballot may take WALLET_CHECK_GAS.
MAX_RELAY_GAS = 15_000_000


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
    """A ballot that was not counted and why (`detail`).

    `reason` is the contract's code from its BallotSkipped event (the ballot was relayed, in `tx_hash`), or
    None when the relayer left the ballot out (`left_out`): never sent, or sent in a transaction that reverted
    after its simulation had passed.
    """

    ballot: SignedBallot
    reason: SkipReason | None
    detail: str
    tx_hash: str | None = None

    @property
    def left_out(self) -> bool:
        return self.reason is None


@dataclass
class RelayReport:
    counted: list[CountedBallot] = field(default_factory=list)
    skipped: list[SkippedBallot] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    @property
    def gas_used(self) -> int:
        return sum(r.gas_used for r in self.receipts)

    @property
    def left_out(self) -> list[SkippedBallot]:
        """Ballots the relayer left out (not counted by any transaction), each with why."""
        return [s for s in self.skipped if s.left_out]

    @property
    def skipped_on_chain(self) -> list[SkippedBallot]:
        """Ballots sent and skipped by the contract (BallotSkipped events)."""
        return [s for s in self.skipped if not s.left_out]


def relay(
    voting: VotingClient,
    ballots: Sequence[SignedBallot],
    batch_size: int = MAX_BATCH,
    *,
    max_gas: int = MAX_RELAY_GAS,
) -> RelayReport:
    """Relay `ballots` in transactions of at most `batch_size` ballots and `max_gas` gas, from `voting`'s signer.

    Ballots for another chain or contract, and exact duplicates, are left out before anything is sent. Every
    batch is simulated first (eth_call, same sender and gas); a batch that would revert is bisected to find
    the ballots that make it revert, those are left out and the others relayed. Left-out ballots are reported
    with reason None and why; the contract skips the relayed ballots that cannot count and reports them by
    event (reported with its reason). A contract wallet's ballot is given WALLET_CHECK_GAS for its ERC-1271
    check, so gas limits are sized for it.
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
    if not pending:
        return report
    wallets = voting.contract_voters(b.voter for b in pending)
    budget = min(max_gas, _block_gas_limit(voting))
    for batch in _plan(pending, batch_size, budget, wallets, report):
        _relay_batch(voting, batch, wallets, report)
    return report


def _block_gas_limit(voting: VotingClient) -> int:
    try:
        return int(voting.w3.eth.get_block("latest")["gasLimit"])
    except (ConnectionError, OSError) as exc:
        raise ChainError(f"could not read the block gas limit: the node does not answer ({exc})") from None


def _plan(
    pending: list[SignedBallot],
    batch_size: int,
    budget: int,
    wallets: frozenset[str],
    report: RelayReport,
) -> list[list[SignedBallot]]:
    """Cut `pending` into batches of at most `batch_size` ballots whose gas limit stays within `budget`."""
    batches: list[list[SignedBallot]] = []
    current: list[SignedBallot] = []
    gas = RELAY_BASE_GAS
    for b in pending:
        need = ballot_gas(len(b.signature), b.voter in wallets)
        if RELAY_BASE_GAS + need > budget:
            report.skipped.append(
                SkippedBallot(
                    b,
                    None,
                    f"this ballot ({len(b.signature)}-byte signature) may need {need:,} gas, more than "
                    f"one relay transaction may use ({budget:,})",
                )
            )
            continue
        if current and (len(current) == batch_size or gas + need > budget):
            batches.append(current)
            current, gas = [], RELAY_BASE_GAS
        current.append(b)
        gas += need
    if current:
        batches.append(current)
    return batches


def _bisect(
    voting: VotingClient, batch: list[SignedBallot], wallets: frozenset[str]
) -> tuple[list[list[SignedBallot]], list[SkippedBallot]]:
    """Split `batch` into runs that simulate without reverting, and the single ballots that revert alone."""
    failure = voting.relay_failure(batch, wallets=wallets)
    if failure is None:
        return [batch], []
    if len(batch) == 1:
        detail = f"relaying this ballot would revert the whole batch ({failure})"
        return [], [SkippedBallot(batch[0], None, detail)]
    mid = len(batch) // 2
    runs, bad = _bisect(voting, batch[:mid], wallets)
    more_runs, more_bad = _bisect(voting, batch[mid:], wallets)
    return runs + more_runs, bad + more_bad


def _relay_batch(
    voting: VotingClient, batch: list[SignedBallot], wallets: frozenset[str], report: RelayReport
) -> None:
    runs, bad = _bisect(voting, batch, wallets)
    report.skipped.extend(bad)
    if len(runs) > 1:
        merged = [b for run in runs for b in run]
        if voting.relay_failure(merged, wallets=wallets) is not None:
            # The runs pass apart but not together: send them one by one, each simulated again against the
            # state the ones before it left.
            for run in runs:
                _relay_batch(voting, run, wallets, report)
            return
        runs = [merged]
    for run in runs:
        _send(voting, run, wallets, report)


def _send(
    voting: VotingClient, batch: list[SignedBallot], wallets: frozenset[str], report: RelayReport
) -> None:
    try:
        receipt = voting.relay_ballots(batch, gas=voting.relay_gas_for(batch, wallets))
    except ContractRevert as exc:  # the chain moved between the simulation and the transaction
        detail = f"not counted: the relay transaction reverted although its simulation passed ({exc})"
        report.skipped.extend(SkippedBallot(b, None, detail) for b in batch)
        return
    report.receipts.append(receipt)
    for ev in receipt.all("VoteCast"):
        report.counted.append(
            CountedBallot(
                ev["voter"], ev["proposalId"], Support(ev["support"]), ev["weight"], receipt.tx_hash
            )
        )
    for ev in receipt.all("BallotSkipped"):
        ballot = batch[ev["index"]]
        reason = SkipReason(ev["reason"])
        detail = reason.explanation
        if reason is SkipReason.BAD_SIGNATURE and ballot.voter in wallets:
            detail = (
                f"the voter is a contract wallet whose isValidSignature (ERC-1271) did not approve this ballot "
                f"within {WALLET_CHECK_GAS:,} gas"
            )
        report.skipped.append(SkippedBallot(ballot, reason, detail, receipt.tx_hash))
