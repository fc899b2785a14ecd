"""Curator commands: `curation delegate`, `propose`, `vote`, `sign-ballot`, `relay`, `finalize`, `proposals`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from backend.chain.ballots import RelayReport, recover_signer, relay, sign_ballot
from backend.chain.voting import ProposalKind, ProposalState, VotingClient
from backend.cli.common import ChainOpts, Session, add_commands, chain_command, console, guarded
from backend.errors import ChainError, ConfigError
from curation.ballots import MAX_BALLOT_FILE_BYTES, SignedBallot, Support, dump_ballots, load_ballots
from curation.errors import InvalidInput

__all__ = ["register"]


def _check_proposal(voting: VotingClient, proposal_id: int) -> None:
    count = voting.proposal_count()
    if not 1 <= proposal_id <= count:
        known = f"proposals are numbered 1..{count}" if count else "there are no proposals yet"
        raise InvalidInput(f"proposal {proposal_id} does not exist ({known})")


@guarded
@chain_command()
def delegate_cmd(
    to: Annotated[str | None, typer.Argument(help="address to delegate to (default: yourself)")] = None,
    *,
    opts: ChainOpts,
) -> None:
    """Delegate your voting power (tokens count in votes only once delegated, to yourself or another)."""
    with opts.session() as s:
        me = s.need_signer().address
        token = s.token()
        target = to or me
        receipt = token.delegate(target)
        votes = token.get_votes(target)
    opts.emit(
        {"from": me, "to": target, "votes": str(votes), "tx": receipt.tx_hash},
        f"{me} delegates to {target}, who now has {votes} votes",
    )


@guarded
@chain_command()
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
    with opts.session() as s:
        voting = s.voting()
        count = voting.dataset_count()
        if not 1 <= dataset <= count:
            raise InvalidInput(f"dataset {dataset} does not exist (datasets are numbered 1..{count})")
        kind = ProposalKind.REMOVE if remove else ProposalKind.INCLUDE
        receipt = voting.propose(dataset, kind, items or [], batches or [], description)
        created = receipt.event("ProposalCreated")
        pid = int(created["proposalId"])
        info = voting.get_proposal(pid)
    opts.emit(
        {
            "proposal_id": pid,
            "dataset_id": dataset,
            "kind": kind.name.lower(),
            "snapshot": info.snapshot,
            "deadline": info.deadline,
            "tx": receipt.tx_hash,
        },
        f"proposal {pid} ({kind.name.lower()}) on dataset {dataset}: votes open after block {info.snapshot}, "
        f"close at block {info.deadline}",
    )


@guarded
@chain_command()
def vote_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    reason: Annotated[str | None, typer.Option("--reason", help="a reason, recorded on-chain")] = None,
    *,
    opts: ChainOpts,
) -> None:
    """Vote on a proposal, weighted by your voting power at its snapshot block."""
    choice = Support.parse(support)
    with opts.session() as s:
        voting = s.voting()
        _check_proposal(voting, proposal)
        receipt = voting.cast_vote(proposal, choice, reason)
        cast = receipt.event("VoteCast")
    weight = int(cast["weight"])
    opts.emit(
        {
            "proposal_id": proposal,
            "support": choice.name.lower(),
            "weight": str(weight),
            "tx": receipt.tx_hash,
        },
        f"voted {choice.name.lower()} on proposal {proposal} with weight {weight}",
    )


def _sign(s: Session, voting: VotingClient, proposal: int, support: Support) -> SignedBallot:
    """A keystore signs locally; an unlocked dev account is asked to sign through the node (EIP-712 v4)."""
    signer = s.need_signer()
    ballot = voting.ballot(proposal, support, signer.address)
    if signer.local is not None:
        return sign_ballot(signer.local, ballot)
    try:  # the JSON string form of eth_signTypedData_v4 is the one every node (and MetaMask) accepts
        answer = s.w3.provider.make_request(
            "eth_signTypedData_v4", [signer.address, json.dumps(ballot.typed_data())]
        )
        raw = bytes.fromhex(str(answer["result"]).removeprefix("0x"))
    except Exception as exc:  # a node without eth_signTypedData_v4, or one that refuses
        raise ChainError(f"the node would not sign the ballot ({exc}); use --keystore") from None
    signed = SignedBallot(**ballot.model_dump(), signature=raw)
    if recover_signer(signed) != signer.address:
        raise ChainError("the node's signature does not recover to the voter; use --keystore")
    return signed


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
    existing: list[SignedBallot] = []
    if out.exists():
        if not append:
            raise ConfigError(f"{out} exists: pass --append to add this ballot to it, or choose another file")
        existing = load_ballots(_ballot_bytes(out))
    with opts.session() as s:
        voting = s.voting()
        _check_proposal(voting, proposal)
        signed = _sign(s, voting, proposal, choice)
    if any(b.proposal_id == signed.proposal_id and b.voter == signed.voter for b in existing):
        raise InvalidInput(f"{out} already holds a ballot of {signed.voter} on proposal {proposal}")
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(dump_ballots([*existing, signed]))
    os.replace(tmp, out)
    opts.emit(
        {"file": str(out), "ballot": signed.to_json()},
        f"signed {choice.name.lower()} on proposal {proposal} as {signed.voter}: {out}",
    )


def _ballot_bytes(path: Path) -> bytes:
    """At most one byte more than a ballot file may hold: load_ballots refuses the rest with its reason."""
    with path.open("rb") as fh:
        return fh.read(MAX_BALLOT_FILE_BYTES + 1)


def _load_files(files: list[Path]) -> list[tuple[Path, int, SignedBallot]]:
    out: list[tuple[Path, int, SignedBallot]] = []
    for path in files:
        try:
            text = _ballot_bytes(path)
        except FileNotFoundError:
            raise ConfigError(f"ballot file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"ballot file {path} cannot be read: {exc.strerror}") from None
        try:
            ballots = load_ballots(text)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc}") from None
        out.extend((path, i, b) for i, b in enumerate(ballots))
    return out


@guarded
@chain_command()
def relay_cmd(
    files: Annotated[list[Path], typer.Argument(help="ballot files written by `curation sign-ballot`")],
    *,
    opts: ChainOpts,
) -> None:
    """Send many signed ballots in batched transactions (you pay the gas; the voters' weights count)."""
    entries = _load_files(files)
    if not entries:
        raise InvalidInput("the ballot files hold no ballots")
    with opts.session() as s:
        voting = s.voting()
        chain_id = s.w3.eth.chain_id
        for path, index, b in entries:  # refuse the whole lot before sending anything
            if b.chain_id != chain_id:
                raise InvalidInput(
                    f"{path}: ballot {index} ({b.voter} on proposal {b.proposal_id}) is for chain {b.chain_id}, "
                    f"but this node is chain {chain_id}: nothing was relayed"
                )
            if b.contract != voting.address:
                raise InvalidInput(
                    f"{path}: ballot {index} is for the voting contract {b.contract}, this deployment's is "
                    f"{voting.address}: nothing was relayed"
                )
        report = relay(voting, [b for _p, _i, b in entries])
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
    *,
    opts: ChainOpts,
) -> None:
    """Finalize a proposal after its deadline (anyone may): Accepted or Rejected."""
    with opts.session() as s:
        voting = s.voting()
        _check_proposal(voting, proposal)
        state = voting.proposal_state(proposal)
        if state in (ProposalState.PENDING, ProposalState.ACTIVE):
            info = voting.get_proposal(proposal)
            raise InvalidInput(
                f"proposal {proposal} is {state.name.lower()} until block {info.deadline} "
                f"(now {s.w3.eth.block_number}): finalize after the deadline"
            )
        if state in (ProposalState.ACCEPTED, ProposalState.REJECTED):
            raise InvalidInput(f"proposal {proposal} is already finalized: {state.name.lower()}")
        receipt = voting.finalize(proposal)
        outcome = voting.proposal_state(proposal)
        tally = voting.get_tally(proposal)
    opts.emit(
        {
            "proposal_id": proposal,
            "outcome": outcome.name.lower(),
            "for": str(tally.for_votes),
            "against": str(tally.against_votes),
            "abstain": str(tally.abstain_votes),
            "tx": receipt.tx_hash,
        },
        f"proposal {proposal}: {outcome.name.lower()} (for {tally.for_votes}, against {tally.against_votes}, "
        f"abstain {tally.abstain_votes})",
    )


@guarded
@chain_command(signer=False)
def proposals_cmd(
    dataset: Annotated[int | None, typer.Option("--dataset", help="only this dataset's proposals")] = None,
    *,
    opts: ChainOpts,
) -> None:
    """List proposals with their state and tallies."""
    rows: list[dict[str, Any]] = []
    with opts.session(signer=False) as s:
        voting = s.voting()
        for pid in range(1, voting.proposal_count() + 1):
            info = voting.get_proposal(pid)
            if dataset is not None and info.dataset_id != dataset:
                continue
            tally = voting.get_tally(pid)
            rows.append(
                {
                    "proposal_id": pid,
                    "dataset_id": info.dataset_id,
                    "kind": info.kind.name.lower(),
                    "state": info.state.name.lower(),
                    "snapshot": info.snapshot,
                    "deadline": info.deadline,
                    "for": str(tally.for_votes),
                    "against": str(tally.against_votes),
                    "abstain": str(tally.abstain_votes),
                }
            )
    if opts.as_json:
        opts.emit({"proposals": rows})
        return
    table = Table("id", "dataset", "kind", "state", "snapshot", "deadline", "for", "against", "abstain")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in ("proposal_id", "dataset_id", "kind", "state", "snapshot", "deadline")),
            r["for"],
            r["against"],
            r["abstain"],
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
