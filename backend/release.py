"""Build, publish, verify and fetch releases: index sync, fold, manifest, store, ReleaseRegistry anchor."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from backend.chain.accounts import Signer
from backend.chain.connection import connect
from backend.chain.decode import EventDecoder
from backend.chain.deployment import CONTRACTS, Deployment
from backend.chain.logs import RpcLogFetcher
from backend.chain.releases import ReleaseClient, ReleaseInfo
from backend.chain.rpc import RpcLimits
from backend.chain.voting import VotingClient
from backend.errors import ChainError, ConfigError, StoreError
from backend.index.indexer import DEFAULT_MAX_REORG_DEPTH, Indexer, SyncProgress
from backend.ipfs import ContentStore, ContentTooLarge, open_store
from backend.ipfs.limits import get_batch_manifest, get_manifest, get_manifest_part
from backend.settings import Settings
from curation.batches import build_batch_manifest, item_ref
from curation.blocks import BlockMismatch
from curation.canonical import sha256_hex
from curation.cid import CID
from curation.content import ContentCheck, ContentChecker, too_large_problem, unreadable_problem
from curation.errors import InvalidInput
from curation.exports import DEFAULT_GATEWAY, croissant, dataset_card
from curation.jsondiff import diff_documents
from curation.manifest import (
    DEFAULT_SCHEME,
    DEFAULT_SHARD_ITEMS,
    BuiltManifest,
    ChainContext,
    ParentRelease,
    build_manifest,
)
from curation.manifest_read import ManifestMismatch, load_manifest, load_part, part_file_name
from curation.merkle import Leaf, MerkleTree
from curation.report import build_report, render_markdown
from curation.selection import content_candidates, needed_batches
from curation.state import ChainState, ItemState, UnknownDataset, admit_batch, fold_events

__all__ = [
    "BatchUnavailable",
    "BuiltRelease",
    "ContentUnavailable",
    "FetchedManifest",
    "PublishedRelease",
    "ReleaseEnv",
    "StoredBatch",
    "UnknownRelease",
    "VerifyResult",
    "admit_accepted_batches",
    "admit_dataset_batches",
    "build_release",
    "check_dataset_content",
    "check_item_content",
    "fetch_manifest",
    "fold_state",
    "open_indexer",
    "prepare_dataset",
    "publish_release",
    "resolve_release",
    "store_batch_manifest",
    "verify_release",
]


class UnknownRelease(InvalidInput):
    """The dataset has no release with the requested number (or none at all)."""


@dataclass
class ReleaseEnv:
    """Where releases come from and go: chain, deployment record, content store and index database."""

    w3: Web3
    deployment: Deployment
    store: ContentStore
    db_url: str = "sqlite://"
    confirmations: int = 0
    gateway: str = DEFAULT_GATEWAY
    max_reorg_depth: int = DEFAULT_MAX_REORG_DEPTH
    progress: Callable[[SyncProgress], None] | None = None  # told about every batch an index sync stores
    #: operator limit on one batch manifest read (CURATION_MAX_BATCH_MANIFEST_BYTES; docs/storage.md)
    max_batch_manifest_bytes: int = Settings.model_fields["max_batch_manifest_bytes"].default

    @classmethod
    def from_settings(cls, settings: Settings) -> ReleaseEnv:
        if settings.rpc is None:
            raise ConfigError(
                "releases need --rpc URL (or CURATION_RPC): the embedded chain lives only inside one process; "
                "`curation demo` runs the whole story on it"
            )
        w3 = connect(settings.rpc, limits=RpcLimits.from_settings(settings))
        deployment = Deployment.load(settings.deployment_path)
        deployment.check_chain(w3)
        if settings.confirmations < 0:
            raise ConfigError(f"confirmations must be >= 0, got {settings.confirmations}")
        gateway = settings.ipfs_gateway or DEFAULT_GATEWAY
        return cls(
            w3,
            deployment,
            open_store(settings),
            settings.db_url,
            settings.confirmations,
            gateway,
            settings.max_reorg_depth,
            max_batch_manifest_bytes=settings.max_batch_manifest_bytes,
        )

    def releases(self) -> ReleaseClient:
        return ReleaseClient(self.w3, self.deployment.address("ReleaseRegistry"))


# --- batches ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredBatch:
    """A batch manifest put in the store: what `RegistryClient.submit_batch_root` needs."""

    cid: str
    root: bytes
    count: int
    data: bytes


def store_batch_manifest(store: ContentStore, leaves: Sequence[Leaf]) -> StoredBatch:
    """Write the batch manifest of `leaves` (curation.batches format) to the store and pin it."""
    data = build_batch_manifest(leaves)
    imported = store.put_bytes(data, pin=True)
    return StoredBatch(str(imported.cid), MerkleTree.from_leaves(leaves).root, len(leaves), data)


# --- index and fold ---------------------------------------------------------------------------------------


def open_indexer(env: ReleaseEnv, db_url: str | None = None) -> Indexer:
    """An indexer over all four contracts of the deployment (the token too: voting power comes from logs)."""
    addresses = [env.deployment.address(name) for name in CONTRACTS]
    fetcher = RpcLogFetcher.from_web3(env.w3, addresses)
    return Indexer(
        db_url or env.db_url,
        fetcher,
        addresses,
        env.deployment.deploy_block,
        env.confirmations,
        chain_id=env.deployment.chain_id,
        max_reorg_depth=env.max_reorg_depth,
    )


class BatchUnavailable(StoreError):
    """A batch that a dataset's accepted proposal includes has a manifest no store here can give."""


class ContentUnavailable(StoreError):
    """An item a release would weight has bytes no store here can give (so its claims cannot be checked)."""


def fold_state(env: ReleaseEnv, indexer: Indexer, block: int) -> ChainState:
    """Decode the indexed logs up to `block` and fold them (no content is read: batches stay headers)."""
    decoder = EventDecoder(env.deployment.contracts)
    return fold_events(decoder.decode_all(indexer.logs(block)), block)


def admit_dataset_batches(
    store: ContentStore,
    state: ChainState,
    dataset_id: int,
    *,
    max_bytes: int = ReleaseEnv.max_batch_manifest_bytes,
    only: int | None = None,
) -> None:
    """Read the manifests of the batches the dataset's accepted proposals include (and no other).

    A manifest that is not the batch's, malformed, or larger than the format allows for its leaf count marks
    the batch invalid (the same on every machine); one that no store here can give, or that is over the
    operator's `max_bytes`, stops the release with the batch, the proposal and the remedies.
    """
    for batch_id, proposal_id in needed_batches(state, dataset_id).items():
        if only is not None and batch_id != only:
            continue
        batch = state.batches[batch_id]
        cid = CID.parse(batch.manifest_cid)

        def load(raw: bytes, cid: CID = cid, count: int = batch.count) -> bytes:
            return get_batch_manifest(store, cid, count, max_bytes=max_bytes)

        try:
            admit_batch(state, batch_id, load)
        except StoreError as exc:
            raise BatchUnavailable(
                f"batch {batch_id}, included in dataset {dataset_id} by proposal {proposal_id}, has a manifest "
                f"({cid}) that cannot be read here: {exc}. A release is a pure function of chain logs and "
                "content verified by hash, so it waits for that manifest: add its bytes to the store "
                "(`curation ipfs add FILE`), point CURATION_IPFS at an IPFS node that has it, or have the "
                f"curators accept a REMOVE of batch {batch_id}"
            ) from None


def admit_accepted_batches(env: ReleaseEnv, state: ChainState) -> list[str]:
    """For reading (the API): admit every batch some dataset needs; return why any could not be read.

    Unlike a release, a read model must not stop when one batch is unreadable: that batch stays a header
    (its leaves are not listed) and the reason is returned for the log.
    """
    problems: list[str] = []
    for dataset_id in sorted(state.datasets):
        for batch_id in needed_batches(state, dataset_id):
            if state.batches[batch_id].loaded:
                continue
            try:
                admit_dataset_batches(
                    env.store, state, dataset_id, max_bytes=env.max_batch_manifest_bytes, only=batch_id
                )
            except BatchUnavailable as exc:
                problems.append(str(exc))
    return problems


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


def prepare_dataset(env: ReleaseEnv, state: ChainState, dataset_id: int, ctx: ChainContext) -> None:
    """Read what a release of the dataset needs beyond the logs: its batches, then its items' bytes."""
    state.dataset(dataset_id)
    admit_dataset_batches(env.store, state, dataset_id, max_bytes=env.max_batch_manifest_bytes)
    check_dataset_content(env.store, state, dataset_id, ctx.state_timestamp)


def _context(env: ReleaseEnv, block: int) -> ChainContext:
    header = env.w3.eth.get_block(block)
    return ChainContext(
        chain_id=env.deployment.chain_id,
        contracts={name: env.deployment.address(name).lower() for name in CONTRACTS},
        state_block=block,
        state_block_hash="0x" + bytes(header["hash"]).hex(),
        state_timestamp=int(header["timestamp"]),
    )


def _check_dataset(env: ReleaseEnv, dataset_id: int) -> None:
    count = VotingClient(env.w3, env.deployment.address("CurationVoting")).dataset_count()
    if isinstance(dataset_id, bool) or not isinstance(dataset_id, int) or not 1 <= dataset_id <= count:
        raise UnknownDataset(f"dataset {dataset_id} does not exist (datasets are numbered 1..{count})")


def resolve_release(
    env_or_client: ReleaseEnv | ReleaseClient, dataset_id: int, release: int | None
) -> ReleaseInfo:
    """Release `release` of the dataset (the latest when None); UnknownRelease when there is no such one."""
    client = env_or_client.releases() if isinstance(env_or_client, ReleaseEnv) else env_or_client
    count = client.release_count(dataset_id)
    if count == 0:
        raise UnknownRelease(f"dataset {dataset_id} has no release yet")
    number = count if release is None else release
    if not 1 <= number <= count:
        raise UnknownRelease(f"dataset {dataset_id} has releases 1..{count}; release {number} does not exist")
    return client.get_release(dataset_id, number)


def _parent(info: ReleaseInfo | None) -> ParentRelease | None:
    if info is None:
        return None
    return ParentRelease(info.number, info.manifest_cid, info.manifest_sha256.hex(), info.state_block)


# --- fetch (trainer side) ---------------------------------------------------------------------------------


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


def _fetch_checked(store: ContentStore, info: ReleaseInfo) -> bytes:
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


def _items_of(store: ContentStore, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
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
    w3: Web3, deployment: Deployment, store: ContentStore, dataset_id: int, release: int | None = None
) -> FetchedManifest:
    """Resolve a release on-chain, fetch its manifest (and parts) by CID, check the anchored sha256."""
    info = resolve_release(ReleaseClient(w3, deployment.address("ReleaseRegistry")), dataset_id, release)
    data = _fetch_checked(store, info)
    doc = load_manifest(data)
    return FetchedManifest(info, data, doc, _items_of(store, doc))


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
    env: ReleaseEnv, info: ReleaseInfo | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if info is None:
        return None, []
    doc = load_manifest(_fetch_checked(env.store, info))
    return doc, _items_of(env.store, doc)


def build_release(
    env: ReleaseEnv,
    dataset_id: int,
    params: Mapping[str, object] | None = None,
    *,
    scheme_id: str = DEFAULT_SCHEME,
    state_block: int | None = None,
    shard_items: int = DEFAULT_SHARD_ITEMS,
    parent: ReleaseInfo | bool | None = True,
) -> BuiltRelease:
    """Sync the index, fold the logs up to B (head minus confirmations, or `state_block`), build everything.

    `parent=True` links the dataset's latest anchored release; pass a ReleaseInfo or None to choose.
    """
    _check_dataset(env, dataset_id)
    indexer = open_indexer(env)
    try:
        indexer.sync(progress=env.progress)
        cursor = indexer.state_block()
        if cursor is None:
            raise ChainError("the index is empty: the deployment block is not confirmed yet")
        block = cursor.number if state_block is None else state_block
        if block > cursor.number:
            raise InvalidInput(f"state block {block} is beyond the confirmed head {cursor.number}")
        state = fold_state(env, indexer, block)
    finally:
        indexer.close()
    ctx = _context(env, block)
    prepare_dataset(env, state, dataset_id, ctx)
    if parent is True:
        client = env.releases()
        parent_info = client.latest_release(dataset_id) if client.release_count(dataset_id) else None
    else:
        parent_info = parent or None
    manifest = build_manifest(
        state,
        dataset_id,
        ctx,
        scheme_id=scheme_id,
        params=params,
        parent=_parent(parent_info),
        shard_items=shard_items,
    )
    parent_doc, parent_items = _parent_doc(env, parent_info)
    report = build_report(state, manifest, parent_doc, parent_items)
    return BuiltRelease(
        dataset_id,
        block,
        manifest,
        _parent(parent_info),
        report,
        render_markdown(report),
        croissant(
            manifest.doc,
            manifest.items,
            manifest.cid,
            manifest.sha256,
            gateway=env.gateway,
            parts=manifest.parts,
        ),
        dataset_card(manifest.doc, manifest.cid, manifest.sha256, gateway=env.gateway),
    )


# --- publish ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRelease:
    number: int
    dataset_id: int
    manifest_cid: str
    manifest_sha256: str
    state_block: int
    tx_hash: str
    #: CIDs of the stored, pinned companions: report_json, report_md, croissant, card (same bytes as the files).
    export_cids: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def report_cid(self) -> str:
        return self.export_cids["report_json"]


def _exports(built: BuiltRelease) -> dict[str, tuple[str, bytes]]:
    """The release's companions to the manifest: name -> (file name, bytes)."""
    return {
        "report_json": ("report.json", json.dumps(built.report, indent=2, sort_keys=True).encode() + b"\n"),
        "report_md": ("report.md", built.report_markdown.encode()),
        "croissant": ("croissant.json", json.dumps(built.croissant, indent=2).encode() + b"\n"),
        "card": ("README.md", built.card.encode()),
    }


def write_release_files(
    built: BuiltRelease, out_dir: Path, exports: dict[str, tuple[str, bytes]] | None = None
) -> dict[str, Path]:
    """manifest.json, parts, report.json, report.md, croissant.json and README.md under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"manifest": (out_dir / "manifest.json", built.manifest_bytes)}
    for name, (file_name, data) in (exports or _exports(built)).items():
        files[name] = (out_dir / file_name, data)
    for part in built.manifest.parts:
        files[f"part{part.index}"] = (out_dir / part_file_name(part.index), part.data)
    for path, data in files.values():
        path.write_bytes(data)
    return {name: path for name, (path, _) in files.items()}


def publish_release(
    env: ReleaseEnv, built: BuiltRelease, signer: Signer, out_dir: Path | None = None
) -> PublishedRelease:
    """Store the manifest, its parts, the report and the exports (pinned), then anchor the release.

    Everything is stored before the anchoring transaction, so a failed store leaves no anchor behind.
    Refuses when another release of the dataset was anchored after `built` was made (its parent link would
    be wrong): build again.
    """
    client = env.releases().with_signer(signer)
    count = client.release_count(built.dataset_id)
    expected = built.parent.number if built.parent else 0
    if count != expected:
        raise ConfigError(
            f"dataset {built.dataset_id} now has {count} releases, but this release was built on release "
            f"{expected}: build it again so that its parent link is right"
        )
    client.check_state_block(built.dataset_id, built.state_block)  # refuse before anything is stored
    for part in built.manifest.parts:
        if str(env.store.put_bytes(part.data, pin=True).cid) != part.cid:
            raise StoreError(f"the store gave manifest part {part.index} another CID than {part.cid}")
    stored = str(env.store.put_bytes(built.manifest_bytes, pin=True).cid)
    if stored != built.cid:
        raise StoreError(f"the store gave the manifest CID {stored}, expected {built.cid}")
    exports = _exports(built)
    export_cids = {name: str(env.store.put_bytes(data, pin=True).cid) for name, (_, data) in exports.items()}
    receipt = client.publish_release(
        built.dataset_id, built.cid, bytes.fromhex(built.sha256), built.state_block, built.scheme_id
    )
    number = int(receipt.event("ReleasePublished")["releaseNumber"])
    files = write_release_files(built, out_dir, exports) if out_dir is not None else {}
    return PublishedRelease(
        number,
        built.dataset_id,
        built.cid,
        built.sha256,
        built.state_block,
        receipt.tx_hash,
        export_cids,
        files,
    )


# --- verify -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """Whether the rebuilt manifest equals the anchored one; `differences` says what differs when not."""

    equal: bool
    differences: list[str]
    dataset_id: int
    release: int
    anchored_sha256: str
    rebuilt_sha256: str
    fetched_sha256: str | None
    state_block: int


def verify_release(
    env: ReleaseEnv,
    dataset_id: int,
    release: int | None = None,
    *,
    params: Mapping[str, object] | None = None,
    fresh_index: bool = True,
    shard_items: int | None = None,
) -> VerifyResult:
    """Rebuild release `release` (latest when None) from chain logs and the store; compare with the anchor.

    Parameters come from the fetched manifest when it matches its anchor (else `params`, else the scheme's
    defaults); `params` given explicitly win, so a verifier can check a release against the parameters it
    expects. `fresh_index` reads every log again into an in-memory index instead of the shared database.
    """
    _check_dataset(env, dataset_id)
    client = env.releases()
    info = resolve_release(client, dataset_id, release)
    anchored = info.manifest_sha256.hex()
    differences: list[str] = []
    fetched: bytes | None = None
    fetched_doc: dict[str, Any] | None = None
    try:
        fetched = get_manifest(env.store, info.manifest_cid)
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
    indexer = open_indexer(env, "sqlite://" if fresh_index else None)
    try:
        indexer.sync(progress=env.progress, to_block=info.state_block)
        cursor = indexer.state_block()
        if cursor is None or cursor.number < info.state_block:
            raise ChainError(
                f"release {info.number} was built at block {info.state_block}, which is not confirmed here yet"
            )
        state = fold_state(env, indexer, info.state_block)
    finally:
        indexer.close()
    ctx = _context(env, info.state_block)
    prepare_dataset(env, state, dataset_id, ctx)
    rebuilt = build_manifest(
        state,
        dataset_id,
        ctx,
        scheme_id=info.scheme_id,
        params=use_params,
        parent=_parent(parent),
        shard_items=shard_items,
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
                load_part(get_manifest_part(env.store, part.cid), fetched_doc["item_parts"][part.index])
            except (StoreError, ManifestMismatch) as exc:
                differences.append(f"manifest part {part.index}: {exc}")
    return VerifyResult(
        not differences,
        differences,
        dataset_id,
        info.number,
        anchored,
        rebuilt.sha256,
        fetched_sha,
        info.state_block,
    )
