"""`curation deploy` and `curation account ...`: deployment and encrypted keystores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account
from rich.table import Table

from backend.chain.accounts import create_keystore, list_keystores
from backend.chain.deployment import deploy_all
from backend.cli.common import (
    DevAccountOpt,
    JsonOpt,
    KeystoreOpt,
    RpcOpt,
    console,
    emit_json,
    guarded,
    password_from_env_or_prompt,
    progress_console,
    say_signer,
    signer_choice,
)
from backend.errors import ConfigError
from backend.operate import DEV_CHAIN_IDS
from backend.session import connect_chain, pick_signer
from backend.settings import load_settings
from curation.params import DEV_GOVERNANCE, PUBLIC_GOVERNANCE

__all__ = ["register"]


account_app = typer.Typer(help="Encrypted keystores (eth-account, scrypt).", no_args_is_help=True)


@guarded
def deploy(
    rpc: RpcOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="where to write the deployment record")] = None,
    governed: Annotated[
        bool | None,
        typer.Option(
            "--governed/--direct",
            help="governed: a Timelock + Governor hold every admin role (default off a dev chain); "
            "direct: the deployer stays admin, for speed on a dev chain",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy forwarder, token, content registry, voting and release registry (and, governed, a timelock and a
    Governor); write the deployment record."""
    settings = load_settings(rpc=rpc)
    keystore, dev_account = signer_choice(settings, keystore, dev_account)  # before connecting: nothing sent
    w3 = connect_chain(settings, needs_rpc_for="`curation deploy`")
    signer = pick_signer(w3, keystore, dev_account, password_from_env_or_prompt)
    say_signer(signer.address, keystore, dev_account)
    chain_id = int(w3.eth.chain_id)
    dev = chain_id in DEV_CHAIN_IDS
    if governed is None:
        governed = not dev
    if not governed:
        progress_console().print(
            f"direct deployment: {signer.address} stays the admin of every contract (fine on a dev chain; "
            "use --governed to hand the roles to a Governor + Timelock)",
            markup=False,
        )
    params = (DEV_GOVERNANCE if dev else PUBLIC_GOVERNANCE) if governed else None
    record = deploy_all(w3, signer, governance=params)
    if governed:
        progress_console().print(
            "governed deployment: the timelock is the admin of every contract; genesis stays open until "
            "`curation token allocate FILE` mints the allocation and hands the timelock to the Governor",
            markup=False,
        )
    path = out or settings.deployment_path
    record.save(path)
    if as_json:
        emit_json({**record.model_dump(), "path": str(path)})
        return
    table = Table(
        "contract", "address", title=f"deployed on chain {record.chain_id} from block {record.deploy_block}"
    )
    for name, address in record.contracts.items():
        table.add_row(name, address)
    console.print(table)
    console.print(f"deployment record: {path}")


@account_app.command("new")
@guarded
def account_new(
    keystore_dir: Annotated[Path | None, typer.Option("--dir", help="keystore directory")] = None,
) -> None:
    """Create a new key, encrypted with a password (prompt, or CURATION_PASSWORD)."""
    directory = keystore_dir or load_settings().keystores
    path = create_keystore(directory, password_from_env_or_prompt("new keystore password", confirm=True))
    typer.echo(f"{path.stem}\t{path}")


@account_app.command("import")
@guarded
def account_import(
    key_file: Annotated[
        Path, typer.Argument(help="file holding a hex private key (never pass keys as arguments)")
    ],
    keystore_dir: Annotated[Path | None, typer.Option("--dir", help="keystore directory")] = None,
) -> None:
    """Encrypt an existing private key into a keystore."""
    try:
        key = key_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read key file {key_file}: {exc.strerror}") from None
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        raise ConfigError(f"{key_file} does not hold a 32-byte hex private key") from None
    directory = keystore_dir or load_settings().keystores
    path = create_keystore(directory, password_from_env_or_prompt("keystore password", confirm=True), key)
    typer.echo(f"{path.stem}\t{path}")


@account_app.command("list")
@guarded
def account_list(
    keystore_dir: Annotated[Path | None, typer.Option("--dir", help="keystore directory")] = None,
) -> None:
    """List the keystores (address and file)."""
    for path in list_keystores(keystore_dir or load_settings().keystores):
        typer.echo(f"{path.stem}\t{path}")


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.add_typer(account_app, name="account")
