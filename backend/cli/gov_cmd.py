"""`curation gov ...` (the commons' Governor proposals) and `curation token allocate` (genesis allocation)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from backend import govern
from backend.chain.contract import Call
from backend.chain.governance import CallDescription
from backend.cli.common import (
    ChainOpts,
    RawOpt,
    YesOpt,
    chain_command,
    console,
    guarded,
    progress_console,
    show_and_confirm,
    token_amounts,
)
from backend.govern import Governance, Proposed
from curation.allocation import Allocation, parse_allocation
from curation.errors import InvalidInput
from curation.params import parse_address
from curation.units import parse_token_amount

__all__ = ["emit_proposed", "register"]

gov_app = typer.Typer(
    help="The commons' own governance: Governor proposals, votes, the timelock queue.", no_args_is_help=True
)
token_app = typer.Typer(help="The voting token: the genesis allocation.", no_args_is_help=True)

ProposalArg = Annotated[int, typer.Argument(help="governance proposal id (from `curation gov list`)")]
#: Largest allocation file read (curation.allocation bounds it again after reading).
_MAX_FILE = 1_000_001


def emit_proposed(opts: ChainOpts, done: Proposed) -> None:
    """Print a proposal just sent: its id, actions, and what to do next."""
    opts.emit(
        done.to_json(),
        f"proposed {done.proposal_id}",
        *(f"  action: {c.text()}" for c in done.calls),
        f"  vote opens after block {done.vote_start} and closes at block {done.vote_end}; "
        f"then `curation gov queue {done.proposal_id}` and `curation gov execute {done.proposal_id}`",
        f"  tx {done.tx_hash}",
    )


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise InvalidInput(f"{what} = {v!r}: expected NAME=VALUE")
        out.append((key.strip(), val.strip()))
    return out


@gov_app.command("propose")
@guarded
@chain_command()
def gov_propose(
    description: Annotated[
        str, typer.Option("--description", "-m", help="what and why; the first line is the title")
    ],
    mint: Annotated[
        list[str] | None,
        typer.Option(
            "--mint", help="ADDRESS=AMOUNT: mint voting tokens (whole tokens, or base units with `raw`)"
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE: a governance setting (voting_delay, voting_period, proposal_threshold, "
            "quorum_percent, min_delay)",
        ),
    ] = None,
    yes: YesOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Propose minting or a governance setting change. (Dataset, license and role changes are proposed by
    `curation dataset|license|roles ... --propose`, or on their own when the timelock holds the role.)"""
    with opts.session() as s:
        gov = Governance.from_session(s)
        decimals = s.token().decimals()
        calls: list[Call] = []
        for address, amount in _pairs(mint or [], "--mint"):
            calls.append(govern.mint_call(gov, parse_address(address), parse_token_amount(amount, decimals)))
        for name, value in _pairs(setting or [], "--set"):
            try:
                number = int(value)
            except ValueError:
                raise InvalidInput(f"--set {name}={value!r}: the value must be a whole number") from None
            calls.append(govern.setting_call(gov, name, number))
        if not calls:
            raise InvalidInput("nothing to propose: give --mint ADDRESS=AMOUNT or --set NAME=VALUE")

        def confirm(text: str, described: Sequence[CallDescription]) -> bool:
            lines = [f"proposal: {text.splitlines()[0]}", *(f"  action: {c.text()}" for c in described)]
            return show_and_confirm(lines, yes=yes, as_json=opts.as_json, question="send this proposal?")

        done = govern.propose(gov, calls, description, confirm)
    emit_proposed(opts, done)


@gov_app.command("vote")
@guarded
@chain_command()
def gov_vote(
    proposal: ProposalArg,
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    reason: Annotated[str, typer.Option("--reason", help="a reason, recorded on chain")] = "",
    raw: RawOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Vote on a governance proposal with your delegated voting power at its snapshot."""
    with opts.session() as s:
        weight, tx, warnings = govern.cast_vote(Governance.from_session(s), proposal, support, reason)
        amount = token_amounts(s, raw)
    for w in warnings:
        progress_console().print(f"warning: {w}", markup=False)
    opts.emit(
        {
            "proposal_id": str(proposal),
            "support": support,
            "weight": str(weight),
            "tx": tx,
            "warnings": warnings,
        },
        f"voted {support} on {proposal} with weight {amount(weight)}, tx {tx}",
    )


@gov_app.command("queue")
@guarded
@chain_command()
def gov_queue(proposal: ProposalArg, *, opts: ChainOpts) -> None:
    """Queue a proposal that passed in the timelock (anyone may)."""
    with opts.session() as s:
        eta, tx = govern.queue(Governance.from_session(s), proposal)
    opts.emit(
        {"proposal_id": str(proposal), "eta": eta, "tx": tx},
        f"queued {proposal}: executable from time {eta}, tx {tx}",
    )


@gov_app.command("execute")
@guarded
@chain_command()
def gov_execute(proposal: ProposalArg, *, opts: ChainOpts) -> None:
    """Execute a queued proposal once its timelock delay has passed (anyone may)."""
    with opts.session() as s:
        tx = govern.execute(Governance.from_session(s), proposal)
    opts.emit({"proposal_id": str(proposal), "tx": tx}, f"executed {proposal}, tx {tx}")


@gov_app.command("list")
@guarded
@chain_command(signer=False)
def gov_list(raw: RawOpt = False, *, opts: ChainOpts) -> None:
    """Every governance proposal with its state and votes."""
    with opts.session(signer=False) as s:
        rows = govern.list_proposals(Governance.from_session(s))
        amount = token_amounts(s, raw)
    if opts.as_json:
        opts.emit({"proposals": [r.to_json() for r in rows]})
        return
    table = Table("id", "state", "title", "for", "against", "abstain", "vote ends")
    for r in rows:
        table.add_row(
            str(r.proposal_id),
            r.state.label,
            Text(r.title),  # from the chain: never read as Rich markup
            amount(r.for_),
            amount(r.against),
            amount(r.abstain),
            str(r.vote_end),
        )
    console.print(table)


@gov_app.command("show")
@guarded
@chain_command(signer=False)
def gov_show(proposal: ProposalArg, raw: RawOpt = False, *, opts: ChainOpts) -> None:
    """One governance proposal: its description, each action decoded, votes, quorum and timelock eta."""
    with opts.session(signer=False) as s:
        r = govern.show_proposal(Governance.from_session(s), proposal)
        amount = token_amounts(s, raw)
    opts.emit(
        r.to_json(),
        f"proposal {r.proposal_id}: {r.state.label}, by {r.proposer} in block {r.created_block}",
        *(f"  action: {c.text()}" for c in r.actions),
        f"  votes for {amount(r.for_)}, against {amount(r.against)}, abstain {amount(r.abstain)}; "
        f"quorum {'(at snapshot) ' + amount(r.quorum) if r.quorum is not None else 'known after the snapshot'}",
        f"  vote blocks {r.vote_start}..{r.vote_end}" + (f"; timelock eta {r.eta}" if r.eta else ""),
        "",
        r.description,
    )


@token_app.command("allocate")
@guarded
@chain_command()
def token_allocate(
    file: Annotated[
        Path, typer.Argument(help="ADDRESS,AMOUNT lines (whole tokens, or base units with `raw`)")
    ],
    yes: YesOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Mint the genesis allocation, then leave minting to governance (closes genesis on a governed deployment)."""
    with file.open("rb") as fh:
        data = fh.read(_MAX_FILE)
    with opts.session() as s:
        allocation = parse_allocation(data, s.token().decimals())

        def confirm(a: Allocation) -> bool:
            lines = [f"allocate {a.total} base units to {len(a.rows)} accounts:"]
            lines += [f"  {address}: {amount}" for address, amount in a.rows[:50]]
            if len(a.rows) > 50:
                lines.append(f"  ... and {len(a.rows) - 50} more")
            if s.deployment.governed:
                lines.append(
                    "then genesis closes: the deployer gives up the timelock; minting only by proposal"
                )
            return show_and_confirm(lines, yes=yes, as_json=opts.as_json, question="mint this allocation?")

        done = govern.allocate(
            s, allocation, confirm, progress=lambda m: progress_console().print(m, markup=False)
        )
    opts.emit(
        done.to_json(),
        f"allocated {done.total} base units to {len(done.rows)} accounts; "
        + (
            "genesis closed: minting only by governance proposal"
            if done.governed
            else "the signer is no longer a minter"
        ),
    )


def register(app: typer.Typer) -> None:
    """Add the `gov` and `token` groups to the main app."""
    app.add_typer(gov_app, name="gov")
    app.add_typer(token_app, name="token")
