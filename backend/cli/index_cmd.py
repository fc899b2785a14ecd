"""`curation index [--follow]`: sync the raw-log index of the deployment, with a progress bar on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.chain.connection import connect
from backend.chain.deployment import Deployment
from backend.chain.logs import RpcLogFetcher, Verify
from backend.chain.rpc import RpcLimits
from backend.cli.common import console, guarded, load_settings, sync_progress
from backend.errors import ConfigError
from backend.index import Indexer, SyncResult

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
    max_range: Annotated[int, typer.Option("--max-range", min=1, help="most blocks per eth_getLogs")] = 2000,
    verify: Annotated[
        str, typer.Option("--verify", help="answer checks: bloom (default), receipts (exact) or none")
    ] = "bloom",
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.1, help="seconds between polls")
    ] = 2.0,
) -> None:
    """Store every log of the deployment's contracts up to the confirmed head; roll back reorgs."""
    settings = load_settings(rpc=rpc, db=db, deployment=deployment, confirmations=confirmations)
    if settings.rpc is None:
        raise ConfigError(
            "index needs --rpc URL (or CURATION_RPC): the embedded chain lives only inside one process"
        )
    if verify not in ("bloom", "receipts", "none"):
        raise ConfigError(f"--verify must be bloom, receipts or none, not {verify!r}")
    record = Deployment.load(settings.deployment_path)
    w3 = connect(settings.rpc, limits=RpcLimits.from_settings(settings))
    record.check_chain(w3)
    addresses = list(record.contracts.values())
    checked: Verify = verify  # type: ignore[assignment]  # validated just above
    fetcher = RpcLogFetcher.from_web3(w3, addresses, verify=checked)
    indexer = Indexer(
        settings.db_url,
        fetcher,
        addresses,
        record.deploy_block,
        confirmations=settings.confirmations,
        max_range=max_range,
        chain_id=record.chain_id,
        max_reorg_depth=settings.max_reorg_depth,
    )
    try:
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
    finally:
        indexer.close()
        fetcher.close()


def register(app: typer.Typer) -> None:
    """Add the `index` command to the `curation` app."""
    app.command("index")(index)
