"""Settings from a TOML config file under the environment and the CLI flags (flag > env > file > default)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backend.errors import ConfigError
from backend.settings import Settings, default_home

__all__ = ["CONFIG_ENV", "CONFIG_NAME", "config_path", "load_settings", "read_config"]

#: Environment variable naming the config file (a `--config PATH` flag wins over it).
CONFIG_ENV = "CURATION_CONFIG"
#: File name of the default config file inside the data directory ($CURATION_HOME or ~/.curation-commons).
CONFIG_NAME = "config.toml"
#: Settings fields whose values are paths: relative paths in a config file are relative to that file.
_PATH_FIELDS = frozenset({"home", "deployment", "keystore_dir"})


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """Which config file applies and whether it was asked for (then it must exist).

    `--config PATH` first, then CURATION_CONFIG, else `<home>/config.toml` with home from CURATION_HOME
    (or the default data directory); the last one is optional.
    """
    if explicit is not None:
        return explicit, True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env), True
    home = os.environ.get("CURATION_HOME")
    return (Path(home) if home else default_home()) / CONFIG_NAME, False


def read_config(path: Path, required: bool = True) -> dict[str, Any]:
    """The settings a TOML file sets (top level, or a `[curation]` table); unknown keys are an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = doc.get("curation", doc)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [curation] must be a table")
    known = set(Settings.model_fields)
    unknown = sorted(set(table) - known - {"curation"})
    if unknown:
        raise ConfigError(
            f"config file {path} sets unknown keys {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
        )
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "curation":
            continue
        if key in _PATH_FIELDS and isinstance(value, str):
            value = str((path.parent / Path(value).expanduser()).resolve())
        out[key] = value
    return out


def _env_names() -> set[str]:
    return {name.upper() for name in os.environ}


def load_settings(config: Path | None = None, **flags: Any) -> Settings:
    """Settings with precedence flag > CURATION_* environment > config file > default.

    `flags` are the CLI options (None means not given). A key the environment sets is taken from the
    environment even if the config file sets it too.
    """
    path, required = config_path(config)
    from_file = read_config(path, required=required)
    env = _env_names()
    values = {k: v for k, v in from_file.items() if f"CURATION_{k.upper()}" not in env}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"invalid settings ({problems}); check {path} and the CURATION_* variables"
        ) from None
