"""`curation index [--follow]`: sync the raw-log index of the deployment, with a progress bar on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.chain.logs import Verify
from backend.cli.common import console, guarded, sync_progress
from backend.errors import ConfigError
from backend.index import DEFAULT_MAX_RANGE, Indexer, SyncResult, open_indexer
from backend.session import open_session
from backend.settings import load_settings

__all__ = ["register"]


def _summary(result: SyncResult) -> str:
    parts = [f"{result.logs_added} logs added in {result.batches} batches"]
    if result.reorgs:
        deepest = max(r.depth for r in result.reorgs)
        parts.append(
            f"{len(result.reorgs)} reorgs rolled back (deepest {deepest} blocks, {result.logs_removed} logs removed)"
        )
    where = (
        "nothing indexed yet"
        if result.cursor_block is None
        else f"index complete to block {result.cursor_block}"
    )
    return f"{where} (head {result.head}): " + ", ".join(parts)


@guarded
def index(
    follow: Annotated[
        bool, typer.Option("--follow", help="keep syncing new blocks until interrupted")
    ] = False,
    rpc: Annotated[str | None, typer.Option("--rpc", help="EVM JSON-RPC URL (default: CURATION_RPC)")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="database URL (default: sqlite file in home)")
    ] = None,
    deployment: Annotated[Path | None, typer.Option("--deployment", help="deployment record JSON")] = None,
    confirmations: Annotated[
        int | None, typer.Option("--confirmations", min=0, help="blocks a block must be buried under")
    ] = None,
    max_range: Annotated[
        int, typer.Option("--max-range", min=1, help="most blocks per eth_getLogs")
    ] = DEFAULT_MAX_RANGE,
    verify: Annotated[
        str, typer.Option("--verify", help="answer checks: bloom (default), receipts (exact) or none")
    ] = "bloom",
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.1, help="seconds between polls")
    ] = 2.0,
) -> None:
    """Store every log of the deployment's contracts up to the confirmed head; roll back reorgs."""
    settings = load_settings(rpc=rpc, db=db, deployment=deployment, confirmations=confirmations)
    if verify not in ("bloom", "receipts", "none"):
        raise ConfigError(f"--verify must be bloom, receipts or none, not {verify!r}")
    checked: Verify = verify  # type: ignore[assignment]  # validated just above
    with open_session(settings, signer=False, needs_rpc_for="`curation index`") as session:
        indexer = open_indexer(session, verify=checked, max_range=max_range)
        try:
            _run(indexer, follow, poll_interval)
        finally:
            indexer.close()


def _run(indexer: Indexer, follow: bool, poll_interval: float) -> None:
    with sync_progress() as show:
        if not follow:
            console.print(_summary(indexer.sync(progress=show)))
            return

        def report(result: SyncResult) -> None:
            if result.logs_added or result.reorgs:
                console.print(_summary(result))

        try:
            indexer.follow(poll_interval, progress=show, on_sync=report)
        except KeyboardInterrupt:
            state = indexer.state_block()
            console.print(f"stopped; index complete to block {state.number if state else 'none'}")


def register(app: typer.Typer) -> None:
    """Add the `index` command to the `curation` app."""
    app.command("index")(index)
