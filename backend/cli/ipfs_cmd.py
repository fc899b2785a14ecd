"""CLI commands for content: `curation cid` and `curation ipfs add|get|cat|pin|gc|car`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from backend.cli.common import guarded
from backend.ipfs import ContentStore, open_store
from backend.ipfs.base import check_source_file
from backend.settings import load_settings
from curation.errors import InvalidInput
from curation.unixfs import compute_cid

__all__ = ["ipfs_app", "register"]


ipfs_app = typer.Typer(
    name="ipfs",
    help="Store and fetch content (embedded block store by default, or a Kubo RPC node with --ipfs).",
    no_args_is_help=True,
)
pin_app = typer.Typer(name="pin", help="Pin, unpin and list pinned roots.", no_args_is_help=True)
car_app = typer.Typer(name="car", help="Export and import CARv1 archives (as `ipfs dag export/import`).")
ipfs_app.add_typer(pin_app)
ipfs_app.add_typer(car_app)

CidVersion = Annotated[
    int,
    typer.Option("--cid-version", min=0, max=1, help="1: base32 CIDv1, raw leaves; 0: Qm..."),
]
MaxBytes = Annotated[
    int | None,
    typer.Option(
        "--max-bytes",
        min=0,
        help="Refuse a file larger than this many bytes (checked against the size its root declares, "
        "before reading further). Default: no limit.",
    ),
]


@ipfs_app.callback()
def _options(
    ctx: typer.Context,
    ipfs: Annotated[
        str | None,
        typer.Option(
            "--ipfs", metavar="URL", help="Kubo RPC API URL (default: CURATION_IPFS, else embedded)."
        ),
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data directory of the embedded store (CURATION_HOME).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.001, help="Seconds before an IPFS call fails.")
    ] = None,
) -> None:
    # The flags only: settings are loaded (flag > CURATION_* > config file > default) inside each command,
    # where a configuration error becomes one `error:` line.
    ctx.obj = {"ipfs": ipfs, "home": home, "ipfs_timeout": timeout}


@contextmanager
def _store(ctx: typer.Context) -> Iterator[ContentStore]:
    flags: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    store = open_store(load_settings(**flags))
    try:
        yield store
    finally:
        store.close()


@guarded
def cid_command(
    path: Annotated[Path, typer.Argument(help="File to hash ('-' reads standard input).")],
    cid_version: CidVersion = 1,
) -> None:
    """Print the CID `ipfs add --only-hash` prints for a file (nothing is stored)."""
    if str(path) == "-":
        result = compute_cid(sys.stdin.buffer, cid_version=cid_version)
    else:
        with open(check_source_file(path), "rb") as fh:
            result = compute_cid(fh, cid_version=cid_version)
    typer.echo(str(result.cid))


@ipfs_app.command("add")
@guarded
def add_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File to store.")],
    cid_version: CidVersion = 1,
    pin: Annotated[bool, typer.Option("--pin/--no-pin", help="Pin the root (default: pin).")] = True,
) -> None:
    """Store a file and print its CID."""
    with _store(ctx) as store:
        result = store.put_file(path, pin=pin, cid_version=cid_version)
    typer.echo(str(result.cid))


@ipfs_app.command("get")
@guarded
def get_command(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of the file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the file.")],
    max_bytes: MaxBytes = None,
) -> None:
    """Fetch a file, verifying every block against its CID, and write it to OUTPUT."""
    with _store(ctx) as store:
        size = store.get_file(cid, output, max_bytes=max_bytes)
    typer.echo(f"{output}: {size} bytes, verified against {cid}", err=True)


@ipfs_app.command("cat")
@guarded
def cat_command(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="CID of the file.")],
    max_bytes: MaxBytes = None,
) -> None:
    """Write a verified file to standard output."""
    out = sys.stdout.buffer
    with _store(ctx) as store:
        for chunk in store.iter_bytes(cid, max_bytes=max_bytes):
            out.write(chunk)
    out.flush()


@pin_app.command("add")
@guarded
def pin_add(ctx: typer.Context, cid: Annotated[str, typer.Argument()]) -> None:
    """Pin a DAG (all its blocks must be available)."""
    _with_store(ctx, lambda s: s.pin(cid))


@pin_app.command("rm")
@guarded
def pin_rm(ctx: typer.Context, cid: Annotated[str, typer.Argument()]) -> None:
    """Remove a pin; the blocks go at the next `curation ipfs gc`."""
    _with_store(ctx, lambda s: s.unpin(cid))


@pin_app.command("ls")
@guarded
def pin_ls(ctx: typer.Context) -> None:
    """List pinned roots."""
    for cid in _with_store(ctx, lambda s: s.pins()):
        typer.echo(str(cid))


@ipfs_app.command("gc")
@guarded
def gc_command(ctx: typer.Context) -> None:
    """Remove every block that no pin reaches."""
    removed = _with_store(ctx, lambda s: s.gc())
    typer.echo(f"removed {removed} blocks")


@car_app.command("export")
@guarded
def car_export(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("-o", "--output", help="CAR file to write.")],
) -> None:
    """Write the DAG under CID as a CARv1 file."""
    if output.is_dir():
        raise InvalidInput(f"{output} is a directory; give a file path to write to")
    tmp = output.with_name(f".{output.name}.part")
    try:
        with _store(ctx) as store, open(tmp, "wb") as fh:
            size = store.export_car(cid, fh)
        os.replace(tmp, output)  # a failed export leaves no partial CAR behind
    finally:
        tmp.unlink(missing_ok=True)
    typer.echo(f"{output}: {size} bytes", err=True)


@car_app.command("import")
@guarded
def car_import(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="CAR file.")]) -> None:
    """Import a CARv1 file (every block verified) and pin its roots."""
    with _store(ctx) as store, open(check_source_file(path), "rb") as fh:
        roots = [str(c) for c in store.import_car(fh)]
    for root in roots:
        typer.echo(root)


def _with_store(ctx: typer.Context, fn: Callable[[ContentStore], Any]) -> Any:
    with _store(ctx) as store:
        return fn(store)


def register(app: typer.Typer) -> None:
    """Add `cid` and the `ipfs` group to the main app (idempotent)."""
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    if "cid" not in names:
        app.command("cid")(cid_command)
    if "ipfs" not in names:
        app.add_typer(ipfs_app)
