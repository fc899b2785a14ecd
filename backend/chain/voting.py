"""Typed wrapper of CurationVoting: datasets, proposals, votes (direct, signed, relayed) and finalization."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3.exceptions import Web3RPCError

from backend.chain.contract import REVERTS, ContractClient, Receipt, decode_revert
from backend.chain.signatures import WALLET_CALL_MIN_GAS
from backend.errors import ChainError, ContractRevert
from curation.ballots import Ballot, SignedBallot
from curation.cid import CID, cid_text, parse_cid
from curation.errors import InvalidInput
from curation.governance import ProposalKind, ProposalStatus, Support

__all__ = [
    "RELAY_BASE_GAS",
    "DatasetInfo",
    "DatasetParams",
    "ProposalInfo",
    "Tally",
    "VotingClient",
    "ballot_gas",
    "cid_bytes",
    "relay_gas",
]

#: Gas of a relayBallots transaction before its ballots (21,000 base, the token account, the loop).
RELAY_BASE_GAS = 100_000

#: Gas limit per ECDSA ballot of 65 bytes (measured 25,000-57,000 each, see docs/voting.md).
_BALLOT_GAS = 120_000


@dataclass(frozen=True)
class DatasetParams:
    """A dataset's voting parameters (blocks, basis points, votes), as ICurationVoting.DatasetParams."""

    voting_delay: int = 1
    voting_period: int = 50
    quorum_bps: int = 400
    approval_bps: int = 5000
    late_quorum_extension: int = 0
    proposal_threshold: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (
            self.voting_delay,
            self.voting_period,
            self.quorum_bps,
            self.approval_bps,
            self.late_quorum_extension,
            self.proposal_threshold,
        )

    @classmethod
    def from_tuple(cls, raw: Sequence[Any]) -> DatasetParams:
        return cls(*(int(v) for v in raw))


@dataclass(frozen=True)
class DatasetInfo:
    dataset_id: int
    name: str
    description_cid: str
    use: int
    creator: str
    params: DatasetParams


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    dataset_id: int
    kind: ProposalKind
    snapshot: int
    deadline: int
    quorum_bps: int
    approval_bps: int
    late_quorum_extension: int
    state: ProposalStatus


@dataclass(frozen=True)
class Tally:
    for_votes: int
    against_votes: int
    abstain_votes: int

    @property
    def total(self) -> int:
        return self.for_votes + self.against_votes + self.abstain_votes


def cid_bytes(cid: str | bytes | CID) -> bytes:
    """Binary form of a CID given as text (any base) or bytes; InvalidInput if it is not a CID."""
    return parse_cid(cid).to_bytes()


def relay_gas(ballots: int) -> int:
    """Gas limit for relaying `ballots` ECDSA ballots of EOA voters (measured ~25k each)."""
    return RELAY_BASE_GAS + _BALLOT_GAS * ballots


def ballot_gas(signature_length: int, wallet: bool) -> int:
    """Upper bound of the gas a relayed ballot may need, for the transaction's gas limit.

    An EOA's ballot of 65 bytes takes 120,000 (more calldata for a longer signature). A contract wallet's ballot
    also needs the gas CurationVoting must have left when it asks the wallet (WALLET_CALL_MIN_GAS: the wallet
    may burn all of WALLET_CHECK_GAS) and the memory its signature is copied to.
    """
    padded = -(-signature_length // 32) * 32
    gas = _BALLOT_GAS + 16 * max(0, padded - 96)
    if wallet:
        words = padded // 32 + 4
        gas += WALLET_CALL_MIN_GAS + 6 * words + words * words // 512
    return gas


def _ids(values: Sequence[int], what: str) -> list[int]:
    out = sorted({int(v) for v in values})
    if out and out[0] < 1:
        raise InvalidInput(f"{what} ids start at 1, got {out[0]}")
    return out


class VotingClient(ContractClient):
    artifact = "CurationVoting"

    # --- roles --------------------------------------------------------------------------------------------
    def set_dataset_manager(self, account: str, allowed: bool) -> Receipt:
        return self._transact("setDatasetManager", account, allowed, gas=100_000)

    def is_dataset_manager(self, account: str) -> bool:
        return bool(self._call("isDatasetManager", account))

    def admin(self) -> str:
        return str(self._call("admin"))

    def token(self) -> str:
        return str(self._call("token"))

    def registry(self) -> str:
        return str(self._call("registry"))

    # --- datasets -----------------------------------------------------------------------------------------
    def create_dataset(
        self, name: str, description_cid: str | bytes | CID, use: int, params: DatasetParams | None = None
    ) -> Receipt:
        """Create a dataset (manager only); the id is `receipt.event(DatasetCreated).dataset_id`."""
        p = params or DatasetParams()
        return self._transact(
            "createDataset", name, cid_bytes(description_cid), int(use), p.as_tuple(), gas=400_000
        )

    def set_dataset_params(self, dataset_id: int, params: DatasetParams) -> Receipt:
        return self._transact("setDatasetParams", dataset_id, params.as_tuple(), gas=150_000)

    def dataset_count(self) -> int:
        return int(self._call("datasetCount"))

    def get_dataset(self, dataset_id: int, block: int | str = "latest") -> DatasetInfo:
        name, description, use, creator, params = self._call("getDataset", dataset_id, block=block)
        return DatasetInfo(
            dataset_id,
            str(name),
            cid_text(bytes(description)),
            int(use),
            str(creator),
            DatasetParams.from_tuple(params),
        )

    # --- proposals ----------------------------------------------------------------------------------------
    def propose(
        self,
        dataset_id: int,
        kind: ProposalKind | int,
        item_ids: Sequence[int] = (),
        batch_ids: Sequence[int] = (),
        description_cid: str | bytes | CID = b"",
    ) -> Receipt:
        """Propose (ids are sorted and de-duplicated first); the id is in the ProposalCreated event."""
        items, batches = _ids(item_ids, "item"), _ids(batch_ids, "batch")
        if not items and not batches:
            raise InvalidInput("a proposal must name at least one item or batch")
        cid = cid_bytes(description_cid) if description_cid else b""
        gas = 250_000 + 3_000 * (len(items) + len(batches))
        return self._transact("propose", dataset_id, int(kind), items, batches, cid, gas=gas)

    def proposal_count(self) -> int:
        return int(self._call("proposalCount"))

    def get_proposal(self, proposal_id: int, block: int | str = "latest") -> ProposalInfo:
        raw = self._call("getProposal", proposal_id, block=block)
        dataset, kind, snapshot, deadline, quorum, approval, extension, state = raw
        return ProposalInfo(
            proposal_id,
            int(dataset),
            ProposalKind(kind),
            int(snapshot),
            int(deadline),
            int(quorum),
            int(approval),
            int(extension),
            ProposalStatus(state),
        )

    def proposal_state(self, proposal_id: int, block: int | str = "latest") -> ProposalStatus:
        return ProposalStatus(self._call("proposalState", proposal_id, block=block))

    def get_tally(self, proposal_id: int, block: int | str = "latest") -> Tally:
        f, a, ab = self._call("getTally", proposal_id, block=block)
        return Tally(int(f), int(a), int(ab))

    def quorum_votes(self, proposal_id: int) -> int:
        return int(self._call("quorumVotes", proposal_id))

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        return bool(self._call("hasVoted", proposal_id, voter))

    # --- votes --------------------------------------------------------------------------------------------
    def cast_vote(self, proposal_id: int, support: Support | int | str, reason: str | None = None) -> Receipt:
        """Vote from this client's signer; with a `reason`, through castVoteWithReason."""
        s = int(Support.parse(support) if isinstance(support, str) else support)
        if reason is None:
            return self._transact("castVote", proposal_id, s, gas=200_000)
        return self._transact("castVoteWithReason", proposal_id, s, reason, gas=200_000 + 40 * len(reason))

    def cast_vote_by_sig(self, ballot: SignedBallot) -> Receipt:
        """Send one signed ballot (any signer pays the gas; a contract wallet's may need WALLET_CHECK_GAS).

        A ballot for another chain or contract reverts with CurationVotingInvalidSignature; relaying through
        backend.chain.ballots.relay leaves such ballots out before sending anything.
        """
        wallet = bool(self.contract_voters([ballot.voter]))
        return self._transact(
            "castVoteBySig",
            ballot.proposal_id,
            int(ballot.support),
            ballot.voter,
            ballot.signature,
            gas=300_000 + (ballot_gas(len(ballot.signature), True) if wallet else 0),
        )

    def relay_ballots(self, ballots: Sequence[SignedBallot], gas: int | None = None) -> Receipt:
        """Send many signed ballots in one transaction, unsimulated (backend.chain.ballots.relay simulates,
        batches and leaves out ballots that would make the transaction revert)."""
        return self._transact("relayBallots", self._rows(ballots), gas=gas or self.relay_gas_for(ballots))

    def contract_voters(self, voters: Iterable[str]) -> frozenset[str]:
        """The voters among `voters` that are contracts: CurationVoting asks them by ERC-1271."""
        out = set()
        for voter in set(voters):
            try:
                code = self.w3.eth.get_code(to_checksum_address(voter))
            except (ConnectionError, OSError) as exc:
                raise ChainError(
                    f"could not read the code of voter {voter}: the node does not answer ({exc})"
                ) from None
            if code:
                out.add(to_checksum_address(voter))
        return frozenset(out)

    def relay_gas_for(self, ballots: Sequence[SignedBallot], wallets: Iterable[str] | None = None) -> int:
        """Gas limit for relaying `ballots` in one transaction (`wallets`: the contract voters, if known)."""
        known = self.contract_voters(b.voter for b in ballots) if wallets is None else frozenset(wallets)
        return RELAY_BASE_GAS + sum(ballot_gas(len(b.signature), b.voter in known) for b in ballots)

    def relay_failure(
        self, ballots: Sequence[SignedBallot], gas: int | None = None, wallets: Iterable[str] | None = None
    ) -> ContractRevert | None:
        """Simulate relayBallots (eth_call at the pending block, from this client's signer, with the gas it
        would be sent with): None when it would go through, else the error it would revert with.

        A ballot the contract would skip does not make it revert; a node that cannot be reached or refuses the
        call for another reason is a ChainError.
        """
        data = self.contract.encode_abi("relayBallots", args=[self._rows(ballots)])
        tx: dict[str, Any] = {
            "to": self.address,
            "data": data,
            "gas": gas or self.relay_gas_for(ballots, wallets),
        }
        if self.signer is not None:
            tx["from"] = self.signer.address
        try:
            self.w3.eth.call(tx, "pending")  # type: ignore[arg-type]
        except REVERTS as exc:
            return decode_revert(exc, "CurationVoting.relayBallots")
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "revert" in text or "out of gas" in text or getattr(exc, "data", None):
                return decode_revert(exc, "CurationVoting.relayBallots")
            raise ChainError(f"the node refused to simulate CurationVoting.relayBallots: {exc}") from None
        except (ConnectionError, OSError) as exc:
            raise ChainError(
                f"could not simulate CurationVoting.relayBallots: the node does not answer ({exc})"
            ) from None
        return None

    def ballot_digest(self, proposal_id: int, support: Support | int, voter: str) -> bytes:
        return bytes(self._call("ballotDigest", proposal_id, int(support), voter))

    def ballot(self, proposal_id: int, support: Support | int | str, voter: str) -> Ballot:
        """The unsigned ballot for this contract on the connected chain."""
        return Ballot(
            chain_id=self.w3.eth.chain_id,
            contract=self.address,
            proposal_id=proposal_id,
            support=support,
            voter=voter,
        )

    def eip712_domain(self) -> dict[str, Any]:
        _fields, name, version, chain_id, contract, _salt, _ext = self._call("eip712Domain")
        return {
            "name": str(name),
            "version": str(version),
            "chainId": int(chain_id),
            "verifyingContract": contract,
        }

    # --- finalization -------------------------------------------------------------------------------------
    def finalize(self, proposal_id: int) -> Receipt:
        return self._transact("finalize", proposal_id, gas=150_000)

    def _rows(self, ballots: Sequence[SignedBallot]) -> list[tuple[int, int, str, bytes]]:
        return [(b.proposal_id, int(b.support), b.voter, b.signature) for b in ballots]
