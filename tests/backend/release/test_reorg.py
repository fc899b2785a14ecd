"""Reorgs on a real Hardhat node: the index, the manifest and the report end identical to a fresh rebuild."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend.chain.accounts import Signer, dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.registry import RegistryClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.chainstate import FoldedChain, chain_context, fold_index
from backend.contribute import store_batch_manifest
from backend.errors import ChainError, ContractRevert
from backend.index import Indexer, open_indexer
from backend.release.build import prepare_dataset
from backend.session import Session
from curation.batches import leaf_for_bytes
from curation.consent import Consent
from curation.events import DatasetCreated, ProposalCreated
from curation.governance import ProposalKind, ProposalStatus
from curation.manifest import build_manifest
from curation.merkle import Leaf, MerkleTree
from curation.report import build_report
from curation.unixfs import compute_cid
from tests.backend.index.test_reorg import run_reorg_scenarios
from tests.backend.release.release_helpers import Story
from tests.conftest import Chain
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration

#: Seeded scenarios in CI: each replaces a fork of 1..MAX_DEPTH blocks by one of 1..MAX_DEPTH+2 blocks.
SCENARIOS = 24
MAX_DEPTH = 5
SEED = 2026
USE = int(Consent.TRAIN | Consent.COMMERCIAL)
ALL = 0x3F
#: Small parts, so that the part list (CIDs, sha256, boundaries) is compared too.
SHARD_ITEMS = 6
#: Voting delay 1 and period 2: propose, two votes, finalize fit in a 4-block fork.
PARAMS = DatasetParams(voting_delay=1, voting_period=2, quorum_bps=400, approval_bps=5000)


@dataclass(frozen=True)
class Derived:
    """What must not depend on history: the index dump, the manifest and its parts, the report."""

    dump: bytes
    manifest: bytes
    parts: tuple[bytes, ...]
    report: bytes

    def __repr__(self) -> str:  # digests, not megabytes, in an assertion message
        def h(b: bytes) -> str:
            return hashlib.sha256(b).hexdigest()[:16]

        return f"Derived(dump={h(self.dump)}, manifest={h(self.manifest)}, parts={len(self.parts)}, report={h(self.report)})"


@dataclass
class World:
    """The deployed system on the node, the story's clients and what the traffic generator needs."""

    node: HardhatNode
    story: Story
    env: Session
    dataset_id: int
    curators: list[Signer]
    contributors: dict[str, RegistryClient]  # lowercase address -> client sending as that contributor
    leaves: dict[bytes, list[Leaf]] = field(default_factory=dict)  # batch root -> its leaves
    forks: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def w3(self) -> Any:
        return self.story.chain.w3

    @property
    def voting(self) -> VotingClient:
        return self.story.voting

    @property
    def registry(self) -> RegistryClient:
        return self.story.registry

    def mine_empty(self, blocks: int) -> None:
        if blocks > 0:
            self.node.rpc("hardhat_mine", [hex(blocks)])

    def batch(self, reg: RegistryClient, contents: list[bytes], spdx: str = "CC-BY-4.0") -> int:
        leaves = [leaf_for_bytes(i, c, self.story.lic(spdx), ALL) for i, c in enumerate(contents)]
        for content in contents:
            self.story.store.put_bytes(content)
        stored = store_batch_manifest(self.story.store, leaves)
        r = reg.submit_batch(leaves, stored.cid)
        self.leaves[stored.root] = leaves
        return RegistryClient.submitted_id(r)

    def decide(
        self,
        items: list[int],
        votes: dict[int, int],
        batches: list[int] | None = None,
        kind: ProposalKind = ProposalKind.INCLUDE,
    ) -> int:
        """Propose, vote (curator index -> support), wait out the period, finalize."""
        r = self.voting.with_signer(self.curators[0]).propose(self.dataset_id, kind, items, batches or [])
        pid = r.event(ProposalCreated).proposal_id
        info = self.voting.get_proposal(pid)
        self.mine_empty(info.snapshot - self.story.block)
        for who, support in votes.items():
            self.voting.with_signer(self.curators[who]).cast_vote(pid, support)
        self.mine_empty(info.deadline + 1 - self.story.block)
        self.voting.finalize(pid)
        return pid


def _build_world(node: HardhatNode, store_dir: Path) -> World:
    w3 = connect(node.url, timeout=30)
    signers = dev_signers(w3)
    deployment = deploy_all(w3, signers[0])
    story = Story(Chain(w3, signers, deployment), store_dir)
    curators = [story.curator(1, 600), story.curator(2, 300), story.curator(3, 100)]
    alice, bob, carol = story.contributor(4), story.contributor(5), story.contributor(6)
    contributors = {s.signer.address.lower(): s for s in (alice, bob, carol) if s.signer is not None}
    r = story.voting.create_dataset("reorg commons", compute_cid(b"reorg commons").cid.encode(), USE, PARAMS)
    ds = r.event(DatasetCreated).dataset_id
    env = story.session()
    world = World(node, story, env, ds, curators, contributors)
    a = [story.item(alice, f"alice text {i} ".encode() * (20 + 7 * i)) for i in range(5)]
    b = [
        story.item(bob, b"bob essay " * 40),
        story.item(bob, b"bob code " * 30, spdx="MIT"),
        story.item(bob, b"bob non-commercial " * 25, spdx="CC-BY-NC-4.0"),
        story.item(bob, b"bob train only " * 12, consent=int(Consent.TRAIN)),
    ]
    b1 = world.batch(carol, [f"carol leaf {i} ".encode() * (10 + i) for i in range(5)])
    b2 = world.batch(bob, [b"bob leaf a" * 33, b"alice text 0 " * 20, b"bob leaf c" * 9])  # leaf 1: duplicate
    world.decide(a[:4], {0: 1, 1: 0}, [b1])
    world.decide(b, {0: 1, 2: 1}, [b2])
    world.decide([a[1]], {0: 1, 1: 1}, kind=ProposalKind.REMOVE)
    world.decide([a[4], b[0]], {1: 0, 2: 1})  # rejected
    story.registry.with_signer(alice.signer).revoke_consent(a[2])  # type: ignore[arg-type]
    return world


@pytest.fixture(scope="module")
def world(hardhat: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The system deployed after a snapshot that is reverted at the end, so other modules see no trace."""
    snapshot = hardhat.rpc("evm_snapshot")
    try:
        yield _build_world(hardhat, tmp_path_factory.mktemp("reorg-store"))
    finally:
        assert hardhat.rpc("evm_revert", [snapshot]) is True


# --- traffic: one transaction per block, each something a manifest can show ------------------------------


def _next_block(world: World) -> int:
    return int(world.w3.eth.block_number) + 1


def _new_item(world: World, rng: random.Random) -> str:
    owner = rng.choice(sorted(world.contributors))
    reg = world.contributors[owner]
    spdx = rng.choice(["CC0-1.0", "CC-BY-4.0", "MIT", "CC-BY-NC-4.0"])
    consent = ALL if rng.random() < 0.8 else int(Consent.TRAIN | Consent.EVALUATION)
    world.story.item(reg, f"new {rng.getrandbits(64):016x} ".encode() * rng.randint(3, 60), spdx, consent)
    return "submit-item"


def _new_batch(world: World, rng: random.Random) -> str:
    reg = world.contributors[rng.choice(sorted(world.contributors))]
    tag = rng.getrandbits(64)
    world.batch(
        reg, [f"leaf {tag:016x} {i} ".encode() * rng.randint(2, 40) for i in range(rng.randint(1, 4))]
    )
    return "submit-batch"


def _pick_item(world: World, rng: random.Random) -> tuple[int, RegistryClient, int, int] | None:
    count = world.registry.item_count()
    for _ in range(4):
        item_id = rng.randint(1, count)
        rec = world.registry.item(item_id)
        if not rec.revoked:
            return item_id, world.contributors[rec.contributor.lower()], rec.consent, rec.expiry
    return None


def _pick_leaf(
    world: World, rng: random.Random
) -> tuple[int, Leaf, list[Leaf], RegistryClient, int, int] | None:
    count = world.registry.batch_count()
    if count == 0:
        return None
    batch_id = rng.randint(1, count)
    rec = world.registry.batch(batch_id)
    leaves = world.leaves[bytes(rec.root)]
    leaf = rng.choice(leaves)
    terms = world.registry.leaf_consent(batch_id, leaf.index)
    if terms.revoked:
        return None
    consent, expiry = (terms.consent, terms.expiry) if terms.changed else (leaf.consent, leaf.expiry)
    return batch_id, leaf, leaves, world.contributors[rec.contributor.lower()], consent, expiry


def _narrowed(world: World, rng: random.Random, consent: int, expiry: int) -> tuple[int, int] | None:
    bits = [b for b in range(6) if consent >> b & 1]
    if rng.random() < 0.35 and expiry == 0:  # expires a few seconds from now: consent-expired soon
        return consent, int(world.w3.eth.get_block("latest")["timestamp"]) + rng.randint(2, 12)
    if len(bits) < 2:
        return None
    return consent & ~(1 << rng.choice(bits)), expiry  # drops COMMERCIAL/TRAIN sometimes: consent-mismatch


def _revoke(world: World, rng: random.Random) -> str | None:
    if rng.random() < 0.6:
        picked = _pick_item(world, rng)
        if picked is None:
            return None
        item_id, reg, _, _ = picked
        reg.revoke_consent(item_id)
        return "revoke-item"
    leaf = _pick_leaf(world, rng)
    if leaf is None:
        return None
    batch_id, chosen, _, reg, _, _ = leaf
    reg.revoke_leaf(batch_id, chosen.index)
    return "revoke-leaf"


def _narrow(world: World, rng: random.Random) -> str | None:
    if rng.random() < 0.6:
        picked = _pick_item(world, rng)
        if picked is None:
            return None
        item_id, reg, consent, expiry = picked
        terms = _narrowed(world, rng, consent, expiry)
        if terms is None:
            return None
        reg.narrow_consent(item_id, *terms)
        return "narrow-item"
    leaf = _pick_leaf(world, rng)
    if leaf is None:
        return None
    batch_id, chosen, leaves, reg, consent, expiry = leaf
    terms = _narrowed(world, rng, consent, expiry)
    if terms is None:
        return None
    reg.narrow_leaf(batch_id, chosen, MerkleTree.from_leaves(leaves).proof(chosen.index), *terms)
    return "narrow-leaf"


def _propose(world: World, rng: random.Random) -> str:
    items = world.registry.item_count()
    batches = world.registry.batch_count()
    proposer = world.voting.with_signer(rng.choice(world.curators))
    if rng.random() < 0.35:
        proposer.propose(
            world.dataset_id, ProposalKind.REMOVE, rng.sample(range(1, items + 1), rng.randint(1, 2))
        )
        return "propose-remove"
    ids = rng.sample(range(1, items + 1), rng.randint(1, min(4, items)))
    batch_ids = [rng.randint(1, batches)] if batches and rng.random() < 0.4 else []
    proposer.propose(world.dataset_id, ProposalKind.INCLUDE, ids, batch_ids)
    return "propose-include"


def _open_proposals(world: World) -> list[tuple[int, int, int, ProposalStatus]]:
    count = world.voting.proposal_count()
    out = []
    for pid in range(max(1, count - 7), count + 1):
        info = world.voting.get_proposal(pid)
        out.append((pid, info.snapshot, info.deadline, info.state))
    return out


def _vote(world: World, rng: random.Random) -> str | None:
    nxt = _next_block(world)
    live = [pid for pid, snap, deadline, _ in _open_proposals(world) if snap < nxt <= deadline]
    rng.shuffle(live)
    for pid in live:
        voters = [c for c in world.curators if not world.voting.has_voted(pid, c.address)]
        if voters:
            support = rng.choices([1, 0, 2], weights=[6, 3, 1])[0]
            world.voting.with_signer(rng.choice(voters)).cast_vote(pid, support)
            return "vote"
    return None


def _finalize(world: World, rng: random.Random) -> str | None:
    nxt = _next_block(world)
    closed = [
        pid
        for pid, _, deadline, state in _open_proposals(world)
        if deadline < nxt and state not in (ProposalStatus.ACCEPTED, ProposalStatus.REJECTED)
    ]
    if not closed:
        return None
    world.voting.finalize(rng.choice(closed))
    return "finalize"


ACTIONS: tuple[tuple[Callable[[World, random.Random], str | None], int], ...] = (
    (_vote, 26),
    (_finalize, 24),
    (_propose, 16),
    (_revoke, 12),
    (_narrow, 12),
    (_new_item, 6),
    (_new_batch, 4),
)


def mine_traffic(world: World, rng: random.Random, blocks: int) -> None:
    """Mine exactly `blocks` blocks, one transaction each, the first with a timestamp no other fork has."""
    if blocks <= 0:
        return
    world.forks += 1
    latest = world.w3.eth.get_block("latest")
    world.node.rpc("evm_setNextBlockTimestamp", [int(latest["timestamp"]) + world.forks])
    target = int(latest["number"]) + blocks
    while int(world.w3.eth.block_number) < target:
        action = rng.choices([a for a, _ in ACTIONS], weights=[w for _, w in ACTIONS])[0]
        try:
            done = action(world, rng)
        except (ContractRevert, ChainError):  # a mined revert still makes a block: counted like any other
            done = "reverted"
        if done is not None:
            world.actions[done] = world.actions.get(done, 0) + 1


# --- the test ---------------------------------------------------------------------------------------------


def _derive(world: World, indexer: Indexer) -> Derived:
    cursor = indexer.state_block()
    assert cursor is not None
    header = world.w3.eth.get_block(cursor.number)
    assert "0x" + bytes(header["hash"]).hex() == cursor.hash, "the index's cursor is not on the node's chain"
    state = fold_index(world.env, indexer, cursor.number)
    ctx = chain_context(world.env, cursor.number)
    assert ctx.state_block_hash == cursor.hash
    prepare_dataset(world.env, FoldedChain(state, ctx), world.dataset_id)
    built = build_manifest(state, world.dataset_id, ctx, shard_items=SHARD_ITEMS)
    report = build_report(state, built, None)
    return Derived(
        indexer.dump(),
        built.data,
        tuple(p.data for p in built.parts),
        json.dumps(report, sort_keys=True).encode(),
    )


def test_randomized_reorgs_leave_the_manifest_identical_to_a_rebuild(world: World, tmp_path: Path) -> None:
    incremental: list[Indexer] = []
    replaced: list[Derived] = []  # the incremental index's output on top of each fork about to be replaced
    finals: list[Derived] = []  # ... and after the reorg

    def rpc(method: str, params: list[Any]) -> Any:
        if method == "evm_revert":
            replaced.append(_derive(world, incremental[0]))
        return world.node.rpc(method, params)

    def opener(db_url: str) -> Indexer:
        if "fresh" in db_url:  # the rebuild: a fresh in-memory index over the same chain
            return open_indexer(world.env, "sqlite://")
        indexer = open_indexer(world.env, db_url)
        incremental.append(indexer)
        return indexer

    def derive(indexer: Indexer) -> Derived:
        out = _derive(world, indexer)
        if indexer is incremental[0]:
            finals.append(out)
        return out

    def mine(rng: random.Random, blocks: int) -> None:
        mine_traffic(world, rng, blocks)

    reports = run_reorg_scenarios(rpc, mine, opener, derive, tmp_path, SCENARIOS, MAX_DEPTH, seed=SEED)

    assert len(reports) == SCENARIOS >= 20
    assert {r.depth for r in reports} == set(range(1, MAX_DEPTH + 1))
    assert any(r.new_length < r.depth for r in reports)  # the chain got shorter
    assert any(r.new_length > r.depth for r in reports)  # and longer
    assert sum(r.logs_removed for r in reports) > 0
    # The replaced blocks mattered: on top of the old fork the manifest said something else.
    changed = sum(old.manifest != new.manifest for old, new in zip(replaced, finals, strict=True))
    assert changed >= SCENARIOS // 2, f"only {changed} of {SCENARIOS} reorgs changed the manifest"
    # Everything the traffic can do happened, in forks that stayed and in forks that were replaced.
    for action in (
        "vote",
        "finalize",
        "propose-include",
        "propose-remove",
        "revoke-item",
        "revoke-leaf",
        "narrow-item",
        "narrow-leaf",
        "submit-item",
        "submit-batch",
    ):
        assert world.actions.get(action, 0) > 0, (action, world.actions)
    doc = json.loads(finals[-1].manifest)
    reasons = {e["reason"] for e in doc["exclusions"]}
    assert {"removed", "revoked", "duplicate-cid"} <= reasons, reasons
    assert doc["totals"]["items"] > SHARD_ITEMS
    assert finals[-1].parts, "the item list is sharded into parts"
    assert len(doc["sources"]) >= 3
    assert doc["removals"]
