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
from backend.ipfs import ContentStore, ContentTooLarge
from backend.release.fetch import fetch_checked, items_of, parent_link, resolve_release
from backend.session import Session
from curation.batches import item_ref
from curation.blocks import BlockMismatch
from curation.cid import CID
from curation.content import ContentCheck, ContentChecker, too_large_problem, unreadable_problem
from curation.errors import InvalidInput
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
    "check_item_content",
    "prepare_dataset",
    "rebuild_report",
]


class ContentUnavailable(StoreError):
    """An item a release would weight has bytes no store here can give (so its claims cannot be checked)."""


class RebuildMismatch(ManifestMismatch):
    """The manifest rebuilt from chain logs is not the anchored one (`curation verify` lists the differences)."""


# --- content ------------------------------------------------------------------------------------------------


def check_item_content(store: ContentStore, item: ItemState) -> ContentCheck:
    """Stream the item's bytes (never past its declared size) and compare them with what was declared.

    StoreError (content unavailable, a store serving wrong blocks) propagates: only facts about the content
    itself become a ContentCheck problem, so every machine that can read the bytes reaches the same result.
    """
    cid = CID.parse(item.cid)
    checker = ContentChecker(item.item_id, item.size, item.sha256)
    try:
        for chunk in store.iter_bytes(cid, max_bytes=item.size):
            checker.feed(chunk)
            if checker.read > item.size:
                break  # one byte past the claim is enough: the rest is never read
    except ContentTooLarge:  # the DAG's root declares more bytes than the claim: refused before reading them
        return ContentCheck(item.item_id, too_large_problem(item.size))
    except InvalidInput:  # not a UnixFS file, or over the format limits: a fact about the content
        return ContentCheck(item.item_id, unreadable_problem(str(cid), "its DAG is not a UnixFS file"))
    except BlockMismatch as exc:
        raise StoreError(str(exc)) from None
    return checker.finish()


def check_dataset_content(store: ContentStore, state: ChainState, dataset_id: int, timestamp: int) -> None:
    """Fill `state.content` for every item the dataset's release would weight (see content_candidates)."""
    for item_id, proposal_id in content_candidates(state, dataset_id, timestamp).items():
        if item_id in state.content:
            continue
        item = state.items[item_id]
        try:
            state.content[item_id] = check_item_content(store, item)
        except StoreError as exc:
            cid = CID.parse(item.cid)
            raise ContentUnavailable(
                f"{item_ref(item_id)}, included in dataset {dataset_id} by proposal {proposal_id}, has bytes "
                f"({cid}) that cannot be read here: {exc}. Its declared size and sha256 must be checked "
                "before it gets weight: add its bytes to the store (`curation ipfs add FILE`), point "
                "CURATION_IPFS at an IPFS node that has it, or have the curators accept a REMOVE of "
                f"{item_ref(item_id)}"
            ) from None


def prepare_dataset(session: Session, folded: FoldedChain, dataset_id: int) -> None:
    """Read what a release of the dataset needs beyond the logs: its batches, then its items' bytes."""
    state, store = folded.state, session.need_store()
    state.dataset(dataset_id)
    admit_dataset_batches(store, state, dataset_id, max_bytes=session.settings.max_batch_manifest_bytes)
    check_dataset_content(store, state, dataset_id, folded.context.state_timestamp)


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
    return BuiltRelease(
        dataset_id,
        folded.block,
        manifest,
        parent_link(parent_info),
        report,
        render_markdown(report),
        croissant(
            manifest.doc, manifest.items, manifest.cid, manifest.sha256, gateway=gateway, parts=manifest.parts
        ),
        dataset_card(manifest.doc, manifest.cid, manifest.sha256, gateway=gateway),
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
