"""The commons governing itself on chain: CommonsGovernor (OpenZeppelin Governor) and CommonsTimelock
(OpenZeppelin TimelockController) clients, the genesis batch, and contract calls described for people.

A governed deployment (backend.chain.deployment) makes the timelock the admin of every contract. Until
genesis closes, the deployer is the timelock's proposer, executor and admin, and sets things up in atomic
batches scheduled with no delay (`GenesisBatch`). `genesis_close_calls` are the calls that end this: the
timelock's delay set, the Governor made its proposer and canceller, execution opened to anyone, every role
of the deployer revoked. After that, the only way to change a role, a license, a dataset's parameters or
the token supply is a Governor proposal that passed its vote and waited in the timelock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from backend.chain.accounts import Signer
from backend.chain.artifacts import abi_type, load_artifact
from backend.chain.contract import Call, ContractClient, Receipt
from backend.chain.decode import decode_values
from backend.chain.deployment import Deployment
from backend.errors import ConfigError
from curation.cid import cid_text
from curation.events import ChainText, GovernorProposalCreated
from curation.roles import Role

__all__ = [
    "ROLE_NAMES",
    "TIMELOCK_ROLES",
    "CallDescription",
    "GenesisBatch",
    "GenesisClosed",
    "GovernorClient",
    "GovernorState",
    "TimelockClient",
    "describe_call",
    "genesis_close_calls",
    "proposal_calls",
    "role_call",
]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
#: Most calls one genesis batch carries (each mint or setLicense costs up to ~120k gas; 8M per transaction).
MAX_BATCH_CALLS = 40

#: The TimelockController's roles by name (bytes32 ids as OpenZeppelin defines them).
TIMELOCK_ROLES: dict[str, bytes] = {
    "DEFAULT_ADMIN_ROLE": bytes(32),
    "PROPOSER_ROLE": bytes(keccak(text="PROPOSER_ROLE")),
    "EXECUTOR_ROLE": bytes(keccak(text="EXECUTOR_ROLE")),
    "CANCELLER_ROLE": bytes(keccak(text="CANCELLER_ROLE")),
}
#: bytes32 role id -> its name, for describing timelock calls.
ROLE_NAMES: dict[bytes, str] = {v: k for k, v in TIMELOCK_ROLES.items()}


class GenesisClosed(ConfigError):
    """The deployer no longer controls the timelock: set-up batches are over, changes go through proposals."""


class GovernorState(IntEnum):
    """OpenZeppelin IGovernor.ProposalState."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class TimelockClient(ContractClient):
    artifact = "CommonsTimelock"

    def has_role(self, role: str, account: str) -> bool:
        return bool(self._call("hasRole", TIMELOCK_ROLES[role], to_checksum_address(account)))

    def min_delay(self) -> int:
        return int(self._call("getMinDelay"))

    def schedule_batch(self, calls: Sequence[Call], salt: bytes, delay: int = 0) -> Receipt:
        targets, values, payloads = _columns(calls)
        return self._transact("scheduleBatch", targets, values, payloads, bytes(32), salt, delay)

    def execute_batch(self, calls: Sequence[Call], salt: bytes) -> Receipt:
        targets, values, payloads = _columns(calls)
        return self._transact("executeBatch", targets, values, payloads, bytes(32), salt)


class GovernorClient(ContractClient):
    artifact = "CommonsGovernor"

    # --- transactions -------------------------------------------------------------------------------------
    def propose(self, calls: Sequence[Call], description: str) -> Receipt:
        targets, values, payloads = _columns(calls)
        return self._transact("propose", targets, values, payloads, description)

    def cast_vote(self, proposal_id: int, support: int, reason: str = "") -> Receipt:
        if reason:
            return self._transact("castVoteWithReason", proposal_id, support, reason, gas=400_000)
        return self._transact("castVote", proposal_id, support, gas=400_000)

    def queue(self, calls: Sequence[Call], description: str) -> Receipt:
        targets, values, payloads = _columns(calls)
        return self._transact("queue", targets, values, payloads, bytes(keccak(text=description)))

    def execute(self, calls: Sequence[Call], description: str) -> Receipt:
        targets, values, payloads = _columns(calls)
        return self._transact("execute", targets, values, payloads, bytes(keccak(text=description)))

    # --- reads --------------------------------------------------------------------------------------------
    def state(self, proposal_id: int) -> GovernorState:
        return GovernorState(int(self._call("state", proposal_id)))

    def hash_proposal(self, calls: Sequence[Call], description: str) -> int:
        targets, values, payloads = _columns(calls)
        return int(self._call("hashProposal", targets, values, payloads, bytes(keccak(text=description))))

    def votes(self, proposal_id: int) -> tuple[int, int, int]:
        """(against, for, abstain) so far."""
        against, for_, abstain = self._call("proposalVotes", proposal_id)
        return int(against), int(for_), int(abstain)

    def snapshot(self, proposal_id: int) -> int:
        return int(self._call("proposalSnapshot", proposal_id))

    def deadline(self, proposal_id: int) -> int:
        return int(self._call("proposalDeadline", proposal_id))

    def eta(self, proposal_id: int) -> int:
        return int(self._call("proposalEta", proposal_id))

    def quorum(self, timepoint: int) -> int:
        return int(self._call("quorum", timepoint))

    def has_voted(self, proposal_id: int, account: str) -> bool:
        return bool(self._call("hasVoted", proposal_id, to_checksum_address(account)))

    def voting_delay(self) -> int:
        return int(self._call("votingDelay"))

    def voting_period(self) -> int:
        return int(self._call("votingPeriod"))

    def proposal_threshold(self) -> int:
        return int(self._call("proposalThreshold"))

    def timelock(self) -> str:
        return str(self._call("timelock"))

    def proposals(self, from_block: int, proposal_id: int | None = None) -> list[GovernorProposalCreated]:
        """ProposalCreated events since `from_block` (one proposal's, with `proposal_id`), oldest first."""
        filters = None if proposal_id is None else {"proposal_id": proposal_id}
        return self.event_logs(GovernorProposalCreated, from_block, filters=filters)


def _columns(calls: Sequence[Call]) -> tuple[list[str], list[int], list[bytes]]:
    return (
        [to_checksum_address(c.target) for c in calls],
        [c.value for c in calls],
        [c.data for c in calls],
    )


def proposal_calls(created: GovernorProposalCreated) -> list[Call]:
    """The calls a ProposalCreated event carries, as Call values (what queue and execute send again)."""
    return [
        Call(to_checksum_address(t), bytes(d), int(v))
        for t, v, d in zip(created.targets, created.values, created.calldatas, strict=True)
    ]


def role_call(w3: Web3, deployment: Deployment, role: Role, account: str, allowed: bool) -> Call:
    """The admin call that grants (`allowed`) or revokes `role` for `account`."""
    client = _Bare(w3, deployment.address(role.contract), role.contract)
    return client.encode(role.setter, to_checksum_address(account), allowed)


class _Bare(ContractClient):
    """Any shipped contract by artifact name (for encoding calls)."""

    def __init__(self, w3: Web3, address: str, artifact: str, signer: Signer | None = None) -> None:
        self.artifact = artifact
        super().__init__(w3, address, signer)


# --- genesis ------------------------------------------------------------------------------------------------


def genesis_close_calls(w3: Web3, deployment: Deployment) -> list[Call]:
    """The timelock calls that end genesis: its delay set to the recorded one, the Governor its proposer and
    canceller, anyone its executor, and every role the deployer holds on it revoked."""
    if deployment.governance is None:
        raise ConfigError("this deployment is not governed: it has no timelock")
    timelock = TimelockClient(w3, deployment.address("CommonsTimelock"))
    governor = deployment.address("CommonsGovernor")
    me = to_checksum_address(deployment.deployer)
    r = TIMELOCK_ROLES
    return [
        timelock.encode("updateDelay", deployment.governance.min_delay),
        timelock.encode("grantRole", r["PROPOSER_ROLE"], governor),
        timelock.encode("grantRole", r["CANCELLER_ROLE"], governor),
        timelock.encode("grantRole", r["EXECUTOR_ROLE"], ZERO_ADDRESS),
        timelock.encode("revokeRole", r["PROPOSER_ROLE"], me),
        timelock.encode("revokeRole", r["CANCELLER_ROLE"], me),
        timelock.encode("revokeRole", r["EXECUTOR_ROLE"], me),
        timelock.encode("revokeRole", r["DEFAULT_ADMIN_ROLE"], me),
    ]


class GenesisBatch:
    """Calls the deployer makes through the timelock while genesis is open, sent as atomic batches.

    Each `run` schedules the calls (at most MAX_BATCH_CALLS per transaction) with no delay and executes
    them in the next transaction: one batch either happens whole or not at all.
    """

    def __init__(self, w3: Web3, deployment: Deployment, deployer: Signer) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.timelock = TimelockClient(w3, deployment.address("CommonsTimelock"), deployer)
        self.deployer = deployer
        self.calls: list[Call] = []

    def is_open(self) -> bool:
        me = self.deployer.address
        return self.timelock.has_role("PROPOSER_ROLE", me) and self.timelock.has_role("EXECUTOR_ROLE", me)

    def add(self, call: Call) -> None:
        self.calls.append(call)

    def set_license(self, spdx: str, classes: int, allowed: bool) -> None:
        registry = _Bare(self.w3, self.deployment.address("ContentRegistry"), "ContentRegistry")
        self.add(registry.encode("setLicense", spdx, classes, allowed))

    def grant_role(self, role: str | Role, account: str) -> None:
        self.add(
            role_call(
                self.w3, self.deployment, Role.parse(role) if isinstance(role, str) else role, account, True
            )
        )

    def mint(self, to: str, amount: int) -> None:
        token = _Bare(self.w3, self.deployment.address("CurationToken"), "CurationToken")
        self.add(token.encode("mint", to_checksum_address(to), amount))

    def run(self, label: str) -> list[Receipt]:
        """Send the calls added so far, MAX_BATCH_CALLS per batch; the receipts of the executions."""
        if not self.is_open():
            raise GenesisClosed(
                f"{self.deployer.address} no longer controls the timelock {self.timelock.address}: genesis is "
                "closed, so this change needs a governance proposal (`curation gov propose`)"
            )
        out: list[Receipt] = []
        calls, self.calls = self.calls, []
        for start in range(0, len(calls), MAX_BATCH_CALLS):
            chunk = calls[start : start + MAX_BATCH_CALLS]
            salt = bytes(keccak(text=f"{label}|{self.w3.eth.block_number}|{start}"))
            self.timelock.schedule_batch(chunk, salt, 0)
            out.append(self.timelock.execute_batch(chunk, salt))
        return out


# --- describing calls ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallDescription:
    """A call decoded for people: the contract (its deployment name, or the raw address), the function, and
    each argument as (name, display text). `known` is False when the target or selector is not one of ours."""

    target: str
    contract: str
    function: str
    args: tuple[tuple[str, str], ...]
    value: int
    known: bool

    def text(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.args)
        paid = f" sending {self.value} wei" if self.value else ""
        return f"{self.contract}.{self.function}({shown}){paid}"


@cache
def _functions(artifact: str) -> dict[bytes, dict[str, Any]]:
    out: dict[bytes, dict[str, Any]] = {}
    for entry in load_artifact(artifact).abi:
        if entry.get("type") != "function":
            continue
        sig = f"{entry['name']}({','.join(abi_type(i) for i in entry['inputs'])})"
        out[bytes(keccak(text=sig))[:4]] = entry
    return out


def _show(param: dict[str, Any], value: Any) -> str:
    t = str(param["type"])
    name = str(param.get("name", ""))
    if t == "tuple":
        parts = [f"{c['name']}={_show(c, v)}" for c, v in zip(param["components"], value, strict=True)]
        return "{" + ", ".join(parts) + "}"
    if t.endswith("[]"):
        item = {**param, "type": t[:-2]}
        return "[" + ", ".join(_show(item, v) for v in value) + "]"
    if t == "address":
        return str(to_checksum_address(value))
    if t == "bytes32" and bytes(value) in ROLE_NAMES and name == "role":
        return ROLE_NAMES[bytes(value)]
    if t.startswith("bytes"):
        raw = bytes(value)
        if name.lower().endswith("cid") and raw:
            return cid_text(raw)
        return "0x" + raw.hex()
    if isinstance(value, ChainText):
        return repr(str(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def describe_call(deployment: Deployment, call: Call) -> CallDescription:
    """Decode `call` against the ABI of the deployment's contract at its target. A target or selector we do
    not know is described as such, with the calldata's length and first bytes (never silently)."""
    names = {addr.lower(): name for name, addr in deployment.contracts.items()}
    target = to_checksum_address(call.target)
    contract = names.get(target.lower())
    data = bytes(call.data)
    if contract is None:
        return CallDescription(
            target,
            target,
            f"<unknown contract: {len(data)} bytes of calldata, 0x{data[:4].hex()}...>",
            (),
            call.value,
            False,
        )
    entry = _functions(contract).get(data[:4])
    if entry is None:
        return CallDescription(
            target,
            contract,
            f"<unknown function 0x{data[:4].hex()}: {len(data)} bytes>",
            (),
            call.value,
            False,
        )
    try:
        values = decode_values([abi_type(i) for i in entry["inputs"]], data[4:])
    except Exception:  # eth_abi raises several types for calldata that does not decode
        return CallDescription(
            target,
            contract,
            f"{entry['name']}(<undecodable arguments: {len(data)} bytes>)",
            (),
            call.value,
            False,
        )
    args = tuple(
        (str(p.get("name") or f"arg{i}"), _show(p, v))
        for i, (p, v) in enumerate(zip(entry["inputs"], values, strict=True))
    )
    return CallDescription(target, contract, str(entry["name"]), args, call.value, True)
