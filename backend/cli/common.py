"""Shared CLI plumbing: settings with flag overrides, signer selection, Rich console, JSON output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from backend.chain.accounts import Signer, dev_signers, load_keystore
from backend.errors import ConfigError
from backend.settings import Settings
from curation.errors import CurationError

__all__ = ["console", "emit_json", "guarded", "load_settings", "password_from_env_or_prompt", "pick_signer"]

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
    """Settings from CURATION_* variables, with the non-None CLI flags in `overrides` winning."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


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
