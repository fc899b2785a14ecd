"""Trainer commands: `curation pull` (verified, parallel, resumable) and `curation sample` (sharded, resumable)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)

from backend.cli.common import ChainOpts, add_commands, chain_command, console, guarded, progress_console
from backend.errors import ConfigError
from backend.trainer import PullProgress, ShardedSampler, TrainerClient, pull
from backend.trainer.catalog import ItemCatalog
from backend.trainer.sampling import SkipExcluded, read_exclusions
from curation import safejson
from curation.batches import item_ref
from curation.errors import InvalidInput
from curation.manifest_read import ManifestItem

__all__ = ["MAX_SAMPLER_STATE_BYTES", "register"]

#: Largest sampler state file `sample --state` reads back: a few numbers per worker, so 1 MiB is thousands
#: of workers.
MAX_SAMPLER_STATE_BYTES: Final = 1024 * 1024


class _RichProgress(PullProgress):
    """Pull progress as two Rich bars on stderr: items and bytes."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.items: TaskID | None = None
        self.bytes: TaskID | None = None

    def stage(self, message: str) -> None:
        self.bar.console.print(f"[dim]{message}[/dim]")

    def start(self, items: int, total_bytes: int) -> None:
        self.items = self.bar.add_task("items", total=items)
        self.bytes = self.bar.add_task("bytes", total=total_bytes)

    def advance(self, item: ManifestItem, status: str) -> None:
        if self.items is not None and self.bytes is not None:
            self.bar.advance(self.items)
            self.bar.advance(self.bytes, item.size)


@guarded
@chain_command(ipfs=True, signer=False)
def pull_cmd(
    dataset: Annotated[str, typer.Argument(help="dataset id or exact name")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory (created; a rerun resumes)")],
    release: Annotated[
        int | None, typer.Option("--release", help="release number (default: the latest)")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="parallel fetches")] = 4,
    manifest_only: Annotated[
        bool,
        typer.Option(
            "--manifest-only",
            help="verify and write the manifest, its parts and the report; fetch no item (stream them later)",
        ),
    ] = False,
    *,
    opts: ChainOpts,
) -> None:
    """Pull a release: check the manifest against its on-chain anchor, fetch every item verified by CID,
    leave out items whose consent was revoked since, and write a license and attribution report."""
    with (
        TrainerClient.from_settings(opts.settings()) as client,
        Progress(
            TextColumn("{task.description:>6}"),
            BarColumn(),
            MofNCompleteColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=progress_console(),
            transient=True,
            disable=opts.as_json,
        ) as bar,
    ):
        result = pull(
            client,
            dataset,
            out,
            release,
            workers=workers,
            progress=_RichProgress(bar),
            manifest_only=manifest_only,
        )
    if opts.as_json:
        opts.emit(result.to_json())
        return
    console.print(
        f"dataset {result.dataset_id} release {result.release}: manifest {result.manifest_cid} "
        f"(sha256 matches the on-chain anchor), state block {result.state_block}"
    )
    if result.manifest_only:
        console.print(
            f"manifest only: {result.items} items listed in {result.out_dir}, none fetched (no item bytes were "
            "read or written)"
        )
        console.print(
            f"fetch them later with `curation pull {result.dataset_id} --release {result.release} -o "
            f"{result.out_dir}`, or stream them verified while training (backend.trainer.stream."
            "StreamingDataset); `curation sample` works on this directory now"
        )
    else:
        console.print(
            f"{result.items} items in {result.out_dir}: fetched {result.fetched}, "
            f"already present {result.already_present}"
        )
    if result.excluded:
        console.print(
            f"[bold]excluded {len(result.excluded)} items whose consent changed after block "
            f"{result.state_block}[/bold] (checked at block {result.head_block}):"
        )
        for change in result.excluded.values():
            console.print(f"  item {change.item_id}: {change.reason} ({change.detail})")
    for path in result.removed:
        console.print(f"  deleted {path} (from an earlier pull)")
    console.print(f"licenses and attribution: {result.report_md} and {result.report_json}")


def _read_state(path: Path) -> dict[str, object] | None:
    if not path.exists():
        return None
    try:
        state = safejson.load_path(path, max_bytes=MAX_SAMPLER_STATE_BYTES, what="the file")
    except (OSError, ValueError) as exc:  # JsonRejected is a ValueError
        raise ConfigError(f"sampler state {path} is not readable JSON: {exc}") from None
    if not isinstance(state, dict):
        raise ConfigError(f"sampler state {path} is not a JSON object")
    return state


@guarded
def sample_cmd(
    manifest: Annotated[
        Path, typer.Option("--manifest", help="manifest.json of a pull (or the pull directory)")
    ],
    seed: Annotated[int, typer.Option("--seed", min=0, help="sampling seed")],
    count: Annotated[int, typer.Option("--count", min=0, help="number of global samples N")],
    workers: Annotated[int, typer.Option("--workers", min=1, help="data-loader workers per rank")] = 1,
    rank: Annotated[int, typer.Option("--rank", min=0, help="this process's rank")] = 0,
    world_size: Annotated[int, typer.Option("--world-size", min=1, help="number of ranks K")] = 1,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="resume from this state file if it exists; save the position to it"),
    ] = None,
    take: Annotated[int | None, typer.Option("--take", min=0, help="stop after this many samples")] = None,
    ids: Annotated[
        bool,
        typer.Option("--ids", help="print item ids as decimal numbers instead of refs (item:5, batch:3:7)"),
    ] = False,
) -> None:
    """Print the sampled items, one per line (`item:5`, `batch:3:7`; `--ids`: the decimal ids): this rank's
    share of the N global samples, in global order.

    The sequence depends only on the manifest, the seed and N: the K ranks together print exactly the
    items of the one-rank run, whatever the number of workers.
    """
    if rank >= world_size:
        raise InvalidInput(f"--rank {rank} must be below --world-size {world_size}")
    # Ids and weights in numpy arrays (24 bytes per item): a manifest of millions of items samples in
    # bounded memory.
    local = ItemCatalog.open(manifest)
    if not len(local):
        raise InvalidInput(f"manifest {local.path} lists no items: nothing to sample")
    # In a pull directory, items whose consent changed after the release were excluded by `pull`: their
    # samples are skipped (the same k on every rank, so the ranks still partition the one-rank run).
    skip = SkipExcluded(read_exclusions(local.path.parent))
    sampler = ShardedSampler.for_manifest(
        local, seed=seed, count=count, world_size=world_size, rank=rank, num_workers=workers
    )
    saved = _read_state(state) if state is not None else None
    if saved is not None:
        sampler.load_state_dict(saved)
    out: list[str] = []
    if take != 0:
        for _k, _row, item_id in skip.rows(sampler, limit=take):
            out.append(str(item_id) if ids else item_ref(item_id))
    if out:
        typer.echo("\n".join(out))
    skipped = skip.skipped
    if skipped:
        typer.echo(
            f"note: skipped {skipped} sample(s) of items excluded since the release "
            f"(consent revoked, narrowed or expired; see {local.path.parent / 'pull-report.json'})",
            err=True,
        )
    if state is not None:
        tmp = state.with_name(f".{state.name}.part")
        tmp.write_text(json.dumps(sampler.state_dict(), sort_keys=True) + "\n")
        os.replace(tmp, state)


def register(app: typer.Typer) -> None:
    """Add the trainer commands to the main app (`verify` belongs to the release commands)."""
    add_commands(app, {"pull": pull_cmd, "sample": sample_cmd})
