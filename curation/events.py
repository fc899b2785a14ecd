"""Decoded contract events as plain frozen dataclasses (fields in ABI order), ordered by log position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "EVENT_TYPES",
    "OPTIONAL_CONTRACTS",
    "BallotSkipped",
    "BatchSubmitted",
    "ChainEvent",
    "ChainText",
    "ContributorRegistered",
    "DatasetCreated",
    "DatasetManagerSet",
    "DatasetParamsSet",
    "DelegateChanged",
    "DelegateVotesChanged",
    "GovernorProposalCanceled",
    "GovernorProposalCreated",
    "GovernorProposalExecuted",
    "GovernorProposalQueued",
    "GovernorVoteCast",
    "ItemConsentChanged",
    "ItemSubmitted",
    "LeafConsentChanged",
    "LicenseManagerSet",
    "LicenseSet",
    "LogPosition",
    "MinterSet",
    "ProfileUpdated",
    "ProposalCreated",
    "ProposalExtended",
    "ProposalFinalized",
    "PublisherSet",
    "ReleasePublished",
    "Transfer",
    "VoteCast",
    "raw_text",
]


class ChainText(str):
    """The value of a Solidity `string` field: whatever bytes the chain holds, kept exactly.

    Solidity does not check that a `string` is UTF-8, so anyone who can emit an event with a string field
    (`register`, `updateProfile`, `castVoteWithReason`) can put any bytes there. A ChainText is the display
    text `raw.decode("utf-8", "replace")` (each invalid sequence becomes U+FFFD, so it is deterministic and
    always encodable) and carries the exact bytes in `raw`. For valid UTF-8 the text is the string itself,
    so everything that reads, compares, hashes or serialises it as a `str` sees what it always saw.

    Equality and hashing are those of the display text; compare `raw` when the exact bytes matter. Text is
    not made safe for display here: control characters and length are the renderer's business (JSON escapes
    them; the contracts cap a profile URI at 1,024 bytes).
    """

    raw: bytes

    def __new__(cls, raw: bytes | bytearray | memoryview | str = b"") -> ChainText:
        # A str (a lone surrogate included) is taken as its UTF-8 bytes, so `str(x) == raw.decode(.., "replace")`
        # holds for every ChainText, however it was made.
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
        self = super().__new__(cls, data.decode("utf-8", "replace"))
        self.raw = data
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.raw,))

    @property
    def is_utf8(self) -> bool:
        """True when `raw` is valid UTF-8, i.e. the text is exactly what the chain holds."""
        return str.encode(self, "utf-8") == self.raw


def raw_text(value: str) -> bytes:
    """The exact bytes behind `value`: `raw` of a ChainText, the UTF-8 of any other str."""
    return value.raw if isinstance(value, ChainText) else value.encode("utf-8", "surrogatepass")


@dataclass(frozen=True, slots=True, order=True)
class LogPosition:
    """Where a log is: block number, log index in the block, transaction and emitting contract (lowercase)."""

    block_number: int
    log_index: int
    tx_hash: str = ""
    address: str = ""

    @property
    def key(self) -> tuple[int, int]:
        """(block number, log index): the total order of logs on one chain."""
        return (self.block_number, self.log_index)


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """Base of every decoded event. Addresses are lowercase 0x hex; bytes stay bytes; `str` fields decoded
    from a log are ChainText (display text plus the exact bytes)."""

    at: LogPosition


# --- ContentRegistry ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseManagerSet(ChainEvent):
    account: str
    allowed: bool


@dataclass(frozen=True, slots=True)
class LicenseSet(ChainEvent):
    license_id: int
    spdx: str
    classes: int
    allowed: bool


@dataclass(frozen=True, slots=True)
class ContributorRegistered(ChainEvent):
    contributor: str
    contributor_id: int
    profile_uri: str


@dataclass(frozen=True, slots=True)
class ProfileUpdated(ChainEvent):
    contributor: str
    contributor_id: int
    profile_uri: str


@dataclass(frozen=True, slots=True)
class ItemSubmitted(ChainEvent):
    item_id: int
    contributor: str
    cid: bytes
    content_sha256: bytes
    size: int
    license_id: int
    consent: int
    expiry: int


@dataclass(frozen=True, slots=True)
class BatchSubmitted(ChainEvent):
    batch_id: int
    contributor: str
    root: bytes
    count: int
    manifest_cid: bytes
    license_id: int  # 0: per-leaf terms
    consent: int
    expiry: int


@dataclass(frozen=True, slots=True)
class ItemConsentChanged(ChainEvent):
    item_id: int
    contributor: str
    consent: int  # 0: revoked for good
    expiry: int


@dataclass(frozen=True, slots=True)
class LeafConsentChanged(ChainEvent):
    batch_id: int
    contributor: str
    leaf_index: int
    consent: int  # 0: revoked for good
    expiry: int


# --- CurationVoting -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetManagerSet(ChainEvent):
    account: str
    allowed: bool


@dataclass(frozen=True, slots=True)
class DatasetCreated(ChainEvent):
    dataset_id: int
    creator: str
    name: str
    description_cid: bytes
    use: int


@dataclass(frozen=True, slots=True)
class DatasetParamsSet(ChainEvent):
    dataset_id: int
    voting_delay: int
    voting_period: int
    quorum_bps: int
    approval_bps: int
    late_quorum_extension: int
    proposal_threshold: int


@dataclass(frozen=True, slots=True)
class ProposalCreated(ChainEvent):
    proposal_id: int
    dataset_id: int
    proposer: str
    kind: int  # 0 INCLUDE, 1 REMOVE
    item_ids: tuple[int, ...]
    batch_ids: tuple[int, ...]
    description_cid: bytes
    snapshot: int
    deadline: int
    quorum_bps: int  # the thresholds the proposal is judged by: the dataset's parameters at creation
    approval_bps: int
    late_quorum_extension: int


@dataclass(frozen=True, slots=True)
class VoteCast(ChainEvent):
    voter: str
    proposal_id: int
    support: int  # 0 Against, 1 For, 2 Abstain
    weight: int
    reason: str


@dataclass(frozen=True, slots=True)
class BallotSkipped(ChainEvent):
    voter: str
    proposal_id: int
    index: int
    reason: int


@dataclass(frozen=True, slots=True)
class ProposalExtended(ChainEvent):
    proposal_id: int
    deadline: int


@dataclass(frozen=True, slots=True)
class ProposalFinalized(ChainEvent):
    proposal_id: int
    outcome: int  # 3 Accepted, 4 Rejected
    for_votes: int
    against_votes: int
    abstain_votes: int
    past_total_supply: int


# --- ReleaseRegistry ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublisherSet(ChainEvent):
    account: str
    allowed: bool


@dataclass(frozen=True, slots=True)
class ReleasePublished(ChainEvent):
    dataset_id: int
    release_number: int
    publisher: str
    manifest_cid: bytes
    manifest_sha256: bytes
    state_block: int
    scheme_id: str


# --- CurationToken ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transfer(ChainEvent):
    sender: str  # ABI `from`; the zero address for a mint
    recipient: str  # ABI `to`; the zero address for a burn
    value: int


@dataclass(frozen=True, slots=True)
class DelegateChanged(ChainEvent):
    delegator: str
    from_delegate: str
    to_delegate: str


@dataclass(frozen=True, slots=True)
class DelegateVotesChanged(ChainEvent):
    delegate: str
    previous_votes: int
    new_votes: int


@dataclass(frozen=True, slots=True)
class MinterSet(ChainEvent):
    account: str
    allowed: bool


# --- CommonsGovernor (OpenZeppelin Governor; a governed deployment only) ------------------------------------


@dataclass(frozen=True, slots=True)
class GovernorProposalCreated(ChainEvent):
    proposal_id: int
    proposer: str
    targets: tuple[str, ...]
    values: tuple[int, ...]
    signatures: tuple[str, ...]
    calldatas: tuple[bytes, ...]
    vote_start: int
    vote_end: int
    description: str


@dataclass(frozen=True, slots=True)
class GovernorVoteCast(ChainEvent):
    voter: str
    proposal_id: int
    support: int  # 0 Against, 1 For, 2 Abstain
    weight: int
    reason: str


@dataclass(frozen=True, slots=True)
class GovernorProposalQueued(ChainEvent):
    proposal_id: int
    eta_seconds: int


@dataclass(frozen=True, slots=True)
class GovernorProposalExecuted(ChainEvent):
    proposal_id: int


@dataclass(frozen=True, slots=True)
class GovernorProposalCanceled(ChainEvent):
    proposal_id: int


#: Contracts only some deployments have: their events are read when the deployment record names them.
OPTIONAL_CONTRACTS: Final = frozenset({"CommonsGovernor"})

#: (contract artifact name, event name) -> class; each class's fields after `at` follow the ABI inputs.
EVENT_TYPES: Final[dict[tuple[str, str], type[ChainEvent]]] = {
    ("ContentRegistry", "LicenseManagerSet"): LicenseManagerSet,
    ("ContentRegistry", "LicenseSet"): LicenseSet,
    ("ContentRegistry", "ContributorRegistered"): ContributorRegistered,
    ("ContentRegistry", "ProfileUpdated"): ProfileUpdated,
    ("ContentRegistry", "ItemSubmitted"): ItemSubmitted,
    ("ContentRegistry", "BatchSubmitted"): BatchSubmitted,
    ("ContentRegistry", "ItemConsentChanged"): ItemConsentChanged,
    ("ContentRegistry", "LeafConsentChanged"): LeafConsentChanged,
    ("CurationVoting", "DatasetManagerSet"): DatasetManagerSet,
    ("CurationVoting", "DatasetCreated"): DatasetCreated,
    ("CurationVoting", "DatasetParamsSet"): DatasetParamsSet,
    ("CurationVoting", "ProposalCreated"): ProposalCreated,
    ("CurationVoting", "VoteCast"): VoteCast,
    ("CurationVoting", "BallotSkipped"): BallotSkipped,
    ("CurationVoting", "ProposalExtended"): ProposalExtended,
    ("CurationVoting", "ProposalFinalized"): ProposalFinalized,
    ("ReleaseRegistry", "PublisherSet"): PublisherSet,
    ("ReleaseRegistry", "ReleasePublished"): ReleasePublished,
    ("CurationToken", "Transfer"): Transfer,
    ("CurationToken", "DelegateChanged"): DelegateChanged,
    ("CurationToken", "DelegateVotesChanged"): DelegateVotesChanged,
    ("CurationToken", "MinterSet"): MinterSet,
    ("CommonsGovernor", "ProposalCreated"): GovernorProposalCreated,
    ("CommonsGovernor", "VoteCast"): GovernorVoteCast,
    ("CommonsGovernor", "ProposalQueued"): GovernorProposalQueued,
    ("CommonsGovernor", "ProposalExecuted"): GovernorProposalExecuted,
    ("CommonsGovernor", "ProposalCanceled"): GovernorProposalCanceled,
}
