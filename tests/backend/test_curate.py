"""backend.curate on the embedded chain: each curator use case, and each precondition's typed error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend import curate
from backend.chain.accounts import Signer
from backend.chain.ballots import sign_ballot, sign_ballot_as
from backend.chain.voting import Tally, VotingClient
from backend.curate import (
    AlreadyFinalized,
    BallotFileError,
    DuplicateBallot,
    ForeignBallot,
    NoBallots,
    UnknownProposal,
    VotingNotEnded,
)
from backend.errors import ChainError, ConfigError
from curation.ballots import SignedBallot, dump_ballots, load_ballots
from curation.errors import InvalidInput
from curation.governance import ProposalKind, ProposalStatus, Support
from curation.state import UnknownDataset
from tests.conftest import Chain
from tests.contracts.voting_helpers import World


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


def _as(world: World, acct: LocalAccount) -> VotingClient:
    return world.voting.with_signer(Signer.from_key(acct.key))


def _open(world: World, voters: int = 2, votes: int = 10) -> tuple[int, list[LocalAccount]]:
    """A proposal whose voting is open for the next transaction, and `voters` keyed voters."""
    accts = [world.keyed(votes) for _ in range(voters)]
    pid = world.propose(world.dataset())
    world.open(pid)
    return pid, accts


def _past_deadline(world: World, pid: int) -> None:
    world.mine_to(world.voting.get_proposal(pid).deadline + 1)


# --- delegate ---------------------------------------------------------------------------------------------


def test_delegate_defaults_to_the_signer_and_reports_the_delegatees_votes(world: World) -> None:
    acct = world.keyed(0)
    world.token.mint(acct.address, 7)
    token = world.token.with_signer(Signer.from_key(acct.key))
    done = curate.delegate(token)
    assert (done.delegator, done.delegatee, done.votes) == (acct.address, acct.address, 7)
    other = world.keyed(0)
    moved = curate.delegate(token, other.address)
    assert (moved.delegatee, moved.votes) == (other.address, 7)
    assert moved.tx_hash.startswith("0x")


def test_delegate_needs_a_signer(world: World) -> None:
    token = world.token.with_signer(world.chain.admin)
    token.signer = None
    with pytest.raises(ConfigError, match="needs a signer"):
        curate.delegate(token)


# --- propose ----------------------------------------------------------------------------------------------


def test_propose_returns_the_proposal_with_its_voting_window(world: World) -> None:
    ds = world.dataset()
    items = world.items(2)
    p = curate.propose(world.voting, ds, ProposalKind.REMOVE, items, [], "")
    info = world.voting.get_proposal(p.proposal_id)
    assert (p.dataset_id, p.kind, p.snapshot, p.deadline) == (
        ds,
        ProposalKind.REMOVE,
        info.snapshot,
        info.deadline,
    )
    assert info.kind is ProposalKind.REMOVE


def test_propose_on_an_unknown_dataset_says_which_exist_and_sends_nothing(world: World) -> None:
    items = world.items(1)
    with pytest.raises(UnknownDataset, match=r"dataset 1 does not exist \(there are no datasets yet\)"):
        curate.propose(world.voting, 1, ProposalKind.INCLUDE, items)
    world.dataset()
    for bad in (0, 2):
        with pytest.raises(
            UnknownDataset, match=rf"dataset {bad} does not exist \(datasets are numbered 1..1\)"
        ):
            curate.propose(world.voting, bad, ProposalKind.INCLUDE, items)
    assert world.voting.proposal_count() == 0


# --- vote -------------------------------------------------------------------------------------------------


def test_vote_counts_the_voters_weight(world: World) -> None:
    pid, (alice, _) = _open(world)
    v = curate.vote(_as(world, alice), pid, Support.AGAINST, "not this one")
    assert (v.proposal_id, v.support, v.weight) == (pid, Support.AGAINST, 10)
    assert world.voting.get_tally(pid) == Tally(0, 10, 0)


def test_vote_on_an_unknown_proposal_is_refused(world: World) -> None:
    with pytest.raises(UnknownProposal, match=r"proposal 1 does not exist \(there are no proposals yet\)"):
        curate.vote(world.voting, 1, Support.FOR)
    pid, (alice, _) = _open(world)
    with pytest.raises(
        UnknownProposal, match=rf"proposal {pid + 1} does not exist \(proposals are numbered 1..1\)"
    ):
        curate.vote(_as(world, alice), pid + 1, Support.FOR)


# --- sign a ballot ----------------------------------------------------------------------------------------


def test_sign_ballot_writes_then_appends_and_refuses_a_second_ballot_of_the_voter(
    world: World, tmp_path: Path
) -> None:
    pid, (alice, bob) = _open(world)
    out = tmp_path / "ballots.json"
    signed = curate.sign_ballot_to_file(_as(world, alice), pid, Support.FOR, out)
    assert load_ballots(out.read_bytes()) == [signed]
    assert signed.voter == alice.address
    assert signed.digest() == world.voting.ballot_digest(pid, Support.FOR, alice.address)

    with pytest.raises(BallotFileError, match="exists: pass --append"):
        curate.sign_ballot_to_file(_as(world, bob), pid, Support.FOR, out)
    second = curate.sign_ballot_to_file(_as(world, bob), pid, Support.AGAINST, out, append=True)
    assert load_ballots(out.read_bytes()) == [signed, second]

    before = out.read_bytes()
    with pytest.raises(DuplicateBallot, match=f"already holds a ballot of {alice.address} on proposal {pid}"):
        curate.sign_ballot_to_file(_as(world, alice), pid, Support.AGAINST, out, append=True)
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))


def test_a_ballot_signed_after_voting_comes_with_a_warning(world: World, tmp_path: Path) -> None:
    pid, (alice, bob) = _open(world)
    assert curate.ballot_warnings(world.voting, pid, alice.address) == []
    curate.vote(_as(world, alice), pid, Support.FOR)
    [warning] = curate.ballot_warnings(world.voting, pid, alice.address)
    assert f"{alice.address} has already voted on proposal {pid}" in warning
    assert curate.ballot_warnings(world.voting, pid, bob.address) == []


def test_sign_ballot_refuses_an_unknown_proposal_and_a_broken_file(world: World, tmp_path: Path) -> None:
    _pid, (alice, _) = _open(world)
    out = tmp_path / "ballots.json"
    with pytest.raises(UnknownProposal, match="proposal 9 does not exist"):
        curate.sign_ballot_to_file(_as(world, alice), 9, Support.FOR, out)
    assert not out.exists()
    out.write_text("{not json")
    with pytest.raises(InvalidInput, match=rf"^{re.escape(str(out))}: "):
        curate.sign_ballot_to_file(_as(world, alice), 1, Support.FOR, out, append=True)
    with pytest.raises(BallotFileError, match="cannot be written"):
        curate.sign_ballot_to_file(_as(world, alice), 1, Support.FOR, tmp_path / "no-such-dir" / "b.json")


def test_a_node_without_eth_sign_typed_data_is_named(world: World, tmp_path: Path) -> None:
    pid = world.propose(world.dataset())
    dev = world.voting.with_signer(world.chain.signers[3])  # unlocked on the node: the node is asked to sign
    with pytest.raises(
        ChainError, match=r"the node would not sign the ballot \(.*eth_signTypedData_v4.*--keystore"
    ):
        curate.sign_ballot_to_file(dev, pid, Support.FOR, tmp_path / "b.json")
    assert not (tmp_path / "b.json").exists()


class _Node:
    """A provider that answers eth_signTypedData_v4 with `answer(address, typed data)`."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, list[Any]]] = []

    def make_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls.append((method, params))
        return self.answer(*params)


def test_signing_through_the_node_checks_what_the_node_answers(world: World) -> None:
    key: LocalAccount = Account.create()
    ballot = world.voting.ballot(1, Support.FOR, key.address)
    good = sign_ballot(key, ballot)
    unlocked = Signer(key.address)

    node = _Node(lambda _addr, _data: {"jsonrpc": "2.0", "id": 1, "result": "0x" + good.signature.hex()})
    assert sign_ballot_as(SimpleNamespace(provider=node), unlocked, ballot) == good  # type: ignore[arg-type]
    method, (address, data) = node.calls[0]
    assert (method, address, json.loads(data)) == ("eth_signTypedData_v4", key.address, ballot.typed_data())

    other: LocalAccount = Account.create()
    stranger = sign_ballot(other, ballot.model_copy(update={"voter": other.address}))  # another digest, key
    for answer, why in (
        ({"error": {"code": 4100, "message": "unauthorized"}}, r"would not sign the ballot \(unauthorized\)"),
        ({"result": "0x1234"}, "without a 65-byte signature"),
        ({"result": None}, "without a 65-byte signature"),
        ({"result": "0x" + "zz" * 65}, "without a 65-byte signature"),
        ({"result": "0x" + stranger.signature.hex()}, "does not recover to the voter"),
    ):
        with pytest.raises(ChainError, match=why):
            sign_ballot_as(SimpleNamespace(provider=_Node(lambda *_p, a=answer: a)), unlocked, ballot)  # type: ignore[arg-type]

    def down(*_params: Any) -> dict[str, Any]:
        raise ConnectionError("connection refused")

    with pytest.raises(ChainError, match=r"would not sign the ballot \(connection refused\)"):
        sign_ballot_as(SimpleNamespace(provider=_Node(down)), unlocked, ballot)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="would sign as"):
        sign_ballot_as(SimpleNamespace(provider=node), Signer(world.chain.admin.address), ballot)  # type: ignore[arg-type]


# --- relay ------------------------------------------------------------------------------------------------


def _write(path: Path, ballots: list[SignedBallot]) -> Path:
    path.write_text(dump_ballots(ballots))
    return path


def test_relay_counts_the_ballots_of_every_file(world: World, tmp_path: Path) -> None:
    pid, (alice, bob) = _open(world)
    files = [
        _write(tmp_path / "a.json", [world.ballot(alice, pid, Support.FOR)]),
        _write(tmp_path / "b.json", [world.ballot(bob, pid, Support.AGAINST)]),
    ]
    relayer = world.voting.with_signer(world.chain.signers[5])
    report = curate.relay_ballot_files(relayer, files)
    assert sorted((c.voter, c.support, c.weight) for c in report.counted) == sorted(
        [(alice.address, Support.FOR, 10), (bob.address, Support.AGAINST, 10)]
    )
    assert report.skipped == []
    assert world.voting.get_tally(pid) == Tally(10, 10, 0)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"chain_id": 1}, r"is for chain 1, but this node is chain \d+: nothing was relayed"),
        ({"contract": "0x" + "22" * 20}, r"is for the voting contract 0x2222.*, this deployment's is 0x"),
    ],
)
def test_relay_refuses_the_whole_lot_for_one_foreign_ballot(
    world: World, tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    pid, (alice, bob) = _open(world)
    good = world.ballot(alice, pid)
    foreign = SignedBallot(**{**world.ballot(bob, pid).model_dump(), **change})
    path = _write(tmp_path / "mixed.json", [good, foreign])
    with pytest.raises(
        ForeignBallot, match=rf"mixed.json: ballot 1 \({bob.address} on proposal {pid}\) {why}"
    ):
        curate.relay_ballot_files(world.voting, [path])
    assert not world.voting.has_voted(pid, alice.address)


def test_relay_refuses_missing_empty_and_malformed_files(world: World, tmp_path: Path) -> None:
    with pytest.raises(BallotFileError, match=r"absent\.json does not exist"):
        curate.relay_ballot_files(world.voting, [tmp_path / "absent.json"])
    with pytest.raises(BallotFileError, match="cannot be read"):
        curate.relay_ballot_files(world.voting, [tmp_path])
    empty = _write(tmp_path / "empty.json", [])
    with pytest.raises(NoBallots, match="hold no ballots"):
        curate.relay_ballot_files(world.voting, [empty])
    (tmp_path / "bad.json").write_text(json.dumps({"format": "nope"}))
    with pytest.raises(InvalidInput, match=r"bad.json: not a ballot file"):
        curate.relay_ballot_files(world.voting, [empty, tmp_path / "bad.json"])


# --- finalize ---------------------------------------------------------------------------------------------


def test_finalize_before_the_deadline_then_after_then_again(world: World) -> None:
    pid, (alice, _) = _open(world)
    deadline = world.voting.get_proposal(pid).deadline
    with pytest.raises(
        VotingNotEnded, match=rf"proposal {pid} is (pending|active) until block {deadline} \(now \d+\)"
    ):
        curate.finalize(world.voting, pid)
    curate.vote(_as(world, alice), pid, Support.FOR)
    _past_deadline(world, pid)
    done = curate.finalize(world.voting, pid)
    assert (done.proposal_id, done.outcome, done.tally) == (pid, ProposalStatus.ACCEPTED, Tally(10, 0, 0))
    with pytest.raises(AlreadyFinalized, match=f"proposal {pid} is already finalized: accepted"):
        curate.finalize(world.voting, pid)


def test_finalize_a_pending_or_unknown_proposal_is_refused(world: World) -> None:
    with pytest.raises(UnknownProposal, match="proposal 3 does not exist"):
        curate.finalize(world.voting, 3)
    pid = world.propose(world.dataset())
    with pytest.raises(VotingNotEnded, match=f"proposal {pid} is pending until block"):
        curate.finalize(world.voting, pid)


# --- list -------------------------------------------------------------------------------------------------


def test_list_proposals_filters_by_dataset(world: World) -> None:
    first, second = world.dataset(), world.dataset(name="other")
    a = world.propose(first)
    b = world.propose(second)
    c = world.propose(first)
    assert [r.info.proposal_id for r in curate.list_proposals(world.voting)] == [a, b, c]
    rows = curate.list_proposals(world.voting, first)
    assert [(r.info.proposal_id, r.info.dataset_id, r.tally) for r in rows] == [
        (a, first, Tally(0, 0, 0)),
        (c, first, Tally(0, 0, 0)),
    ]
    with pytest.raises(InvalidInput, match="dataset 99 does not exist"):  # not an empty list: an error
        curate.list_proposals(world.voting, 99)
    with pytest.raises(InvalidInput, match="dataset 0 does not exist"):
        curate.list_proposals(world.voting, 0)
    assert curate.list_proposals(world.voting, world.dataset(name="quiet")) == []
