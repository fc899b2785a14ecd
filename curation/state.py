"""Fold decoded events into the chain state at a block: licenses, items, batches, consent, datasets, votes."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from curation import events as ev
from curation.batches import item_ref, leaf_item_id, verify_batch_manifest
from curation.content import ContentCheck
from curation.errors import InvalidInput
from curation.merkle import leaf_problem
from curation.weights.base import ItemFacts, SourceFacts, WeightInputs, eligibility_problem

__all__ = [
    "ACCEPTED",
    "INCLUDE",
    "REJECTED",
    "REMOVE",
    "BatchLoader",
    "BatchNotAdmitted",
    "BatchState",
    "ChainState",
    "Checkpoints",
    "ContentNotChecked",
    "ContributorState",
    "DatasetInputs",
    "DatasetState",
    "ItemState",
    "LicenseState",
    "ProposalState",
    "ReleaseState",
    "Revocation",
    "UnknownDataset",
    "admit_batch",
    "content_candidates",
    "dataset_inputs",
    "fold_events",
    "needed_batches",
]

INCLUDE: Final = 0
REMOVE: Final = 1
ACCEPTED: Final = 3
REJECTED: Final = 4
_ZERO: Final = "0x" + "00" * 20

#: Fetches a batch manifest's bytes by its binary CID. It raises InvalidInput (or a subclass) when the
#: content itself is unusable (a bad CID, a DAG over the format limits), which marks the batch invalid; any
#: other error (store down, content missing) propagates, because a result must not depend on which store
#: answered. Only batches that a dataset's accepted proposals name are ever loaded (`admit_batch`).
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
class ProposalState:
    proposal_id: int
    dataset_id: int
    proposer: str
    kind: int
    item_ids: tuple[int, ...]
    batch_ids: tuple[int, ...]
    description_cid: bytes
    snapshot: int
    deadline: int
    created: ev.LogPosition
    for_votes: int = 0
    against_votes: int = 0
    abstain_votes: int = 0
    voters: int = 0
    outcome: int | None = None  # ACCEPTED or REJECTED once finalized
    past_total_supply: int | None = None
    finalized: ev.LogPosition | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPTED


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
    proposals: dict[int, ProposalState] = field(default_factory=dict)
    releases: dict[tuple[int, int], ReleaseState] = field(default_factory=dict)
    revocations: list[Revocation] = field(default_factory=list)
    votes: dict[str, Checkpoints] = field(default_factory=dict)  # delegate -> voting power
    supply: Checkpoints = field(default_factory=Checkpoints)  # total supply (mints minus burns)
    #: item id -> what its bytes are (filled by the backend before a manifest is built; see curation.content)
    content: dict[int, ContentCheck] = field(default_factory=dict)

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

    def _ProposalCreated(self, e: ev.ProposalCreated) -> None:
        self.s.proposals[e.proposal_id] = ProposalState(
            e.proposal_id,
            e.dataset_id,
            e.proposer,
            e.kind,
            e.item_ids,
            e.batch_ids,
            e.description_cid,
            e.snapshot,
            e.deadline,
            e.at,
        )

    def _VoteCast(self, e: ev.VoteCast) -> None:
        p = self.s.proposals.get(e.proposal_id)
        if p is None:
            return
        p.voters += 1
        if e.support == 0:
            p.against_votes += e.weight
        elif e.support == 1:
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
        p.outcome, p.finalized, p.past_total_supply = e.outcome, e.at, e.past_total_supply
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


def fold_events(
    events: Iterable[ev.ChainEvent], block: int, load_batch: BatchLoader | None = None
) -> ChainState:
    """The state after every event up to and including `block`, applied in (block, log index) order.

    The fold reads no content: a batch is a header until `admit_batch` reads its manifest. With
    `load_batch`, every batch that some dataset's accepted proposals name is admitted (`needed_batches`).
    """
    folder = _Folder(block)
    for e in sorted((e for e in events if e.at.block_number <= block), key=lambda e: e.at.key):
        folder.apply(e)
    state = folder.s
    if load_batch is not None:
        for dataset_id in sorted(state.datasets):
            for batch_id in needed_batches(state, dataset_id):
                admit_batch(state, batch_id, load_batch)
    return state


def admit_batch(state: ChainState, batch_id: int, load_batch: BatchLoader) -> BatchState:
    """Read a batch's manifest and admit its leaves as items (once; later calls return the batch as is).

    Leaves are accepted only when the manifest hashes to the on-chain root and count. A leaf is dropped
    (reason kept in `BatchState.dropped`) when it breaks a rule the registry applies to single items; its
    license must have been allowed at the batch's block. A manifest that is not the batch's, or malformed, or
    over the format limits, marks the batch invalid (`problem`). Leaf consent changes are replayed in order.
    """
    batch = state.batches[batch_id]
    if batch.loaded:
        return batch
    try:
        manifest = verify_batch_manifest(load_batch(batch.manifest_cid), batch.root, batch.count)
    except InvalidInput as exc:
        batch.problem, batch.loaded = str(exc), True
        return batch
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


@dataclass(frozen=True)
class DatasetInputs:
    """Weight inputs of one dataset at the state block, plus what never reached the scheme and why."""

    inputs: WeightInputs
    included: frozenset[
        int
    ]  # every item id an accepted INCLUDE names (directly or by batch), admitted or not
    not_admitted: dict[int, tuple[str, str, int]]  # item id -> (reason code, detail, proposal id)
    invalid_batches: dict[int, tuple[str, int]]  # batch id -> (problem, proposal id)
    sources: tuple[ProposalState, ...]  # accepted INCLUDE proposals, in acceptance order
    removals: tuple[ProposalState, ...]  # accepted REMOVE proposals, in acceptance order
    #: batch id -> (the REMOVE that took it out last, the first INCLUDE that named it); such a batch is not read
    removed_batches: dict[int, tuple[int, int]] = field(default_factory=dict)


class BatchNotAdmitted(InvalidInput):
    """A dataset's accepted proposal names a batch whose manifest was not read yet (`admit_batch` first)."""


class ContentNotChecked(InvalidInput):
    """An item that would be weighted has no content check (`ChainState.content`); check its bytes first."""


def _order(p: ProposalState) -> tuple[int, int]:
    assert p.finalized is not None
    return p.finalized.key


def _accepted(state: ChainState, dataset_id: int) -> list[ProposalState]:
    return sorted(
        (p for p in state.proposals.values() if p.dataset_id == dataset_id and p.accepted), key=_order
    )


def _latest(accepted: Iterable[ProposalState]) -> tuple[dict[int, ProposalState], dict[int, ProposalState]]:
    """The latest accepted decision naming each item id and each batch id."""
    items: dict[int, ProposalState] = {}
    batches: dict[int, ProposalState] = {}
    for p in accepted:
        for i in p.item_ids:
            items[i] = p
        for b in p.batch_ids:
            batches[b] = p
    return items, batches


def needed_batches(state: ChainState, dataset_id: int) -> dict[int, int]:
    """Batches whose manifests a release of the dataset reads -> the accepted INCLUDE that names them.

    A batch counts only once the dataset's curators accept a proposal naming it, and only while the latest
    accepted decision naming it is an INCLUDE: an accepted REMOVE is the remedy for a batch whose manifest
    cannot be read. Nothing else a contributor submits is ever read.
    """
    _, latest = _latest(_accepted(state, dataset_id))
    first: dict[int, int] = {}
    for p in _accepted(state, dataset_id):
        for b in p.batch_ids:
            if p.kind == INCLUDE and latest[b].kind == INCLUDE:
                first.setdefault(b, p.proposal_id)
    return dict(sorted(first.items(), key=lambda kv: state.batches[kv[0]].submitted.key))


def content_candidates(state: ChainState, dataset_id: int, state_timestamp: int) -> dict[int, int]:
    """Items whose bytes must be checked before the dataset's weights: item id -> proposal naming it.

    These are the items that every other gate admits (included, not removed, consent, license, not a
    duplicate CID), so no byte is read for an item the release leaves out anyway.
    """
    return _select(state, dataset_id, state_timestamp, check_content=False).candidates


@dataclass
class _Selection:
    inputs: DatasetInputs | None = None
    candidates: dict[int, int] = field(default_factory=dict)


def dataset_inputs(state: ChainState, dataset_id: int, state_timestamp: int) -> DatasetInputs:
    """Build the scheme's WeightInputs for `dataset_id` (the gates' inputs; see docs/weights.md).

    Every item that passes the other gates must have a content check in `state.content`
    (ContentNotChecked otherwise); see `content_candidates`.
    """
    din = _select(state, dataset_id, state_timestamp, check_content=True).inputs
    assert din is not None
    return din


def _facts(state: ChainState, item: ItemState) -> ItemFacts:
    lic = state.licenses.get(item.license_id)
    return ItemFacts(
        item_id=item.item_id,
        size=item.size,
        license_classes=lic.classes_for(item.submitted.key) if lic else 0,
        license_allowed=bool(lic and lic.allowed),
        contributor=item.contributor,
        consent=item.consent,
        consent_expiry=item.expiry,
        revoked=item.revoked,
    )


def _cid_identity(cid: bytes) -> object:
    """(codec, digest): what the registry compares (a CIDv0 and its CIDv1 dag-pb form are one CID)."""
    if len(cid) == 34 and cid[0] == 0x12:
        return (0x70, cid[2:])  # CIDv0: dag-pb, sha2-256
    if len(cid) == 36 and cid[0] == 0x01:
        return (cid[1], cid[4:])
    return cid  # the registry accepts no other form; kept as is


def _first_claims(state: ChainState) -> tuple[dict[object, int], dict[bytes, list[int]]]:
    """First claimant of every CID, and every claimant of every declared sha256 (unordered)."""
    by_cid: dict[object, ItemState] = {}
    by_sha: dict[bytes, list[int]] = {}
    for item in state.items.values():
        key = _cid_identity(item.cid)
        first = by_cid.get(key)
        if first is None or item.claim_key < first.claim_key:
            by_cid[key] = item
        by_sha.setdefault(item.sha256, []).append(item.item_id)
    return {k: v.item_id for k, v in by_cid.items()}, by_sha


def _content_owner(state: ChainState, item_id: int, claims: dict[bytes, list[int]]) -> int:
    """The first item that claimed the same bytes as `item_id` (itself when none did before).

    A claim counts when its CID is one the checked bytes have (raw, dag-pb v0 or v1 with raw leaves) or when
    its own bytes were checked and hash the same: a declared sha256 alone cannot squat on content.
    """
    check = state.content[item_id]
    for other in sorted(claims.get(check.sha256, ()), key=lambda i: state.items[i].claim_key):
        if other == item_id:
            return item_id
        theirs = state.content.get(other)
        if state.items[other].cid in check.cids or (
            theirs is not None and theirs.ok and theirs.sha256 == check.sha256
        ):
            return other
    return item_id


def _select(state: ChainState, dataset_id: int, state_timestamp: int, *, check_content: bool) -> _Selection:
    ds = state.dataset(dataset_id)
    accepted = _accepted(state, dataset_id)
    sources = tuple(p for p in accepted if p.kind == INCLUDE)
    removals = tuple(p for p in accepted if p.kind == REMOVE)
    last_item, last_batch = _latest(accepted)
    remove_item, remove_batch = _latest(removals)
    by_cid, by_sha = _first_claims(state)

    def later(a: ProposalState | None, b: ProposalState | None) -> ProposalState | None:
        return b if a is None or (b is not None and _order(b) > _order(a)) else a

    def decision(item_id: int, batch_id: int | None) -> tuple[ProposalState | None, ProposalState | None]:
        """(latest accepted decision naming the item, latest accepted REMOVE naming it)."""
        by_batch = (
            (None, None) if batch_id is None else (last_batch.get(batch_id), remove_batch.get(batch_id))
        )
        return (
            later(last_item.get(item_id), by_batch[0]),
            later(remove_item.get(item_id), by_batch[1]),
        )

    not_admitted: dict[int, tuple[str, str, int]] = {}
    invalid_batches: dict[int, tuple[str, int]] = {}
    removed_batches: dict[int, tuple[int, int]] = {}
    facts: dict[int, ItemFacts] = {}
    source_facts: list[SourceFacts] = []
    included: set[int] = set()
    removed: set[int] = set()
    out = _Selection()
    use = int(ds.use)
    for p in sources:
        named: list[tuple[int, int | None]] = [(i, None) for i in p.item_ids]
        for b in p.batch_ids:
            batch = state.batches[b]
            if last_batch[b].kind == REMOVE:
                removed_batches.setdefault(b, (last_batch[b].proposal_id, p.proposal_id))
                continue  # never read: an accepted REMOVE is the remedy for a batch that cannot be read
            if not batch.loaded:
                raise BatchNotAdmitted(
                    f"proposal {p.proposal_id} includes batch {b}, whose manifest has not been read "
                    "(admit the dataset's needed batches before selecting its items)"
                )
            if batch.problem is not None:
                invalid_batches.setdefault(b, (batch.problem, p.proposal_id))
                continue
            for index, why in sorted(batch.dropped.items()):
                leaf_id = leaf_item_id(b, index)
                included.add(leaf_id)
                not_admitted.setdefault(leaf_id, ("leaf-invalid", why, p.proposal_id))
            named.extend((i, b) for i in batch.leaf_ids)
        ids: list[int] = []
        for item_id, batch_id in named:
            if item_id in remove_item or (batch_id is not None and batch_id in remove_batch):
                latest, last_remove = decision(item_id, batch_id)
                if latest is not None and latest.kind == REMOVE:
                    removed.add(item_id)  # the latest decision took it out: reported as removed
                elif last_remove is not None and _order(p) < _order(last_remove):
                    continue  # a later REMOVE overrode this INCLUDE; a still later INCLUDE counts instead
            included.add(item_id)
            item = state.items[item_id]
            first = by_cid[_cid_identity(item.cid)]
            if first != item_id:
                if batch_id is None:
                    detail = f"its CID was registered first as {item_ref(first)}"
                else:
                    detail = f"duplicate CID: already registered as {item_ref(first)}"
                not_admitted.setdefault(item_id, ("duplicate-cid", detail, p.proposal_id))
                continue
            if item_id not in facts:
                facts[item_id] = _facts(state, item)
            if (
                item_id in removed
                or item_id in not_admitted
                or eligibility_problem(facts[item_id], use, state_timestamp)
            ):
                ids.append(item_id)
                continue
            if not check_content:
                out.candidates.setdefault(item_id, p.proposal_id)
                ids.append(item_id)
                continue
            check = state.content.get(item_id)
            if check is None:
                raise ContentNotChecked(
                    f"item {item_ref(item_id)} (proposal {p.proposal_id}) would be weighted, but its bytes "
                    "were not checked against its declared size and sha256"
                )
            if not check.ok:
                not_admitted.setdefault(item_id, ("content-mismatch", check.problem or "", p.proposal_id))
                continue
            owner = _content_owner(state, item_id, by_sha)
            if owner != item_id:
                detail = f"the same content (sha256 {check.sha256.hex()}) was registered first as {item_ref(owner)}"
                not_admitted.setdefault(item_id, ("duplicate-content", detail, p.proposal_id))
                continue
            ids.append(item_id)
        ids = [i for i in ids if i not in not_admitted]
        assert p.past_total_supply is not None
        source_facts.append(
            SourceFacts(
                proposal_id=p.proposal_id,
                for_votes=p.for_votes,
                against_votes=p.against_votes,
                abstain_votes=p.abstain_votes,
                accepted_order=_order(p),
                item_ids=tuple(sorted(set(ids))),
                total_supply=p.past_total_supply,
            )
        )
    if not check_content:
        return out
    inputs = WeightInputs(
        dataset_use=use,
        state_timestamp=state_timestamp,
        sources=tuple(source_facts),
        removed_item_ids=frozenset(removed),
        items=dict(sorted((i, f) for i, f in facts.items() if i not in not_admitted)),
    )
    out.inputs = DatasetInputs(
        inputs, frozenset(included), not_admitted, invalid_batches, sources, removals, removed_batches
    )
    return out
