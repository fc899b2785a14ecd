"""backend.govern and the governed deployment on the embedded chain: genesis, allocation, proposals through
propose/vote/queue/execute, the operator use cases turned into proposals, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from backend.chain.accounts import Signer, dev_signers
from backend.chain.blocks import advance
from backend.chain.connection import connect
from backend.chain.contract import Call
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.governance import GenesisBatch, GovernorState, TimelockClient, describe_call
from backend.chainstate import fold_at
from backend.errors import ConfigError
from backend.govern import (
    Governance,
    NotGoverned,
    Proposed,
    UnknownGovProposal,
    WrongProposalState,
    allocate,
    cast_vote,
    execute,
    list_proposals,
    propose,
    queue,
    setting_call,
    show_proposal,
)
from backend.operate import Contracts, MissingRole, set_dataset_params, set_role
from backend.session import Session
from backend.settings import Settings
from curation.allocation import parse_allocation
from curation.errors import InvalidInput
from curation.params import DEV_GOVERNANCE
from curation.report import parameter_changes
from curation.roles import Role
from tests.conftest import Chain

TOKEN = 10**18


@dataclass
class World:
    w3: Web3
    signers: list[Signer]
    deployment: Deployment

    def session(self, who: int | None = 0) -> Session:
        signer = None if who is None else self.signers[who]
        return Session(self.w3, self.deployment, Settings(), signer)

    def gov(self, who: int = 0) -> Governance:
        return Governance.from_session(self.session(who))


@pytest.fixture(scope="module")
def _governed() -> World:
    w3 = connect(None)  # a chain of its own: the shared one holds a direct deployment
    signers = dev_signers(w3)
    return World(w3, signers, deploy_all(w3, signers[0], governance=DEV_GOVERNANCE))


@pytest.fixture
def world(_governed: World) -> Iterator[World]:
    snap = _governed.w3.testing.snapshot()
    try:
        yield _governed
    finally:
        _governed.w3.testing.revert(snap)


def _allocate(world: World) -> None:
    rows = "\n".join(f"{world.signers[i].address},{100 * i}" for i in (1, 2, 3))
    allocate(world.session(0), parse_allocation(rows.encode()))
    for i in (1, 2, 3):
        world.session(i).token().delegate(world.signers[i].address)


def _pass(world: World, proposed: Proposed) -> None:
    advance(world.w3, proposed.vote_start - world.w3.eth.block_number + 1)
    for i in (1, 2):
        cast_vote(world.gov(i), proposed.proposal_id, "for")
    advance(world.w3, proposed.vote_end - world.w3.eth.block_number + 1)


def test_a_governed_deployment_hands_every_admin_role_to_the_timelock(world: World) -> None:
    s = world.session(0)
    c = Contracts.from_session(s)
    timelock = world.deployment.address("CommonsTimelock")
    assert {c.admin(r) for r in Role} == {timelock}
    me = world.signers[0].address
    assert [c.holds(r, me) for r in Role] == [False, True, True, True]  # operator roles, never minter
    assert c.holds(Role.MINTER, timelock)
    assert len(s.registry().licenses()) == 8  # the defaults, through the genesis batch
    assert GenesisBatch(world.w3, world.deployment, world.signers[0]).is_open()


def test_allocate_mints_closes_genesis_and_runs_once(world: World) -> None:
    _allocate(world)
    s = world.session(0)
    assert s.token().balance_of(world.signers[3].address) == 300 * TOKEN
    tl = TimelockClient(world.w3, world.deployment.address("CommonsTimelock"))
    me = world.signers[0].address
    assert not any(
        tl.has_role(r, me) for r in ("PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE", "DEFAULT_ADMIN_ROLE")
    )
    assert tl.has_role("PROPOSER_ROLE", world.deployment.address("CommonsGovernor"))
    assert tl.has_role("EXECUTOR_ROLE", "0x0000000000000000000000000000000000000000")
    assert tl.min_delay() == DEV_GOVERNANCE.min_delay
    again = parse_allocation(f"{world.signers[4].address},1".encode())
    with pytest.raises(WrongProposalState, match="runs once"):
        allocate(s, again)


def test_allocate_refuses_a_signer_that_does_not_control_the_timelock(world: World) -> None:
    with pytest.raises(WrongProposalState, match="genesis is closed"):
        allocate(world.session(5), parse_allocation(f"{world.signers[4].address},1".encode()))
    assert world.session(0).token().total_supply() == 0


def test_a_parameter_change_goes_through_propose_vote_queue_execute(world: World, tmp_path: Path) -> None:
    _allocate(world)
    s = world.session(0)
    s.voting().create_dataset("essays", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 1)
    done = set_dataset_params(s.voting(), 1, {"quorum_bps": 1234}, gov=world.gov(0), propose=True)
    assert isinstance(done, Proposed)
    assert "setDatasetParams" in done.calls[0].text()
    assert "quorumBps=1234" in done.calls[0].text()
    assert done.description.startswith("Set dataset 1 parameters: quorum_bps 400 -> 1234")
    pid = done.proposal_id
    with pytest.raises(WrongProposalState, match="its vote opens after block"):
        queue(world.gov(1), pid)
    _pass(world, done)
    assert show_proposal(world.gov(0), pid).state is GovernorState.SUCCEEDED
    queue(world.gov(3), pid)  # anyone may queue
    advance(world.w3, 1, DEV_GOVERNANCE.min_delay)
    execute(world.gov(3), pid)
    assert s.voting().get_dataset(1).params.quorum_bps == 1234
    [row] = list_proposals(world.gov(0))
    assert row.state is GovernorState.EXECUTED
    assert row.for_ == 300 * TOKEN
    # The audit trail: the report lists both settings of dataset 1, the second with the proposal that made it.
    folded = fold_at(s, sync=True, db_url=f"sqlite:///{tmp_path / 'index.sqlite'}")
    first, second = parameter_changes(folded.state, 1)
    assert (first["params"]["quorum_bps"], first["proposal"]) == (400, None)
    assert second["params"]["quorum_bps"] == 1234
    assert second["proposal"] == {"id": str(pid), "title": "Set dataset 1 parameters: quorum_bps 400 -> 1234"}
    assert parameter_changes(folded.state, 1, since=second["block"]) == []


def test_a_role_change_without_the_admin_key_becomes_a_proposal(world: World) -> None:
    _allocate(world)
    who = world.signers[6].address
    done = set_role(Contracts.from_session(world.session(1)), Role.PUBLISHER, who, True, gov=world.gov(1))
    assert isinstance(done, Proposed)
    assert done.calls[0].text() == f"ReleaseRegistry.setPublisher(account={who}, allowed=true)"
    _pass(world, done)
    queue(world.gov(1), done.proposal_id)
    advance(world.w3, 1, DEV_GOVERNANCE.min_delay)
    execute(world.gov(1), done.proposal_id)
    assert world.session(0).releases().is_publisher(who)


def test_the_timelock_delay_is_governed_and_enforced(world: World) -> None:
    _allocate(world)
    longer = propose(
        world.gov(1), [setting_call(world.gov(1), "min_delay", 7200)], "Two hours in the timelock"
    )
    _pass(world, longer)
    queue(world.gov(1), longer.proposal_id)
    advance(world.w3, 1, DEV_GOVERNANCE.min_delay)
    execute(world.gov(1), longer.proposal_id)
    assert TimelockClient(world.w3, world.deployment.address("CommonsTimelock")).min_delay() == 7200
    mint = propose(world.gov(2), [setting_call(world.gov(2), "quorum_percent", 10)], "Quorum 10%")
    _pass(world, mint)
    eta, _tx = queue(world.gov(2), mint.proposal_id)
    with pytest.raises(WrongProposalState, match=f"waits in the timelock until time {eta}"):
        execute(world.gov(2), mint.proposal_id)
    advance(world.w3, 1, 7200)
    execute(world.gov(2), mint.proposal_id)
    advance(world.w3, 1)
    assert world.gov(0).governor.quorum(world.w3.eth.block_number - 1) == 600 * TOKEN // 10


def test_votes_are_refused_when_they_cannot_count(world: World) -> None:
    _allocate(world)
    done = propose(world.gov(1), [setting_call(world.gov(1), "voting_period", 30)], "Longer votes")
    with pytest.raises(WrongProposalState, match="is pending"):
        cast_vote(world.gov(1), done.proposal_id, "for")
    advance(world.w3, 2)
    cast_vote(world.gov(1), done.proposal_id, "for")
    with pytest.raises(WrongProposalState, match="already voted"):
        cast_vote(world.gov(1), done.proposal_id, "against")
    weight, _tx, warnings = cast_vote(world.gov(7), done.proposal_id, "abstain")
    assert weight == 0
    assert "no voting power" in warnings[0]
    with pytest.raises(UnknownGovProposal, match="no governance proposal 12345"):
        show_proposal(world.gov(0), 12345)
    with pytest.raises(WrongProposalState, match="already exists"):
        propose(world.gov(1), [setting_call(world.gov(1), "voting_period", 30)], "Longer votes")


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("quorum_percent", 101, "from 0 to 100"),
        ("voting_period", 0, "from 1"),
        ("colour", 1, "not a governance"),
    ],
)
def test_settings_out_of_range_are_refused_before_sending(
    world: World, name: str, value: int, match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        setting_call(world.gov(0), name, value)


def test_calls_we_cannot_decode_say_so(world: World) -> None:
    foreign = describe_call(world.deployment, Call("0x" + "11" * 20, b"\xde\xad\xbe\xef" + bytes(32)))
    assert not foreign.known
    assert "unknown contract" in foreign.text()
    odd = describe_call(
        world.deployment, Call(world.deployment.address("CurationVoting"), b"\x00\x00\x00\x01")
    )
    assert not odd.known
    assert "unknown function 0x00000001" in odd.text()


def test_a_direct_deployment_has_no_governance(chain: Chain) -> None:
    s = Session(chain.w3, chain.deployment, Settings(), chain.signers[0])
    with pytest.raises(NotGoverned, match="deploy --governed"):
        Governance.from_session(s)
    s.voting().create_dataset("x", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 1)
    ds = s.voting().dataset_count()
    with pytest.raises(ConfigError, match="--propose needs a governed deployment"):
        set_dataset_params(s.voting(), ds, {"quorum_bps": 5}, propose=True, gov=None)
    other = Contracts.from_session(Session(chain.w3, chain.deployment, Settings(), chain.signers[2]))
    with pytest.raises(MissingRole, match="is not the admin"):
        set_role(other, Role.PUBLISHER, chain.signers[3].address, True)


def test_a_direct_allocation_mints_and_gives_up_minting(chain: Chain) -> None:
    s = Session(chain.w3, chain.deployment, Settings(), chain.signers[0])
    supply = s.token().total_supply()
    if supply:
        pytest.fail(f"the shared chain should start with no tokens, has {supply}")
    done = allocate(
        s, parse_allocation(f"{chain.signers[1].address},5\n{chain.signers[2].address},7raw".encode())
    )
    assert s.token().balance_of(chain.signers[2].address) == 7
    assert done.total == 5 * TOKEN + 7
    assert not s.token().is_minter(chain.signers[0].address)
