"""Select a dataset's inputs from the folded state: which accepted proposals count, which batches and items
they bring in, and why any item never reaches the weight scheme (see docs/weights.md, "Selection")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from curation.batches import item_ref, leaf_item_id
from curation.errors import InvalidInput
from curation.governance import ProposalKind
from curation.state import BatchLoader, ChainState, ItemState, ProposalRecord, admit_batch
from curation.weights.base import ItemFacts, SourceFacts, WeightInputs, eligibility_problem

__all__ = [
    "BatchNotAdmitted",
    "ContentNotChecked",
    "DatasetInputs",
    "admit_needed",
    "content_candidates",
    "dataset_inputs",
    "needed_batches",
    "submitted_classes",
]


@dataclass(frozen=True)
class DatasetInputs:
    """Weight inputs of one dataset at the state block, plus what never reached the scheme and why."""

    inputs: WeightInputs
    included: frozenset[
        int
    ]  # every item id an accepted INCLUDE names (directly or by batch), admitted or not
    not_admitted: dict[int, tuple[str, str, int]]  # item id -> (reason code, detail, proposal id)
    invalid_batches: dict[int, tuple[str, int]]  # batch id -> (problem, proposal id)
    sources: tuple[ProposalRecord, ...]  # accepted INCLUDE proposals, in acceptance order
    removals: tuple[ProposalRecord, ...]  # accepted REMOVE proposals, in acceptance order
    #: batch id -> (the REMOVE that took it out last, the first INCLUDE that named it); such a batch is not read
    removed_batches: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: item id in `inputs.removed_item_ids` -> the REMOVE proposal whose decision took it out
    removed_by: dict[int, int] = field(default_factory=dict)


class BatchNotAdmitted(InvalidInput):
    """A dataset's accepted proposal names a batch whose manifest was not read yet (`admit_batch` first)."""


class ContentNotChecked(InvalidInput):
    """An item that would be weighted has no content check (`ChainState.content`); check its bytes first."""


def _order(p: ProposalRecord) -> tuple[int, int]:
    assert p.finalized is not None
    return p.finalized.key


def _accepted(state: ChainState, dataset_id: int) -> list[ProposalRecord]:
    return sorted(
        (p for p in state.proposals.values() if p.dataset_id == dataset_id and p.accepted), key=_order
    )


def _latest(
    accepted: Iterable[ProposalRecord],
) -> tuple[dict[int, ProposalRecord], dict[int, ProposalRecord]]:
    """The latest accepted decision naming each item id and each batch id."""
    items: dict[int, ProposalRecord] = {}
    batches: dict[int, ProposalRecord] = {}
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
            if p.kind == ProposalKind.INCLUDE and latest[b].kind == ProposalKind.INCLUDE:
                first.setdefault(b, p.proposal_id)
    return dict(sorted(first.items(), key=lambda kv: state.batches[kv[0]].submitted.key))


def admit_needed(state: ChainState, load_batch: BatchLoader) -> None:
    """Admit every batch that some dataset's accepted proposals need (`needed_batches`), datasets in id order."""
    for dataset_id in sorted(state.datasets):
        for batch_id in needed_batches(state, dataset_id):
            admit_batch(state, batch_id, load_batch)


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


def submitted_classes(state: ChainState, item_id: int) -> int:
    """The classes of an item's license when the item (or its batch) was submitted; 0 for an unknown license.

    The starting point of the gate's classes (`LicenseState.classes_for`) before later changes narrow them:
    the terms the contributor's grant was made under (manifest v2's `attribution_required` reads them).
    """
    item = state.items[item_id]
    lic = state.licenses.get(item.license_id)
    return 0 if lic is None else lic.classes_when(item.submitted.key)


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
    sources = tuple(p for p in accepted if p.kind == ProposalKind.INCLUDE)
    removals = tuple(p for p in accepted if p.kind == ProposalKind.REMOVE)
    last_item, last_batch = _latest(accepted)
    remove_item, remove_batch = _latest(removals)
    by_cid, by_sha = _first_claims(state)

    def later(a: ProposalRecord | None, b: ProposalRecord | None) -> ProposalRecord | None:
        return b if a is None or (b is not None and _order(b) > _order(a)) else a

    def decision(item_id: int, batch_id: int | None) -> tuple[ProposalRecord | None, ProposalRecord | None]:
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
    removed_by: dict[int, int] = {}
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
            if last_batch[b].kind == ProposalKind.REMOVE:
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
                if latest is not None and latest.kind == ProposalKind.REMOVE:
                    removed.add(item_id)  # the latest decision took it out: reported as removed
                    removed_by.setdefault(item_id, latest.proposal_id)
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
        inputs,
        frozenset(included),
        not_admitted,
        invalid_batches,
        sources,
        removals,
        removed_batches,
        removed_by,
    )
    return out
