"""The operator's use cases: datasets, licenses, roles, dev-chain funding.

Each sending use case checks every input first, then takes one of two routes:

- **direct**: the signer holds the role (or is the contract's admin, for roles) and sends the change;
- **proposal**: on a governed deployment, when the CommonsTimelock holds it instead (or `propose=True`), the
  same change becomes a Governor proposal (backend.govern.propose) whose description is the plan, and the
  result is a backend.govern.Proposed. It happens once the proposal passes, is queued and executed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from backend.chain.accounts import Signer
from backend.chain.blocks import BlockHeader, advance, send_value
from backend.chain.contract import Call, ContractClient
from backend.chain.registry import LicenseRecord, RegistryClient
from backend.chain.releases import ReleaseClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetInfo, DatasetParams, VotingClient, cid_bytes
from backend.errors import ConfigError
from backend.govern import Governance, NotConfirmed, Proposed
from backend.govern import propose as send_proposal
from backend.session import Session
from curation.cid import parse_cid
from curation.consent import format_consent
from curation.errors import InvalidInput
from curation.events import DatasetCreated, LicenseSet
from curation.licenses import canonical_spdx, check_spdx, format_license_classes, resolve_license
from curation.params import (
    check_dataset_name,
    check_params,
    parse_address,
    parse_dataset_use,
    parse_wei,
)
from curation.roles import Role
from curation.state import UnknownDataset

__all__ = [
    "DEV_CHAIN_IDS",
    "Confirm",
    "Contracts",
    "DatasetCreatedResult",
    "DatasetParamsChanged",
    "Funded",
    "LicenseChanged",
    "MissingRole",
    "NotDevChain",
    "NothingToChange",
    "Plan",
    "RoleChanged",
    "RoleRow",
    "UnknownLicense",
    "create_dataset",
    "disable_license",
    "fund",
    "list_datasets",
    "list_licenses",
    "mine",
    "set_dataset_params",
    "set_license",
    "set_role",
    "show_roles",
]

#: Chains `fund` may send on: a Hardhat node (31337) and the embedded chain (eth-tester's chain id).
DEV_CHAIN_IDS: dict[int, str] = {31337: "Hardhat", 131277322940537: "embedded (eth-tester)"}


class MissingRole(InvalidInput):
    """The signer lacks the role (or is not the admin) the operation needs: nothing was sent."""


class NothingToChange(InvalidInput):
    """The operation would leave the chain as it is (no field given, or every value already set)."""


class UnknownLicense(InvalidInput):
    """No license with this SPDX id was ever added to the registry."""


class NotDevChain(ConfigError):
    """`fund` sends ETH only on a dev chain (Hardhat 31337 or the embedded chain) from an unlocked account."""


@dataclass(frozen=True)
class Plan:
    """What a sending operation will do: the contract, its function and the decoded arguments (display form)."""

    contract: str
    address: str
    function: str
    args: tuple[tuple[str, str], ...]
    sender: str

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "address": self.address,
            "function": self.function,
            "args": dict(self.args),
            "sender": self.sender,
        }

    def lines(self) -> list[str]:
        """The plan as text: a header, then one `name: value` line per argument."""
        return [
            f"{self.contract}.{self.function} at {self.address}, sent from {self.sender}:",
            *(f"  {name}: {value}" for name, value in self.args),
        ]


#: Shown the plan once every check has passed; True sends, False cancels (NotConfirmed, nothing sent).
Confirm = Callable[[Plan], bool]


def _always(_plan: Plan) -> bool:
    return True


@dataclass(frozen=True)
class Contracts:
    """The four deployed contracts, each wrapped with the session's signer."""

    token: TokenClient
    registry: RegistryClient
    voting: VotingClient
    releases: ReleaseClient

    @classmethod
    def from_session(cls, s: Session) -> Contracts:
        return cls(s.token(), s.registry(), s.voting(), s.releases())

    def client(self, role: Role) -> ContractClient:
        """The contract that grants `role`."""
        return {
            Role.MINTER: self.token,
            Role.DATASET_MANAGER: self.voting,
            Role.LICENSE_MANAGER: self.registry,
            Role.PUBLISHER: self.releases,
        }[role]

    def holds(self, role: Role, account: str) -> bool:
        """Whether `account` holds `role` now."""
        check = {
            Role.MINTER: self.token.is_minter,
            Role.DATASET_MANAGER: self.voting.is_dataset_manager,
            Role.LICENSE_MANAGER: self.registry.is_license_manager,
            Role.PUBLISHER: self.releases.is_publisher,
        }[role]
        return check(account)

    def admin(self, role: Role) -> str:
        """The admin of the contract that grants `role` (the only account that may grant or revoke it)."""
        read = {
            Role.MINTER: self.token.admin,
            Role.DATASET_MANAGER: self.voting.admin,
            Role.LICENSE_MANAGER: self.registry.admin,
            Role.PUBLISHER: self.releases.admin,
        }[role]
        return read()


@dataclass(frozen=True)
class DatasetCreatedResult:
    dataset_id: int
    name: str
    use: int
    description_cid: str
    params: DatasetParams
    plan: Plan
    tx_hash: str


@dataclass(frozen=True)
class DatasetParamsChanged:
    dataset_id: int
    old: DatasetParams
    new: DatasetParams
    plan: Plan
    tx_hash: str

    @property
    def changed(self) -> dict[str, tuple[int, int]]:
        """Each changed field: (old, new)."""
        return {
            f.name: (getattr(self.old, f.name), getattr(self.new, f.name))
            for f in fields(DatasetParams)
            if getattr(self.old, f.name) != getattr(self.new, f.name)
        }


@dataclass(frozen=True)
class LicenseChanged:
    license_id: int
    spdx: str
    classes: int
    allowed: bool
    plan: Plan
    tx_hash: str


@dataclass(frozen=True)
class RoleRow:
    """One role of `show_roles`: the contract that grants it, its admin, and whether the address holds it."""

    role: Role
    contract: str
    address: str
    admin: str
    holds: bool


@dataclass(frozen=True)
class RoleChanged:
    role: Role
    account: str
    allowed: bool
    plan: Plan
    tx_hash: str


@dataclass(frozen=True)
class Funded:
    to: str
    wei: int
    balance: int
    plan: Plan
    tx_hash: str


# --- checks shared by the use cases -------------------------------------------------------------------------


def _signer(client: ContractClient) -> Signer:
    if client.signer is None:
        raise ConfigError("this needs a signer: pass --keystore FILE or --dev-account N")
    return client.signer


def _require_dataset(voting: VotingClient, dataset_id: int) -> None:
    count = voting.dataset_count()
    if not 1 <= dataset_id <= count:
        known = f"datasets are numbered 1..{count}" if count else "there are no datasets yet"
        raise UnknownDataset(f"dataset {dataset_id} does not exist ({known})")


def _require_role(holds: bool, who: str, role: Role, client: ContractClient, admin: str) -> None:
    if not holds:
        raise MissingRole(
            f"{who} lacks the {role.value} role on {client.artifact} {client.address}: the admin {admin} "
            f"grants it with `curation roles grant {role.value} {who}`; nothing was sent"
        )


def _go(confirm: Confirm, plan: Plan) -> None:
    if not confirm(plan):
        raise NotConfirmed("cancelled: nothing was sent")


def _by_proposal(
    gov: Governance | None, propose: bool, me_holds: bool, timelock_holds: Callable[[str], bool]
) -> bool:
    """True when the change goes as a Governor proposal: asked for, or the timelock (not the signer) holds
    the power. False when the signer sends it directly; MissingRole is the caller's when neither holds."""
    if propose:
        if gov is None:
            raise ConfigError(
                "--propose needs a governed deployment (`curation deploy --governed`); this one is direct"
            )
        return True
    return not me_holds and gov is not None and timelock_holds(gov.timelock)


def _as_proposal(plan: Plan, gov: Governance) -> Plan:
    return replace(
        plan, sender=f"{plan.sender}, as a governance proposal (the timelock {gov.timelock} executes it)"
    )


def _proposal(gov: Governance, call: Call, title: str, plan: Plan, confirm: Confirm) -> Proposed:
    plan = _as_proposal(plan, gov)
    _go(confirm, plan)
    return send_proposal(gov, [call], "\n".join([title, "", *plan.lines()]))


def _params_text(p: DatasetParams) -> str:
    return ", ".join(f"{f.name}={getattr(p, f.name)}" for f in fields(DatasetParams))


# --- datasets -----------------------------------------------------------------------------------------------


def create_dataset(
    voting: VotingClient,
    name: str,
    use: str,
    description_cid: str,
    params: Mapping[str, int] | None = None,
    confirm: Confirm = _always,
    *,
    gov: Governance | None = None,
    propose: bool = False,
) -> DatasetCreatedResult | Proposed:
    """Create a dataset with the given use flags, description CID and parameters (defaults for those not given).

    Checks first, sending nothing when one fails: the signer, the name, the use flags, the CID, each parameter
    against CurationVoting's bounds (curation.params.PARAM_BOUNDS) and the signer's dataset-manager role.
    """
    me = _signer(voting).address
    check_dataset_name(name)
    flags = parse_dataset_use(use)
    try:
        cid = str(parse_cid(description_cid))
    except InvalidInput as exc:
        raise InvalidInput(f"description_cid = {description_cid!r} is not a CID: {exc}") from None
    chosen = replace(DatasetParams(), **check_params(params or {}))
    holds = voting.is_dataset_manager(me)
    routed = _by_proposal(gov, propose, holds, voting.is_dataset_manager)
    if not routed:
        _require_role(holds, me, Role.DATASET_MANAGER, voting, voting.admin())
    plan = Plan(
        "CurationVoting",
        voting.address,
        "createDataset",
        (
            ("name", name),
            ("descriptionCid", cid),
            ("use", f"{format_consent(flags)} ({int(flags)})"),
            ("params", _params_text(chosen)),
        ),
        me,
    )
    if routed and gov is not None:
        call = voting.encode("createDataset", name, cid_bytes(cid), int(flags), chosen.as_tuple())
        return _proposal(gov, call, f"Create dataset {name!r}", plan, confirm)
    _go(confirm, plan)
    receipt = voting.create_dataset(name, cid, int(flags), chosen)
    created = receipt.event(DatasetCreated)
    return DatasetCreatedResult(created.dataset_id, name, int(flags), cid, chosen, plan, receipt.tx_hash)


def set_dataset_params(
    voting: VotingClient,
    dataset_id: int,
    changes: Mapping[str, int],
    confirm: Confirm = _always,
    *,
    gov: Governance | None = None,
    propose: bool = False,
) -> DatasetParamsChanged | Proposed:
    """Change only the given parameters of an existing dataset (the others keep their values)."""
    me = _signer(voting).address
    if not changes:
        raise NothingToChange("no parameter given: pass at least one of the --field options")
    wanted = check_params(changes)
    _require_dataset(voting, dataset_id)
    old = voting.get_dataset(dataset_id).params
    new = replace(old, **wanted)
    if new == old:
        raise NothingToChange(f"dataset {dataset_id} already has {_params_text(old)}: nothing to send")
    holds = voting.is_dataset_manager(me)
    routed = _by_proposal(gov, propose, holds, voting.is_dataset_manager)
    if not routed:
        _require_role(holds, me, Role.DATASET_MANAGER, voting, voting.admin())
    args = tuple(
        (f.name, f"{getattr(old, f.name)} -> {getattr(new, f.name)}")
        if getattr(old, f.name) != getattr(new, f.name)
        else (f.name, f"{getattr(old, f.name)} (unchanged)")
        for f in fields(DatasetParams)
    )
    plan = Plan(
        "CurationVoting", voting.address, "setDatasetParams", (("datasetId", str(dataset_id)), *args), me
    )
    if routed and gov is not None:
        change = ", ".join(
            f"{f.name} {getattr(old, f.name)} -> {getattr(new, f.name)}"
            for f in fields(DatasetParams)
            if getattr(old, f.name) != getattr(new, f.name)
        )
        call = voting.encode("setDatasetParams", dataset_id, new.as_tuple())
        return _proposal(gov, call, f"Set dataset {dataset_id} parameters: {change}", plan, confirm)
    _go(confirm, plan)
    receipt = voting.set_dataset_params(dataset_id, new)
    return DatasetParamsChanged(dataset_id, old, new, plan, receipt.tx_hash)


def list_datasets(voting: VotingClient) -> list[DatasetInfo]:
    """Every dataset, by id."""
    return [voting.get_dataset(i) for i in range(1, voting.dataset_count() + 1)]


# --- licenses -----------------------------------------------------------------------------------------------


def _license_plan(registry: RegistryClient, me: str, spdx: str, classes: int, allowed: bool) -> Plan:
    return Plan(
        "ContentRegistry",
        registry.address,
        "setLicense",
        (
            ("spdx", spdx),
            ("classes", f"{format_license_classes(classes)} ({classes})"),
            ("allowed", str(allowed).lower()),
        ),
        me,
    )


def _send_license(
    registry: RegistryClient,
    spdx: str,
    classes: int,
    allowed: bool,
    confirm: Confirm,
    gov: Governance | None,
    propose: bool,
) -> LicenseChanged | Proposed:
    me = _signer(registry).address
    holds = registry.is_license_manager(me)
    routed = _by_proposal(gov, propose, holds, registry.is_license_manager)
    if not routed:
        _require_role(holds, me, Role.LICENSE_MANAGER, registry, registry.admin())
    plan = _license_plan(registry, me, spdx, classes, allowed)
    if routed and gov is not None:
        what = (
            f"Allow license {spdx} ({format_license_classes(classes)})"
            if allowed
            else f"Disable license {spdx}"
        )
        return _proposal(gov, registry.encode("setLicense", spdx, classes, allowed), what, plan, confirm)
    _go(confirm, plan)
    receipt = registry.set_license(spdx, classes, allowed)
    ev = receipt.event(LicenseSet)
    return LicenseChanged(ev.license_id, spdx, classes, allowed, plan, receipt.tx_hash)


def set_license(
    registry: RegistryClient,
    spdx: str,
    classes: str | None = None,
    *,
    custom: bool = False,
    confirm: Confirm = _always,
    gov: Governance | None = None,
    propose: bool = False,
) -> LicenseChanged | Proposed:
    """Allow license `spdx` (curation.licenses.resolve_license: known ids in their canonical spelling and
    classes; another valid SPDX id only with `custom` and explicit classes)."""
    _signer(registry)
    spdx_id, flags = resolve_license(spdx, classes, custom=custom)
    existing = registry.license_id_of(spdx_id)
    if existing:
        rec = registry.license(existing)
        if rec.allowed and rec.classes == int(flags):
            raise NothingToChange(
                f"license {spdx_id} (id {existing}) is already allowed with classes "
                f"{format_license_classes(rec.classes)}: nothing to send"
            )
    return _send_license(registry, spdx_id, int(flags), True, confirm, gov, propose)


def disable_license(
    registry: RegistryClient,
    spdx: str,
    confirm: Confirm = _always,
    *,
    gov: Governance | None = None,
    propose: bool = False,
) -> LicenseChanged | Proposed:
    """Take license `spdx` off the allowlist (it keeps its id and classes; items already in keep it)."""
    _signer(registry)
    check_spdx(spdx.strip())
    names = [spdx.strip()]
    known = canonical_spdx(spdx)
    if known is not None and known not in names:
        names.append(known)
    found = next(((n, i) for n in names if (i := registry.license_id_of(n))), None)
    if found is None:
        raise UnknownLicense(
            f"spdx = {spdx!r} was never added to the registry: `curation license list` shows those"
        )
    spdx_id, license_id = found
    rec = registry.license(license_id)
    if not rec.allowed:
        raise NothingToChange(f"license {spdx_id} (id {license_id}) is already disabled: nothing to send")
    return _send_license(registry, spdx_id, rec.classes, False, confirm, gov, propose)


def list_licenses(registry: RegistryClient) -> list[LicenseRecord]:
    """Every license ever added (allowed or not), by id."""
    return registry.licenses()


# --- roles --------------------------------------------------------------------------------------------------


def show_roles(contracts: Contracts, account: str | None = None) -> list[RoleRow]:
    """Each role: its contract, that contract's admin, and whether `account` (default: the signer) holds it."""
    who = _signer(contracts.voting).address if account is None else parse_address(account)
    return [
        RoleRow(
            role,
            contracts.client(role).artifact,
            contracts.client(role).address,
            contracts.admin(role),
            contracts.holds(role, who),
        )
        for role in Role
    ]


def set_role(
    contracts: Contracts,
    role: Role,
    account: str,
    allowed: bool,
    confirm: Confirm = _always,
    *,
    gov: Governance | None = None,
    propose: bool = False,
) -> RoleChanged | Proposed:
    """Grant (`allowed`) or revoke `role` for `account`; the signer must be the granting contract's admin,
    or, on a governed deployment (whose admin is the timelock), the change becomes a proposal."""
    client = contracts.client(role)
    me = _signer(client).address
    who = parse_address(account)
    admin = contracts.admin(role)
    routed = _by_proposal(gov, propose, me == admin, lambda timelock: timelock == admin)
    if me != admin and not routed:
        raise MissingRole(
            f"{me} is not the admin of {client.artifact} {client.address} (the admin is {admin}), so it cannot "
            f"{'grant' if allowed else 'revoke'} {role.value}; nothing was sent"
        )
    if contracts.holds(role, who) == allowed:
        state = "already holds" if allowed else "does not hold"
        raise NothingToChange(f"{who} {state} the {role.value} role: nothing to send")
    plan = Plan(
        client.artifact,
        client.address,
        role.setter,
        (("account", who), ("allowed", str(allowed).lower())),
        me,
    )
    if routed and gov is not None:
        title = f"{'Grant' if allowed else 'Revoke'} the {role.value} role {'to' if allowed else 'of'} {who}"
        return _proposal(gov, client.encode(role.setter, who, allowed), title, plan, confirm)
    _go(confirm, plan)
    if role is Role.MINTER:
        receipt = contracts.token.set_minter(who, allowed)
    elif role is Role.DATASET_MANAGER:
        receipt = contracts.voting.set_dataset_manager(who, allowed)
    elif role is Role.LICENSE_MANAGER:
        receipt = contracts.registry.set_license_manager(who, allowed)
    else:
        receipt = contracts.releases.set_publisher(who, allowed)
    return RoleChanged(role, who, allowed, plan, receipt.tx_hash)


# --- dev chain ----------------------------------------------------------------------------------------------


def fund(w3: Any, signer: Signer | None, to: str, amount: str, confirm: Confirm = _always) -> Funded:
    """Send ETH from an unlocked dev account to `to`, on a dev chain only (DEV_CHAIN_IDS)."""
    if signer is None:
        raise ConfigError("this needs a signer: pass --dev-account N")
    who = parse_address(to, "ADDRESS")
    wei = parse_wei(amount)
    chain_id = int(w3.eth.chain_id)
    if chain_id not in DEV_CHAIN_IDS:
        known = ", ".join(f"{i} ({n})" for i, n in DEV_CHAIN_IDS.items())
        raise NotDevChain(
            f"chain id = {chain_id} is not a dev chain: `curation chain fund` sends only on {known}; "
            "nothing was sent"
        )
    if signer.local is not None:
        raise NotDevChain(
            f"`curation chain fund` sends from an account the node holds unlocked: use --dev-account N, "
            f"not the keystore of {signer.address}; nothing was sent"
        )
    have = int(w3.eth.get_balance(signer.address))
    if have < wei:
        raise InvalidInput(
            f"amount = {wei} wei is more than the sender {signer.address} holds ({have} wei); nothing was sent"
        )
    plan = Plan(
        f"chain {chain_id}",
        who,
        "transfer (ETH)",
        (("to", who), ("value", f"{wei} wei ({wei / 10**18:g} ETH)")),
        signer.address,
    )
    _go(confirm, plan)
    tx_hash = send_value(w3, signer.address, who, wei)
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return Funded(who, wei, int(w3.eth.get_balance(who)), plan, tx_hash)


#: Most blocks one `curation chain mine` asks for.
MAX_MINE_BLOCKS = 100_000


def mine(w3: Any, blocks: int, seconds: int = 0) -> BlockHeader:
    """Move a dev chain forward `blocks` blocks and `seconds` seconds (to open or close a vote, or let a
    timelock delay pass); refused on any other chain."""
    chain_id = int(w3.eth.chain_id)
    if chain_id not in DEV_CHAIN_IDS:
        raise NotDevChain(
            f"chain id = {chain_id} is not a dev chain: `curation chain mine` runs only on a dev chain"
        )
    if not 0 <= blocks <= MAX_MINE_BLOCKS or not 0 <= seconds <= 10 * 365 * 24 * 3600:
        raise InvalidInput(
            f"blocks = {blocks}, seconds = {seconds}: blocks must be 0..{MAX_MINE_BLOCKS}, seconds 0..10 years"
        )
    if blocks == 0 and seconds == 0:
        raise NothingToChange("nothing to mine: give BLOCKS or --seconds")
    return advance(w3, blocks, seconds)
