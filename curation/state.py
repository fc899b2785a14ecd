"""Fold decoded events into the chain state at a block: licenses, items, batches, consent, datasets, votes."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from curation import events as ev
from curation.batches import item_ref, leaf_item_id, verify_batch_manifest
from curation.errors import InvalidInput
from curation.merkle import cid_key, leaf_problem
from curation.weights.base import ItemFacts, SourceFacts, WeightInputs

__all__ = [
    "ACCEPTED",
    "INCLUDE",
    "REJECTED",
    "REMOVE",
    "BatchLoader",
    "BatchState",
    "ChainState",
    "Checkpoints",
    "ContributorState",
    "DatasetInputs",
    "DatasetState",
    "ItemState",
    "LicenseState",
    "ProposalState",
    "ReleaseState",
    "Revocation",
    "UnknownDataset",
    "dataset_inputs",
    "fold_events",
]

INCLUDE: Final = 0
REMOVE: Final = 1
ACCEPTED: Final = 3
REJECTED: Final = 4
_ZERO: Final = "0x" + "00" * 20

#: Fetches a batch manifest's bytes by its binary CID. It raises InvalidInput (or a subclass) when the CID
#: itself is unusable, which marks the batch invalid; any other error (store down, content missing) stops
#: the fold, because a result must not depend on which store answered.
BatchLoader = Callable[[bytes], bytes]


class UnknownDataset(InvalidInput):
    """No dataset with this id was created up to the state block."""


@dataclass
class LicenseState:
    license_id: int
    spdx: str
    classes: int
    allowed: bool


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
    duplicate_of: int | None = None  # single item whose CID an earlier batch leaf already registered

    @property
    def ref(self) -> str:
        return item_ref(self.item_id)


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
    problem: str | None = None  # the batch manifest is unusable (no leaf is admitted)
    leaf_ids: tuple[int, ...] = ()  # admitted leaves' item ids
    dropped: dict[int, str] = field(default_factory=dict)  # leaf index -> why it was dropped


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
    cid_owner: dict[bytes, int] = field(default_factory=dict)  # cid_key -> first item id with that CID

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
    def __init__(self, block: int, load_batch: BatchLoader) -> None:
        self.s = ChainState(block)
        self.load_batch = load_batch

    def apply(self, e: ev.ChainEvent) -> None:
        handler = getattr(self, "_" + type(e).__name__, None)
        if handler is not None:
            handler(e)

    # --- registry ---------------------------------------------------------------------------------------
    def _LicenseSet(self, e: ev.LicenseSet) -> None:
        self.s.licenses[e.license_id] = LicenseState(e.license_id, e.spdx, e.classes, e.allowed)

    def _ContributorRegistered(self, e: ev.ContributorRegistered) -> None:
        self.s.contributors[e.contributor] = ContributorState(e.contributor, e.contributor_id, e.profile_uri)

    def _ProfileUpdated(self, e: ev.ProfileUpdated) -> None:
        self.s.contributors[e.contributor] = ContributorState(e.contributor, e.contributor_id, e.profile_uri)

    def _ItemSubmitted(self, e: ev.ItemSubmitted) -> None:
        item = ItemState(
            e.item_id, e.contributor, e.cid, e.content_sha256, e.size, e.license_id, e.consent, e.expiry, e.at
        )
        key = cid_key(e.cid)  # the registry accepted the CID, so it parses
        first = self.s.cid_owner.setdefault(key, e.item_id)
        if first != e.item_id:
            item.duplicate_of = first
        self.s.items[e.item_id] = item

    def _BatchSubmitted(self, e: ev.BatchSubmitted) -> None:
        batch = BatchState(
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
        self.s.batches[e.batch_id] = batch
        try:
            manifest = verify_batch_manifest(self.load_batch(e.manifest_cid), e.root, e.count)
        except InvalidInput as exc:
            batch.problem = str(exc)
            return
        shared = (e.license_id, e.consent, e.expiry) if e.license_id else None
        admitted: list[int] = []
        for leaf in manifest.leaves:
            why = leaf_problem(leaf, shared)
            if why is None:
                lic = self.s.licenses.get(leaf.license_id)
                if lic is None:
                    why = f"license id {leaf.license_id} is not on the allowlist"
                elif not lic.allowed:
                    why = f"license {lic.spdx} was not allowed for new submissions at the batch's block"
            item_id = leaf_item_id(e.batch_id, leaf.index)
            if why is None:
                first = self.s.cid_owner.setdefault(cid_key(leaf.cid), item_id)
                if first != item_id:
                    why = f"duplicate CID: already registered as {item_ref(first)}"
            if why is not None:
                batch.dropped[leaf.index] = why
                continue
            self.s.items[item_id] = ItemState(
                item_id,
                e.contributor,
                leaf.cid,
                leaf.sha256,
                leaf.size,
                leaf.license_id,
                leaf.consent,
                leaf.expiry,
                e.at,
                batch_id=e.batch_id,
                leaf_index=leaf.index,
            )
            admitted.append(item_id)
        batch.leaf_ids = tuple(admitted)

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


def fold_events(events: Iterable[ev.ChainEvent], block: int, load_batch: BatchLoader) -> ChainState:
    """The state after every event up to and including `block`, applied in (block, log index) order.

    Batch leaves come from each batch's manifest, fetched with `load_batch` and accepted only when they hash to
    the on-chain root and count; a leaf is dropped (reason kept in `BatchState.dropped`) when it breaks a rule
    the registry applies to single items or when its CID was registered before (first wins).
    """
    folder = _Folder(block, load_batch)
    for e in sorted((e for e in events if e.at.block_number <= block), key=lambda e: e.at.key):
        folder.apply(e)
    return folder.s


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


def _order(p: ProposalState) -> tuple[int, int]:
    assert p.finalized is not None
    return p.finalized.key


def _named_items(state: ChainState, p: ProposalState) -> list[int]:
    ids = list(p.item_ids)
    for b in p.batch_ids:
        batch = state.batches.get(b)
        if batch is not None:
            ids.extend(batch.leaf_ids)
    return ids


def dataset_inputs(state: ChainState, dataset_id: int, state_timestamp: int) -> DatasetInputs:
    """Build the scheme's WeightInputs for `dataset_id` (the gates' inputs; see docs/weights.md)."""
    ds = state.dataset(dataset_id)
    accepted = sorted(
        (p for p in state.proposals.values() if p.dataset_id == dataset_id and p.accepted), key=_order
    )
    sources = tuple(p for p in accepted if p.kind == INCLUDE)
    removals = tuple(p for p in accepted if p.kind == REMOVE)
    removed = frozenset(i for p in removals for i in _named_items(state, p))
    not_admitted: dict[int, tuple[str, str, int]] = {}
    invalid_batches: dict[int, tuple[str, int]] = {}
    facts: dict[int, ItemFacts] = {}
    source_facts: list[SourceFacts] = []
    included: set[int] = set()
    for p in sources:
        ids: list[int] = []
        for item_id in p.item_ids:
            included.add(item_id)
            item = state.items[item_id]
            if item.duplicate_of is not None:
                detail = f"its CID was registered first as {item_ref(item.duplicate_of)}"
                not_admitted.setdefault(item_id, ("duplicate-cid", detail, p.proposal_id))
                continue
            ids.append(item_id)
        for b in p.batch_ids:
            batch = state.batches[b]
            if batch.problem is not None:
                invalid_batches.setdefault(b, (batch.problem, p.proposal_id))
                continue
            for index, why in sorted(batch.dropped.items()):
                leaf_id = leaf_item_id(b, index)
                included.add(leaf_id)
                code = "duplicate-cid" if why.startswith("duplicate CID") else "leaf-invalid"
                not_admitted.setdefault(leaf_id, (code, why, p.proposal_id))
            ids.extend(batch.leaf_ids)
            included.update(batch.leaf_ids)
        for item_id in ids:
            if item_id not in facts:
                item = state.items[item_id]
                lic = state.licenses.get(item.license_id)
                facts[item_id] = ItemFacts(
                    item_id=item_id,
                    size=item.size,
                    license_classes=lic.classes if lic else 0,
                    license_allowed=bool(lic and lic.allowed),
                    contributor=item.contributor,
                    consent=item.consent,
                    consent_expiry=item.expiry,
                    revoked=item.revoked,
                )
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
    inputs = WeightInputs(
        dataset_use=ds.use,
        state_timestamp=state_timestamp,
        sources=tuple(source_facts),
        removed_item_ids=removed,
        items=dict(sorted(facts.items())),
    )
    return DatasetInputs(inputs, frozenset(included), not_admitted, invalid_batches, sources, removals)
