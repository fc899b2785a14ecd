"""The roles the Curation Commons contracts grant, with the contract and functions that hold each.

Every role is a plain allow-list in one contract, changed only by that contract's admin (the deployer on a
direct deployment, the CommonsTimelock on a governed one). This table is the one place that says which
contract and which functions a role means; the operator commands, the governance proposals and the genesis
batch all read it.
"""

from __future__ import annotations

from enum import Enum

from curation.errors import InvalidInput

__all__ = ["Role", "UnknownRole"]


class UnknownRole(InvalidInput):
    """A role name that is not one of curation.roles.Role."""


class Role(Enum):
    """A role the contracts grant directly (value: its command-line name)."""

    MINTER = "minter"
    DATASET_MANAGER = "dataset-manager"
    LICENSE_MANAGER = "license-manager"
    PUBLISHER = "publisher"

    @property
    def contract(self) -> str:
        """The artifact name of the contract that grants the role."""
        return _TABLE[self][0]

    @property
    def setter(self) -> str:
        """The admin-only function `(address account, bool allowed)` that grants or revokes it."""
        return _TABLE[self][1]

    @property
    def getter(self) -> str:
        """The view `(address account) returns (bool)` that says whether an account holds it."""
        return _TABLE[self][2]

    @classmethod
    def parse(cls, text: str) -> Role:
        s = text.strip().lower().replace("_", "-")
        for role in cls:
            if role.value == s:
                return role
        known = ", ".join(r.value for r in cls)
        raise UnknownRole(f"role = {text!r} is not a role; known roles: {known}")


_TABLE: dict[Role, tuple[str, str, str]] = {
    Role.MINTER: ("CurationToken", "setMinter", "isMinter"),
    Role.DATASET_MANAGER: ("CurationVoting", "setDatasetManager", "isDatasetManager"),
    Role.LICENSE_MANAGER: ("ContentRegistry", "setLicenseManager", "isLicenseManager"),
    Role.PUBLISHER: ("ReleaseRegistry", "setPublisher", "isPublisher"),
}
