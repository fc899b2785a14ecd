"""Deploy the whole system in one call and read/write its deployment record (chain id, addresses, block)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError
from web3 import Web3

from backend.chain.accounts import Signer
from backend.chain.artifacts import load_artifact
from backend.chain.contract import deploy_contract
from backend.errors import ConfigError
from curation.licenses import DEFAULT_LICENSES

__all__ = ["CONTRACTS", "Deployment", "deploy_all"]

#: Deployment order; each constructor takes the addresses deployed before it (see deploy_all).
CONTRACTS = ("CurationToken", "ContentRegistry", "CurationVoting", "ReleaseRegistry")


class Deployment(BaseModel):
    """The record the backend reads to find the contracts: one file per deployment."""

    chain_id: int
    deploy_block: int
    compiler_version: str
    deployer: str
    contracts: dict[str, str]

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise ConfigError(f"deployment record has no {name} contract") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            return cls.model_validate_json(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"no deployment record at {path}: run `curation deploy` first") from None
        except ValidationError as exc:
            raise ConfigError(f"deployment record {path} is malformed: {exc}") from None

    def check_chain(self, w3: Web3) -> None:
        """ConfigError when the record belongs to another chain than the one connected."""
        actual = w3.eth.chain_id
        if actual != self.chain_id:
            raise ConfigError(
                f"deployment record is for chain id {self.chain_id}, but the node is chain {actual}"
            )


def deploy_all(
    w3: Web3,
    deployer: Signer,
    licenses: dict[str, int] | None = None,
    token_name: str = "Curation Commons Vote",
    token_symbol: str = "CCV",
) -> Deployment:
    """Deploy token, registry, voting and releases; allowlist `licenses` (default: the open defaults)."""
    from backend.chain.registry import RegistryClient

    first_block = w3.eth.block_number + 1
    token = deploy_contract(w3, deployer, "CurationToken", token_name, token_symbol, deployer.address)
    registry = deploy_contract(w3, deployer, "ContentRegistry", deployer.address)
    voting = deploy_contract(
        w3, deployer, "CurationVoting", token.address, registry.address, deployer.address
    )
    releases = deploy_contract(w3, deployer, "ReleaseRegistry", voting.address, deployer.address)
    client = RegistryClient(w3, registry.address, deployer)
    for spdx, classes in sorted((licenses if licenses is not None else DEFAULT_LICENSES).items()):
        client.set_license(spdx, int(classes), True)
    return Deployment(
        chain_id=w3.eth.chain_id,
        deploy_block=first_block,
        compiler_version=load_artifact("CurationToken").compiler_version,
        deployer=deployer.address,
        contracts={
            "CurationToken": token.address,
            "ContentRegistry": registry.address,
            "CurationVoting": voting.address,
            "ReleaseRegistry": releases.address,
        },
    )
