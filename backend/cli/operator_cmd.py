"""Operator commands: `curation dataset ...`, `license ...`, `roles ...` and `chain fund` (signer holds the role)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from backend import operate
from backend.chain.voting import DatasetInfo
from backend.cli.common import (
    ChainOpts,
    YesOpt,
    chain_command,
    console,
    guarded,
    show_and_confirm,
)
from backend.cli.gov_cmd import emit_proposed
from backend.govern import Governance, Proposed
from backend.operate import Contracts, Plan
from curation.consent import format_consent
from curation.licenses import format_license_classes
from curation.roles import Role

__all__ = ["register"]

dataset_app = typer.Typer(help="Datasets: create, change parameters, list.", no_args_is_help=True)
license_app = typer.Typer(help="The license allowlist of the content registry.", no_args_is_help=True)
roles_app = typer.Typer(help="Roles the contracts grant directly (admin only).", no_args_is_help=True)
chain_app = typer.Typer(help="Dev-chain helpers (Hardhat 31337 or the embedded chain).", no_args_is_help=True)

ProposeOpt = Annotated[
    bool,
    typer.Option(
        "--propose",
        help="make the change a governance proposal even if you hold the role (governed deployments; "
        "it becomes one anyway when only the timelock holds the role)",
    ),
]

# The dataset parameters as options (None: keep the default on create, the current value on params).
VotingDelayOpt = Annotated[
    int | None, typer.Option("--voting-delay", help="blocks from proposal to snapshot (1..2^32-1)")
]
VotingPeriodOpt = Annotated[
    int | None, typer.Option("--voting-period", help="blocks from snapshot to deadline (1..2^32-1)")
]
QuorumOpt = Annotated[
    int | None, typer.Option("--quorum-bps", help="quorum, basis points of supply (0..10000)")
]
ApprovalOpt = Annotated[
    int | None, typer.Option("--approval-bps", help="For needed, basis points of For+Against (1..10000)")
]
ExtensionOpt = Annotated[
    int | None, typer.Option("--late-quorum-extension", help="blocks added on a late quorum (0..2^32-1)")
]
ThresholdOpt = Annotated[
    int | None, typer.Option("--proposal-threshold", help="votes a proposer needs (0..2^128-1)")
]


def _confirmer(yes: bool, as_json: bool) -> operate.Confirm:
    """Show the plan (stderr with --json), then send with --yes, ask on a terminal, refuse otherwise."""

    def confirm(plan: Plan) -> bool:
        return show_and_confirm(plan.lines(), yes=yes, as_json=as_json, question="send this transaction?")

    return confirm


def _params(**given: int | None) -> dict[str, int]:
    return {k: v for k, v in given.items() if v is not None}


def _dataset_json(d: DatasetInfo) -> dict[str, Any]:
    p = d.params
    return {
        "dataset_id": d.dataset_id,
        "name": d.name,
        "description_cid": d.description_cid,
        "use": format_consent(d.use),
        "use_mask": d.use,
        "creator": d.creator,
        "params": {**vars(p), "proposal_threshold": str(p.proposal_threshold)},
    }


# --- dataset ------------------------------------------------------------------------------------------------


@dataset_app.command("create")
@guarded
@chain_command()
def dataset_create(
    name: Annotated[str, typer.Argument(help="dataset name (not empty)")],
    use: Annotated[str, typer.Option("--use", help="use flags items must consent to: train,commercial,...")],
    description_cid: Annotated[
        str, typer.Option("--description-cid", help="CID of the description document")
    ],
    quorum_bps: QuorumOpt = None,
    approval_bps: ApprovalOpt = None,
    proposal_threshold: ThresholdOpt = None,
    voting_delay: VotingDelayOpt = None,
    voting_period: VotingPeriodOpt = None,
    late_quorum_extension: ExtensionOpt = None,
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Create a dataset (needs the dataset-manager role); parameters not given take the defaults."""
    params = _params(
        quorum_bps=quorum_bps,
        approval_bps=approval_bps,
        proposal_threshold=proposal_threshold,
        voting_delay=voting_delay,
        voting_period=voting_period,
        late_quorum_extension=late_quorum_extension,
    )
    with opts.session() as s:
        done = operate.create_dataset(
            s.voting(),
            name,
            use,
            description_cid,
            params,
            _confirmer(yes, opts.as_json),
            gov=Governance.maybe(s),
            propose=propose,
        )
    if isinstance(done, Proposed):
        emit_proposed(opts, done)
        return
    opts.emit(
        {
            "dataset_id": done.dataset_id,
            "name": done.name,
            "use": format_consent(done.use),
            "description_cid": done.description_cid,
            "params": {**vars(done.params), "proposal_threshold": str(done.params.proposal_threshold)},
            "plan": done.plan.to_json(),
            "tx": done.tx_hash,
        },
        f"created dataset {done.dataset_id} ({done.name}), use {format_consent(done.use)}, tx {done.tx_hash}",
    )


@dataset_app.command("params")
@guarded
@chain_command()
def dataset_params(
    dataset: Annotated[int, typer.Argument(help="dataset id")],
    quorum_bps: QuorumOpt = None,
    approval_bps: ApprovalOpt = None,
    proposal_threshold: ThresholdOpt = None,
    voting_delay: VotingDelayOpt = None,
    voting_period: VotingPeriodOpt = None,
    late_quorum_extension: ExtensionOpt = None,
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Change only the given parameters of a dataset (open proposals keep their thresholds)."""
    changes = _params(
        quorum_bps=quorum_bps,
        approval_bps=approval_bps,
        proposal_threshold=proposal_threshold,
        voting_delay=voting_delay,
        voting_period=voting_period,
        late_quorum_extension=late_quorum_extension,
    )
    with opts.session() as s:
        done = operate.set_dataset_params(
            s.voting(),
            dataset,
            changes,
            _confirmer(yes, opts.as_json),
            gov=Governance.maybe(s),
            propose=propose,
        )
    if isinstance(done, Proposed):
        emit_proposed(opts, done)
        return
    changed = done.changed
    opts.emit(
        {
            "dataset_id": done.dataset_id,
            "changed": {k: {"old": str(o), "new": str(n)} for k, (o, n) in changed.items()},
            "plan": done.plan.to_json(),
            "tx": done.tx_hash,
        },
        f"dataset {done.dataset_id}: " + ", ".join(f"{k} {o} -> {n}" for k, (o, n) in changed.items()),
        f"tx {done.tx_hash}",
    )


@dataset_app.command("list")
@guarded
@chain_command(signer=False)
def dataset_list(*, opts: ChainOpts) -> None:
    """List every dataset with its use flags and voting parameters."""
    with opts.session(signer=False) as s:
        found = operate.list_datasets(s.voting())
    if opts.as_json:
        opts.emit({"datasets": [_dataset_json(d) for d in found]})
        return
    table = Table(
        "id", "name", "use", "delay", "period", "quorum bps", "approval bps", "extension", "threshold"
    )
    for d in found:
        p = d.params
        table.add_row(
            str(d.dataset_id),
            d.name,
            format_consent(d.use),
            *(
                str(v)
                for v in (
                    p.voting_delay,
                    p.voting_period,
                    p.quorum_bps,
                    p.approval_bps,
                    p.late_quorum_extension,
                    p.proposal_threshold,
                )
            ),
        )
    console.print(table)


# --- license ------------------------------------------------------------------------------------------------


@license_app.command("add")
@guarded
@chain_command()
def license_add(
    spdx: Annotated[str, typer.Argument(help="SPDX id, e.g. CC-BY-4.0 (any letter case for known ids)")],
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="commercial,share-alike,attribution or none (known ids: optional)"),
    ] = None,
    custom: Annotated[
        bool, typer.Option("--custom", help="allow an SPDX id this version does not know (needs --classes)")
    ] = False,
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Allow a license (or re-allow a disabled one); needs the license-manager role."""
    with opts.session() as s:
        done = operate.set_license(
            s.registry(),
            spdx,
            classes,
            custom=custom,
            confirm=_confirmer(yes, opts.as_json),
            gov=Governance.maybe(s),
            propose=propose,
        )
    _license_out(opts, done)


@license_app.command("disable")
@guarded
@chain_command()
def license_disable(
    spdx: Annotated[str, typer.Argument(help="SPDX id of an added license")],
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Take a license off the allowlist (new submissions under it are refused; existing items keep it)."""
    with opts.session() as s:
        done = operate.disable_license(
            s.registry(), spdx, _confirmer(yes, opts.as_json), gov=Governance.maybe(s), propose=propose
        )
    _license_out(opts, done)


def _license_out(opts: ChainOpts, done: operate.LicenseChanged | Proposed) -> None:
    if isinstance(done, Proposed):
        emit_proposed(opts, done)
        return
    state = "allowed" if done.allowed else "disabled"
    opts.emit(
        {
            "license_id": done.license_id,
            "spdx": done.spdx,
            "classes": format_license_classes(done.classes),
            "allowed": done.allowed,
            "plan": done.plan.to_json(),
            "tx": done.tx_hash,
        },
        f"license {done.license_id} {done.spdx} ({format_license_classes(done.classes)}) {state}, "
        f"tx {done.tx_hash}",
    )


@license_app.command("list")
@guarded
@chain_command(signer=False)
def license_list(*, opts: ChainOpts) -> None:
    """List every license ever added, allowed or not."""
    with opts.session(signer=False) as s:
        found = operate.list_licenses(s.registry())
    rows = [
        {
            "license_id": r.license_id,
            "spdx": r.spdx,
            "classes": format_license_classes(r.classes),
            "allowed": r.allowed,
        }
        for r in found
    ]
    if opts.as_json:
        opts.emit({"licenses": rows})
        return
    table = Table("id", "spdx", "classes", "allowed")
    for r in rows:
        table.add_row(
            str(r["license_id"]), str(r["spdx"]), str(r["classes"]), "yes" if r["allowed"] else "no"
        )
    console.print(table)


# --- roles --------------------------------------------------------------------------------------------------


@roles_app.command("show")
@guarded
@chain_command()
def roles_show(
    address: Annotated[str | None, typer.Argument(help="account to check (default: the signer)")] = None,
    *,
    opts: ChainOpts,
) -> None:
    """Each contract's admin and whether ADDRESS holds each role."""
    with opts.session(signer=address is None) as s:
        rows = operate.show_roles(Contracts.from_session(s), address)
    account = address if address is not None else ""
    data = [
        {
            "role": r.role.value,
            "contract": r.contract,
            "address": r.address,
            "admin": r.admin,
            "holds": r.holds,
        }
        for r in rows
    ]
    if opts.as_json:
        opts.emit({"account": account, "roles": data})
        return
    table = Table("role", "contract", "address", "admin", "holds", title=account or None)
    for r in data:
        table.add_row(
            str(r["role"]),
            str(r["contract"]),
            str(r["address"]),
            str(r["admin"]),
            "yes" if r["holds"] else "no",
        )
    console.print(table)


def _set_role(role: str, address: str, allowed: bool, yes: bool, propose: bool, opts: ChainOpts) -> None:
    which = Role.parse(role)
    with opts.session() as s:
        done = operate.set_role(
            Contracts.from_session(s),
            which,
            address,
            allowed,
            _confirmer(yes, opts.as_json),
            gov=Governance.maybe(s),
            propose=propose,
        )
    if isinstance(done, Proposed):
        emit_proposed(opts, done)
        return
    verb = "granted" if done.allowed else "revoked"
    opts.emit(
        {
            "role": done.role.value,
            "account": done.account,
            "allowed": done.allowed,
            "plan": done.plan.to_json(),
            "tx": done.tx_hash,
        },
        f"{verb} {done.role.value} {'to' if done.allowed else 'from'} {done.account}, tx {done.tx_hash}",
    )


@roles_app.command("grant")
@guarded
@chain_command()
def roles_grant(
    role: Annotated[str, typer.Argument(help="minter, dataset-manager, license-manager or publisher")],
    address: Annotated[str, typer.Argument(help="account to grant the role to")],
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Grant a role (the contract's admin sends it; on a governed deployment it becomes a proposal)."""
    _set_role(role, address, True, yes, propose, opts)


@roles_app.command("revoke")
@guarded
@chain_command()
def roles_revoke(
    role: Annotated[str, typer.Argument(help="minter, dataset-manager, license-manager or publisher")],
    address: Annotated[str, typer.Argument(help="account to revoke the role from")],
    yes: YesOpt = False,
    propose: ProposeOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Revoke a role (the contract's admin sends it; on a governed deployment it becomes a proposal)."""
    _set_role(role, address, False, yes, propose, opts)


# --- chain fund ---------------------------------------------------------------------------------------------


@chain_app.command("fund")
@guarded
@chain_command()
def chain_fund(
    address: Annotated[str, typer.Argument(help="account to send ETH to")],
    amount: Annotated[str, typer.Argument(help="1.5 (ether) or 1500000000000000000wei")],
    yes: YesOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Send ETH from an unlocked dev account (dev chains only: Hardhat 31337 or the embedded chain)."""
    with opts.session() as s:
        done = operate.fund(s.w3, s.signer, address, amount, _confirmer(yes, opts.as_json))
    opts.emit(
        {
            "to": done.to,
            "wei": str(done.wei),
            "balance": str(done.balance),
            "plan": done.plan.to_json(),
            "tx": done.tx_hash,
        },
        f"sent {done.wei} wei to {done.to} (balance now {done.balance} wei), tx {done.tx_hash}",
    )


@chain_app.command("mine")
@guarded
@chain_command(signer=False)
def chain_mine(
    blocks: Annotated[int, typer.Argument(help="blocks to mine (0..100000)")] = 1,
    seconds: Annotated[int, typer.Option("--seconds", help="also move the clock this many seconds")] = 0,
    *,
    opts: ChainOpts,
) -> None:
    """Move a dev chain forward (open or close a vote, let a timelock delay pass); dev chains only."""
    with opts.session(signer=False) as s:
        head = operate.mine(s.w3, blocks, seconds)
    opts.emit(
        {"block": head.number, "timestamp": head.timestamp},
        f"head is block {head.number} at time {head.timestamp}",
    )


def register(app: typer.Typer) -> None:
    """Add the `dataset`, `license`, `roles` and `chain` groups to the main app."""
    existing = {g.name for g in app.registered_groups}
    for name, group in (
        ("dataset", dataset_app),
        ("license", license_app),
        ("roles", roles_app),
        ("chain", chain_app),
    ):
        if name not in existing:
            app.add_typer(group, name=name)
