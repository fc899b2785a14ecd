"""Shared CLI plumbing: the shared chain options (settings and session through backend.settings and
backend.session), the password prompt, Rich console, JSON-or-text output."""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from backend.errors import Retryable
from backend.index import SyncProgress
from backend.session import PASSWORD_ENV, Session, env_password, open_session
from backend.settings import Settings, load_settings
from curation.errors import CurationError

__all__ = [
    "ChainOpts",
    "ConfigOpt",
    "DeploymentOpt",
    "DevAccountOpt",
    "IpfsOpt",
    "JsonOpt",
    "KeystoreOpt",
    "RpcOpt",
    "add_commands",
    "chain_command",
    "console",
    "emit",
    "emit_json",
    "guarded",
    "password_from_env_or_prompt",
    "progress_console",
    "sync_progress",
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
    """One JSON object on one line, keys sorted, for scripts."""
    typer.echo(json.dumps(obj, sort_keys=True, separators=(",", ":")))


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
    for part in human:
        console.print(part)


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
    typer.Option("--keystore", help="encrypted keystore that signs (password: CURATION_PASSWORD)"),
]
DevAccountOpt = Annotated[
    int | None, typer.Option("--dev-account", help="index of an unlocked account of the node (default 0)")
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
    as_json: bool = False

    def settings(self) -> Settings:
        """Settings from these options (flag > CURATION_* environment > config file > default)."""
        return load_settings(self.config, rpc=self.rpc, ipfs=self.ipfs, deployment=self.deployment)

    def session(self, *, signer: bool = True, store: bool = False) -> Session:
        """`open_session` on these options: connected, deployment checked, signer picked (if `signer`);
        use it in a `with` block."""
        return open_session(
            self.settings(),
            keystore=self.keystore,
            dev_account=self.dev_account,
            signer=signer,
            store=store,
            password=password_from_env_or_prompt,
        )

    def emit(self, obj: Any, *human: Any) -> None:
        """`obj` as JSON with --json, else the human-readable parts."""
        emit(self.as_json, obj, *human)


def chain_command(
    *, ipfs: bool = False, signer: bool = True
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the shared options as trailing flags, in this order:

    --config, --rpc, [--ipfs], --deployment, [--keystore, --dev-account], --json.

    The decorated function declares a keyword-only `opts: ChainOpts` instead of those parameters; Typer
    sees the flags (the wrapper's signature), the function gets them gathered in one `ChainOpts`.
    """
    shared: list[tuple[str, Any, Any]] = [("config", ConfigOpt, None), ("rpc", RpcOpt, None)]
    if ipfs:
        shared.append(("ipfs", IpfsOpt, None))
    shared.append(("deployment", DeploymentOpt, None))
    if signer:
        shared += [("keystore", KeystoreOpt, None), ("dev_account", DevAccountOpt, None)]
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
