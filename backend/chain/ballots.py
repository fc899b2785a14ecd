"""Sign CurationVoting ballots (with a local key or through the node) and relay many in batched transactions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.types import RPCEndpoint

from backend.chain.accounts import Signer
from backend.chain.contract import Receipt
from backend.chain.signatures import WALLET_CHECK_GAS
from backend.chain.voting import RELAY_BASE_GAS, VotingClient, ballot_gas
from backend.errors import ChainError, ContractRevert
from curation.ballots import Ballot, SignedBallot, SkipReason
from curation.errors import InvalidInput
from curation.events import BallotSkipped, VoteCast
from curation.governance import Support

__all__ = [
    "MAX_BATCH",
    "MAX_RELAY_GAS",
    "CountedBallot",
    "RelayReport",
    "SkippedBallot",
    "deployment_mismatch",
    "recover_signer",
    "relay",
    "sign_ballot",
    "sign_ballot_as",
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


def sign_ballot_as(w3: Web3, signer: Signer, ballot: Ballot) -> SignedBallot:
    """Sign `ballot` as `signer`, its voter: a local key (keystore) signs here, an address unlocked on the node
    is asked to sign through eth_signTypedData_v4, and its signature must recover to the voter."""
    if signer.local is not None:
        return sign_ballot(signer.local, ballot)
    if signer.address != ballot.voter:
        raise InvalidInput(f"ballot is for voter {ballot.voter}, but the node would sign as {signer.address}")
    try:  # the JSON string form of eth_signTypedData_v4 is the one every node (and MetaMask) accepts
        answer = w3.provider.make_request(
            RPCEndpoint("eth_signTypedData_v4"), [signer.address, json.dumps(ballot.typed_data())]
        )
    except Exception as exc:  # a node that cannot be reached, or a transport that raises the node's refusal
        raise ChainError(f"the node would not sign the ballot ({exc}); use --keystore") from None
    error = answer.get("error")
    if error is not None:  # a node without eth_signTypedData_v4, or one that refuses
        why = error.get("message", error) if isinstance(error, dict) else error
        raise ChainError(f"the node would not sign the ballot ({why}); use --keystore")
    result = answer.get("result")
    raw = _signature_bytes(result)
    if raw is None:
        raise ChainError("the node answered eth_signTypedData_v4 without a 65-byte signature; use --keystore")
    signed = SignedBallot(**ballot.model_dump(), signature=raw)
    try:
        signer_of = recover_signer(signed)
    except InvalidInput:
        signer_of = None
    if signer_of != signer.address:
        raise ChainError("the node's signature does not recover to the voter; use --keystore")
    return signed


def _signature_bytes(result: object) -> bytes | None:
    """The 65 bytes of an ECDSA signature given as 0x hex text, or None."""
    if not isinstance(result, str) or len(result) != 132 or not result.startswith("0x"):
        return None
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        return None


def deployment_mismatch(ballot: Ballot, chain_id: int, contract: str) -> str | None:
    """Why `ballot` cannot count on the deployment of CurationVoting at `contract` on chain `chain_id`, or None.

    The contract would only find that the signature is not the voter's: the reason reads `is for chain 1, but
    this node is chain 31337` or `is for the voting contract 0x.., this deployment's is 0x..`.
    """
    if ballot.chain_id != chain_id:
        return f"is for chain {ballot.chain_id}, but this node is chain {chain_id}"
    if ballot.contract != contract:
        return f"is for the voting contract {ballot.contract}, this deployment's is {contract}"
    return None


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
        why = deployment_mismatch(b, chain_id, voting.address)
        if why is not None:
            report.skipped.append(SkippedBallot(b, None, f"this ballot {why}"))
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
    for vote in receipt.all(VoteCast):
        report.counted.append(
            CountedBallot(
                to_checksum_address(vote.voter),
                vote.proposal_id,
                Support(vote.support),
                vote.weight,
                receipt.tx_hash,
            )
        )
    for skip in receipt.all(BallotSkipped):
        ballot = batch[skip.index]
        reason = SkipReason(skip.reason)
        detail = reason.explanation
        if reason is SkipReason.BAD_SIGNATURE and ballot.voter in wallets:
            detail = (
                f"the voter is a contract wallet whose isValidSignature (ERC-1271) did not approve this ballot "
                f"within {WALLET_CHECK_GAS:,} gas"
            )
        report.skipped.append(SkippedBallot(ballot, reason, detail, receipt.tx_hash))
