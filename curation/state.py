"""Fold decoded events into the chain state at a block: licenses, items, batches, consent, datasets, votes.

What a dataset's release includes, given the folded state, is curation.selection's job.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from curation import events as ev
from curation.batches import BatchManifest, item_ref, leaf_item_id, verify_batch_manifest
from curation.content import ContentCheck
from curation.errors import InvalidInput
from curation.governance import ProposalKind, ProposalStatus, Support
from curation.merkle import leaf_problem

__all__ = [
    "BatchLoader",
    "BatchState",
    "ChainState",
    "Checkpoints",
    "ContributorState",
    "DatasetState",
    "ItemState",
    "LicenseState",
    "ProposalRecord",
    "ReleaseState",
    "Revocation",
    "UnknownDataset",
    "admit_batch",
    "admit_leaves",
    "fold_events",
]

_ZERO: Final = "0x" + "00" * 20

#: Fetches a batch manifest's bytes by its binary CID. It raises InvalidInput (or a subclass) when the
#: content itself is unusable (a bad CID, a DAG over the format limits), which marks the batch invalid; any
#: other error (store down, content missing) propagates, because a result must not depend on which store
#: answered. Only batches that a dataset's accepted proposals name are ever loaded
#: (`curation.selection.needed_batches`, then `admit_batch`).
BatchLoader = Callable[[bytes], bytes]


class UnknownDataset(InvalidInput):
    """No dataset with this id was created up to the state block."""


@dataclass
class LicenseState:
    license_id: int
    spdx: str
    classes: int
    allowed: bool
    #: every LicenseSet of this id in log order: (position key, classes, allowed)
    history: list[tuple[tuple[int, int], int, bool]] = field(default_factory=list)

    def _last_at(self, key: tuple[int, int]) -> int:
        """Index of the last history entry at or before `key` (-1 before the first)."""
        return bisect_right(self.history, key, key=lambda h: h[0]) - 1

    def allowed_at(self, key: tuple[int, int]) -> bool:
        """Whether the license was on the allowlist for new submissions at log position `key`."""
        i = self._last_at(key)
        return i >= 0 and self.history[i][2]

    def classes_for(self, key: tuple[int, int]) -> int:
        """Classes that hold for an item submitted at `key`: its class then, narrowed by every later change.

        A license manager can narrow a class for everyone, but never widen it for items already submitted
        (an item submitted as non-commercial stays non-commercial whatever the allowlist says later).
        """
        if len(self.history) <= 1:
            return self.classes  # never changed: the common case, kept cheap for millions of items
        i = max(self._last_at(key), 0)
        classes = self.history[i][1]
        for _, later, _ in self.history[i + 1 :]:
            classes &= later
        return classes

    def classes_when(self, key: tuple[int, int]) -> int:
        """Classes the license had at log position `key` (an item's submission): the terms its grant was
        made under, before later changes narrow them (`classes_for`)."""
        if len(self.history) <= 1:
            return self.classes
        return self.history[max(self._last_at(key), 0)][1]


@dataclass
class ContributorState:
    address: str
    contributor_id: int
    profile_uri: str


@dataclass
class ItemState:
    """A single item or an admitted batch leaf (`batch_id` set), with its consent as of the state block."""

    item_id: int
    contributor: str
    cid: bytes
    sha256: bytes
    size: int
    license_id: int
    consent: int
    expiry: int
    submitted: ev.LogPosition
    batch_id: int | None = None
    leaf_index: int | None = None
    revoked: bool = False
    revoked_at: ev.LogPosition | None = None

    @property
    def ref(self) -> str:
        return item_ref(self.item_id)

    @property
    def claim_key(self) -> tuple[int, int, int]:
        """Order of claims on content: (block, log index) of the submission, then the leaf index."""
        return (*self.submitted.key, -1 if self.leaf_index is None else self.leaf_index)


@dataclass
class BatchState:
    batch_id: int
    contributor: str
    root: bytes
    count: int
    manifest_cid: bytes
    license_id: int
    consent: int
    expiry: int
    submitted: ev.LogPosition
    loaded: bool = False  # its manifest was read (`admit_batch`); leaf_ids/problem/dropped are set then
    problem: str | None = None  # the batch manifest is unusable (no leaf is admitted)
    leaf_ids: tuple[int, ...] = ()  # admitted leaves' item ids
    dropped: dict[int, str] = field(default_factory=dict)  # leaf index -> why it was dropped
    consent_changes: list[ev.LeafConsentChanged] = field(default_factory=list)  # in log order


@dataclass
class DatasetState:
    dataset_id: int
    creator: str
    name: str
    description_cid: bytes
    use: int
    created: ev.LogPosition
    params: ev.DatasetParamsSet | None = None


@dataclass
class ProposalRecord:
    """A proposal as its logs tell it, with the thresholds it froze when it was created.

    `propose` copies the dataset's quorum, approval and late-quorum extension into the proposal (its
    ProposalCreated event does not carry them); the DatasetParamsSet before it in log order holds exactly
    those values, so the fold records them here (0 for a dataset with no parameters, as the contract's
    zeroed storage would give). `curation.governance.status` reads its lifecycle.
    """

    proposal_id: int
    dataset_id: int
    proposer: str
    kind: ProposalKind
    item_ids: tuple[int, ...]
    batch_ids: tuple[int, ...]
    description_cid: bytes
    snapshot: int
    deadline: int
    created: ev.LogPosition
    quorum_bps: int
    approval_bps: int
    late_quorum_extension: int
    for_votes: int = 0
    against_votes: int = 0
    abstain_votes: int = 0
    voters: int = 0
    outcome: ProposalStatus | None = None  # ACCEPTED or REJECTED once finalized
    past_total_supply: int | None = None
    finalized: ev.LogPosition | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == ProposalStatus.ACCEPTED


@dataclass
class ReleaseState:
    dataset_id: int
    number: int
    publisher: str
    manifest_cid: bytes
    manifest_sha256: bytes
    state_block: int
    scheme_id: str
    published: ev.LogPosition


@dataclass(frozen=True)
class Revocation:
    item_id: int
    contributor: str
    at: ev.LogPosition


class Checkpoints:
    """Values by block (the last write in a block wins), read as of the end of any block."""

    def __init__(self) -> None:
        self._blocks: list[int] = []
        self._values: list[int] = []

    def write(self, block: int, value: int) -> None:
        if self._blocks and self._blocks[-1] == block:
            self._values[-1] = value
        else:
            self._blocks.append(block)
            self._values.append(value)

    def latest(self) -> int:
        return self._values[-1] if self._values else 0

    def at(self, block: int) -> int:
        """Value at the end of `block` (0 before the first write)."""
        i = bisect_right(self._blocks, block)
        return self._values[i - 1] if i else 0


@dataclass
class ChainState:
    """Everything the logs up to `block` say, folded. Mappings are filled in log order."""

    block: int
    licenses: dict[int, LicenseState] = field(default_factory=dict)
    contributors: dict[str, ContributorState] = field(default_factory=dict)
    items: dict[int, ItemState] = field(default_factory=dict)
    batches: dict[int, BatchState] = field(default_factory=dict)
    datasets: dict[int, DatasetState] = field(default_factory=dict)
    proposals: dict[int, ProposalRecord] = field(default_factory=dict)
    releases: dict[tuple[int, int], ReleaseState] = field(default_factory=dict)
    revocations: list[Revocation] = field(default_factory=list)
    votes: dict[str, Checkpoints] = field(default_factory=dict)  # delegate -> voting power
    supply: Checkpoints = field(default_factory=Checkpoints)  # total supply (mints minus burns)
    #: item id -> what its bytes are (filled by the backend before a manifest is built; see curation.content)
    content: dict[int, ContentCheck] = field(default_factory=dict)
    #: every DatasetParamsSet (creation included), in log order: the audit trail of parameter changes
    param_changes: list[ev.DatasetParamsSet] = field(default_factory=list)
    #: the commons Governor's proposals (governed deployments), and which transaction executed which
    gov_proposals: dict[int, ev.GovernorProposalCreated] = field(default_factory=dict)
    gov_executed: dict[str, int] = field(default_factory=dict)  # tx hash -> proposal id

    def change_proposal(self, at: ev.LogPosition) -> ev.GovernorProposalCreated | None:
        """The Governor proposal whose execution emitted the log at `at`, if it came from one."""
        pid = self.gov_executed.get(at.tx_hash)
        return None if pid is None else self.gov_proposals.get(pid)

    def dataset(self, dataset_id: int) -> DatasetState:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            known = ", ".join(str(d) for d in sorted(self.datasets)) or "none"
            raise UnknownDataset(
                f"dataset {dataset_id} does not exist at block {self.block} (datasets: {known})"
            ) from None

    def voting_power_at(self, block: int) -> dict[str, int]:
        """Non-zero voting power per delegate at the end of `block`, by address."""
        out = {addr: cp.at(block) for addr, cp in sorted(self.votes.items())}
        return {addr: power for addr, power in out.items() if power > 0}

    def releases_of(self, dataset_id: int) -> list[ReleaseState]:
        return [r for (d, _), r in sorted(self.releases.items()) if d == dataset_id]


class _Folder:
    def __init__(self, block: int) -> None:
        self.s = ChainState(block)

    def apply(self, e: ev.ChainEvent) -> None:
        handler = getattr(self, "_" + type(e).__name__, None)
        if handler is not None:
            handler(e)

    # --- registry ---------------------------------------------------------------------------------------
    def _LicenseSet(self, e: ev.LicenseSet) -> None:
        lic = self.s.licenses.get(e.license_id)
        history = lic.history if lic is not None else []
        history.append((e.at.key, e.classes, e.allowed))
        self.s.licenses[e.license_id] = LicenseState(e.license_id, e.spdx, e.classes, e.allowed, history)

    def _ContributorRegistered(self, e: ev.ContributorRegistered) -> None:
        self.s.contributors[e.contributor] = ContributorState(e.contributor, e.contributor_id, e.profile_uri)

    def _ProfileUpdated(self, e: ev.ProfileUpdated) -> None:
        self.s.contributors[e.contributor] = ContributorState(e.contributor, e.contributor_id, e.profile_uri)

    def _ItemSubmitted(self, e: ev.ItemSubmitted) -> None:
        self.s.items[e.item_id] = ItemState(
            e.item_id, e.contributor, e.cid, e.content_sha256, e.size, e.license_id, e.consent, e.expiry, e.at
        )

    def _BatchSubmitted(self, e: ev.BatchSubmitted) -> None:
        self.s.batches[e.batch_id] = BatchState(
            e.batch_id,
            e.contributor,
            e.root,
            e.count,
            e.manifest_cid,
            e.license_id,
            e.consent,
            e.expiry,
            e.at,
        )

    def _consent(self, item: ItemState | None, consent: int, expiry: int, at: ev.LogPosition) -> None:
        if item is None or item.revoked:
            return
        item.consent, item.expiry = consent, expiry
        if consent == 0:
            item.revoked, item.revoked_at = True, at
            self.s.revocations.append(Revocation(item.item_id, item.contributor, at))

    def _ItemConsentChanged(self, e: ev.ItemConsentChanged) -> None:
        self._consent(self.s.items.get(e.item_id), e.consent, e.expiry, e.at)

    def _LeafConsentChanged(self, e: ev.LeafConsentChanged) -> None:
        batch = self.s.batches.get(e.batch_id)
        if batch is not None:  # replayed onto the leaf when the batch is admitted (`admit_batch`)
            batch.consent_changes.append(e)
        self._consent(self.s.items.get(leaf_item_id(e.batch_id, e.leaf_index)), e.consent, e.expiry, e.at)

    # --- voting -----------------------------------------------------------------------------------------
    def _DatasetCreated(self, e: ev.DatasetCreated) -> None:
        self.s.datasets[e.dataset_id] = DatasetState(
            e.dataset_id, e.creator, e.name, e.description_cid, e.use, e.at
        )

    def _DatasetParamsSet(self, e: ev.DatasetParamsSet) -> None:
        ds = self.s.datasets.get(e.dataset_id)
        if ds is not None:
            ds.params = e
            self.s.param_changes.append(e)

    # --- the commons Governor ---------------------------------------------------------------------------
    def _GovernorProposalCreated(self, e: ev.GovernorProposalCreated) -> None:
        self.s.gov_proposals[e.proposal_id] = e

    def _GovernorProposalExecuted(self, e: ev.GovernorProposalExecuted) -> None:
        # OpenZeppelin's Governor emits ProposalExecuted after the calls it made, in the same transaction.
        self.s.gov_executed[e.at.tx_hash] = e.proposal_id

    def _ProposalCreated(self, e: ev.ProposalCreated) -> None:
        # The event carries the thresholds the contract froze at `propose` (the dataset's parameters then).
        self.s.proposals[e.proposal_id] = ProposalRecord(
            e.proposal_id,
            e.dataset_id,
            e.proposer,
            ProposalKind(e.kind),
            e.item_ids,
            e.batch_ids,
            e.description_cid,
            e.snapshot,
            e.deadline,
            e.at,
            quorum_bps=e.quorum_bps,
            approval_bps=e.approval_bps,
            late_quorum_extension=e.late_quorum_extension,
        )

    def _VoteCast(self, e: ev.VoteCast) -> None:
        p = self.s.proposals.get(e.proposal_id)
        if p is None:
            return
        p.voters += 1
        if e.support == Support.AGAINST:
            p.against_votes += e.weight
        elif e.support == Support.FOR:
            p.for_votes += e.weight
        else:
            p.abstain_votes += e.weight

    def _ProposalExtended(self, e: ev.ProposalExtended) -> None:
        p = self.s.proposals.get(e.proposal_id)
        if p is not None:
            p.deadline = e.deadline

    def _ProposalFinalized(self, e: ev.ProposalFinalized) -> None:
        p = self.s.proposals.get(e.proposal_id)
        if p is None:
            return
        p.outcome, p.finalized, p.past_total_supply = ProposalStatus(e.outcome), e.at, e.past_total_supply
        p.for_votes, p.against_votes, p.abstain_votes = e.for_votes, e.against_votes, e.abstain_votes

    # --- releases and token -----------------------------------------------------------------------------
    def _ReleasePublished(self, e: ev.ReleasePublished) -> None:
        self.s.releases[(e.dataset_id, e.release_number)] = ReleaseState(
            e.dataset_id,
            e.release_number,
            e.publisher,
            e.manifest_cid,
            e.manifest_sha256,
            e.state_block,
            e.scheme_id,
            e.at,
        )

    def _DelegateVotesChanged(self, e: ev.DelegateVotesChanged) -> None:
        self.s.votes.setdefault(e.delegate, Checkpoints()).write(e.at.block_number, e.new_votes)

    def _Transfer(self, e: ev.Transfer) -> None:
        if e.sender == _ZERO:
            self.s.supply.write(e.at.block_number, self.s.supply.latest() + e.value)
        elif e.recipient == _ZERO:
            self.s.supply.write(e.at.block_number, self.s.supply.latest() - e.value)


def fold_events(events: Iterable[ev.ChainEvent], block: int) -> ChainState:
    """The state after every event up to and including `block`, applied in (block, log index) order.

    The fold reads no content: a batch is a header until `admit_batch` reads its manifest (which batches a
    release needs: `curation.selection.needed_batches`; all of them: `curation.selection.admit_needed`).
    """
    folder = _Folder(block)
    for e in sorted((e for e in events if e.at.block_number <= block), key=lambda e: e.at.key):
        folder.apply(e)
    return folder.s


def admit_batch(state: ChainState, batch_id: int, load_batch: BatchLoader) -> BatchState:
    """Read a batch's manifest and admit its leaves as items (once; later calls return the batch as is).

    Leaves are accepted only when the manifest hashes to the on-chain root and count (see admit_leaves). A
    manifest that is not the batch's, or malformed, or over the format limits, marks the batch invalid.
    """
    batch = state.batches[batch_id]
    if batch.loaded:
        return batch
    try:
        manifest = verify_batch_manifest(load_batch(batch.manifest_cid), batch.root, batch.count)
    except InvalidInput as exc:
        return admit_leaves(state, batch_id, str(exc))
    return admit_leaves(state, batch_id, manifest)


def admit_leaves(state: ChainState, batch_id: int, manifest: BatchManifest | str) -> BatchState:
    """Admit the leaves of a batch manifest already verified against the batch's root and count, or mark the
    batch invalid with `manifest` as the problem when it is a string (once; later calls change nothing).

    A leaf is dropped (reason kept in `BatchState.dropped`) when it breaks a rule the registry applies to single
    items; its license must have been allowed at the batch's block. Leaf consent changes are replayed in order.
    """
    batch = state.batches[batch_id]
    if batch.loaded:
        return batch
    if isinstance(manifest, str):
        batch.problem, batch.loaded = manifest, True
        return batch
    if manifest.count != batch.count or manifest.root != batch.root:
        raise InvalidInput(f"the manifest given for batch {batch_id} is not the one its root and count name")
    shared = (batch.license_id, batch.consent, batch.expiry) if batch.license_id else None
    admitted: list[int] = []
    at = batch.submitted.key
    for leaf in manifest.leaves:
        why = leaf_problem(leaf, shared)
        if why is None:
            lic = state.licenses.get(leaf.license_id)
            if lic is None or not lic.history or lic.history[0][0] > at:
                why = f"license id {leaf.license_id} is not on the allowlist"
            elif not lic.allowed_at(at):
                why = f"license {lic.spdx} was not allowed for new submissions at the batch's block"
        if why is not None:
            batch.dropped[leaf.index] = why
            continue
        item_id = leaf_item_id(batch_id, leaf.index)
        state.items[item_id] = ItemState(
            item_id,
            batch.contributor,
            leaf.cid,
            leaf.sha256,
            leaf.size,
            leaf.license_id,
            leaf.consent,
            leaf.expiry,
            batch.submitted,
            batch_id=batch_id,
            leaf_index=leaf.index,
        )
        admitted.append(item_id)
    batch.leaf_ids, batch.loaded = tuple(admitted), True
    folder = _Folder(state.block)
    folder.s = state
    for e in batch.consent_changes:
        folder._consent(state.items.get(leaf_item_id(e.batch_id, e.leaf_index)), e.consent, e.expiry, e.at)
    state.revocations.sort(key=lambda r: r.at.key)
    return batch
