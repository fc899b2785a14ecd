"""Contributor commands: `curation register`, `contribute`, `consent`, `items` (and the options they share)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from backend.chain.accounts import Signer
from backend.chain.connection import connect
from backend.chain.deployment import Deployment
from backend.chain.registry import RegistryClient
from backend.cli.common import console, emit_json, guarded, pick_signer
from backend.config_file import load_settings
from backend.contribute import change_item_consent, change_leaf_consent, contribute, list_items
from backend.errors import ConfigError
from backend.ipfs import ContentStore, open_store
from backend.ipfs.base import check_source_file
from backend.settings import Settings
from curation.batches import split_item_id
from curation.consent import format_consent, parse_consent
from curation.errors import InvalidInput

__all__ = [
    "ConfigOpt",
    "DbOpt",
    "DeploymentOpt",
    "DevAccountOpt",
    "IpfsOpt",
    "JsonOpt",
    "KeystoreOpt",
    "RpcOpt",
    "Session",
    "progress_console",
    "register",
    "session",
    "settings_from",
]

# --- options every chain command shares (flag > CURATION_* env > config file > default) -------------------
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML config file (default: CURATION_CONFIG, else $CURATION_HOME/config.toml)"
    ),
]
RpcOpt = Annotated[str | None, typer.Option("--rpc", help="EVM JSON-RPC URL (CURATION_RPC)")]
IpfsOpt = Annotated[
    str | None, typer.Option("--ipfs", help="Kubo RPC API URL (CURATION_IPFS; default: embedded store)")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="index database URL (CURATION_DB)")]
DeploymentOpt = Annotated[
    Path | None, typer.Option("--deployment", help="deployment record (CURATION_DEPLOYMENT)")
]
KeystoreOpt = Annotated[
    Path | None,
    typer.Option("--keystore", help="encrypted keystore that signs (password: CURATION_PASSWORD)"),
]
DevAccountOpt = Annotated[
    int | None, typer.Option("--dev-account", help="index of an unlocked account of the node (default 0)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object for scripts")]


def progress_console() -> Console:
    """Progress bars go to stderr, so that stdout stays clean for `--json` and pipes."""
    return Console(stderr=True, highlight=False)


def settings_from(
    config: Path | None, rpc: str | None, ipfs: str | None, db: str | None, deployment: Path | None
) -> Settings:
    return load_settings(config, rpc=rpc, ipfs=ipfs, db=db, deployment=deployment)


@dataclass
class Session:
    """A connected deployment: web3, the record, the signer (if any) and the content store (if opened)."""

    w3: Any
    deployment: Deployment
    signer: Signer | None
    store: ContentStore | None
    settings: Settings

    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.address("ContentRegistry"), self.signer)

    def need_store(self) -> ContentStore:
        if self.store is None:
            raise ConfigError("this command needs the content store")
        return self.store


@contextmanager
def session(
    settings: Settings,
    *,
    keystore: Path | None = None,
    dev_account: int | None = None,
    signer: bool = True,
    store: bool = False,
) -> Iterator[Session]:
    """Connect to `settings.rpc`, load and check the deployment record, pick the signer, open the store."""
    if not settings.rpc or settings.rpc == "embedded":
        raise ConfigError(
            "this command needs --rpc URL (or CURATION_RPC): the embedded chain lives only inside one process; "
            "`curation demo` runs the whole story on it"
        )
    w3 = connect(settings.rpc)
    record = Deployment.load(settings.deployment_path)
    record.check_chain(w3)
    who = pick_signer(w3, keystore, dev_account) if signer else None
    content = open_store(settings) if store else None
    try:
        yield Session(w3, record, who, content, settings)
    finally:
        if content is not None:
            content.close()


# --- commands ---------------------------------------------------------------------------------------------


@guarded
def register_cmd(
    profile: Annotated[
        str, typer.Option("--profile", help="profile URI (e.g. ipfs://... or https://...)")
    ] = "",
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the signer as a contributor (once, before contributing)."""
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        registry = s.registry()
        assert s.signer is not None
        if registry.contributor_id(s.signer.address):
            raise ConfigError(
                f"{s.signer.address} is already registered as contributor {registry.contributor_id(s.signer.address)}"
            )
        receipt = registry.register(profile)
        cid = int(receipt.event("ContributorRegistered")["contributorId"])
    if as_json:
        emit_json({"address": s.signer.address, "contributor_id": cid, "tx": receipt.tx_hash})
    else:
        console.print(f"registered {s.signer.address} as contributor {cid}")


@guarded
def contribute_cmd(
    paths: Annotated[list[Path], typer.Argument(help="files to contribute")],
    license_: Annotated[str, typer.Option("--license", help="SPDX id on the allowlist, e.g. CC-BY-4.0")],
    consent: Annotated[
        str,
        typer.Option(
            "--consent", help="flags: train,commercial,generative,evaluation,redistribute,synthetic"
        ),
    ],
    expiry: Annotated[int, typer.Option("--expiry", help="consent ends at this unix time (0 = never)")] = 0,
    batch: Annotated[
        bool, typer.Option("--batch", help="submit one Merkle root for all files (batch manifest on IPFS)")
    ] = False,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    ipfs: IpfsOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add files to IPFS, then submit them as items (or as one batch) with a license and consent terms."""
    flags = parse_consent(consent)  # before connecting: a typo or a missing file must cost nothing
    for path in paths:
        check_source_file(path)
    settings = settings_from(config, rpc, ipfs, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account, store=True) as s:
        steps = len(paths) * 3 if not batch else len(paths) * 2 + 1
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=progress_console(),
            transient=True,
        ) as bar:
            task = bar.add_task("contributing", total=steps)

            def note(what: str, path: Path | None) -> None:
                bar.update(task, advance=1, description=f"{what} {path.name if path else ''}".strip())

            result = contribute(
                s.registry(),
                s.need_store(),
                paths,
                license_,
                int(flags),
                expiry=expiry,
                batch=batch,
                progress=note,
            )
    if as_json:
        emit_json(
            {
                "license": result.license,
                "consent": format_consent(result.consent),
                "batch_id": result.batch_id,
                "batch_manifest_cid": result.batch_manifest_cid,
                "items": [
                    {"path": str(f.path), "cid": f.cid, "item_id": str(f.item_id), "size": f.size}
                    for f in result.files
                ],
                "tx": list(result.tx_hashes),
            }
        )
        return
    table = Table(
        "file", "item", "CID", "bytes", title=f"{result.license}, consent {format_consent(result.consent)}"
    )
    for f in result.files:
        split = split_item_id(f.item_id)
        ref = f"item:{f.item_id}" if split is None else f"batch:{split[0]}:{split[1]}"
        table.add_row(str(f.path), ref, f.cid, str(f.size))
    console.print(table)
    if result.batch_id is not None:
        console.print(f"batch {result.batch_id}, manifest {result.batch_manifest_cid}")


def _item_target(
    item: str | None, batch: int | None, leaf: int | None
) -> tuple[int | None, tuple[int, int] | None]:
    """(item id, None) or (None, (batch, leaf)) from ITEM (`5`, `item:5`, `batch:3:7`) or --batch/--leaf."""
    if item is not None and (batch is not None or leaf is not None):
        raise InvalidInput("give either ITEM or --batch B --leaf L, not both")
    if item is None:
        if batch is None or leaf is None:
            raise InvalidInput("give ITEM (an item id) or both --batch B and --leaf L")
        return None, (batch, leaf)
    text = item.strip().lower()
    parts = text.split(":")
    if len(parts) == 1 and text.isdigit():
        return int(text), None
    if len(parts) == 2 and parts[0] == "item" and parts[1].isdigit():
        return int(parts[1]), None
    if len(parts) == 3 and parts[0] == "batch" and parts[1].isdigit() and parts[2].isdigit():
        return None, (int(parts[1]), int(parts[2]))
    raise InvalidInput(f"{item!r} is not an item id (5, item:5) or a batch leaf (batch:3:7)")


@guarded
def consent_cmd(
    item: Annotated[
        str | None, typer.Argument(help="item id (5 or item:5), or a batch leaf (batch:3:7)")
    ] = None,
    narrow: Annotated[
        str | None, typer.Option("--narrow", help="new consent flags (a subset of the current)")
    ] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="revoke consent for good")] = False,
    expiry: Annotated[
        int, typer.Option("--expiry", help="with --narrow: new expiry, unix time (0 = none)")
    ] = 0,
    batch: Annotated[int | None, typer.Option("--batch", help="batch id (with --leaf)")] = None,
    leaf: Annotated[int | None, typer.Option("--leaf", help="leaf index in the batch (from 0)")] = None,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    ipfs: IpfsOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Narrow or revoke the consent of one of your items or batch leaves (every later release honours it)."""
    if (narrow is None) == (not revoke):
        raise InvalidInput("give exactly one of --narrow FLAGS or --revoke")
    flags = None if revoke else int(parse_consent(narrow or ""))
    item_id, leaf_ref = _item_target(item, batch, leaf)
    settings = settings_from(config, rpc, ipfs, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account, store=leaf_ref is not None) as s:
        registry = s.registry()
        if item_id is not None:
            receipt = change_item_consent(registry, item_id, narrow=flags, expiry=expiry)
            ref = f"item:{item_id}"
        else:
            assert leaf_ref is not None
            receipt = change_leaf_consent(
                registry,
                s.need_store(),
                leaf_ref[0],
                leaf_ref[1],
                narrow=flags,
                expiry=expiry,
                from_block=s.deployment.deploy_block,
            )
            ref = f"batch:{leaf_ref[0]}:{leaf_ref[1]}"
    now = "revoked" if flags is None else format_consent(flags)
    if as_json:
        emit_json({"ref": ref, "consent": now, "expiry": expiry if flags else 0, "tx": receipt.tx_hash})
    else:
        console.print(f"{ref}: consent {now}" + (f" until {expiry}" if flags and expiry else ""))


@guarded
def items_cmd(
    mine: Annotated[bool, typer.Option("--mine", help="only the signer's items and batches")] = False,
    contributor: Annotated[str | None, typer.Option("--contributor", help="only this address's")] = None,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List items and batches with their consent now (yours with --mine)."""
    if mine and contributor:
        raise InvalidInput("give --mine or --contributor, not both")
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account, signer=mine) as s:
        who = s.signer.address if mine and s.signer else contributor
        rows = list_items(s.registry(), who, s.deployment.deploy_block)
    if as_json:
        emit_json(
            {
                "items": [
                    {
                        "ref": r.ref,
                        "contributor": r.contributor,
                        "cid": r.cid,
                        "size": str(r.size),
                        "license": r.license,
                        "consent": format_consent(r.consent),
                        "expiry": r.expiry,
                        "revoked": r.revoked,
                        "leaves": r.leaves,
                        "revoked_leaves": r.revoked_leaves,
                    }
                    for r in rows
                ]
            }
        )
        return
    table = Table("ref", "contributor", "CID", "bytes/leaves", "license", "consent")
    for r in rows:
        consent = "revoked" if r.revoked else format_consent(r.consent)
        if r.leaves:
            consent += f" ({r.revoked_leaves} of {r.leaves} leaves revoked)" if r.revoked_leaves else ""
        table.add_row(r.ref, r.contributor, r.cid, str(r.leaves or r.size), r.license, consent)
    console.print(table)


def _add(app: typer.Typer, name: str, fn: Any) -> None:
    if name not in {c.name for c in app.registered_commands}:  # idempotent, as ipfs_cmd.register
        app.command(name)(fn)


def register(app: typer.Typer) -> None:
    """Add the contributor commands to the main app."""
    _add(app, "register", register_cmd)
    _add(app, "contribute", contribute_cmd)
    _add(app, "consent", consent_cmd)
    _add(app, "items", items_cmd)
