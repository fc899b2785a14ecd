"""Build a release: the dataset's chain state at a block, its content checked, the manifest, report and exports.

Stable interface (backend/api codes against it): `rebuild_report(session, dataset_id, release, *, sync=False)
-> dict` (the transparency report of an anchored release; never syncs the index unless `sync=True`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.chain.releases import ReleaseInfo
from backend.chainstate import FoldedChain, admit_dataset_batches, fold_at
from backend.errors import StoreError
from backend.index import SyncProgress
from backend.ipfs import ContentStore
from backend.ipfs.checks import ItemJob, check_items
from backend.partition import Partitioner, chunked, open_partitioner
from backend.release.fetch import fetch_checked, items_of, parent_link, resolve_release
from backend.release.parquet import ParquetMirror, build_parquet
from backend.session import Session
from curation.batches import item_ref
from curation.cid import CID
from curation.exports import DEFAULT_GATEWAY, croissant, dataset_card
from curation.manifest import (
    DEFAULT_SCHEME,
    DEFAULT_SHARD_ITEMS,
    BuiltManifest,
    ParentRelease,
    build_manifest,
)
from curation.manifest_read import ManifestMismatch, load_manifest
from curation.report import build_report, render_markdown
from curation.selection import content_candidates
from curation.state import ChainState, ItemState, UnknownDataset

__all__ = [
    "BuiltRelease",
    "ContentUnavailable",
    "RebuildMismatch",
    "build_release",
    "check_dataset_content",
    "check_dataset_exists",
    "prepare_dataset",
    "rebuild_report",
]


class ContentUnavailable(StoreError):
    """An item a release would weight has bytes no store here can give (so its claims cannot be checked)."""


class RebuildMismatch(ManifestMismatch):
    """The manifest rebuilt from chain logs is not the anchored one (`curation verify` lists the differences)."""


# --- content ------------------------------------------------------------------------------------------------


def _item_job(item: ItemState) -> ItemJob:
    return ItemJob(item.item_id, item.cid, item.size, item.sha256)


def check_dataset_content(
    store: ContentStore,
    state: ChainState,
    dataset_id: int,
    timestamp: int,
    *,
    partitioner: Partitioner | None = None,
    partition_items: int = 2_000,
) -> None:
    """Fill `state.content` for every item the dataset's release would weight (see content_candidates).

    With a `partitioner`, the bytes are read `partition_items` items at a time where it runs them; results
    are recorded here in item order, and the first item no store can give stops the release, as it would
    read one by one.
    """
    candidates = content_candidates(state, dataset_id, timestamp)
    jobs = [_item_job(state.items[i]) for i in candidates if i not in state.content]
    run = partitioner or Partitioner(workers=1)
    for read in run.map(check_items, store, chunked(jobs, partition_items)):
        if read.check is not None:
            state.content[read.item_id] = read.check
            continue
        cid = CID.parse(state.items[read.item_id].cid)
        ref = item_ref(read.item_id)
        raise ContentUnavailable(
            f"{ref}, included in dataset {dataset_id} by proposal {candidates[read.item_id]}, has bytes "
            f"({cid}) that cannot be read here: {read.unavailable}. Its declared size and sha256 must be "
            "checked before it gets weight: add its bytes to the store (`curation ipfs add FILE`), point "
            "CURATION_IPFS at an IPFS node that has it, or have the curators accept a REMOVE of "
            f"{ref}"
        )


def prepare_dataset(session: Session, folded: FoldedChain, dataset_id: int) -> None:
    """Read what a release of the dataset needs beyond the logs: its batches, then its items' bytes.

    Both reads run in partitions where the settings say (backend.partition: this process, local processes
    or a Dask cluster); the state they leave is the same every way.
    """
    state, store, settings = folded.state, session.need_store(), session.settings
    state.dataset(dataset_id)
    with open_partitioner(settings) as partitioner:
        admit_dataset_batches(
            store,
            state,
            dataset_id,
            max_bytes=settings.max_batch_manifest_bytes,
            partitioner=partitioner,
            partition_batches=settings.partition_batches,
        )
        check_dataset_content(
            store,
            state,
            dataset_id,
            folded.context.state_timestamp,
            partitioner=partitioner,
            partition_items=settings.partition_items,
        )


def check_dataset_exists(session: Session, dataset_id: int) -> None:
    """UnknownDataset unless CurationVoting has a dataset `dataset_id` now."""
    count = session.voting().dataset_count()
    if isinstance(dataset_id, bool) or not isinstance(dataset_id, int) or not 1 <= dataset_id <= count:
        raise UnknownDataset(f"dataset {dataset_id} does not exist (datasets are numbered 1..{count})")


# --- build --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltRelease:
    """A release ready to publish: the manifest and its parts, the exports and the transparency report."""

    dataset_id: int
    state_block: int
    manifest: BuiltManifest
    parent: ParentRelease | None
    report: dict[str, Any]
    report_markdown: str
    croissant: dict[str, Any]
    card: str
    #: The Parquet files of the item rows and their listing `parquet.json` (outside the anchored digest).
    parquet: ParquetMirror

    @property
    def manifest_bytes(self) -> bytes:
        return self.manifest.data

    @property
    def sha256(self) -> str:
        return self.manifest.sha256

    @property
    def cid(self) -> str:
        return self.manifest.cid

    @property
    def scheme_id(self) -> str:
        return self.manifest.weights.scheme_id


def _parent_doc(
    store: ContentStore, info: ReleaseInfo | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if info is None:
        return None, []
    doc = load_manifest(fetch_checked(store, info))
    return doc, items_of(store, doc)


def _manifest_and_report(
    session: Session,
    dataset_id: int,
    folded: FoldedChain,
    parent_info: ReleaseInfo | None,
    params: Mapping[str, object] | None,
    scheme_id: str,
    shard_items: int,
) -> tuple[BuiltManifest, dict[str, Any]]:
    """The manifest of the dataset at the folded state, and its transparency report against the parent."""
    prepare_dataset(session, folded, dataset_id)
    manifest = build_manifest(
        folded.state,
        dataset_id,
        folded.context,
        scheme_id=scheme_id,
        params=params,
        parent=parent_link(parent_info),
        shard_items=shard_items,
    )
    parent_doc, parent_items = _parent_doc(session.need_store(), parent_info)
    return manifest, build_report(folded.state, manifest, parent_doc, parent_items)


def build_release(
    session: Session,
    dataset_id: int,
    params: Mapping[str, object] | None = None,
    *,
    scheme_id: str = DEFAULT_SCHEME,
    state_block: int | None = None,
    shard_items: int = DEFAULT_SHARD_ITEMS,
    parent: ReleaseInfo | bool | None = True,
    progress: Callable[[SyncProgress], None] | None = None,
) -> BuiltRelease:
    """Sync the index, fold the logs up to B (head minus confirmations, or `state_block`), build everything.

    `parent=True` links the dataset's latest anchored release; pass a ReleaseInfo or None to choose.
    `progress` is told about every batch the index sync stores.
    """
    check_dataset_exists(session, dataset_id)
    folded = fold_at(session, state_block, sync=True, progress=progress)
    if parent is True:
        client = session.releases()
        parent_info = client.latest_release(dataset_id) if client.release_count(dataset_id) else None
    else:
        parent_info = parent or None
    manifest, report = _manifest_and_report(
        session, dataset_id, folded, parent_info, params, scheme_id, shard_items
    )
    gateway = session.settings.ipfs_gateway or DEFAULT_GATEWAY
    parquet = build_parquet(manifest)
    return BuiltRelease(
        dataset_id,
        folded.block,
        manifest,
        parent_link(parent_info),
        report,
        render_markdown(report),
        croissant(
            manifest.doc,
            manifest.items,
            manifest.cid,
            manifest.sha256,
            gateway=gateway,
            parts=manifest.parts,
            parquet=parquet.listing,
        ),
        dataset_card(manifest.doc, manifest.cid, manifest.sha256, gateway=gateway),
        parquet,
    )


def rebuild_report(
    session: Session, dataset_id: int, release: int | None, *, sync: bool = False
) -> dict[str, Any]:
    """The transparency report of anchored release `release` (latest when None), rebuilt from chain logs.

    Builds only the manifest and the report (no exports), with the scheme, parameters, part size and parent
    the anchored manifest declares, at its state block. The index is only read unless `sync=True`.
    RebuildMismatch when the rebuilt manifest is not the anchored one.
    """
    store = session.need_store()
    info = resolve_release(session, dataset_id, release)
    doc = load_manifest(fetch_checked(store, info))
    declared = doc.get("parent")
    parent_info = (
        session.releases().get_release(dataset_id, int(declared["release"]))
        if isinstance(declared, Mapping)
        else None
    )
    parts = doc.get("item_parts") or []
    folded = fold_at(session, info.state_block, sync=sync)
    manifest, report = _manifest_and_report(
        session,
        dataset_id,
        folded,
        parent_info,
        dict(doc["scheme"]["params"]),
        info.scheme_id,
        int(parts[0]["count"]) if parts else DEFAULT_SHARD_ITEMS,
    )
    if manifest.cid != info.manifest_cid:
        raise RebuildMismatch(
            f"no transparency report for release {info.number} of dataset {dataset_id}: rebuilding it from "
            f"chain logs gives manifest {manifest.cid}, the chain anchors {info.manifest_cid} "
            f"(run `curation verify {dataset_id} --release {info.number}`)"
        )
    return report
