"""The ReadModel over the chain: a folded snapshot on a TTL, ReleaseRegistry, manifests fetched and checked.

It keeps the snapshot, its refresh lock and the caches of what never changes once anchored, and maps what the
core decided (`curation.governance` for a proposal's status, supply and quorum; `curation.report` for every
number of a transparency report) to the API's response models. It decides nothing itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from backend.api.errors import NotFound, redact
from backend.api.immutable import DEFAULT_CACHE_BYTES, ImmutableCache, VerifiedBytes
from backend.api.models import (
    Contributor,
    ContributorWeight,
    Dataset,
    DatasetParamsOut,
    Item,
    ItemWeight,
    License,
    Page,
    ParameterChange,
    ParameterChangeProposal,
    Proposal,
    ProposalTurnout,
    Release,
    ReleaseDiff,
    SourceWeightOut,
    Tallies,
    TransparencyReport,
    VotingConcentration,
    Weights,
)
from backend.api.readmodel import page
from backend.chain.releases import ReleaseInfo
from backend.chainstate import admit_accepted_batches, fold_at
from backend.errors import ConfigError, StoreError
from backend.ipfs.limits import get_manifest_part
from backend.release import UnknownRelease, fetch_manifest, rebuild_report
from backend.release.fetch import FetchedManifest
from backend.session import Session, open_session
from backend.settings import Settings
from curation.batches import item_ref
from curation.cid import cid_text
from curation.consent import format_consent
from curation.errors import InvalidInput
from curation.governance import api_status_word, quorum_reached, snapshot_supply
from curation.licenses import LicenseClass
from curation.manifest_read import load_part
from curation.state import ChainState, LicenseState, ProposalRecord

__all__ = ["DEFAULT_TTL", "ChainReadModel", "open_read_model"]

#: Seconds a folded state is served before the next request folds again (CURATION_API_STATE_TTL's default).
DEFAULT_TTL: Final[float] = Settings.model_fields["api_state_ttl"].default

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Snapshot:
    """Everything the list and lookup endpoints serve, built at one state block (never mutated)."""

    taken: float
    state: ChainState
    licenses: list[License]
    datasets: dict[int, Dataset]
    releases: dict[int, list[Release]]
    items: dict[int, Item]
    contributors: dict[str, Contributor]
    proposals: dict[int, Proposal]


@dataclass
class _Caches:
    """What never changes once on chain: anchored manifests and reports."""

    manifests: dict[tuple[int, int], FetchedManifest] = field(default_factory=dict)
    reports: dict[tuple[int, int], TransparencyReport] = field(default_factory=dict)


class ChainReadModel:
    """The ReadModel the API serves in production and in `curation demo --serve`.

    A refresh folds the chain state (`backend.chainstate.fold_at`: with `sync=True` it first brings the index to
    the head minus the confirmations) and rebuilds datasets, items, contributors, proposals and licenses;
    release numbers come from ReleaseRegistry. A request more than `ttl` seconds after the last refresh triggers
    the next one (`ttl=0`: every request); refreshes are serialised by a lock, and when one fails the previous
    state keeps being served (and logged). Manifests are fetched by CID and checked against the anchored sha256
    (`fetch_manifest`), manifest parts against the sha256 their manifest lists (`load_part`), and the verified
    bytes served whole are kept in an LRU cache of at most `cache_bytes` (`cached_document` reads it without
    blocking); weights come from the manifest's items; the transparency report is rebuilt at the
    release's state block (`backend.release.rebuild_report`: manifest and report only, checked to reproduce the
    anchored manifest) and cached.
    Pass `sync=False` when another process (`curation index follow`) keeps the index database current: then
    nothing here writes to the index, neither a refresh nor a report request.
    """

    def __init__(
        self,
        session: Session,
        *,
        ttl: float = DEFAULT_TTL,
        sync: bool = True,
        clock: Callable[[], float] = time.monotonic,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if ttl < 0:
            raise ConfigError(f"the state refresh interval must be >= 0 seconds, got {ttl}")
        self.session = session
        self.ttl = ttl
        self.sync = sync
        self._clock = clock
        # One lock for everything that talks to the chain, the store or the index database: the embedded
        # chain and an in-memory SQLite index are not safe to use from two threads at once.
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._caches = _Caches()
        self._documents = ImmutableCache(cache_bytes)

    # --- refresh --------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fold again now (syncing the index first unless `sync=False`); errors propagate."""
        with self._lock:
            self._snapshot = self._build()

    @property
    def state_block(self) -> int | None:
        """The block the served state was folded at (None before the first refresh)."""
        return self._snapshot.state.block if self._snapshot is not None else None

    def _current(self) -> _Snapshot:
        snap = self._snapshot
        if snap is not None and self._clock() - snap.taken < self.ttl:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and self._clock() - snap.taken < self.ttl:
                return snap  # another thread refreshed while this one waited
            try:
                self._snapshot = self._build()
            except Exception:
                if snap is None:
                    raise
                _log.warning(
                    "refreshing the chain state failed; serving block %d", snap.state.block, exc_info=True
                )
                self._snapshot = replace(snap, taken=self._clock())  # try again after `ttl`
            return self._snapshot

    def _build(self) -> _Snapshot:
        state = fold_at(self.session, sync=self.sync).state
        for problem in admit_accepted_batches(self.session, state):
            _log.warning("serving without the leaves of a batch: %s", problem)
        releases = {ds: self._releases_of(ds) for ds in sorted(state.datasets)}
        return _Snapshot(
            self._clock(),
            state,
            [_license(lic) for _, lic in sorted(state.licenses.items())],
            {ds: _dataset(state, ds, releases[ds]) for ds in sorted(state.datasets)},
            releases,
            _items(state),
            _contributors(state),
            {pid: _proposal(state, p) for pid, p in sorted(state.proposals.items())},
        )

    def _releases_of(self, dataset_id: int) -> list[Release]:
        count = self.session.releases().release_count(dataset_id)
        return [self._release(dataset_id, n) for n in range(1, count + 1)]

    def _release(self, dataset_id: int, number: int) -> Release:
        """The anchor from the chain, with what its manifest adds (parent, item count) when it can be read.

        One unreadable manifest (gone from the store, not what the chain anchors, malformed) must not take
        the whole API down: its release is listed with `manifest_problem` saying why, and the requests that
        need its bytes (manifest, weights, report) answer with the typed error.
        """
        try:
            fm = self._fetched(dataset_id, number)
        except (StoreError, InvalidInput) as exc:
            _log.warning("release %d of dataset %d: %s", number, dataset_id, exc)
            info = self.session.releases().get_release(dataset_id, number)
            return _release_model(info, parent=None, item_count=None, problem=redact(str(exc)))
        parent = fm.doc.get("parent")
        return _release_model(
            fm.release,
            parent=int(parent["release"]) if isinstance(parent, Mapping) else None,
            item_count=len(fm.items),
        )

    def _fetched(self, dataset_id: int, number: int) -> FetchedManifest:
        """The anchored manifest, fetched once (ManifestMismatch, an integrity failure, propagates)."""
        key = (dataset_id, number)
        with self._lock:
            cached = self._caches.manifests.get(key)
            if cached is not None:
                return cached
            s = self.session
            try:
                fm = fetch_manifest(s.w3, s.deployment, s.need_store(), dataset_id, number)
            except UnknownRelease as exc:
                raise NotFound(str(exc)) from None
            self._caches.manifests[key] = fm
            return fm

    # --- ReadModel ------------------------------------------------------------------------------------------
    def licenses(self) -> list[License]:
        return list(self._current().licenses)

    def datasets(self) -> list[Dataset]:
        return list(self._current().datasets.values())

    def dataset(self, dataset_id: int) -> Dataset:
        return _dataset_of(self._current(), dataset_id)

    def releases(self, dataset_id: int) -> list[Release]:
        snap = self._current()
        _dataset_of(snap, dataset_id)
        return list(snap.releases[dataset_id])

    def release(self, dataset_id: int, number: int | None) -> Release:
        return _release_of(self._current(), dataset_id, number)

    def manifest(self, dataset_id: int, number: int) -> VerifiedBytes:
        release = _release_of(self._current(), dataset_id, number)
        key = (dataset_id, release.number, None)
        cached = self._documents.get(key)
        if cached is not None:
            return cached
        fm = self._fetched(dataset_id, release.number)  # checked against the anchored sha256
        info = fm.release
        return self._documents.put(key, VerifiedBytes(fm.data, info.manifest_sha256.hex(), info.manifest_cid))

    def manifest_part(self, dataset_id: int, number: int, part: int) -> VerifiedBytes:
        """Part `part` as its manifest lists it, fetched by CID and checked by `load_part` (sha256, shape)."""
        release = _release_of(self._current(), dataset_id, number)
        key = (dataset_id, release.number, part)
        cached = self._documents.get(key)
        if cached is not None:
            return cached
        doc = self._fetched(dataset_id, release.number).doc
        entry = next((e for e in doc.get("item_parts") or [] if e["part"] == part), None)
        if entry is None:
            count = len(doc.get("item_parts") or [])
            raise NotFound(
                f"release {release.number} of dataset {dataset_id} lists {count} manifest parts; "
                f"part {part} is not one of them"
            )
        cid = str(entry["cid"])
        with self._lock:
            try:
                data = get_manifest_part(self.session.need_store(), cid)
            except StoreError as exc:
                raise StoreError(
                    f"manifest part {part} ({cid}) is not available from the store: {exc}"
                ) from None
        load_part(data, entry)  # ManifestMismatch (502) unless it is the part the anchored manifest lists
        return self._documents.put(key, VerifiedBytes(data, str(entry["sha256"]), cid))

    def cached_document(self, dataset_id: int, number: int, part: int | None) -> VerifiedBytes | None:
        return self._documents.get((dataset_id, number, part))

    def weights(self, dataset_id: int, number: int, *, offset: int, limit: int) -> Weights:
        release = _release_of(self._current(), dataset_id, number)
        return _weights(self._fetched(dataset_id, release.number), offset, limit)

    def report(self, dataset_id: int, number: int) -> TransparencyReport:
        """The release's transparency report, rebuilt once (RebuildMismatch when it is not reproducible)."""
        release = _release_of(self._current(), dataset_id, number)
        key = (dataset_id, release.number)
        with self._lock:
            cached = self._caches.reports.get(key)
            if cached is None:
                try:
                    data = rebuild_report(self.session, dataset_id, release.number, sync=self.sync)
                except UnknownRelease as exc:
                    raise NotFound(str(exc)) from None
                cached = self._caches.reports[key] = _report(data, release)
            return cached

    def items(self, *, contributor: str | None, offset: int, limit: int) -> Page[Item]:
        rows: Sequence[Item] = list(self._current().items.values())
        if contributor is not None:
            who = contributor.lower()
            rows = [i for i in rows if i.contributor.lower() == who]
        return page(rows, offset, limit)

    def item(self, item_id: int) -> Item:
        try:
            return self._current().items[item_id]
        except KeyError:
            raise NotFound(f"item {item_id} does not exist") from None

    def contributors(self, *, offset: int, limit: int) -> Page[Contributor]:
        rows = sorted(self._current().contributors.values(), key=lambda c: c.id)
        return page(rows, offset, limit)

    def contributor(self, address: str) -> Contributor:
        try:
            return self._current().contributors[address.lower()]
        except KeyError:
            raise NotFound(f"{address} is not a registered contributor") from None

    def is_registered(self, address: str) -> bool:
        """Registered in the served fold, or else (a wallet that registered since) on the registry at the head.

        Registration cannot be undone, so the fold answers yes for good; a no is checked with one
        `ContentRegistry.contributorId` read, since the submit transaction will run at the head.
        """
        if address.lower() in self._current().contributors:
            return True
        with self._lock:
            return self.session.registry().contributor_id(address) != 0

    def proposals(self, dataset_id: int, *, offset: int, limit: int) -> Page[Proposal]:
        snap = self._current()
        _dataset_of(snap, dataset_id)
        return page((p for p in snap.proposals.values() if p.dataset_id == dataset_id), offset, limit)

    def proposal(self, proposal_id: int) -> Proposal:
        try:
            return self._current().proposals[proposal_id]
        except KeyError:
            raise NotFound(f"proposal {proposal_id} does not exist") from None


def open_read_model(settings: Settings, *, ttl: float | None = None) -> ChainReadModel:
    """The read model of `curation serve`: the chain at `settings.rpc`, its deployment record, the store.

    Refreshes every `ttl` seconds (default `settings.api_state_ttl`). Folds once before returning, so a wrong
    RPC URL or record fails at start (ConfigError without an RPC URL or a deployment record).
    """
    session = open_session(settings, signer=False, store=True, needs_rpc_for="`curation serve`")
    try:
        model = ChainReadModel(
            session,
            ttl=settings.api_state_ttl if ttl is None else ttl,
            cache_bytes=settings.api_document_cache_bytes,
        )
        model.refresh()
    except BaseException:
        session.close()
        raise
    return model


# --- chain state -> API models ------------------------------------------------------------------------------


def _release_model(
    info: ReleaseInfo, *, parent: int | None, item_count: int | None, problem: str | None = None
) -> Release:
    return Release(
        dataset_id=info.dataset_id,
        number=info.number,
        manifest_cid=info.manifest_cid,
        manifest_sha256=info.manifest_sha256.hex(),
        state_block=info.state_block,
        scheme_id=info.scheme_id,
        parent=parent,
        item_count=item_count,
        published_block=info.published_block,
        manifest_problem=problem,
    )


def _license(lic: LicenseState) -> License:
    return License(
        id=lic.license_id,
        spdx=lic.spdx,
        commercial_use=bool(lic.classes & LicenseClass.COMMERCIAL_USE),
        share_alike=bool(lic.classes & LicenseClass.SHARE_ALIKE),
        attribution=bool(lic.classes & LicenseClass.ATTRIBUTION),
        allowed=lic.allowed,
    )


def _dataset(state: ChainState, dataset_id: int, releases: Sequence[Release]) -> Dataset:
    ds = state.datasets[dataset_id]
    p = ds.params
    return Dataset(
        id=dataset_id,
        name=ds.name,
        description_cid=cid_text(ds.description_cid) or None,
        use=ds.use,
        use_names=format_consent(ds.use),
        params=DatasetParamsOut(
            voting_delay=p.voting_delay if p else 0,
            voting_period=p.voting_period if p else 0,
            quorum_bps=p.quorum_bps if p else 0,
            approval_bps=p.approval_bps if p else 0,
            late_quorum_extension=p.late_quorum_extension if p else 0,
            proposal_threshold=p.proposal_threshold if p else 0,
        ),
        release_count=len(releases),
        latest_release=releases[-1].number if releases else None,
    )


def _proposal(state: ChainState, p: ProposalRecord) -> Proposal:
    """The proposal as the API shows it; status, supply and quorum come from curation.governance."""
    supply = snapshot_supply(p, state.block, state.supply.at)  # what getPastTotalSupply(snapshot) answers
    return Proposal(
        id=p.proposal_id,
        dataset_id=p.dataset_id,
        kind=p.kind.word,
        item_ids=list(p.item_ids),
        batch_ids=list(p.batch_ids),
        description_cid=cid_text(p.description_cid) or None,
        proposer=p.proposer,
        snapshot_block=p.snapshot,
        deadline_block=p.deadline,
        status=api_status_word(p, state.block, supply),
        tallies=Tallies(
            for_votes=p.for_votes,
            against_votes=p.against_votes,
            abstain_votes=p.abstain_votes,
        ),
        voters=p.voters,
        total_supply=supply,
        quorum_reached=None if supply is None else quorum_reached(p, supply),
    )


def _items(state: ChainState) -> dict[int, Item]:
    out: dict[int, Item] = {}
    for item_id, it in sorted(state.items.items()):
        lic = state.licenses.get(it.license_id)
        out[item_id] = Item(
            id=item_id,
            ref=item_ref(item_id),
            cid=cid_text(it.cid),
            sha256=it.sha256.hex(),
            size=it.size,
            license_id=it.license_id,
            license=lic.spdx if lic else "",
            contributor=it.contributor,
            consent=it.consent,
            consent_names=format_consent(it.consent),
            expiry=it.expiry,
            revoked=it.revoked,
            block=it.submitted.block_number,
        )
    return out


def _contributors(state: ChainState) -> dict[str, Contributor]:
    counts: dict[str, tuple[int, int]] = {}
    for it in state.items.values():
        n, size = counts.get(it.contributor.lower(), (0, 0))
        counts[it.contributor.lower()] = (n + 1, size + it.size)
    out: dict[str, Contributor] = {}
    for c in sorted(state.contributors.values(), key=lambda c: c.contributor_id):
        n, size = counts.get(c.address.lower(), (0, 0))
        out[c.address.lower()] = Contributor(
            id=c.contributor_id, address=c.address, profile_uri=c.profile_uri, item_count=n, total_bytes=size
        )
    return out


def _dataset_of(snap: _Snapshot, dataset_id: int) -> Dataset:
    try:
        return snap.datasets[dataset_id]
    except KeyError:
        raise NotFound(f"dataset {dataset_id} does not exist at block {snap.state.block}") from None


def _release_of(snap: _Snapshot, dataset_id: int, number: int | None) -> Release:
    ds = _dataset_of(snap, dataset_id)
    if number is None:
        if ds.latest_release is None:
            raise NotFound(f"dataset {dataset_id} has no release yet")
        number = ds.latest_release
    if not 1 <= number <= ds.release_count:
        raise NotFound(f"dataset {dataset_id} has no release {number} (it has {ds.release_count})")
    return snap.releases[dataset_id][number - 1]


def _weights(fm: FetchedManifest, offset: int, limit: int) -> Weights:
    doc = fm.doc
    rows = [
        ItemWeight(item_id=int(i["item_id"]), weight=str(i["weight"]), source=int(i["source"]))
        for i in sorted(fm.items, key=lambda i: int(i["item_id"]))
    ]
    return Weights(
        dataset_id=fm.release.dataset_id,
        release=fm.release.number,
        scheme_id=str(doc["scheme"]["id"]),
        params=dict(doc["scheme"]["params"]),
        total=str(doc["totals"]["weight"]),
        sources=[
            SourceWeightOut(
                proposal_id=int(s["proposal_id"]),
                score=str(s["score"]),
                eligible_items=int(s["eligible_items"]),
                eligible_bytes=int(s["eligible_bytes"]),
                weight=str(s["weight"]),
            )
            for s in doc["sources"]
        ],
        contributors=[
            ContributorWeight(address=str(a["contributor"]), weight=str(a["weight"]))
            for a in sorted(doc["attribution"], key=lambda a: str(a["contributor"]))
        ],
        items=page(rows, offset, limit),
        exclusions={str(e["item_id"]): str(e["reason"]) for e in doc["exclusions"]},
    )


def _report(data: Mapping[str, Any], release: Release) -> TransparencyReport:
    """The API's view of a `curation-commons/report/v1` document (curation/report.py computes every number)."""
    totals = data["totals"]
    return TransparencyReport(
        dataset_id=release.dataset_id,
        release=release.number,
        parent=int(data["parent"]["release"]) if data.get("parent") else None,
        state_block=int(data["state_block"]),
        manifest_cid=str(data["manifest"]["cid"]),
        item_count=int(totals["items"]),
        contributor_count=int(totals["contributors"]),
        diff=ReleaseDiff(
            added_items=[int(a["item_id"]) for a in data["items_added"]],
            removed_items={str(r["item_id"]): str(r["reason"]) for r in data["items_removed"]},
            changed_weights=int(data["changed_weights"]),
        ),
        turnout=[
            ProposalTurnout(
                proposal_id=int(p["proposal_id"]),
                votes_cast=str(p["votes_cast"]),
                total_supply=str(p["total_supply"]),
                turnout_bps=int(p["turnout_bps"]),
                voters=int(p["voters"]),
            )
            for p in data["proposals"]
            if p["total_supply"] is not None  # no snapshot yet, so no turnout
        ],
        concentration=_concentration(data["concentration"]),
        revocations=[int(r["item_id"]) for r in data["revocations_since_parent"]],
        # A report cached before parameter changes were reported has no such key: it lists none.
        parameter_changes=[_parameter_change(c) for c in data.get("parameter_changes", [])],
    )


def _parameter_change(row: Mapping[str, Any]) -> ParameterChange:
    """One row of the report's `parameter_changes` (curation.report.parameter_changes) as the API shows it."""
    p, made_by = row["params"], row["proposal"]
    return ParameterChange(
        block=int(row["block"]),
        params=DatasetParamsOut(
            voting_delay=int(p["voting_delay"]),
            voting_period=int(p["voting_period"]),
            quorum_bps=int(p["quorum_bps"]),
            approval_bps=int(p["approval_bps"]),
            late_quorum_extension=int(p["late_quorum_extension"]),
            proposal_threshold=int(p["proposal_threshold"]),
        ),
        proposal=None
        if made_by is None
        else ParameterChangeProposal(id=int(made_by["id"]), title=str(made_by["title"])),
    )


def _concentration(rows: Sequence[Mapping[str, Any]]) -> VotingConcentration:
    """Delegated voting power at the latest snapshot the report covers (the report lists every snapshot)."""
    if not rows:
        return VotingConcentration(voters=0, top1_share_bps=0, top10_share_bps=0, nakamoto=0)
    last = rows[-1]
    return VotingConcentration(
        voters=int(last["holders"]),
        top1_share_bps=int(last["top1_share_bps"]),
        top10_share_bps=int(last["top10_share_bps"]),
        nakamoto=int(last["nakamoto"]),
    )
