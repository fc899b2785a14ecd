"""backend.chain.contract: a transaction's receipt holds the events EventDecoder makes of the same logs."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from backend.chain.contract import ContractClient, Receipt
from backend.chain.decode import EventDecoder
from backend.chain.logs import RpcLogFetcher
from backend.chain.releases import ReleaseClient
from backend.errors import ChainError
from curation.cid import cid_v1_raw
from curation.events import (
    BallotSkipped,
    ChainEvent,
    ChainText,
    ContributorRegistered,
    DatasetCreated,
    DatasetParamsSet,
    DelegateChanged,
    DelegateVotesChanged,
    ItemConsentChanged,
    ItemSubmitted,
    ProposalCreated,
    ProposalFinalized,
    ReleasePublished,
    Transfer,
    VoteCast,
)
from curation.governance import ProposalKind, Support
from tests.conftest import Chain
from tests.contracts.voting_helpers import CC0, DESCRIPTION, USE, World


def _exact(event: ChainEvent) -> tuple[object, ...]:
    """The event's type and fields, strings as their exact bytes (ChainText compares by display text)."""
    values = (getattr(event, f.name) for f in dataclasses.fields(event))
    return (type(event), *(v.raw if isinstance(v, ChainText) else v for v in values))


def _logged(chain: Chain, start: int) -> list[ChainEvent]:
    """Every event of the deployment's contracts from block `start` on, read with eth_getLogs."""
    contracts = chain.deployment.contracts
    fetcher = RpcLogFetcher.from_web3(chain.w3, contracts.values())
    try:
        logs, head, block = [], fetcher.head(), start
        while block <= head:
            batch = fetcher.fetch(block, head)
            logs += batch.logs
            block = batch.to_block + 1
    finally:
        fetcher.close()
    return EventDecoder(contracts).decode_all(logs)


def test_receipt_events_are_what_the_decoder_makes_of_the_same_logs_from_eth_getlogs(chain: Chain) -> None:
    world = World(chain)
    start = world.block + 1
    sent: list[tuple[ContractClient, Receipt]] = []

    def keep(client: ContractClient, receipt: Receipt) -> Receipt:
        sent.append((client, receipt))
        return receipt

    alice = chain.signers[1]
    keep(world.token, world.token.mint(alice.address, 100))
    keep(world.token, world.token.with_signer(alice).delegate(alice.address))
    voter = world.keyed(40)
    keep(world.registry, world.registry.register("ipfs://caf\u00e9"))
    digest = hashlib.sha256(b"receipts").digest()
    submitted = keep(world.registry, world.registry.submit_item(cid_v1_raw(digest), digest, 10, CC0, 0x3F))
    item = submitted.event(ItemSubmitted).item_id
    keep(world.registry, world.registry.narrow_consent(item, 0x1F, 0))
    created = keep(world.voting, world.voting.create_dataset("receipts", DESCRIPTION, USE))
    proposed = keep(
        world.voting,
        world.voting.propose(created.event(DatasetCreated).dataset_id, ProposalKind.INCLUDE, [item]),
    )
    pid = proposed.event(ProposalCreated).proposal_id
    world.open(pid)
    keep(world.voting, world.voting.with_signer(alice).cast_vote(pid, Support.FOR, "na\u00efve \U0001f600"))
    ballot = world.ballot(voter, pid, Support.AGAINST)
    relayed = keep(world.voting, world.voting.relay_ballots([ballot, ballot]))
    world.close(pid)
    keep(world.voting, world.voting.finalize(pid))
    releases = ReleaseClient(chain.w3, chain.deployment.address("ReleaseRegistry"), chain.admin)
    dataset_id = created.event(DatasetCreated).dataset_id
    keep(releases, releases.publish_release(dataset_id, DESCRIPTION, digest, world.block, "commons-v1"))

    logged = _logged(chain, start)
    for client, receipt in sent:
        same_logs = [
            e for e in logged if (e.at.tx_hash, e.at.address) == (receipt.tx_hash, client.address.lower())
        ]
        assert receipt.events, f"{client.artifact} transaction {receipt.tx_hash} decoded no event"
        assert receipt.events == tuple(same_logs)
        assert [_exact(e) for e in receipt.events] == [_exact(e) for e in same_logs]
        assert {e.at.block_number for e in receipt.events} == {receipt.block_number}
        raw = chain.w3.eth.get_transaction_receipt(receipt.tx_hash)
        assert client.decode_receipt(raw) == receipt
    kinds = {type(e) for _, r in sent for e in r.events}
    assert kinds == {
        Transfer,
        DelegateChanged,
        DelegateVotesChanged,
        ContributorRegistered,
        ItemSubmitted,
        ItemConsentChanged,
        DatasetCreated,
        DatasetParamsSet,
        ProposalCreated,
        VoteCast,
        BallotSkipped,
        ProposalFinalized,
        ReleasePublished,
    }
    assert [type(e) for e in created.events] == [DatasetCreated, DatasetParamsSet]  # log order
    assert (relayed.event(VoteCast).voter, relayed.all(BallotSkipped)[0].index) == (voter.address.lower(), 1)


def test_a_receipt_keeps_only_the_called_contracts_events_the_domain_defines(chain: Chain) -> None:
    world = World(chain)
    minted = world.token.mint(chain.signers[2].address, 5)
    raw = chain.w3.eth.get_transaction_receipt(minted.tx_hash)
    assert [type(e) for e in minted.events] == [Transfer]
    assert world.voting.decode_receipt(raw).events == ()  # another contract's logs are left out
    approved = world.token.approve(chain.signers[3].address, 1)  # Approval is not a curation.events event
    assert chain.w3.eth.get_transaction_receipt(approved.tx_hash)["logs"]
    assert approved.events == ()
    assert minted.all(VoteCast) == []
    with pytest.raises(ChainError, match=rf"transaction {minted.tx_hash} emitted no VoteCast event"):
        minted.event(VoteCast)
