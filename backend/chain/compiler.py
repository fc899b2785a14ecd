"""Compile contracts/ with a pinned solc through py-solc-x and write deterministic artifacts into the package."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from backend.errors import BackendError

__all__ = [
    "ARTIFACTS_DIR",
    "MOCK_ARTIFACTS_DIR",
    "PROJECT_ROOT",
    "SETTINGS",
    "SOLC_VERSION",
    "CompileError",
    "compile_contracts",
    "find_solc",
    "main",
    "write_artifacts",
]

SOLC_VERSION = "0.8.28"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
#: Test-only contracts (contracts/mocks/, e.g. the OpenZeppelin Governor the gas benchmark compares against) are
#: compiled with the same settings but written here, outside the package, so they never ship.
MOCK_ARTIFACTS_DIR = PROJECT_ROOT / "benchmarks" / "artifacts"
MOCKS_PREFIX = "contracts/mocks/"
OZ_REMAP = "@openzeppelin/=node_modules/@openzeppelin/"

#: Compiler settings, identical for our contracts and the OpenZeppelin reference used in benchmarks.
SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 1000},
    "metadata": {"bytecodeHash": "none"},
    "remappings": [OZ_REMAP],
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.methodIdentifiers",
                "userdoc",
            ]
        }
    },
}


class CompileError(BackendError):
    """The compiler is missing or the contracts do not compile."""


def _native_version(binary: str) -> str | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    for token in out.stdout.split():
        if token[:1].isdigit() and "+commit." in token:
            return token.split("+")[0]
    return None


def find_solc() -> Path:
    """A native solc of the pinned version if one is on PATH, else the solcjs shim in scripts/."""
    native = shutil.which("solc")
    if native and _native_version(native) == SOLC_VERSION:
        return Path(native)
    shim = PROJECT_ROOT / "scripts" / "solc"
    if not (PROJECT_ROOT / "node_modules" / "solc").is_dir():
        raise CompileError(
            f"no solc {SOLC_VERSION} found: install a native solc {SOLC_VERSION} or run `npm ci` "
            "so that the solcjs build in node_modules/solc can be used"
        )
    found = _native_version(str(shim))
    if found != SOLC_VERSION:
        raise CompileError(f"node_modules/solc is version {found}, expected {SOLC_VERSION}: run `npm ci`")
    return shim


def _sources(contracts_dir: Path) -> dict[str, dict[str, str]]:
    files = sorted(p for p in contracts_dir.rglob("*.sol"))
    if not files:
        raise CompileError(f"no .sol files under {contracts_dir}")
    return {p.relative_to(PROJECT_ROOT).as_posix(): {"content": p.read_text()} for p in files}


def compile_contracts(contracts_dir: Path | None = None) -> dict[str, Any]:
    """Run solc --standard-json over every .sol file under contracts/; returns the raw output."""
    import solcx  # imported lazily: an installed package that only loads artifacts never needs it

    contracts_dir = contracts_dir or PROJECT_ROOT / "contracts"
    std_input = {"language": "Solidity", "sources": _sources(contracts_dir), "settings": SETTINGS}
    try:
        output: dict[str, Any] = solcx.compile_standard(
            std_input,
            solc_binary=find_solc(),
            base_path=str(PROJECT_ROOT),
            allow_paths=[str(PROJECT_ROOT)],
        )
    except solcx.exceptions.SolcError as exc:
        raise CompileError(f"solc failed: {exc}") from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def _source_hashes(output: dict[str, Any], contracts_dir: Path) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for unit in sorted(output.get("sources", {})):
        hashes[unit] = hashlib.sha256((PROJECT_ROOT / unit).read_bytes()).hexdigest()
    return hashes


def write_artifacts(
    out_dir: Path | None = None, contracts_dir: Path | None = None, mocks_dir: Path | None = None
) -> list[Path]:
    """Compile and write one JSON artifact per deployable contract (sorted keys: byte-identical reruns):
    shipped ones into `out_dir`, test-only ones (contracts/mocks/) into `mocks_dir`."""
    contracts_dir = contracts_dir or PROJECT_ROOT / "contracts"
    out_dir = out_dir or ARTIFACTS_DIR
    mocks_dir = mocks_dir or MOCK_ARTIFACTS_DIR
    output = compile_contracts(contracts_dir)
    hashes = _source_hashes(output, contracts_dir)
    written: list[Path] = []
    for unit, contracts in sorted(output["contracts"].items()):
        if not unit.startswith("contracts/"):  # libraries from node_modules are linked in, not shipped
            continue
        target = mocks_dir if unit.startswith(MOCKS_PREFIX) else out_dir
        target.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and abstract contracts are not deployable
                continue
            artifact = {
                "contractName": name,
                "sourceName": unit,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "methodIdentifiers": data["evm"].get("methodIdentifiers", {}),
                "userdoc": data.get("userdoc", {}),
                "compiler": {"version": SOLC_VERSION, "settings": SETTINGS},
                "sources": hashes,
            }
            path = target / f"{name}.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n")
            tmp.replace(path)
            written.append(path)
    return written


def main() -> None:
    """`python -m backend.chain.compiler`: recompile contracts/ into backend/chain/artifacts/."""
    for path in write_artifacts():
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
