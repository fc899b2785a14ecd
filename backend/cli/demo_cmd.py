"""`curation demo`: run the whole story and print it as tables (or one JSON line)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from backend.cli.common import console, emit_json, guarded
from backend.demo import DemoResult, run_demo
from backend.settings import load_settings
from curation.batches import item_ref

__all__ = ["register"]


def _wad_percent(wad: int) -> str:
    return f"{wad * 100 / 10**18:.2f}%"


def _print_tables(r: DemoResult) -> None:
    proposals = Table(
        "id", "proposal", "kind", "for", "against", "abstain", "supply", "outcome", title="Proposals"
    )
    for p in r.proposals:
        proposals.add_row(
            str(p["id"]),
            p["title"],
            p["kind"],
            str(p["for"]),
            str(p["against"]),
            str(p["abstain"]),
            str(p["supply"]),
            p["outcome"],
        )
    console.print(proposals)
    items = Table("item", "file", "contributor", "license", "consent", "weight / why excluded", title="Items")
    for item_id, (name, who, spdx, flags) in sorted(r.files.items()):
        if item_id in r.weights:
            outcome = _wad_percent(r.weights[item_id])
        elif item_id in r.exclusions:
            outcome = f"excluded: {r.exclusions[item_id]}"
        else:
            outcome = "not proposed / not accepted"
        items.add_row(item_ref(item_id), name, who, spdx, flags, outcome)
    console.print(items)
    for line in r.events:
        console.print(f"- {line}")
    release = Table("field", "value", title=f"Release {r.release} of dataset {r.dataset_id}")
    release.add_row("manifest CID", r.manifest_cid)
    release.add_row("manifest sha256", r.manifest_sha256)
    release.add_row("state block", str(r.state_block))
    release.add_row(
        "verified from chain logs",
        "yes, byte-identical" if r.verified else "NO: " + "; ".join(r.verify_differences),
    )
    release.add_row("relayed ballots counted / skipped", f"{r.relayed[0]} / {r.relayed[1]}")
    release.add_row("release files", r.release_dir)
    release.add_row("pulled (verified) to", f"{r.pull_dir} ({r.pulled} items)")
    release.add_row("samples (seed 2026)", " ".join(item_ref(i) for i in r.samples))
    console.print(release)
    console.print(f"fetch the manifest again with: curation ipfs get {r.manifest_cid} -o manifest.json")


@guarded
def demo(
    rpc: Annotated[
        str | None, typer.Option("--rpc", help="run against this EVM node instead of the embedded chain")
    ] = None,
    ipfs: Annotated[
        str | None, typer.Option("--ipfs", help="Kubo RPC URL instead of the embedded block store")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="state directory (default ~/.curation-commons)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="progress on stderr, one JSON line at the end")
    ] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="keep the API up on 127.0.0.1:8000 afterwards")
    ] = False,
) -> None:
    """Deploy, contribute, vote, revoke, finalize, index, weigh, release, verify, pull and sample."""
    settings = load_settings(rpc=rpc, ipfs=ipfs, home=home)
    log = (
        (lambda msg: typer.echo(msg, err=True))
        if as_json
        else (lambda msg: console.print(f"[dim]>[/dim] {msg}"))
    )
    result = run_demo(settings, settings.home / "demo", log)
    if as_json:
        emit_json(result.summary())
    else:
        _print_tables(result)
    if not result.verified:
        raise typer.Exit(1)
    if serve:
        from backend.demo_serve import serve_demo

        serve_demo(settings, result)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
