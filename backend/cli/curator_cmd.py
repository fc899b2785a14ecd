"""Curator commands: `curation delegate`, `propose`, `vote`, `sign-ballot`, `relay`, `finalize`, `proposals`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from backend.chain.ballots import recover_signer, relay, sign_ballot
from backend.chain.token import TokenClient
from backend.chain.voting import ProposalKind, ProposalState, VotingClient
from backend.cli.common import console, emit_json, guarded
from backend.cli.contributor_cmd import (
    ConfigOpt,
    DeploymentOpt,
    DevAccountOpt,
    JsonOpt,
    KeystoreOpt,
    RpcOpt,
    Session,
    session,
    settings_from,
)
from backend.errors import ChainError, ConfigError
from curation.ballots import SignedBallot, Support, dump_ballots, load_ballots
from curation.errors import InvalidInput

__all__ = ["register"]


def _voting(s: Session) -> VotingClient:
    return VotingClient(s.w3, s.deployment.address("CurationVoting"), s.signer)


def _check_proposal(voting: VotingClient, proposal_id: int) -> None:
    count = voting.proposal_count()
    if not 1 <= proposal_id <= count:
        known = f"proposals are numbered 1..{count}" if count else "there are no proposals yet"
        raise InvalidInput(f"proposal {proposal_id} does not exist ({known})")


@guarded
def delegate_cmd(
    to: Annotated[str | None, typer.Argument(help="address to delegate to (default: yourself)")] = None,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delegate your voting power (tokens count in votes only once delegated, to yourself or another)."""
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        assert s.signer is not None
        token = TokenClient(s.w3, s.deployment.address("CurationToken"), s.signer)
        target = to or s.signer.address
        receipt = token.delegate(target)
        votes = token.get_votes(target)
    if as_json:
        emit_json({"from": s.signer.address, "to": target, "votes": str(votes), "tx": receipt.tx_hash})
    else:
        console.print(f"{s.signer.address} delegates to {target}, who now has {votes} votes")


@guarded
def propose_cmd(
    dataset: Annotated[int, typer.Argument(help="dataset id")],
    remove: Annotated[bool, typer.Option("--remove", help="propose removing instead of including")] = False,
    items: Annotated[list[int] | None, typer.Option("--item", help="item id (repeatable)")] = None,
    batches: Annotated[list[int] | None, typer.Option("--batch", help="batch id (repeatable)")] = None,
    description: Annotated[str, typer.Option("--description", help="CID of a description document")] = "",
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose including (or with --remove, removing) items and batches in a dataset."""
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        voting = _voting(s)
        count = voting.dataset_count()
        if not 1 <= dataset <= count:
            raise InvalidInput(f"dataset {dataset} does not exist (datasets are numbered 1..{count})")
        kind = ProposalKind.REMOVE if remove else ProposalKind.INCLUDE
        receipt = voting.propose(dataset, kind, items or [], batches or [], description)
        created = receipt.event("ProposalCreated")
        pid = int(created["proposalId"])
        info = voting.get_proposal(pid)
    if as_json:
        emit_json(
            {
                "proposal_id": pid,
                "dataset_id": dataset,
                "kind": kind.name.lower(),
                "snapshot": info.snapshot,
                "deadline": info.deadline,
                "tx": receipt.tx_hash,
            }
        )
    else:
        console.print(
            f"proposal {pid} ({kind.name.lower()}) on dataset {dataset}: votes open after block {info.snapshot}, "
            f"close at block {info.deadline}"
        )


@guarded
def vote_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    reason: Annotated[str | None, typer.Option("--reason", help="a reason, recorded on-chain")] = None,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vote on a proposal, weighted by your voting power at its snapshot block."""
    choice = Support.parse(support)
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        voting = _voting(s)
        _check_proposal(voting, proposal)
        receipt = voting.cast_vote(proposal, choice, reason)
        cast = receipt.event("VoteCast")
    weight = int(cast["weight"])
    if as_json:
        emit_json(
            {
                "proposal_id": proposal,
                "support": choice.name.lower(),
                "weight": str(weight),
                "tx": receipt.tx_hash,
            }
        )
    else:
        console.print(f"voted {choice.name.lower()} on proposal {proposal} with weight {weight}")


def _sign(s: Session, voting: VotingClient, proposal: int, support: Support) -> SignedBallot:
    """A keystore signs locally; an unlocked dev account is asked to sign through the node (EIP-712 v4)."""
    assert s.signer is not None
    ballot = voting.ballot(proposal, support, s.signer.address)
    if s.signer.local is not None:
        return sign_ballot(s.signer.local, ballot)
    try:  # the JSON string form of eth_signTypedData_v4 is the one every node (and MetaMask) accepts
        answer = s.w3.provider.make_request(
            "eth_signTypedData_v4", [s.signer.address, json.dumps(ballot.typed_data())]
        )
        raw = bytes.fromhex(str(answer["result"]).removeprefix("0x"))
    except Exception as exc:  # a node without eth_signTypedData_v4, or one that refuses
        raise ChainError(f"the node would not sign the ballot ({exc}); use --keystore") from None
    signed = SignedBallot(**ballot.model_dump(), signature=raw)
    if recover_signer(signed) != s.signer.address:
        raise ChainError("the node's signature does not recover to the voter; use --keystore")
    return signed


@guarded
def sign_ballot_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    out: Annotated[Path, typer.Option("-o", "--out", help="ballot file to write (or add to, with --append)")],
    append: Annotated[bool, typer.Option("--append", help="add to an existing ballot file")] = False,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign a ballot (EIP-712) without sending anything; anyone can relay the file later."""
    choice = Support.parse(support)
    existing: list[SignedBallot] = []
    if out.exists():
        if not append:
            raise ConfigError(f"{out} exists: pass --append to add this ballot to it, or choose another file")
        existing = load_ballots(out.read_text())
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        voting = _voting(s)
        _check_proposal(voting, proposal)
        signed = _sign(s, voting, proposal, choice)
    if any(b.proposal_id == signed.proposal_id and b.voter == signed.voter for b in existing):
        raise InvalidInput(f"{out} already holds a ballot of {signed.voter} on proposal {proposal}")
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(dump_ballots([*existing, signed]))
    os.replace(tmp, out)
    if as_json:
        emit_json({"file": str(out), "ballot": signed.to_json()})
    else:
        console.print(f"signed {choice.name.lower()} on proposal {proposal} as {signed.voter}: {out}")


def _load_files(files: list[Path]) -> list[tuple[Path, int, SignedBallot]]:
    out: list[tuple[Path, int, SignedBallot]] = []
    for path in files:
        try:
            text = path.read_text()
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
def relay_cmd(
    files: Annotated[list[Path], typer.Argument(help="ballot files written by `curation sign-ballot`")],
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send many signed ballots in batched transactions (you pay the gas; the voters' weights count)."""
    entries = _load_files(files)
    if not entries:
        raise InvalidInput("the ballot files hold no ballots")
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        voting = _voting(s)
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
            {"voter": k.ballot.voter, "proposal_id": k.ballot.proposal_id, "reason": k.detail}
            for k in report.skipped
        ],
        "gas_used": report.gas_used,
        "tx": [r.tx_hash for r in report.receipts],
    }
    if as_json:
        emit_json(result)
        return
    console.print(
        f"counted {len(report.counted)} ballots, skipped {len(report.skipped)}, gas {report.gas_used}"
    )
    for k in report.skipped:
        console.print(f"  skipped {k.ballot.voter} on proposal {k.ballot.proposal_id}: {k.detail}")


@guarded
def finalize_cmd(
    proposal: Annotated[int, typer.Argument(help="proposal id")],
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Finalize a proposal after its deadline (anyone may): Accepted or Rejected."""
    settings = settings_from(config, rpc, None, None, deployment)
    with session(settings, keystore=keystore, dev_account=dev_account) as s:
        voting = _voting(s)
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
    if as_json:
        emit_json(
            {
                "proposal_id": proposal,
                "outcome": outcome.name.lower(),
                "for": str(tally.for_votes),
                "against": str(tally.against_votes),
                "abstain": str(tally.abstain_votes),
                "tx": receipt.tx_hash,
            }
        )
    else:
        console.print(
            f"proposal {proposal}: {outcome.name.lower()} (for {tally.for_votes}, against {tally.against_votes}, "
            f"abstain {tally.abstain_votes})"
        )


@guarded
def proposals_cmd(
    dataset: Annotated[int | None, typer.Option("--dataset", help="only this dataset's proposals")] = None,
    config: ConfigOpt = None,
    rpc: RpcOpt = None,
    deployment: DeploymentOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List proposals with their state and tallies."""
    settings = settings_from(config, rpc, None, None, deployment)
    rows: list[dict[str, Any]] = []
    with session(settings, signer=False) as s:
        voting = _voting(s)
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
    if as_json:
        emit_json({"proposals": rows})
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


def _add(app: typer.Typer, name: str, fn: Any) -> None:
    if name not in {c.name for c in app.registered_commands}:  # idempotent, as ipfs_cmd.register
        app.command(name)(fn)


def register(app: typer.Typer) -> None:
    """Add the curator commands to the main app."""
    _add(app, "delegate", delegate_cmd)
    _add(app, "propose", propose_cmd)
    _add(app, "vote", vote_cmd)
    _add(app, "sign-ballot", sign_ballot_cmd)
    _add(app, "relay", relay_cmd)
    _add(app, "finalize", finalize_cmd)
    _add(app, "proposals", proposals_cmd)
