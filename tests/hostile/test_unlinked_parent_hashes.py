"""Blocks whose parentHash does not name the block before: Hardhat's `hardhat_mine`, which the tests use.

The problem: `hardhat_mine N` mines most of its N blocks lazily and reports a zero parentHash for them, while
their hashes stay the same whenever they are read by number. The indexer took that for a reorg between two
batches, found the cursor still on the node's chain, rolled nothing back and fetched the same batch again, for
ever: `curation index`, `release` and `verify` hung, printing nothing. A range of such blocks was refused by
the log fetcher as "does not extend", halved down to one block, and then fell into that loop.

The promise: hashes that are the same when read again by number are not a reorg, so indexing proceeds and the
index equals what the node says (the real reorg tests in tests/index still roll back). A chain that really
moves, or a reorg deeper than `max_reorg_depth`, stops with a typed error (tests/backend/index/test_links.py).
Every run here is a subprocess with a timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.index import IndexDb
from backend.ipfs import EmbeddedStore
from curation.consent import Consent
from curation.events import DatasetCreated, ProposalCreated
from curation.governance import ProposalKind
from curation.unixfs import compute_cid
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ZERO_HASH = "0x" + "00" * 32
#: Blocks mined in one `hardhat_mine` after the story; most of them have a zero parentHash.
MINED = 300
#: Generous guard per subprocess on a busy two-core machine; the old code never finished at all.
GUARD = 240


@dataclass
class World:
    node: HardhatNode
    home: Path
    deployment: Deployment
    env: dict[str, str]
    head: int

    def run(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(extra_env or {})}
        try:
            done = subprocess.run(
                [sys.executable, *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=GUARD,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"{' '.join(args)} still ran after {GUARD} s (looping on unlinked blocks?): {exc.stderr!r}"
            )
        assert done.returncode == 0, done.stderr
        return done

    def cli(self, *args: str, extra_env: dict[str, str] | None = None) -> Any:
        out = self.run("-m", "backend.cli.main", *args, extra_env=extra_env).stdout
        return json.loads(out.strip().splitlines()[-1]) if "--json" in args else out

    def node_logs(self, to_block: int) -> list[tuple[int, int, str]]:
        raw: Any = self.node.rpc(
            "eth_getLogs",
            [
                {
                    "fromBlock": hex(self.deployment.deploy_block),
                    "toBlock": hex(to_block),
                    "address": list(self.deployment.contracts.values()),
                }
            ],
        )
        return sorted(
            (int(x["blockNumber"], 16), int(x["logIndex"], 16), x["blockHash"].lower()) for x in raw
        )

    def block(self, number: int) -> dict[str, Any]:
        found: Any = self.node.rpc("eth_getBlockByNumber", [hex(number), False])
        return dict(found)


def _mine(node: HardhatNode, blocks: int) -> None:
    if blocks > 0:
        node.rpc("hardhat_mine", [hex(blocks)])


@pytest.fixture(scope="module")
def world(hardhat: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One accepted item in one dataset, every wait mined with hardhat_mine, then MINED more blocks."""
    snapshot = hardhat.rpc("evm_snapshot")
    home = tmp_path_factory.mktemp("unlinked-home")
    try:
        w3 = connect(hardhat.url)
        admin, alice = dev_signers(w3)[:2]
        deployment = deploy_all(w3, admin)
        deployment.save(home / "deployment.json")
        content = b"an openly licensed sentence\n" * 20
        EmbeddedStore(home / "blocks").put_bytes(content)
        registry = RegistryClient(w3, deployment.address("ContentRegistry"), alice)
        registry.register("https://example.org/alice")
        consent = int(Consent.TRAIN | Consent.COMMERCIAL)
        submitted = registry.submit_item(
            compute_cid(content).cid,
            hashlib.sha256(content).digest(),
            len(content),
            registry.license_id_of("CC0-1.0"),
            consent,
        )
        item = RegistryClient.submitted_id(submitted)
        token = TokenClient(w3, deployment.address("CurationToken"), admin)
        token.mint(admin.address, 10**21)
        token.delegate(admin.address)
        voting = VotingClient(w3, deployment.address("CurationVoting"), admin)
        params = DatasetParams(voting_delay=5, voting_period=20, quorum_bps=400, approval_bps=5000)
        created = voting.create_dataset("unlinked", compute_cid(b"unlinked").cid.encode(), consent, params)
        assert created.event(DatasetCreated).dataset_id == 1
        proposed = voting.propose(1, ProposalKind.INCLUDE, [item], [])
        pid = proposed.event(ProposalCreated).proposal_id
        info = voting.get_proposal(pid)
        _mine(hardhat, info.snapshot - w3.eth.block_number)
        voting.cast_vote(pid, 1)
        _mine(hardhat, info.deadline + 1 - w3.eth.block_number)
        voting.finalize(pid)
        _mine(hardhat, MINED)
        env = {
            **os.environ,
            "CURATION_HOME": str(home),
            "CURATION_RPC": hardhat.url,
            "CURATION_IPFS": "",
            "CURATION_CONFIG": "",
        }
        yield World(hardhat, home, deployment, env, int(w3.eth.block_number))
    finally:
        hardhat.rpc("evm_revert", [snapshot])


def test_hardhat_mine_leaves_parent_hashes_that_do_not_link(world: World) -> None:
    """The premise: the node's hashes are stable when read again, its parentHash fields are not links."""
    top = world.head - 1
    blocks = [world.block(n) for n in range(top - 20, top + 1)]
    assert any(b["parentHash"] == ZERO_HASH for b in blocks)
    assert [world.block(n)["hash"] for n in range(top - 20, top + 1)] == [b["hash"] for b in blocks]


@pytest.mark.parametrize("verify", ["none", "bloom", "receipts"])
def test_the_indexer_syncs_through_unlinked_blocks(world: World, tmp_path: Path, verify: str) -> None:
    db = tmp_path / "index.sqlite"
    base = [
        "-m",
        "backend.index",
        "--rpc",
        world.node.url,
        "--db",
        f"sqlite:///{db}",
        "--start-block",
        str(world.deployment.deploy_block),
        "--verify",
        verify,
        "--max-range",
        "7",  # many batch boundaries, some between two unlinked blocks
    ]
    for address in world.deployment.contracts.values():
        base += ["--address", address]
    # First leave the cursor among the unlinked blocks, then sync from there to the head.
    world.run(*base, "--confirmations", str(MINED // 2))
    store = IndexDb(f"sqlite:///{db}")
    cursor = store.cursor()
    store.close()
    assert cursor is not None
    assert world.block(cursor.number + 1)["parentHash"] == ZERO_HASH
    done = world.run(*base)
    assert f"indexed to block {world.head}:" in done.stdout
    store = IndexDb(f"sqlite:///{db}")
    try:
        stored = [(log.block_number, log.log_index, log.block_hash) for log in store.logs()]
        assert store.cursor() is not None
    finally:
        store.close()
    assert stored == world.node_logs(world.head)
    assert stored  # the story's logs are there


def test_index_release_and_verify_complete_after_hardhat_mine(world: World) -> None:
    # `curation index` with confirmations leaves the cursor on an unlinked block; the release syncs on from it.
    indexed = world.cli("index", extra_env={"CURATION_CONFIRMATIONS": str(MINED // 2)})
    assert f"index complete to block {world.head - MINED // 2}" in indexed
    released = world.cli("release", "1", "--dev-account", "0", "--json")
    assert (released["release"], released["items"]) == (1, 1)
    assert released["state_block"] >= world.head
    verified = world.cli("verify", "1", "--json")  # a fresh in-memory index over all of it, in one go
    assert (verified["equal"], verified["rebuilt_sha256"]) == (True, released["manifest_sha256"])
    assert world.cli("verify", "1", "--use-index", "--json")["equal"] is True
