"""Curator commands: `curation delegate`, `propose`, `vote`, `sign-ballot`, `relay`, `finalize`, `proposals`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from backend import curate
from backend.chain.ballots import RelayReport
from backend.cli.common import (
    ChainOpts,
    RawOpt,
    add_commands,
    chain_command,
    console,
    guarded,
    progress_console,
    token_amounts,
)
from curation.governance import ProposalKind, Support

__all__ = ["register", "relay_output"]


@guarded
@chain_command(gasless=True)
def delegate_cmd(
    to: Annotated[str | None, typer.Argument(help="address to delegate to (default: yourself)")] = None,
    raw: RawOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Delegate your voting power (tokens count in votes only once delegated, to yourself or another)."""
    with opts.session() as s:
        done = curate.delegate(s.token(), to)
        amount = token_amounts(s, raw)
    opts.emit(
        {"from": done.delegator, "to": done.delegatee, "votes": str(done.votes), "tx": done.tx_hash},
        f"{done.delegator} delegates to {done.delegatee}, who now has {amount(done.votes)} votes",
    )


@guarded
@chain_command(gasless=True)
def propose_cmd(
    dataset: Annotated[int, typer.Argument(help="dataset id")],
    remove: Annotated[bool, typer.Option("--remove", help="propose removing instead of including")] = False,
    items: Annotated[list[int] | None, typer.Option("--item", help="item id (repeatable)")] = None,
    batches: Annotated[list[int] | None, typer.Option("--batch", help="batch id (repeatable)")] = None,
    description: Annotated[str, typer.Option("--description", help="CID of a description document")] = "",
    *,
    opts: ChainOpts,
) -> None:
    """Propose including (or with --remove, removing) items and batches in a dataset."""
    kind = ProposalKind.REMOVE if remove else ProposalKind.INCLUDE
    with opts.session() as s:
        p = curate.propose(s.voting(), dataset, kind, items or [], batches or [], description)
    opts.emit(
        {
            "proposal_id": p.proposal_id,
            "dataset_id": p.dataset_id,
            "kind": p.kind.name.lower(),
            "snapshot": p.snapshot,
            "deadline": p.deadline,
            "tx": p.tx_hash,
        },
        f"proposal {p.proposal_id} ({p.kind.name.lower()}) on dataset {p.dataset_id}: votes open after block "
        f"{p.snapshot}, close at block {p.deadline}",
    )


@guarded
@chain_command()
def vote_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    reason: Annotated[str | None, typer.Option("--reason", help="a reason, recorded on-chain")] = None,
    raw: RawOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Vote on a proposal, weighted by your voting power at its snapshot block."""
    choice = Support.parse(support)
    with opts.session() as s:
        v = curate.vote(s.voting(), proposal, choice, reason)
        amount = token_amounts(s, raw)
    opts.emit(
        {
            "proposal_id": v.proposal_id,
            "support": v.support.name.lower(),
            "weight": str(v.weight),
            "tx": v.tx_hash,
        },
        f"voted {v.support.name.lower()} on proposal {v.proposal_id} with weight {amount(v.weight)}",
    )


@guarded
@chain_command()
def sign_ballot_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    out: Annotated[Path, typer.Option("-o", "--out", help="ballot file to write (or add to, with --append)")],
    append: Annotated[bool, typer.Option("--append", help="add to an existing ballot file")] = False,
    *,
    opts: ChainOpts,
) -> None:
    """Sign a ballot (EIP-712) without sending anything; anyone can relay the file later."""
    choice = Support.parse(support)
    with opts.session() as s:
        signed = curate.sign_ballot_to_file(s.voting(), proposal, choice, out, append=append)
        warnings = curate.ballot_warnings(s.voting(), proposal, signed.voter)
    for w in warnings:
        progress_console().print(f"warning: {w}", markup=False)
    opts.emit(
        {"file": str(out), "ballot": signed.to_json(), "warnings": warnings},
        f"signed {choice.name.lower()} on proposal {proposal} as {signed.voter}: {out}",
    )


@guarded
@chain_command()
def relay_cmd(
    files: Annotated[list[Path], typer.Argument(help="ballot files written by `curation sign-ballot`")],
    *,
    opts: ChainOpts,
) -> None:
    """Send many signed ballots in batched transactions (you pay the gas; the voters' weights count)."""
    with opts.session() as s:
        report = curate.relay_ballot_files(s.voting(), files)
    result, lines = relay_output(report)
    opts.emit(result, *lines)


def relay_output(report: RelayReport) -> tuple[dict[str, Any], list[str]]:
    """What `relay` prints: the JSON object and the human lines (each ballot left out or skipped, and why)."""
    result: dict[str, Any] = {
        "counted": [
            {
                "voter": c.voter,
                "proposal_id": c.proposal_id,
                "support": c.support.name.lower(),
                "weight": str(c.weight),
            }
            for c in report.counted
        ],
        "skipped": [
            {
                "voter": k.ballot.voter,
                "proposal_id": k.ballot.proposal_id,
                "reason": k.detail,
                "code": None if k.reason is None else k.reason.name.lower(),
                "left_out": k.left_out,
                "tx": k.tx_hash,
            }
            for k in report.skipped
        ],
        "gas_used": report.gas_used,
        "tx": [r.tx_hash for r in report.receipts],
    }
    left_out, on_chain = report.left_out, report.skipped_on_chain
    lines = [
        f"counted {len(report.counted)} ballots, left out by the relayer {len(left_out)}, skipped by the "
        f"contract {len(on_chain)}, gas {report.gas_used}",
        *(f"  left out {k.ballot.voter} on proposal {k.ballot.proposal_id}: {k.detail}" for k in left_out),
        *(f"  skipped {k.ballot.voter} on proposal {k.ballot.proposal_id}: {k.detail}" for k in on_chain),
    ]
    return result, lines


@guarded
@chain_command()
def finalize_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    raw: RawOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """Finalize a proposal after its deadline (anyone may): Accepted or Rejected."""
    with opts.session() as s:
        f = curate.finalize(s.voting(), proposal)
        amount = token_amounts(s, raw)
    tally = f.tally
    opts.emit(
        {
            "proposal_id": f.proposal_id,
            "outcome": f.outcome.name.lower(),
            "for": str(tally.for_votes),
            "against": str(tally.against_votes),
            "abstain": str(tally.abstain_votes),
            "tx": f.tx_hash,
        },
        f"proposal {f.proposal_id}: {f.outcome.name.lower()} (for {amount(tally.for_votes)}, against "
        f"{amount(tally.against_votes)}, abstain {amount(tally.abstain_votes)})",
    )


@guarded
@chain_command(signer=False)
def proposals_cmd(
    dataset: Annotated[int | None, typer.Option("--dataset", help="only this dataset's proposals")] = None,
    raw: RawOpt = False,
    *,
    opts: ChainOpts,
) -> None:
    """List proposals with their state and tallies."""
    with opts.session(signer=False) as s:
        found = curate.list_proposals(s.voting(), dataset)
        amount = token_amounts(s, raw)
    rows: list[dict[str, Any]] = [
        {
            "proposal_id": r.info.proposal_id,
            "dataset_id": r.info.dataset_id,
            "kind": r.info.kind.name.lower(),
            "state": r.info.state.name.lower(),
            "snapshot": r.info.snapshot,
            "deadline": r.info.deadline,
            "for": str(r.tally.for_votes),
            "against": str(r.tally.against_votes),
            "abstain": str(r.tally.abstain_votes),
        }
        for r in found
    ]
    if opts.as_json:
        opts.emit({"proposals": rows})
        return
    table = Table("id", "dataset", "kind", "state", "snapshot", "deadline", "for", "against", "abstain")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in ("proposal_id", "dataset_id", "kind", "state", "snapshot", "deadline")),
            *(amount(int(r[k])) for k in ("for", "against", "abstain")),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the curator commands to the main app."""
    add_commands(
        app,
        {
            "delegate": delegate_cmd,
            "propose": propose_cmd,
            "vote": vote_cmd,
            "sign-ballot": sign_ballot_cmd,
            "relay": relay_cmd,
            "finalize": finalize_cmd,
            "proposals": proposals_cmd,
        },
    )
