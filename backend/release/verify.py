"""Verify an anchored release: rebuild it from chain logs and the store, compare with the anchor and the bytes.

The Parquet files (outside the anchored digest) are checked apart, on request, against the verified rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chainstate import StateBlockAhead, fold_at
from backend.errors import ChainError, StoreError
from backend.index import IndexEmptyError, SyncProgress
from backend.ipfs import ContentStore
from backend.ipfs.limits import get_manifest, get_manifest_part
from backend.release.build import check_dataset_exists, prepare_dataset
from backend.release.fetch import parent_link, resolve_release
from backend.release.parquet import ParquetCheck, ParquetMismatch, check_parquet, read_listing
from backend.session import Session
from curation.canonical import sha256_hex
from curation.jsondiff import diff_documents
from curation.manifest import (
    DEFAULT_SHARD_ITEMS,
    MANIFEST_SCHEMA_V2,
    MANIFEST_SCHEMAS,
    BuiltManifest,
    build_manifest,
)
from curation.manifest_read import ManifestMismatch, load_manifest, load_part

__all__ = ["VerifyResult", "check_release_parquet", "verify_release"]


@dataclass(frozen=True)
class VerifyResult:
    """Whether the rebuilt manifest equals the anchored one; `differences` says what differs when not.

    `parquet` is the separate check of the Parquet files when a listing was given: it never changes `equal`.
    """

    equal: bool
    differences: list[str]
    dataset_id: int
    release: int
    anchored_sha256: str
    rebuilt_sha256: str
    fetched_sha256: str | None
    state_block: int
    parquet: ParquetCheck | None = None


def verify_release(
    session: Session,
    dataset_id: int,
    release: int | None = None,
    *,
    params: Mapping[str, object] | None = None,
    fresh_index: bool = True,
    shard_items: int | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    parquet: Path | str | None = None,
) -> VerifyResult:
    """Rebuild release `release` (latest when None) from chain logs and the store; compare with the anchor.

    Parameters come from the fetched manifest when it matches its anchor (else `params`, else the scheme's
    defaults); `params` given explicitly win, so a verifier can check a release against the parameters it
    expects. `fresh_index` reads every log again into an in-memory index instead of the shared database.
    `parquet` (a `parquet.json` file as a Path, or its CID as a str) also checks the Parquet files it lists
    against the verified canonical rows (check_release_parquet); the result is `VerifyResult.parquet`.
    """
    check_dataset_exists(session, dataset_id)
    store = session.need_store()
    client = session.releases()
    info = resolve_release(client, dataset_id, release)
    anchored = info.manifest_sha256.hex()
    differences: list[str] = []
    fetched: bytes | None = None
    fetched_doc: dict[str, Any] | None = None
    try:
        fetched = get_manifest(store, info.manifest_cid)
    except (StoreError, ManifestMismatch) as exc:
        differences.append(f"the anchored manifest {info.manifest_cid} cannot be fetched: {exc}")
    fetched_sha = sha256_hex(fetched) if fetched is not None else None
    if fetched_sha is not None and fetched_sha != anchored:
        differences.append(
            f"the manifest stored at {info.manifest_cid} has sha256 {fetched_sha}, the anchor says {anchored}"
        )
    if fetched is not None:
        try:
            fetched_doc = load_manifest(fetched)
        except ManifestMismatch as exc:
            differences.append(f"the stored manifest does not parse: {exc}")
    declared: dict[str, Any] = {}
    if fetched_doc is not None and isinstance(fetched_doc.get("scheme"), dict):
        declared = dict(fetched_doc["scheme"].get("params") or {})
    use_params = dict(params) if params is not None else declared or None
    if shard_items is None:
        parts = fetched_doc.get("item_parts") if fetched_doc else None
        shard_items = int(parts[0]["count"]) if parts else DEFAULT_SHARD_ITEMS
    parent = client.get_release(dataset_id, info.number - 1) if info.number > 1 else None
    try:
        folded = fold_at(
            session,
            info.state_block,
            sync=True,
            db_url="sqlite://" if fresh_index else None,
            progress=progress,
        )
    except (IndexEmptyError, StateBlockAhead):
        raise ChainError(
            f"release {info.number} was built at block {info.state_block}, which is not confirmed here yet"
        ) from None
    prepare_dataset(session, folded, dataset_id)
    # Rebuild under the schema the release was made with (v1 releases keep verifying under v1).
    declared_schema = fetched_doc.get("schema") if fetched_doc is not None else None
    schema = declared_schema if declared_schema in MANIFEST_SCHEMAS else MANIFEST_SCHEMA_V2
    rebuilt = build_manifest(
        folded.state,
        dataset_id,
        folded.context,
        scheme_id=info.scheme_id,
        params=use_params,
        parent=parent_link(parent),
        shard_items=shard_items,
        schema=schema,
    )
    if rebuilt.sha256 != anchored:
        differences.append(
            f"the manifest rebuilt from chain logs has sha256 {rebuilt.sha256}, the anchor says {anchored}"
        )
    if rebuilt.cid != info.manifest_cid:
        differences.append(
            f"the rebuilt manifest's CID is {rebuilt.cid}, the anchored CID is {info.manifest_cid}"
        )
    if fetched_doc is not None and fetched_sha != rebuilt.sha256:
        differences.extend(diff_documents(rebuilt.doc, fetched_doc))
        if params is not None and declared and use_params != declared:
            differences.append(f"scheme parameters asked for {use_params}, the release declares {declared}")
    if fetched_doc is not None and not differences:
        for part in rebuilt.parts:
            try:
                load_part(get_manifest_part(store, part.cid), fetched_doc["item_parts"][part.index])
            except (StoreError, ManifestMismatch) as exc:
                differences.append(f"manifest part {part.index}: {exc}")
    parquet_check = None
    if parquet is not None:
        parquet_check = check_release_parquet(
            store, parquet, rebuilt, info.manifest_cid, verified=not differences
        )
    return VerifyResult(
        not differences,
        differences,
        dataset_id,
        info.number,
        anchored,
        rebuilt.sha256,
        fetched_sha,
        info.state_block,
        parquet_check,
    )


def check_release_parquet(
    store: ContentStore, source: Path | str, manifest: BuiltManifest, manifest_cid: str, *, verified: bool
) -> ParquetCheck:
    """The Parquet files listed by `source` (a `parquet.json` Path or CID) checked against `manifest`.

    Only a `verified` manifest (rebuilt and equal to the anchor) is a reference: otherwise nothing is checked
    and the result says why. A listing that cannot be read is a difference, never an exception, so a missing
    or corrupt Parquet file cannot change the canonical verdict.
    """
    if not verified:
        return ParquetCheck(
            False,
            [
                "the Parquet files were not checked: the canonical manifest does not verify (see its differences)"
            ],
            0,
            0,
        )
    try:
        listing = read_listing(store, source)
    except (ParquetMismatch, StoreError) as exc:
        return ParquetCheck(False, [f"the Parquet listing {source} cannot be used: {exc}"], 0, 0)
    return check_parquet(store, listing, manifest, manifest_cid=manifest_cid)
