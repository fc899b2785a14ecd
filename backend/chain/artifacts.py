"""Load compiled contract artifacts shipped inside the package and index their custom errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_utils.crypto import keccak

from backend.chain.compiler import ARTIFACTS_DIR, MOCK_ARTIFACTS_DIR
from backend.errors import ConfigError

__all__ = ["Artifact", "ErrorSpec", "abi_type", "error_index", "load_artifact"]


@dataclass(frozen=True)
class ErrorSpec:
    """A custom error: where it is declared, its types, and its NatSpec notice (used in messages)."""

    contract: str
    name: str
    inputs: tuple[dict[str, Any], ...]
    notice: str

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(abi_type(i) for i in self.inputs)})"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    notices: dict[str, str]


def abi_type(param: dict[str, Any]) -> str:
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + t[5:]
    return t


@cache
def load_artifact(name: str) -> Artifact:
    """The compiled artifact of contract `name`: a shipped one, else (in a source checkout) a test-only mock."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        path = MOCK_ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ConfigError(
            f"no compiled artifact for contract {name!r} in {ARTIFACTS_DIR}: run `make contracts`"
        )
    data = json.loads(path.read_text())
    notices = {
        sig: entries[0].get("notice", "") if isinstance(entries, list) and entries else ""
        for sig, entries in data.get("userdoc", {}).get("errors", {}).items()
    }
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler_version=data["compiler"]["version"],
        notices=notices,
    )


@cache
def error_index() -> dict[bytes, ErrorSpec]:
    """4-byte selector -> custom error, across every shipped artifact."""
    index: dict[bytes, ErrorSpec] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        art = load_artifact(path.stem)
        for entry in art.abi:
            if entry.get("type") != "error":
                continue
            spec = ErrorSpec(art.name, entry["name"], tuple(entry.get("inputs", [])), "")
            spec = ErrorSpec(art.name, spec.name, spec.inputs, art.notices.get(spec.signature, ""))
            selector = keccak(text=spec.signature)[:4]
            if selector not in index or (spec.notice and not index[selector].notice):
                index[selector] = spec
    return index
