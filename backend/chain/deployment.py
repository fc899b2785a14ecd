"""Deploy the whole system in one call and read/write its deployment record (chain id, addresses, block).

Two shapes, said in the record (`governed`):

- **governed** (`curation deploy --governed`, the default off a development chain): an OpenZeppelin
  TimelockController (CommonsTimelock) is the admin of every contract, and an OpenZeppelin Governor
  (CommonsGovernor) on the curation token proposes to it. Until genesis closes (backend.chain.governance
  `close_genesis`, run by `curation token allocate`), the deployer may still schedule through the timelock
  with no delay: that is how the default licenses, the operator roles and the genesis allocation are set in
  batches. Closing genesis sets the timelock's delay, makes the Governor its only proposer and canceller,
  lets anyone execute, and removes every role the deployer had on it.
- **direct** (a development chain's default): the deployer is the admin of every contract, for speed. Roles
  and parameters change by the deployer's transactions, not by proposals.

Both deploy the OpenZeppelin ERC2771Forwarder (CommonsForwarder) that the registry, the token and the voting
contract trust, so contributors and curators can act without ETH through a relayer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError
from web3 import Web3

from backend.chain.accounts import Signer
from backend.chain.artifacts import load_artifact
from backend.chain.contract import deploy_contract
from backend.errors import ConfigError
from curation.licenses import DEFAULT_LICENSES
from curation.params import GovernanceParams

__all__ = ["CONTRACTS", "GOVERNANCE_CONTRACTS", "Deployment", "deploy_all"]

#: Deployment order; each constructor takes the addresses deployed before it (see deploy_all).
CONTRACTS = ("CommonsForwarder", "CurationToken", "ContentRegistry", "CurationVoting", "ReleaseRegistry")
#: Added by a governed deployment.
GOVERNANCE_CONTRACTS = ("CommonsTimelock", "CommonsGovernor")
#: The operator roles a governed deployment leaves with the deployer by default (governance can revoke them).
DEFAULT_OPERATOR_ROLES = ("dataset-manager", "license-manager", "publisher")


class Deployment(BaseModel):
    """The record the backend reads to find the contracts: one file per deployment."""

    chain_id: int
    deploy_block: int
    compiler_version: str
    deployer: str
    contracts: dict[str, str]
    governance: GovernanceParams | None = None  # the settings a governed deployment was made with

    @property
    def governed(self) -> bool:
        return self.governance is not None

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            hint = (
                " (a governed deployment has one: `curation deploy --governed`)"
                if name in GOVERNANCE_CONTRACTS
                else ""
            )
            raise ConfigError(f"deployment record has no {name} contract{hint}") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(exclude_none=True), indent=2, sort_keys=True) + "\n")
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
    governance: GovernanceParams | None = None,
    operator_roles: Sequence[str] = DEFAULT_OPERATOR_ROLES,
) -> Deployment:
    """Deploy forwarder, token, registry, voting and releases; allowlist `licenses` (default: the open ones).

    With `governance`, also a timelock (admin of every contract) and a Governor, and the licenses and the
    deployer's `operator_roles` are set by one genesis batch through the timelock (see the module doc).
    """
    from backend.chain.registry import RegistryClient

    first_block = w3.eth.block_number + 1
    me = deployer.address
    forwarder = deploy_contract(w3, deployer, "CommonsForwarder")
    timelock = None
    if governance is not None:
        timelock = deploy_contract(w3, deployer, "CommonsTimelock", 0, [me], [me], me)
    admin = timelock.address if timelock is not None else me
    token = deploy_contract(w3, deployer, "CurationToken", token_name, token_symbol, admin, forwarder.address)
    registry = deploy_contract(w3, deployer, "ContentRegistry", admin, forwarder.address)
    voting = deploy_contract(
        w3, deployer, "CurationVoting", token.address, registry.address, admin, forwarder.address
    )
    releases = deploy_contract(w3, deployer, "ReleaseRegistry", voting.address, admin)
    contracts = {
        "CommonsForwarder": forwarder.address,
        "CurationToken": token.address,
        "ContentRegistry": registry.address,
        "CurationVoting": voting.address,
        "ReleaseRegistry": releases.address,
    }
    wanted = sorted((licenses if licenses is not None else DEFAULT_LICENSES).items())
    if timelock is not None and governance is not None:
        governor = deploy_contract(
            w3,
            deployer,
            "CommonsGovernor",
            token.address,
            timelock.address,
            governance.voting_delay,
            governance.voting_period,
            governance.proposal_threshold,
            governance.quorum_percent,
        )
        contracts |= {"CommonsTimelock": timelock.address, "CommonsGovernor": governor.address}
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        deploy_block=first_block,
        compiler_version=load_artifact("CurationToken").compiler_version,
        deployer=me,
        contracts=contracts,
        governance=governance,
    )
    if deployment.governed:
        from backend.chain.governance import GenesisBatch

        batch = GenesisBatch(w3, deployment, deployer)
        for spdx, classes in wanted:
            batch.set_license(spdx, int(classes), True)
        for role in operator_roles:
            batch.grant_role(role, me)
        batch.run("genesis: default licenses and operator roles")
    else:
        client = RegistryClient(w3, registry.address, deployer)
        for spdx, classes in wanted:
            client.set_license(spdx, int(classes), True)
    return deployment
