"""Pull a release: verified manifest, items fetched in parallel with CID checks, resumable, then the report."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from backend.ipfs import ContentStore
from backend.ipfs.base import hash_file, write_atomically
from backend.ipfs.errors import ContentTooLarge
from backend.ipfs.limits import get_manifest_part
from backend.trainer.client import ConsentChange, TrainerClient
from backend.trainer.items import MANIFEST_FILE, TrainerError
from backend.trainer.report import build_pull_report, write_report
from curation.consent import format_consent
from curation.errors import CurationError
from curation.manifest_read import ManifestItem, parse_items, part_file_name

__all__ = [
    "ITEMS_DIR",
    "NOT_FETCHED",
    "FetchOutcome",
    "PullProgress",
    "PullResult",
    "fetch_items",
    "file_mode",
    "item_path",
    "pull",
    "verified_chunks",
    "verified_copy",
]

#: Items are stored as `<out>/items/<cid>`: content-addressed, so a resumed pull knows what it has.
ITEMS_DIR: Final = "items"
DEFAULT_WORKERS: Final = 4
#: Status of an item a manifest-only pull left for later.
NOT_FETCHED: Final = "not_fetched"


class PullProgress:
    """Hooks a caller overrides to show progress (the CLI draws a Rich bar); all are no-ops here."""

    def stage(self, message: str) -> None:
        """A step begins (resolving, checking consent, fetching, writing the report)."""

    def start(self, items: int, total_bytes: int) -> None:
        """The fetch of `items` items, `total_bytes` in all, begins."""

    def advance(self, item: ManifestItem, status: str) -> None:
        """One item is done: `fetched`, `already_present` or `failed`."""


def item_path(out_dir: Path, item: ManifestItem) -> Path:
    return out_dir / ITEMS_DIR / item.cid


def verified_copy(dest: Path, item: ManifestItem) -> bool:
    """The file is there with the item's size, CID and sha256 (a resumed pull, or a cache, trusts nothing
    else)."""
    try:
        if dest.stat().st_size != item.size:
            return False
    except OSError:
        return False
    digest = hash_file(dest)
    return str(digest.cid) == item.cid and digest.sha256.hex() == item.sha256


def file_mode() -> int:
    """The mode a new file gets here (0o666 less the umask, as `open` would give): a pulled file is read by
    whoever reads the directory, not only by its owner (the temp file it is renamed from is 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def verified_chunks(store: ContentStore, item: ManifestItem) -> Iterator[bytes | memoryview]:
    """The item's bytes as they arrive, every block verified against its CID by the store, nothing read past
    the item's declared size; after the last chunk, TrainerError unless the sha256 and size are the
    manifest's (so whoever consumes this keeps nothing until it has run to the end). The one verified read
    of an item: `pull` writes it to a file, `stream.StreamingDataset` serves it."""
    sha = hashlib.sha256()
    size = 0
    try:
        # Content whose UnixFS root declares more than the item's size is refused right after that root block.
        for chunk in store.iter_bytes(item.cid, max_bytes=item.size):
            sha.update(chunk)
            size += len(chunk)
            yield chunk
    except ContentTooLarge as exc:
        holds = f"holds {exc.declared} bytes" if exc.declared is not None else "holds more bytes"
        raise TrainerError(
            f"{item.ref} ({item.cid}) {holds}, more than its declared size of {item.size} bytes in the "
            f"manifest: refused without reading or writing past {item.size} bytes, and nothing was kept"
        ) from None
    # The CID holds; the manifest's sha256 and size must hold too.
    if size != item.size or sha.hexdigest() != item.sha256:
        raise TrainerError(
            f"{item.ref} ({item.cid}) has {size} bytes with sha256 {sha.hexdigest()}, the manifest "
            f"says {item.size} bytes with sha256 {item.sha256}"
        )


def _fetch_one(store: ContentStore, item: ManifestItem, dest: Path, mode: int = 0o644) -> str:
    if verified_copy(dest, item):
        return "already_present"
    write_atomically(verified_chunks(store, item), dest)  # renamed in only once every byte verified
    os.chmod(dest, mode)
    return "fetched"


@dataclass
class FetchOutcome:
    """What fetching a release's items did: a status per item id, and why each failure failed."""

    status: dict[int, str] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)


def fetch_items(
    store: ContentStore,
    items: Sequence[ManifestItem],
    out_dir: Path,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: PullProgress | None = None,
) -> FetchOutcome:
    """Fetch `items` into `out_dir/items/<cid>` with `workers` threads; an item already there and verified is
    skipped; each file is written to a temp file and renamed only once its bytes verified. Failures are
    collected (the others go on) and returned."""
    if workers < 1:
        raise TrainerError(f"workers must be at least 1, got {workers}")
    hooks = progress or PullProgress()
    (out_dir / ITEMS_DIR).mkdir(parents=True, exist_ok=True)
    hooks.start(len(items), sum(i.size for i in items))
    outcome = FetchOutcome()
    mode = file_mode()  # read before the threads start: the umask is process-wide
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull") as pool:
        futures = {pool.submit(_fetch_one, store, i, item_path(out_dir, i), mode): i for i in items}
        for future in as_completed(futures):
            item = futures[future]
            try:
                status = future.result()
            except CurationError as exc:
                outcome.failures[item.item_id] = str(exc)
                status = "failed"
            except OSError as exc:
                outcome.failures[item.item_id] = f"cannot write {exc.filename}: {exc.strerror}"
                status = "failed"
            outcome.status[item.item_id] = status
            hooks.advance(item, status)
    return outcome


@dataclass(frozen=True)
class PullResult:
    out_dir: Path
    dataset_id: int
    release: int
    manifest_cid: str
    manifest_sha256: str
    state_block: int
    head_block: int
    items: int
    fetched: int
    already_present: int
    excluded: dict[int, ConsentChange]
    removed: tuple[Path, ...]  # copies of excluded items deleted from an earlier pull
    report_json: Path
    report_md: Path
    manifest_only: bool = False
    not_fetched: int = 0  # items left for later (a manifest-only pull)

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "dataset_id": self.dataset_id,
            "release": self.release,
            "manifest_cid": self.manifest_cid,
            "manifest_sha256": self.manifest_sha256,
            "state_block": self.state_block,
            "consent_checked_at_block": self.head_block,
            "items": self.items,
            "fetched": self.fetched,
            "already_present": self.already_present,
            "manifest_only": self.manifest_only,
            "not_fetched": self.not_fetched,
            "excluded": [
                {"item_id": str(c.item_id), "reason": c.reason, "detail": c.detail}
                for c in self.excluded.values()
            ],
            "removed": [str(p) for p in self.removed],
            "report_json": str(self.report_json),
            "report_md": str(self.report_md),
        }


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def pull(
    client: TrainerClient,
    dataset: str | int,
    out_dir: Path,
    release: int | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: PullProgress | None = None,
    manifest_only: bool = False,
) -> PullResult:
    """Pull release `release` (the latest when None) of `dataset` (id or name) into `out_dir`.

    1. resolve the release on-chain, fetch the manifest (and its parts) by CID, check the anchored sha256;
    2. read consent at the chain head: items revoked, narrowed below the dataset's use or expired since the
       state block are excluded (not fetched; a copy from an earlier pull is deleted);
    3. fetch the other items in parallel, each verified against its CID, sha256 and size;
    4. write manifest.json (+ parts), pull-report.json and ATTRIBUTION.md.
    A failed item does not stop the others; the pull then raises TrainerError naming each failed item, and
    running it again fetches only what is missing.
    With `manifest_only`, step 3 is left out: no item's bytes are read or written (the report counts them as
    not fetched); a later pull into the same directory, or a `stream.StreamingDataset`, fetches them.
    """
    hooks = progress or PullProgress()
    hooks.stage("resolving the release on-chain")
    dataset_id = client.dataset_id(dataset)
    fetched = client.fetch(dataset_id, release)
    info = fetched.release
    items = parse_items(fetched.items)
    by_id = {i.item_id: i for i in items}
    use = int(fetched.doc.get("dataset", {}).get("use", 0))
    hooks.stage("checking consent at the chain head")
    head = client.head()
    excluded = client.consent_changes(items, info.state_block, use, head)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainerError(f"cannot create output directory {out_dir}: {exc.strerror}") from None
    if not out_dir.is_dir():
        raise TrainerError(f"{out_dir} is not a directory")
    removed: list[Path] = []
    for item_id in excluded:
        path = item_path(out_dir, by_id[item_id])
        if path.exists():
            path.unlink()
            removed.append(path)
    wanted = [i for i in items if i.item_id not in excluded]
    if manifest_only:
        outcome = FetchOutcome(status=dict.fromkeys((i.item_id for i in wanted), NOT_FETCHED))
    else:
        hooks.stage(f"fetching {len(wanted)} items")
        outcome = fetch_items(client.store, wanted, out_dir, workers=workers, progress=progress)
    if outcome.failures:
        shown = "; ".join(f"{by_id[k].ref}: {msg}" for k, msg in sorted(outcome.failures.items()))
        raise TrainerError(
            f"{len(outcome.failures)} of {len(wanted)} items could not be fetched and verified ({shown}); "
            "nothing unverified was written: run the pull again to resume"
        )
    hooks.stage("writing the manifest and the report")
    for index, part in enumerate(_parts(client, fetched.doc)):
        _write_atomic(out_dir / part_file_name(index), part)
    _write_atomic(out_dir / MANIFEST_FILE, fetched.data)
    ds = fetched.doc.get("dataset", {})
    report = build_pull_report(
        dataset={"id": dataset_id, "name": ds.get("name", ""), "use": use, "use_flags": format_consent(use)},
        release={
            "number": info.number,
            "manifest_cid": info.manifest_cid,
            "manifest_sha256": info.manifest_sha256.hex(),
            "state_block": info.state_block,
            "scheme_id": info.scheme_id,
        },
        head_block=head[0],
        items=items,
        excluded={
            k: {
                "ref": by_id[k].ref,
                "cid": by_id[k].cid,
                "reason": c.reason,
                "detail": c.detail,
                "block": c.block_number,
            }
            for k, c in excluded.items()
        },
        status=outcome.status,
        license_classes=client.license_classes(),
        attribution_required=_attribution_required(fetched.doc),
        items_dir=ITEMS_DIR,
    )
    json_path, md_path = write_report(out_dir, report)
    return PullResult(
        out_dir=out_dir,
        dataset_id=dataset_id,
        release=info.number,
        manifest_cid=info.manifest_cid,
        manifest_sha256=info.manifest_sha256.hex(),
        state_block=info.state_block,
        head_block=head[0],
        items=len(wanted),
        fetched=sum(1 for s in outcome.status.values() if s == "fetched"),
        already_present=sum(1 for s in outcome.status.values() if s == "already_present"),
        excluded=excluded,
        removed=tuple(removed),
        report_json=json_path,
        report_md=md_path,
        manifest_only=manifest_only,
        not_fetched=sum(1 for s in outcome.status.values() if s == NOT_FETCHED),
    )


def _parts(client: TrainerClient, doc: dict[str, Any]) -> list[bytes]:
    """The manifest's parts in order (already verified by fetch; read again from the store to write)."""
    return [get_manifest_part(client.store, str(entry["cid"])) for entry in doc.get("item_parts") or []]


def _attribution_required(doc: Mapping[str, Any]) -> dict[str, bool]:
    """Contributor -> whether the release says they must be credited (its manifest's attribution list)."""
    entries = doc.get("attribution")
    if not isinstance(entries, list):
        return {}
    return {
        e["contributor"]: e.get("attribution_required") is True
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("contributor"), str)
    }
