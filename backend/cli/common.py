"""Shared CLI plumbing: the shared chain options (settings and session through backend.settings and
backend.session), the password prompt, Rich console, JSON-or-text output."""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from backend.chain.contract import Relay
from backend.errors import ConfigError, Retryable
from backend.index import SyncProgress
from backend.session import PASSWORD_ENV, Session, env_password, open_session
from backend.settings import Settings, load_settings
from curation.errors import CurationError
from curation.jsonnum import json_safe
from curation.units import format_units

__all__ = [
    "ChainOpts",
    "ConfigOpt",
    "DeploymentOpt",
    "DevAccountOpt",
    "GaslessOpt",
    "IpfsOpt",
    "JsonOpt",
    "KeystoreOpt",
    "RawOpt",
    "RpcOpt",
    "YesOpt",
    "add_commands",
    "chain_command",
    "console",
    "emit",
    "emit_json",
    "guarded",
    "password_from_env_or_prompt",
    "progress_console",
    "say_signer",
    "show_and_confirm",
    "signer_choice",
    "sync_progress",
    "token_amounts",
]

# Wide tables when piped (Rich would assume 80 columns); a terminal keeps its own width.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)

P = ParamSpec("P")
R = TypeVar("R")


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: a CurationError (or an OS error: a file that cannot be read or written) becomes
    `error: <sentence>` on stderr and exit code 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CurationError as exc:
            retry = " (a temporary failure: trying again may succeed)" if isinstance(exc, Retryable) else ""
            typer.echo(f"error: {exc}{retry}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def password_from_env_or_prompt(what: str, confirm: bool = False) -> str:
    """CURATION_PASSWORD when set (scripts, CI), else an interactive prompt that does not echo."""
    if os.environ.get(PASSWORD_ENV) is not None or not sys.stdin.isatty():
        return env_password(what)
    return str(typer.prompt(what, hide_input=True, confirmation_prompt=confirm))


def emit_json(obj: Any) -> None:
    """One JSON object on one line, keys sorted, for scripts. Fields that can pass 2**53 are decimal strings
    already (curation.jsonnum); `json_safe` makes sure no other integer reaches a reader rounded."""
    typer.echo(json.dumps(json_safe(obj), sort_keys=True, separators=(",", ":")))


def add_commands(app: typer.Typer, commands: Mapping[str, Callable[..., Any]]) -> None:
    """Add each function to `app` under its name, skipping names already there (register() is idempotent)."""
    for name, fn in commands.items():
        if name not in {c.name for c in app.registered_commands}:
            app.command(name)(fn)


def progress_console() -> Console:
    """Progress bars go to stderr, so that stdout stays clean for `--json` and pipes."""
    return Console(stderr=True, highlight=False)


@contextmanager
def sync_progress(what: str = "indexing") -> Iterator[Callable[[SyncProgress], None]]:
    """A Rich bar on stderr for an index sync (blocks done / total, logs, time left); yields the callback
    to hand to `Indexer.sync(progress=...)`. It shows once the sync has a target, and goes when done."""
    with Progress(
        TextColumn(f"[bold]{what}[/bold] blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[logs]} logs"),
        TimeRemainingColumn(),
        console=progress_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None, logs=0)

        def show(p: SyncProgress) -> None:
            bar.update(task, total=max(p.total, 1), completed=p.done, logs=p.logs_added)

        yield show


def emit(as_json: bool, obj: Any, *human: Any) -> None:
    """`obj` as one JSON line with --json, else each of `human` (text or Rich renderables) on the console."""
    if as_json:
        emit_json(obj)
        return
    for part in human:  # text is shown as is: a name or description read from the chain may hold "[/x]"
        console.print(part, markup=False) if isinstance(part, str) else console.print(part)


def signer_choice(
    settings: Settings, keystore: Path | None = None, dev_account: int | None = None
) -> tuple[Path | None, int | None]:
    """The signer a sending command was given: (keystore, None) or (None, dev account index).

    From `--keystore` / `--dev-account`, else CURATION_KEYSTORE / CURATION_DEV_ACCOUNT, else the config keys
    `keystore` / `dev_account` (backend.settings precedence). None of them is a ConfigError: a command never
    signs as a default account (only `curation demo` uses dev accounts of its own). A flag of one kind
    overrides a setting of the other kind from the environment or the config file.
    """
    if (keystore is None) != (dev_account is None):  # one flag: it wins over both settings
        return keystore, dev_account
    keystore, dev = (
        (keystore, dev_account) if keystore is not None else (settings.keystore, settings.dev_account)
    )
    if keystore is not None and dev is not None:
        raise ConfigError(
            f"two signers given: keystore {keystore} and dev account {dev}; give one "
            "(--keystore, --dev-account, CURATION_KEYSTORE, CURATION_DEV_ACCOUNT or the config file)"
        )
    if keystore is None and dev is None:
        raise ConfigError(
            "this command signs a transaction and no signer was given: pass --keystore PATH or "
            "--dev-account N (or set CURATION_KEYSTORE / CURATION_DEV_ACCOUNT, or `keystore` / "
            "`dev_account` in the config file); nothing was sent"
        )
    return keystore, dev


def say_signer(address: str, keystore: Path | None, dev_account: int | None) -> None:
    """One line on stderr naming the account that signs, and where it comes from."""
    source = f"keystore {keystore}" if keystore is not None else f"dev account {dev_account} of the node"
    typer.echo(f"signer: {address} ({source})", err=True)


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
DeploymentOpt = Annotated[
    Path | None, typer.Option("--deployment", help="deployment record (CURATION_DEPLOYMENT)")
]
KeystoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--keystore", help="encrypted keystore that signs (CURATION_KEYSTORE; password: CURATION_PASSWORD)"
    ),
]
DevAccountOpt = Annotated[
    int | None,
    typer.Option(
        "--dev-account", min=0, help="index of an unlocked account of a local node (CURATION_DEV_ACCOUNT)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object for scripts")]


@dataclass(frozen=True)
class ChainOpts:
    """The shared options a `chain_command` was given (those it does not take stay None / False)."""

    config: Path | None = None
    rpc: str | None = None
    ipfs: str | None = None
    deployment: Path | None = None
    keystore: Path | None = None
    dev_account: int | None = None
    gasless: bool = False
    as_json: bool = False

    def settings(self) -> Settings:
        """Settings from these options (flag > CURATION_* environment > config file > default)."""
        return load_settings(
            self.config,
            rpc=self.rpc,
            ipfs=self.ipfs,
            deployment=self.deployment,
            keystore=self.keystore,
            dev_account=self.dev_account,
        )

    def session(self, *, signer: bool = True, store: bool = False) -> Session:
        """`open_session` on these options: connected, deployment checked, the explicit signer picked (if
        `signer`: see `signer_choice`) and named on stderr; use it in a `with` block."""
        settings = self.settings()
        keystore, dev_account = (
            signer_choice(settings, self.keystore, self.dev_account) if signer else (None, None)
        )
        session = open_session(
            settings,
            keystore=keystore,
            dev_account=dev_account,
            signer=signer,
            store=store,
            password=password_from_env_or_prompt,
        )
        if session.signer is not None:
            say_signer(session.signer.address, keystore, dev_account)
        if self.gasless:
            session.relay = _gasless(session)
        return session

    def emit(self, obj: Any, *human: Any) -> None:
        """`obj` as JSON with --json, else the human-readable parts."""
        emit(self.as_json, obj, *human)


def _gasless(session: Session) -> Relay:
    """The relay `--gasless` sends through: the signer signs, the relay at CURATION_RELAY_URL pays."""
    from backend.relay import gasless_relay

    url = session.settings.relay_url
    if not url:
        raise ConfigError(
            "--gasless needs a relay: set CURATION_RELAY_URL (or `relay_url` in the config file) to the API "
            "that relays, e.g. http://127.0.0.1:8000"
        )
    signer = session.need_signer()
    progress_console().print(f"gasless: {signer.address} signs, the relay at {url} pays", markup=False)
    return gasless_relay(session.w3, signer, session.deployment, url)


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="send without asking for confirmation")]


def show_and_confirm(lines: Sequence[str], *, yes: bool, as_json: bool, question: str) -> bool:
    """Print what a command will send (stderr with --json), then: True with --yes, ask on a terminal, and
    refuse (NotConfirmed, nothing sent) when nobody can be asked."""
    from backend.govern import NotConfirmed

    out = progress_console() if as_json else console
    for line in lines:
        out.print(line, markup=False)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "stdin is not a terminal, so nobody can confirm: pass --yes to send without asking; nothing was sent"
        )
    return bool(typer.confirm(question, default=False, err=True))


RawOpt = Annotated[
    bool, typer.Option("--raw", help="print token amounts in base units (like wei) instead of whole tokens")
]


def token_amounts(session: Session, raw: bool) -> Callable[[int], str]:
    """How a command prints token amounts (votes, weights): whole tokens with the token's decimals, or base
    units with `--raw`. JSON output always carries base units, as decimal strings."""
    if raw:
        return str
    decimals = session.token().decimals()
    return lambda value: format_units(value, decimals)


GaslessOpt = Annotated[
    bool,
    typer.Option(
        "--gasless",
        help="sign a request and let the relay (CURATION_RELAY_URL) pay the gas: no ETH needed",
    ),
]


def chain_command(
    *, ipfs: bool = False, signer: bool = True, gasless: bool = False
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the shared options as trailing flags, in this order:

    --config, --rpc, [--ipfs], --deployment, [--keystore, --dev-account], [--gasless], --json.

    The decorated function declares a keyword-only `opts: ChainOpts` instead of those parameters; Typer
    sees the flags (the wrapper's signature), the function gets them gathered in one `ChainOpts`.
    """
    shared: list[tuple[str, Any, Any]] = [("config", ConfigOpt, None), ("rpc", RpcOpt, None)]
    if ipfs:
        shared.append(("ipfs", IpfsOpt, None))
    shared.append(("deployment", DeploymentOpt, None))
    if signer:
        shared += [("keystore", KeystoreOpt, None), ("dev_account", DevAccountOpt, None)]
    if gasless:
        shared.append(("gasless", GaslessOpt, False))
    shared.append(("as_json", JsonOpt, False))

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for name, p in sig.parameters.items() if name != "opts"]
        flags = [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=ann)
            for name, ann, default in shared
        ]

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            given = {name: kwargs.pop(name, default) for name, _ann, default in shared}
            return fn(*args, opts=ChainOpts(**given), **kwargs)

        params = [*own, *flags]
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": sig.return_annotation}
        return wrapper

    return decorate
