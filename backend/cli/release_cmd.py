"""`curation release DATASET` and `curation verify DATASET`: publish and check anchored releases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.common import (
    DevAccountOpt,
    JsonOpt,
    KeystoreOpt,
    RpcOpt,
    console,
    emit_json,
    guarded,
    password_from_env_or_prompt,
    say_signer,
    signer_choice,
    sync_progress,
)
from backend.release import build_release, publish_release, verify_release
from backend.release.verify import VerifyResult
from backend.session import open_session, pick_signer, require_rpc
from backend.settings import load_settings
from curation.errors import InvalidInput
from curation.manifest import DEFAULT_SCHEME, DEFAULT_SHARD_ITEMS

__all__ = ["parquet_source", "parse_params", "register"]

ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="scheme parameter NAME=VALUE (repeatable; `null` turns a cap off)"),
]


def parse_params(values: list[str] | None) -> dict[str, object] | None:
    """`["alpha=0.5", "contributor_cap=null"]` -> {"alpha": "0.5", "contributor_cap": None}."""
    if not values:
        return None
    out: dict[str, object] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param takes NAME=VALUE, got {value!r}")
        text = raw.strip()
        out[name.strip()] = None if text.lower() in ("null", "none", "") else text
    return out


@guarded
def release(
    dataset: Annotated[int, typer.Argument(help="dataset id")],
    param: ParamOpt = None,
    scheme: Annotated[str, typer.Option("--scheme", help="weight scheme id")] = DEFAULT_SCHEME,
    shard_items: Annotated[
        int, typer.Option("--shard-items", help="items per manifest part when the list is longer")
    ] = DEFAULT_SHARD_ITEMS,
    out: Annotated[
        Path | None, typer.Option("--out", help="directory for manifest, report and exports")
    ] = None,
    rpc: RpcOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync, build the manifest at head minus confirmations, store it, anchor it, write the report."""
    settings = load_settings(rpc=rpc, keystore=keystore, dev_account=dev_account)
    require_rpc(settings, "`curation release`")
    keystore, dev_account = signer_choice(
        settings, keystore, dev_account
    )  # before any work: without a signer nothing is built
    with open_session(settings, signer=False, store=True, needs_rpc_for="`curation release`") as session:
        with sync_progress() as show:
            built = build_release(
                session,
                dataset,
                parse_params(param),
                scheme_id=scheme,
                shard_items=shard_items,
                progress=show,
            )
        signer = pick_signer(session.w3, keystore, dev_account, password_from_env_or_prompt)
        say_signer(signer.address, keystore, dev_account)
        target = out or settings.home / "releases" / f"dataset-{dataset}" / f"block-{built.state_block}"
        published = publish_release(session, built, signer, out_dir=target)
    summary = {
        "dataset": dataset,
        "release": published.number,
        "manifest_cid": published.manifest_cid,
        "manifest_sha256": published.manifest_sha256,
        "state_block": published.state_block,
        "items": built.manifest.doc["totals"]["items"],
        "excluded": built.manifest.doc["totals"]["excluded"],
        "report_cid": published.report_cid,
        "export_cids": published.export_cids,
        "tx": published.tx_hash,
        "files": {name: str(path) for name, path in published.files.items()},
    }
    if as_json:
        emit_json(summary)
        return
    console.print(
        f"release {published.number} of dataset {dataset}: {summary['items']} items "
        f"({summary['excluded']} excluded) at block {published.state_block}"
    )
    console.print(f"manifest {published.manifest_cid}  sha256 {published.manifest_sha256}")
    console.print(f"report: {published.files.get('report_md')}")
    for name, cid in published.export_cids.items():
        console.print(f"  {name:<12} {cid}")


def verify(
    dataset: Annotated[int, typer.Argument(help="dataset id")],
    release_number: Annotated[
        int | None, typer.Option("--release", help="release number (default: latest)")
    ] = None,
    param: ParamOpt = None,
    use_index: Annotated[
        bool,
        typer.Option("--use-index", help="read logs from the shared index instead of a fresh in-memory one"),
    ] = False,
    parquet: Annotated[
        str | None,
        typer.Option(
            "--parquet",
            help="also check the Parquet files listed by this parquet.json (a file path, or its CID in the store)",
        ),
    ] = None,
    rpc: RpcOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild a release from chain logs and the store; exit 0 when it equals the anchored sha256, else 1.

    With --parquet, the Parquet files are checked too (apart: they are outside the anchored digest); any
    difference there also exits 1.
    """
    result = _verify(dataset, release_number, param, use_index, rpc, parquet_source(parquet))
    checked = result.parquet
    if as_json:
        emit_json(
            {
                "equal": result.equal,
                "differences": result.differences,
                "dataset": result.dataset_id,
                "release": result.release,
                "anchored_sha256": result.anchored_sha256,
                "rebuilt_sha256": result.rebuilt_sha256,
                "fetched_sha256": result.fetched_sha256,
                "state_block": result.state_block,
                "parquet": None
                if checked is None
                else {
                    "equal": checked.equal,
                    "differences": checked.differences,
                    "files": checked.files,
                    "rows": checked.rows,
                },
            }
        )
    elif result.equal:
        typer.echo(
            f"release {result.release} of dataset {result.dataset_id} verified: the manifest rebuilt from chain "
            f"logs up to block {result.state_block} has the anchored sha256 {result.anchored_sha256}"
        )
    else:
        typer.echo(f"release {result.release} of dataset {result.dataset_id} does NOT verify:")
        for line in result.differences:
            typer.echo(f"  - {line}")
    if checked is not None and not as_json:
        if checked.equal:
            typer.echo(
                f"Parquet files verified: {checked.files} files, {checked.rows} rows equal the canonical rows"
            )
        else:
            typer.echo("the Parquet files do NOT verify (the canonical verdict above stands apart):")
            for line in checked.differences:
                typer.echo(f"  - {line}")
    if not result.equal or (checked is not None and not checked.equal):
        raise typer.Exit(1)


def parquet_source(value: str | None) -> Path | str | None:
    """`--parquet`: an existing file is read from disk; anything else is taken as the listing's CID."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.exists() else value


@guarded
def _verify(
    dataset: int,
    release_number: int | None,
    param: list[str] | None,
    use_index: bool,
    rpc: str | None,
    parquet: Path | str | None = None,
) -> VerifyResult:
    settings = load_settings(rpc=rpc)
    with (
        open_session(settings, signer=False, store=True, needs_rpc_for="`curation verify`") as session,
        sync_progress() as show,
    ):
        return verify_release(
            session,
            dataset,
            release_number,
            params=parse_params(param),
            fresh_index=not use_index,
            progress=show,
            parquet=parquet,
        )


def register(app: typer.Typer) -> None:
    app.command("release")(release)
    app.command("verify")(verify)
