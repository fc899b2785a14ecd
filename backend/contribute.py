"""Contribute files: check everything first, add them to the content store, then submit items or a batch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_utils.address import to_checksum_address

from backend.chain.contract import Receipt
from backend.chain.registry import RegistryClient
from backend.errors import ConfigError
from backend.ipfs import ContentStore
from backend.ipfs.base import FileDigest, check_source_file, hash_file
from backend.ipfs.limits import get_batch_manifest
from backend.settings import Settings
from curation.batches import build_batch_manifest, leaf_item_id, verify_batch_manifest
from curation.cid import CID, cid_text
from curation.consent import format_consent, unknown_bits
from curation.errors import CurationError, InvalidInput
from curation.events import BatchSubmitted, ItemSubmitted, LeafConsentChanged
from curation.licenses import canonical_spdx
from curation.merkle import Leaf, MerkleTree

__all__ = [
    "BatchSubmission",
    "ContributedFile",
    "Contribution",
    "ContributionFailed",
    "ItemRow",
    "StoredBatch",
    "batch_submission",
    "change_item_consent",
    "change_leaf_consent",
    "check_license",
    "contribute",
    "list_items",
    "store_batch_manifest",
]

#: Called after each step with (what happened, path or None).
Progress = Callable[[str, Path | None], None]

#: The operator default for one batch manifest read (Settings.max_batch_manifest_bytes, docs/storage.md).
_MAX_BATCH_MANIFEST_BYTES: int = Settings.model_fields["max_batch_manifest_bytes"].default


class ContributionFailed(CurationError):
    """Some submissions were sent before one failed; the message lists what is already on-chain."""


@dataclass(frozen=True)
class ContributedFile:
    path: Path
    cid: str
    sha256: str
    size: int
    item_id: int  # registry item id, or the leaf item id (curation.batches.leaf_item_id) in a batch


@dataclass(frozen=True)
class Contribution:
    """What `contribute` did: the files with their ids, the batch (if any) and the transactions."""

    files: tuple[ContributedFile, ...]
    license: str
    consent: int
    batch_id: int | None = None
    batch_manifest_cid: str | None = None
    tx_hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredBatch:
    """A batch manifest put in the store: what `RegistryClient.submit_batch_root` needs."""

    cid: str
    root: bytes
    count: int
    data: bytes


def store_batch_manifest(store: ContentStore, leaves: Sequence[Leaf]) -> StoredBatch:
    """Write the batch manifest of `leaves` (curation.batches format, CIDv1) to the store and pin it."""
    data = build_batch_manifest(leaves)
    imported = store.put_bytes(data, pin=True, cid_version=1)
    return StoredBatch(str(imported.cid), MerkleTree.from_leaves(leaves).root, len(leaves), data)


def check_license(registry: RegistryClient, spdx: str) -> tuple[int, str]:
    """The registry id of `spdx` and its spelling there, matched in any letter case (`cc-by-4.0` is
    `CC-BY-4.0`, as in curation.licenses); InvalidInput naming the allowed licenses when it is not allowed."""
    records = registry.licenses()
    wanted = (canonical_spdx(spdx) or spdx.strip()).casefold()
    for rec in records:
        if rec.allowed and rec.spdx.casefold() == wanted:
            return rec.license_id, rec.spdx
    allowed = ", ".join(sorted(rec.spdx for rec in records if rec.allowed)) or "none"
    raise InvalidInput(f"license {spdx!r} is not on the allowlist (allowed: {allowed})")


def _check_consent(consent: int, expiry: int) -> None:
    if consent == 0:
        raise InvalidInput("consent grants nothing (none): give at least one flag, e.g. train")
    if unknown_bits(consent):
        raise InvalidInput(f"consent mask {consent:#x} sets unknown bits")
    if expiry < 0:
        raise InvalidInput(f"consent expiry must be unix seconds >= 0 (0 = none), got {expiry}")


def contribute(
    registry: RegistryClient,
    store: ContentStore,
    paths: Sequence[Path],
    spdx: str,
    consent: int,
    *,
    expiry: int = 0,
    batch: bool = False,
    progress: Progress | None = None,
) -> Contribution:
    """Contribute `paths` from the registry client's signer.

    Everything that can be checked is checked before anything is stored or sent: the files exist, their
    CIDs are new to the registry and to each other, the license is allowed, the consent grants something,
    the signer is a registered contributor. Then the files are added (and pinned) to `store`, and either
    each is submitted as an item or, with `batch=True`, a batch manifest is stored and one Merkle root
    submitted with shared terms.
    """
    note = progress or (lambda _what, _path: None)
    if not paths:
        raise InvalidInput("nothing to contribute: give at least one file")
    _check_consent(consent, expiry)
    digests: list[FileDigest] = []
    seen: dict[CID, Path] = {}
    for path in paths:
        digest = hash_file(check_source_file(Path(path)))
        if digest.cid in seen:
            raise InvalidInput(f"{path} has the same content as {seen[digest.cid]} ({digest.cid})")
        seen[digest.cid] = Path(path)
        digests.append(digest)
        note("hashed", Path(path))
    license_id, spdx = check_license(registry, spdx)
    signer = registry.signer
    if signer is None:
        raise ConfigError("contributing needs a signer")
    if registry.contributor_id(signer.address) == 0:
        raise ConfigError(f"{signer.address} is not a registered contributor: run `curation register` first")
    for path, digest in zip(paths, digests, strict=True):
        existing = registry.item_id_by_cid(digest.cid)
        if existing:
            raise InvalidInput(f"{path} is already registered as item {existing} ({digest.cid})")
    pinned_before = set(store.pins())
    new_pins: list[CID] = []  # pinned by this call: unpinned again if what they were for is not submitted
    submitted: set[CID] = set()
    try:
        for path, digest in zip(paths, digests, strict=True):
            stored = store.put_file(Path(path), pin=True, cid_version=1)
            if stored.cid not in pinned_before:
                new_pins.append(stored.cid)
            if stored.cid != digest.cid:
                raise InvalidInput(f"{path} changed while being contributed ({digest.cid} -> {stored.cid})")
            note("stored", Path(path))
        if batch:
            return _submit_batch(
                registry, store, paths, digests, license_id, spdx, consent, expiry, note, new_pins
            )
        files: list[ContributedFile] = []
        txs: list[str] = []
        for path, digest in zip(paths, digests, strict=True):
            try:
                receipt = registry.submit_item(
                    digest.cid, digest.sha256, digest.size, license_id, consent, expiry
                )
            except CurationError as exc:
                done = ", ".join(f"{f.path} as item {f.item_id}" for f in files) or "nothing"
                raise ContributionFailed(
                    f"submitting {path} failed ({exc}); already submitted: {done}"
                ) from None
            submitted.add(digest.cid)
            files.append(
                ContributedFile(
                    Path(path),
                    str(digest.cid),
                    digest.sha256.hex(),
                    digest.size,
                    registry.submitted_id(receipt),
                )
            )
            txs.append(receipt.tx_hash)
            note("submitted", Path(path))
        return Contribution(tuple(files), spdx, consent, tx_hashes=tuple(txs))
    except BaseException:
        _unpin(store, [cid for cid in new_pins if cid not in submitted])
        raise


def _unpin(store: ContentStore, cids: Sequence[CID]) -> None:
    """Take back the pins a failed contribution made (best effort: the failure being reported matters more)."""
    for cid in cids:
        with contextlib.suppress(CurationError, OSError):
            store.unpin(cid)


def _submit_batch(
    registry: RegistryClient,
    store: ContentStore,
    paths: Sequence[Path],
    digests: Sequence[FileDigest],
    license_id: int,
    spdx: str,
    consent: int,
    expiry: int,
    note: Progress,
    new_pins: list[CID],
) -> Contribution:
    leaves = [
        Leaf(i, d.cid.to_bytes(), d.sha256, d.size, license_id, consent, expiry)
        for i, d in enumerate(digests)
    ]
    pinned_before = set(store.pins())
    manifest = store_batch_manifest(store, leaves)
    if CID.parse(manifest.cid) not in pinned_before:
        new_pins.append(CID.parse(manifest.cid))
    note("batch manifest stored", None)
    receipt = registry.submit_batch(leaves, manifest.cid, shared=True)
    batch_id = registry.submitted_id(receipt)
    files = tuple(
        ContributedFile(Path(p), str(d.cid), d.sha256.hex(), d.size, leaf_item_id(batch_id, i))
        for i, (p, d) in enumerate(zip(paths, digests, strict=True))
    )
    note(f"batch {batch_id} submitted ({len(files)} leaves, consent {format_consent(consent)})", None)
    return Contribution(files, spdx, consent, batch_id, manifest.cid, (receipt.tx_hash,))


# --- consent changes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSubmission:
    """A batch as its BatchSubmitted event tells it (the manifest CID is only there)."""

    batch_id: int
    contributor: str
    root: bytes
    count: int
    manifest_cid: str
    license_id: int
    consent: int
    expiry: int
    block_number: int


def batch_submission(registry: RegistryClient, batch_id: int, from_block: int = 0) -> BatchSubmission:
    """The BatchSubmitted event of `batch_id` (InvalidInput when there is no such batch)."""
    found = registry.event_logs(BatchSubmitted, from_block, filters={"batch_id": batch_id})
    if not found:
        raise InvalidInput(f"batch {batch_id} does not exist (the registry has {registry.batch_count()})")
    return _batch_from_event(found[0])


def _batch_from_event(e: BatchSubmitted) -> BatchSubmission:
    return BatchSubmission(
        e.batch_id,
        to_checksum_address(e.contributor),
        e.root,
        e.count,
        cid_text(e.manifest_cid),
        e.license_id,
        e.consent,
        e.expiry,
        e.at.block_number,
    )


def _check_narrowing(consent: int, expiry: int) -> None:
    if consent == 0:
        raise InvalidInput("narrowing to no consent at all is a revocation: use --revoke")
    _check_consent(consent, expiry)


def change_item_consent(
    registry: RegistryClient, item_id: int, *, narrow: int | None = None, expiry: int = 0
) -> Receipt:
    """Narrow (`narrow` = the new mask) or, with `narrow=None`, revoke item `item_id`'s consent."""
    if not 1 <= item_id <= registry.item_count():
        raise InvalidInput(f"item {item_id} does not exist (the registry has {registry.item_count()} items)")
    if narrow is None:
        return registry.revoke_consent(item_id)
    _check_narrowing(narrow, expiry)
    return registry.narrow_consent(item_id, narrow, expiry)


def change_leaf_consent(
    registry: RegistryClient,
    store: ContentStore,
    batch_id: int,
    leaf_index: int,
    *,
    narrow: int | None = None,
    expiry: int = 0,
    from_block: int = 0,
) -> Receipt:
    """Narrow or revoke one batch leaf. Narrowing proves the leaf: the batch manifest is fetched by the CID
    its BatchSubmitted event names and checked against the on-chain root before the proof is built."""
    batch = batch_submission(registry, batch_id, from_block)
    if not 0 <= leaf_index < batch.count:
        raise InvalidInput(f"batch {batch_id} has leaves 0..{batch.count - 1}, not {leaf_index}")
    if narrow is None:
        return registry.revoke_leaf(batch_id, leaf_index)
    _check_narrowing(narrow, expiry)
    data = get_batch_manifest(store, batch.manifest_cid, batch.count, max_bytes=_MAX_BATCH_MANIFEST_BYTES)
    manifest = verify_batch_manifest(data, batch.root, batch.count)
    leaf = manifest.leaves[leaf_index]
    proof = MerkleTree.from_leaves(manifest.leaves).proof(leaf_index)
    return registry.narrow_leaf(batch_id, leaf, proof, narrow, expiry)


# --- listing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """One item or batch as a contributor sees it now: consent at the chain head."""

    ref: str  # item:N or batch:N
    contributor: str
    cid: str
    size: int
    license: str
    consent: int
    expiry: int
    revoked: bool
    leaves: int = 0  # batches only
    revoked_leaves: int = 0  # batches only
    narrowed_leaves: int = 0  # batches only: leaves whose consent was narrowed (each also listed as a row)


def list_items(
    registry: RegistryClient, contributor: str | None = None, from_block: int = 0
) -> list[ItemRow]:
    """Items and batches (of one contributor, or everyone's) with their current consent, oldest first."""
    filters: dict[str, object] = {"contributor": contributor} if contributor else {}
    spdx = {rec.license_id: rec.spdx for rec in registry.licenses()}
    rows: list[ItemRow] = []
    for item in registry.event_logs(ItemSubmitted, from_block, filters=filters):
        now = registry.item(item.item_id)
        rows.append(
            ItemRow(
                f"item:{item.item_id}",
                now.contributor,
                cid_text(item.cid),
                now.size,
                spdx.get(now.license_id, str(now.license_id)),
                now.consent,
                now.expiry,
                now.revoked,
            )
        )
    # Leaf changes come from their events (one log per change), never from a read per leaf: a batch may
    # hold a million leaves. The latest change of each leaf is its state now (revocation is final).
    latest: dict[tuple[int, int], LeafConsentChanged] = {}
    for change in registry.event_logs(LeafConsentChanged, from_block, filters=filters):
        latest[(change.batch_id, change.leaf_index)] = change
    for batch in registry.event_logs(BatchSubmitted, from_block, filters=filters):
        b = _batch_from_event(batch)
        license_name = spdx.get(b.license_id, "per-leaf") if b.license_id else "per-leaf"
        changed = sorted((k, v) for k, v in latest.items() if k[0] == b.batch_id)
        revoked = sum(1 for _, v in changed if v.consent == 0)
        rows.append(
            ItemRow(
                f"batch:{b.batch_id}",
                b.contributor,
                b.manifest_cid,
                b.count,
                license_name,
                b.consent,
                b.expiry,
                revoked == b.count,
                b.count,
                revoked,
                len(changed) - revoked,
            )
        )
        rows += [
            ItemRow(
                f"batch:{batch_id}:{leaf}",
                b.contributor,
                "",
                0,
                license_name,
                v.consent,
                v.expiry,
                v.consent == 0,
            )
            for (batch_id, leaf), v in changed
        ]
    return rows
