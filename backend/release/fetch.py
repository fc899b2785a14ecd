"""The read side of releases: resolve a release on chain, fetch its manifest (and parts) checked by sha256."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.chain.deployment import Deployment
from backend.chain.releases import ReleaseClient, ReleaseInfo
from backend.errors import StoreError
from backend.ipfs import ContentStore
from backend.ipfs.limits import get_manifest, get_manifest_part
from backend.session import Session
from curation.canonical import sha256_hex
from curation.errors import InvalidInput
from curation.manifest import ParentRelease
from curation.manifest_read import ManifestMismatch, load_manifest, load_part

__all__ = [
    "FetchedManifest",
    "UnknownRelease",
    "fetch_checked",
    "fetch_manifest",
    "items_of",
    "parent_link",
    "resolve_release",
]


class UnknownRelease(InvalidInput):
    """The dataset has no release with the requested number (or none at all)."""


def resolve_release(
    session_or_client: Session | ReleaseClient, dataset_id: int, release: int | None
) -> ReleaseInfo:
    """Release `release` of the dataset (the latest when None); UnknownRelease when there is no such one."""
    client = session_or_client.releases() if isinstance(session_or_client, Session) else session_or_client
    count = client.release_count(dataset_id)
    if count == 0:
        raise UnknownRelease(f"dataset {dataset_id} has no release yet")
    number = count if release is None else release
    if not 1 <= number <= count:
        raise UnknownRelease(f"dataset {dataset_id} has releases 1..{count}; release {number} does not exist")
    return client.get_release(dataset_id, number)


def parent_link(info: ReleaseInfo | None) -> ParentRelease | None:
    """The `parent` a manifest built on release `info` records (None for a first release)."""
    if info is None:
        return None
    return ParentRelease(info.number, info.manifest_cid, info.manifest_sha256.hex(), info.state_block)


@dataclass(frozen=True)
class FetchedManifest:
    """An anchored manifest, fetched by CID and checked against the on-chain sha256 (parts too)."""

    release: ReleaseInfo
    data: bytes
    doc: dict[str, Any]
    items: list[dict[str, Any]]

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


def fetch_checked(store: ContentStore, info: ReleaseInfo) -> bytes:
    """The manifest bytes of release `info`, refused (ManifestMismatch) unless they hash to the anchor."""
    try:
        data = get_manifest(store, info.manifest_cid)
    except StoreError as exc:
        raise StoreError(
            f"manifest {info.manifest_cid} of release {info.number} is not available from the store: {exc}"
        ) from None
    digest = sha256_hex(data)
    if digest != info.manifest_sha256.hex():
        raise ManifestMismatch(
            f"the manifest at {info.manifest_cid} has sha256 {digest}, but release {info.number} of dataset "
            f"{info.dataset_id} anchors {info.manifest_sha256.hex()}: refusing it"
        )
    return data


def items_of(store: ContentStore, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every item row of a manifest: those inline, then those of each part (fetched and checked)."""
    items = list(doc.get("items") or [])
    for entry in doc.get("item_parts") or []:
        try:
            part = get_manifest_part(store, str(entry["cid"]))
        except StoreError as exc:
            raise StoreError(
                f"manifest part {entry.get('part')} ({entry.get('cid')}) is not available: {exc}"
            ) from None
        items.extend(load_part(part, entry))
    return items


def fetch_manifest(
    w3: Any, deployment: Deployment, store: ContentStore, dataset_id: int, release: int | None = None
) -> FetchedManifest:
    """Resolve a release on-chain, fetch its manifest (and parts) by CID, check the anchored sha256."""
    info = resolve_release(ReleaseClient(w3, deployment.address("ReleaseRegistry")), dataset_id, release)
    data = fetch_checked(store, info)
    doc = load_manifest(data)
    return FetchedManifest(info, data, doc, items_of(store, doc))
