"""Contributor commands: `curation register`, `contribute`, `consent`, `items`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from backend.cli.common import ChainOpts, add_commands, chain_command, console, guarded, progress_console
from backend.contribute import change_item_consent, change_leaf_consent, contribute, list_items
from backend.errors import ConfigError
from backend.ipfs.base import check_source_file
from curation.batches import item_ref, leaf_item_id, parse_item_ref, split_item_id
from curation.consent import format_consent, parse_consent
from curation.errors import InvalidInput
from curation.events import ContributorRegistered
from curation.jsonnum import big

__all__ = ["register"]


# --- commands ---------------------------------------------------------------------------------------------


@guarded
@chain_command(gasless=True)
def register_cmd(
    profile: Annotated[
        str, typer.Option("--profile", help="profile URI (e.g. ipfs://... or https://...)")
    ] = "",
    *,
    opts: ChainOpts,
) -> None:
    """Register the signer as a contributor (once, before contributing)."""
    with opts.session() as s:
        registry = s.registry()
        me = s.need_signer().address
        if registry.contributor_id(me):
            raise ConfigError(f"{me} is already registered as contributor {registry.contributor_id(me)}")
        receipt = registry.register(profile)
        cid = receipt.event(ContributorRegistered).contributor_id
    opts.emit(
        {"address": me, "contributor_id": cid, "tx": receipt.tx_hash}, f"registered {me} as contributor {cid}"
    )


@guarded
@chain_command(ipfs=True, gasless=True)
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
    *,
    opts: ChainOpts,
) -> None:
    """Add files to IPFS, then submit them as items (or as one batch) with a license and consent terms."""
    flags = parse_consent(consent)  # before connecting: a typo or a missing file must cost nothing
    for path in paths:
        check_source_file(path)
    with opts.session(store=True) as s:
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
    if opts.as_json:
        opts.emit(
            {
                "license": result.license,
                "consent": format_consent(result.consent),
                "batch_id": result.batch_id,
                "batch_manifest_cid": result.batch_manifest_cid,
                "items": [
                    {
                        "path": str(f.path),
                        "ref": item_ref(f.item_id),
                        "cid": f.cid,
                        "item_id": big(f.item_id),
                        "size": big(f.size),
                    }
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
        table.add_row(str(f.path), item_ref(f.item_id), f.cid, str(f.size))
    console.print(table)
    if result.batch_id is not None:
        console.print(f"batch {result.batch_id}, manifest {result.batch_manifest_cid}")


def _item_target(item: str | None, batch: int | None, leaf: int | None) -> int:
    """The item id that ITEM (`5`, `item:5`, `batch:3:7`) or --batch/--leaf name."""
    if item is not None and (batch is not None or leaf is not None):
        raise InvalidInput("give either ITEM or --batch B --leaf L, not both")
    if item is None:
        if batch is None or leaf is None:
            raise InvalidInput("give ITEM (an item id) or both --batch B and --leaf L")
        return leaf_item_id(batch, leaf)
    return parse_item_ref(item)


@guarded
@chain_command(ipfs=True, gasless=True)
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
    *,
    opts: ChainOpts,
) -> None:
    """Narrow or revoke the consent of one of your items or batch leaves (every later release honours it)."""
    if (narrow is None) == (not revoke):
        raise InvalidInput("give exactly one of --narrow FLAGS or --revoke")
    flags = None if revoke else int(parse_consent(narrow or ""))
    item_id = _item_target(item, batch, leaf)
    leaf_ref = split_item_id(item_id)
    with opts.session(store=leaf_ref is not None) as s:
        registry = s.registry()
        if leaf_ref is None:
            receipt = change_item_consent(registry, item_id, narrow=flags, expiry=expiry)
        else:
            receipt = change_leaf_consent(
                registry,
                s.need_store(),
                leaf_ref[0],
                leaf_ref[1],
                narrow=flags,
                expiry=expiry,
                from_block=s.deployment.deploy_block,
            )
    ref = item_ref(item_id)
    now = "revoked" if flags is None else format_consent(flags)
    opts.emit(
        {"ref": ref, "consent": now, "expiry": big(expiry if flags else 0), "tx": receipt.tx_hash},
        f"{ref}: consent {now}" + (f" until {expiry}" if flags and expiry else ""),
    )


@guarded
@chain_command()
def items_cmd(
    mine: Annotated[bool, typer.Option("--mine", help="only the signer's items and batches")] = False,
    contributor: Annotated[str | None, typer.Option("--contributor", help="only this address's")] = None,
    *,
    opts: ChainOpts,
) -> None:
    """List items and batches with their consent now (yours with --mine)."""
    if mine and contributor:
        raise InvalidInput("give --mine or --contributor, not both")
    with opts.session(signer=mine) as s:
        who = s.signer.address if mine and s.signer else contributor
        rows = list_items(s.registry(), who, s.deployment.deploy_block)
    if opts.as_json:
        opts.emit(
            {
                "items": [
                    {
                        "ref": r.ref,
                        "contributor": r.contributor,
                        "cid": r.cid,
                        "size": big(r.size),
                        "license": r.license,
                        "consent": format_consent(r.consent),
                        "expiry": big(r.expiry),
                        "revoked": r.revoked,
                        "leaves": r.leaves,
                        "revoked_leaves": r.revoked_leaves,
                        "narrowed_leaves": r.narrowed_leaves,
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
            changed = [f"{r.revoked_leaves} revoked"] if r.revoked_leaves else []
            changed += [f"{r.narrowed_leaves} narrowed"] if r.narrowed_leaves else []
            consent += f" ({', '.join(changed)} of {r.leaves} leaves)" if changed else ""
        size = "" if r.ref.count(":") == 2 else str(r.leaves or r.size)  # a leaf row: its batch has the size
        table.add_row(r.ref, r.contributor, r.cid, size, r.license, consent)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the contributor commands to the main app."""
    add_commands(
        app,
        {"register": register_cmd, "contribute": contribute_cmd, "consent": consent_cmd, "items": items_cmd},
    )
