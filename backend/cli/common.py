"""Shared CLI plumbing: settings with flag overrides, the shared chain options and session, signer selection,
Rich console, JSON-or-text output."""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from backend import config_file
from backend.chain.accounts import Signer, dev_signers, load_keystore
from backend.chain.connection import connect
from backend.chain.deployment import Deployment
from backend.chain.registry import RegistryClient
from backend.chain.rpc import RpcLimits
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from backend.errors import ConfigError
from backend.index import SyncProgress
from backend.ipfs import ContentStore, open_store
from backend.settings import Settings
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
    "Session",
    "add_commands",
    "chain_command",
    "console",
    "emit",
    "emit_json",
    "guarded",
    "load_settings",
    "password_from_env_or_prompt",
    "pick_signer",
    "progress_console",
    "session",
    "settings_from",
    "sync_progress",
]

# Wide tables when piped (Rich would assume 80 columns); a terminal keeps its own width.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)

P = ParamSpec("P")
R = TypeVar("R")


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: a CurationError becomes `error: <sentence>` on stderr and exit code 1, no traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CurationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def load_settings(**overrides: Any) -> Settings:
    """Settings with precedence flag > CURATION_* environment > config file > default (see config_file)."""
    return config_file.load_settings(None, **overrides)


def password_from_env_or_prompt(what: str, confirm: bool = False) -> str:
    """CURATION_PASSWORD when set (scripts, CI), else an interactive prompt that does not echo."""
    env = os.environ.get("CURATION_PASSWORD")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise ConfigError(f"{what} needs a password: set CURATION_PASSWORD or run in a terminal")
    return str(typer.prompt(what, hide_input=True, confirmation_prompt=confirm))


def pick_signer(w3: Any, keystore: Path | None, dev_account: int | None) -> Signer:
    """A keystore (password from CURATION_PASSWORD or prompt), else an unlocked dev account of the node."""
    if keystore is not None:
        return load_keystore(keystore, password_from_env_or_prompt(f"password for {keystore.name}"))
    signers = dev_signers(w3)
    index = dev_account or 0
    if not 0 <= index < len(signers):
        raise ConfigError(
            f"--dev-account {index} is out of range: the node has {len(signers)} unlocked accounts"
        )
    return signers[index]


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


def settings_from(
    config: Path | None, rpc: str | None, ipfs: str | None, deployment: Path | None
) -> Settings:
    """Settings from the shared options (flag > CURATION_* environment > config file > default)."""
    return config_file.load_settings(config, rpc=rpc, ipfs=ipfs, deployment=deployment)


@dataclass
class Session:
    """A connected deployment: web3, the record, the signer (if any) and the content store (if opened)."""

    w3: Any
    deployment: Deployment
    signer: Signer | None
    store: ContentStore | None
    settings: Settings

    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.address("ContentRegistry"), self.signer)

    def voting(self) -> VotingClient:
        return VotingClient(self.w3, self.deployment.address("CurationVoting"), self.signer)

    def token(self) -> TokenClient:
        return TokenClient(self.w3, self.deployment.address("CurationToken"), self.signer)

    def need_signer(self) -> Signer:
        assert self.signer is not None, "the session was opened with signer=False"
        return self.signer

    def need_store(self) -> ContentStore:
        if self.store is None:
            raise ConfigError("this command needs the content store")
        return self.store


@contextmanager
def session(
    settings: Settings,
    *,
    keystore: Path | None = None,
    dev_account: int | None = None,
    signer: bool = True,
    store: bool = False,
) -> Iterator[Session]:
    """Connect to `settings.rpc`, load and check the deployment record, pick the signer, open the store."""
    if not settings.rpc or settings.rpc == "embedded":
        raise ConfigError(
            "this command needs --rpc URL (or CURATION_RPC): the embedded chain lives only inside one process; "
            "`curation demo` runs the whole story on it"
        )
    w3 = connect(settings.rpc, limits=RpcLimits.from_settings(settings))
    record = Deployment.load(settings.deployment_path)
    record.check_chain(w3)
    who = pick_signer(w3, keystore, dev_account) if signer else None
    content = open_store(settings) if store else None
    try:
        yield Session(w3, record, who, content, settings)
    finally:
        if content is not None:
            content.close()


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
        return settings_from(self.config, self.rpc, self.ipfs, self.deployment)

    def session(self, *, signer: bool = True, store: bool = False) -> AbstractContextManager[Session]:
        """`session` on these options: connected, deployment checked, signer picked (if `signer`)."""
        return session(
            self.settings(), keystore=self.keystore, dev_account=self.dev_account, signer=signer, store=store
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
