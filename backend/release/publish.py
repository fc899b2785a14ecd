"""Publish a built release: store its parts, manifest and companions (pinned), anchor it, write the files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backend.chain.accounts import Signer
from backend.errors import ChainError, StoreError
from backend.release.build import BuiltRelease
from backend.session import Session
from curation.events import ReleasePublished
from curation.manifest_read import part_file_name

__all__ = [
    "PublishedRelease",
    "ReleaseRaceError",
    "publish_release",
    "release_exports",
    "write_release_files",
]


class ReleaseRaceError(ChainError):
    """Another release of the dataset was anchored after this one was built: its parent link would be wrong."""


@dataclass(frozen=True)
class PublishedRelease:
    number: int
    dataset_id: int
    manifest_cid: str
    manifest_sha256: str
    state_block: int
    tx_hash: str
    #: CIDs of the stored, pinned companions: report_json, report_md, croissant, card and parquet (the listing
    #: `parquet.json`, which names each Parquet file's CID); the same bytes as the files.
    export_cids: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def report_cid(self) -> str:
        return self.export_cids["report_json"]


def release_exports(built: BuiltRelease) -> dict[str, tuple[str, bytes]]:
    """The release's companions to the manifest: name -> (file name, bytes)."""
    return {
        "report_json": ("report.json", json.dumps(built.report, indent=2, sort_keys=True).encode() + b"\n"),
        "report_md": ("report.md", built.report_markdown.encode()),
        "croissant": ("croissant.json", json.dumps(built.croissant, indent=2).encode() + b"\n"),
        "card": ("README.md", built.card.encode()),
        "parquet": ("parquet.json", built.parquet.data),
    }


def write_release_files(
    built: BuiltRelease, out_dir: Path, exports: dict[str, tuple[str, bytes]] | None = None
) -> dict[str, Path]:
    """manifest.json, parts, report.json, report.md, croissant.json, README.md, parquet.json and the Parquet
    files under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"manifest": (out_dir / "manifest.json", built.manifest_bytes)}
    for name, (file_name, data) in (exports or release_exports(built)).items():
        files[name] = (out_dir / file_name, data)
    for part in built.manifest.parts:
        files[f"part{part.index}"] = (out_dir / part_file_name(part.index), part.data)
    for pq_file in built.parquet.files:
        key = "parquet_items" if pq_file.part is None else f"parquet_part{pq_file.part}"
        files[key] = (out_dir / pq_file.name, pq_file.data)
    for path, data in files.values():
        path.write_bytes(data)
    return {name: path for name, (path, _) in files.items()}


def publish_release(
    session: Session, built: BuiltRelease, signer: Signer | None = None, out_dir: Path | None = None
) -> PublishedRelease:
    """Store the manifest, its parts, the report, the exports and the Parquet files (pinned), then anchor.

    `signer` publishes (default: the session's). Everything is stored before the anchoring transaction, so a
    failed store leaves no anchor behind. ReleaseRaceError when another release of the dataset was anchored
    after `built` was made (its parent link would be wrong): build again.
    """
    store = session.need_store()
    client = session.releases().with_signer(signer or session.need_signer())
    count = client.release_count(built.dataset_id)
    expected = built.parent.number if built.parent else 0
    if count != expected:
        raise ReleaseRaceError(
            f"dataset {built.dataset_id} now has {count} releases, but this release was built on release "
            f"{expected}: build it again so that its parent link is right"
        )
    client.check_state_block(built.dataset_id, built.state_block)  # refuse before anything is stored
    for part in built.manifest.parts:
        if str(store.put_bytes(part.data, pin=True).cid) != part.cid:
            raise StoreError(f"the store gave manifest part {part.index} another CID than {part.cid}")
    stored = str(store.put_bytes(built.manifest_bytes, pin=True).cid)
    if stored != built.cid:
        raise StoreError(f"the store gave the manifest CID {stored}, expected {built.cid}")
    for pq_file in built.parquet.files:  # before their listing, which names them
        if str(store.put_bytes(pq_file.data, pin=True).cid) != pq_file.cid:
            raise StoreError(f"the store gave Parquet file {pq_file.name} another CID than {pq_file.cid}")
    exports = release_exports(built)
    export_cids = {name: str(store.put_bytes(data, pin=True).cid) for name, (_, data) in exports.items()}
    receipt = client.publish_release(
        built.dataset_id, built.cid, bytes.fromhex(built.sha256), built.state_block, built.scheme_id
    )
    number = receipt.event(ReleasePublished).release_number
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
