"""The contributor, curator and trainer commands against a Hardhat node, through Typer's runner and as a
subprocess: the whole story, and every refusal with one clear sentence, a non-zero exit and nothing half-done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from backend.cli.main import app as main_app
from backend.settings import Settings
from curation.unixfs import compute_cid
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
CONTENT = [b"first file\n" * 50, b"second file\n" * 70, b"leaf zero\n" * 30, b"leaf one\n" * 40]
runner = CliRunner()


@dataclass
class World:
    node: HardhatNode
    home: Path
    env: dict[str, str]
    files: list[Path]

    def run(self, *args: str, ok: bool = True) -> Any:
        result = runner.invoke(main_app, list(args), env=self.env)
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout.strip().splitlines()[-1])

    def sub(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend.cli.main", *args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def mine(self, blocks: int) -> None:
        self.node.rpc("hardhat_mine", [hex(blocks)])


@pytest.fixture(scope="module")
def world(hardhat: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    snapshot = hardhat.rpc("evm_snapshot")
    home = tmp_path_factory.mktemp("curation-home")
    env = {
        "CURATION_HOME": str(home),
        "CURATION_RPC": hardhat.url,
        "CURATION_IPFS": "",
        "CURATION_CONFIG": "",
    }
    w3 = connect(hardhat.url)
    admin = dev_signers(w3)[0]
    deploy_all(w3, admin).save(home / "deployment.json")
    files = []
    for i, data in enumerate(CONTENT):
        path = home / f"f{i}.txt"
        path.write_bytes(data)
        files.append(path)
    try:
        yield World(hardhat, home, env, files)
    finally:
        hardhat.rpc("evm_revert", [snapshot])


def test_the_whole_story_through_the_cli(world: World) -> None:
    w = world
    assert w.json("register", "--dev-account", "1", "--profile", "ipfs://alice")["contributor_id"] == 1
    items = w.json(
        "contribute",
        str(w.files[0]),
        str(w.files[1]),
        "--license",
        "CC-BY-4.0",
        "--consent",
        "train,commercial",
        "--dev-account",
        "1",
    )
    assert [i["item_id"] for i in items["items"]] == ["1", "2"]
    batch = w.json(
        "contribute",
        str(w.files[2]),
        str(w.files[3]),
        "--license",
        "CC0-1.0",
        "--consent",
        "train,evaluation",
        "--batch",
        "--dev-account",
        "1",
    )
    assert batch["batch_id"] == 1
    assert len(batch["items"]) == 2
    # Narrow one leaf (proof built from the batch manifest in the store), revoke the other.
    assert w.json("consent", "batch:1:0", "--narrow", "train", "--dev-account", "1")["consent"] == "train"
    assert (
        w.json("consent", "--batch", "1", "--leaf", "1", "--revoke", "--dev-account", "1")["consent"]
        == "revoked"
    )
    mine = w.json("items", "--mine", "--dev-account", "1")["items"]
    assert [r["ref"] for r in mine] == ["item:1", "item:2", "batch:1", "batch:1:0", "batch:1:1"]
    assert (mine[2]["revoked_leaves"], mine[2]["narrowed_leaves"]) == (1, 1)
    assert [(r["consent"], r["revoked"]) for r in mine[3:]] == [("train", False), ("none", True)]
    assert w.json("items", "--mine", "--dev-account", "2")["items"] == []

    # Governance: tokens by the admin's Python API (no `token allocate` yet), the dataset by the CLI.
    w3 = connect(w.node.url)
    signers = dev_signers(w3)
    settings = Settings(home=w.home, rpc=w.node.url)
    from backend.chain.deployment import Deployment

    dep = Deployment.load(settings.deployment_path)
    token = TokenClient(w3, dep.address("CurationToken"), signers[0])
    token.mint(signers[0].address, 6 * 10**20)
    token.mint(signers[2].address, 4 * 10**20)
    desc = str(compute_cid(b"cli dataset").cid)
    created = w.json(
        "dataset", "create", "cli-set", "--use", "train", "--description-cid", desc,
        "--voting-delay", "1", "--voting-period", "6", "--dev-account", "0", "--yes",
    )  # fmt: skip
    assert created["dataset_id"] == 1
    w.run("delegate", "--dev-account", "0")
    assert w.json("delegate", "--dev-account", "2")["votes"] == str(4 * 10**20)
    proposal = w.json("propose", "1", "--item", "1", "--item", "2", "--batch", "1", "--dev-account", "0")
    pid = proposal["proposal_id"]
    w.mine(proposal["snapshot"] - w3.eth.block_number)
    assert w.json("vote", str(pid), "for", "--reason", "good data", "--dev-account", "0")["weight"] == str(
        6 * 10**20
    )
    ballots = w.home / "ballots.json"
    w.run("sign-ballot", str(pid), "against", "-o", str(ballots), "--dev-account", "2")
    relayed = w.json("relay", str(ballots), "--dev-account", "3")
    assert [(c["support"], c["weight"]) for c in relayed["counted"]] == [("against", str(4 * 10**20))]
    early = w.run("finalize", str(pid), "--dev-account", "3", ok=False)
    assert early.exit_code == 1
    assert "finalize after the deadline" in early.output
    w.mine(proposal["deadline"] - w3.eth.block_number + 1)
    assert w.json("finalize", str(pid), "--dev-account", "3")["outcome"] == "accepted"
    listed = w.json("proposals", "--dataset", "1")["proposals"]
    assert [(p["proposal_id"], p["state"], p["against"]) for p in listed] == [
        (pid, "accepted", str(4 * 10**20))
    ]

    released = w.json("release", "1", "--dev-account", "0")
    assert (released["release"], released["items"], released["excluded"]) == (1, 3, 1)  # the revoked leaf
    assert set(released["export_cids"]) == {"report_json", "report_md", "croissant", "card", "parquet"}
    assert json.loads(Path(released["files"]["croissant"]).read_text())["conformsTo"].endswith(
        "croissant/1.1"
    )
    verified = w.json("verify", "1")
    assert (verified["equal"], verified["release"], verified["rebuilt_sha256"]) == (
        True,
        1,
        released["manifest_sha256"],
    )

    # Pull as a separate process, then sample from what it wrote.
    out = w.home / "pulled"
    done = w.sub("pull", "cli-set", "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    pulled = json.loads(done.stdout.strip().splitlines()[-1])
    assert (pulled["release"], pulled["items"], pulled["fetched"]) == (
        1,
        3,
        3,
    )  # the revoked leaf is not in it
    for data in CONTENT[:3]:
        assert (out / "items" / str(compute_cid(data).cid)).read_bytes() == data
    assert (out / "ATTRIBUTION.md").exists()
    assert (out / "pull-report.json").exists()
    # Revoke an item after the release: the next pull excludes it, says so and deletes the copy.
    w.run("consent", "item:2", "--revoke", "--dev-account", "1")
    again = w.run("pull", "1", "-o", str(out))
    assert "excluded 1 items" in again.stdout
    assert "revoked" in again.stdout
    assert not (out / "items" / str(compute_cid(CONTENT[1]).cid)).exists()
    sampled = w.sub("sample", "--manifest", str(out / "manifest.json"), "--seed", "3", "--count", "20")
    assert sampled.returncode == 0, sampled.stderr
    # Samples that land on the revoked item are skipped, and the command says how many.
    printed = sampled.stdout.split()
    assert "item:2" not in printed
    assert all(p.startswith(("item:", "batch:")) for p in printed)  # refs, not raw ids
    assert len(printed) < 20  # seed 3 does land on item 2
    assert f"skipped {20 - len(printed)} sample(s)" in sampled.stderr


def _fails(result: Any, *needles: str) -> None:
    output = result.output if hasattr(result, "output") else result.stderr
    assert result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert "Traceback" not in output
    for needle in needles:
        assert needle in output, output


def test_refusals_are_one_sentence_and_leave_nothing_half_done(world: World) -> None:
    w = world
    w3 = connect(w.node.url)
    from backend.chain.deployment import Deployment

    dep = Deployment.load(w.home / "deployment.json")
    registry = RegistryClient(w3, dep.address("ContentRegistry"))
    if registry.contributor_id(dev_signers(w3)[4].address) == 0:
        w.run("register", "--dev-account", "4")
    fresh = w.home / "fresh.txt"
    fresh.write_bytes(b"never submitted\n")
    before = registry.item_count()
    blocks = sorted((w.home / "blocks").rglob("*")) if (w.home / "blocks").exists() else []

    _fails(
        w.run("contribute", str(w.home / "missing.txt"), "--license", "MIT", "--consent", "train", ok=False),
        "error:",
        "missing.txt does not exist",
    )
    _fails(
        w.run(
            "contribute",
            str(fresh),
            "--license",
            "GPL-3.0",
            "--consent",
            "train",
            "--dev-account",
            "4",
            ok=False,
        ),
        "error: license 'GPL-3.0' is not on the allowlist",
    )
    _fails(
        w.run(
            "contribute", str(fresh), "--license", "MIT", "--consent", "trian", "--dev-account", "4", ok=False
        ),
        "error: unknown consent flag 'trian'",
    )
    _fails(
        w.run("consent", "1", "--narrow", "train,bogus", "--dev-account", "1", ok=False),
        "unknown consent flag 'bogus'",
    )
    assert registry.item_count() == before, "no item was submitted"
    after = sorted((w.home / "blocks").rglob("*")) if (w.home / "blocks").exists() else []
    assert after == blocks, "nothing was added to the store"

    _fails(w.run("pull", "99", "-o", str(w.home / "nowhere"), ok=False), "error: dataset 99 does not exist")
    _fails(
        w.sub("pull", "no-such-set", "-o", str(w.home / "nowhere")),
        "error: no dataset is named 'no-such-set'",
    )
    assert not (w.home / "nowhere").exists()

    # A ballot signed for another chain: refused as a whole, nothing relayed.
    voting = VotingClient(w3, dep.address("CurationVoting"))
    assert voting.proposal_count(), "the story test earlier in this module creates the proposals"
    pid = voting.proposal_count()
    ballots = w.home / "other-chain.json"
    w.run("sign-ballot", str(pid), "for", "-o", str(ballots), "--dev-account", "5")
    doc = json.loads(ballots.read_text())
    doc["ballots"][0]["chainId"] = 1
    ballots.write_text(json.dumps(doc))
    _fails(
        w.sub("relay", str(ballots), "--dev-account", "3"),
        "is for chain 1, but this node is chain 31337: nothing was relayed",
    )
    assert not voting.has_voted(pid, dev_signers(w3)[5].address)
    _fails(
        w.run("relay", str(w.home / "absent.json"), "--dev-account", "3", ok=False),
        "ballot file",
        "does not exist",
    )


def test_unknown_release_and_missing_rpc_are_clear(world: World) -> None:
    w = world
    _fails(
        w.run("pull", "1", "--release", "7", "-o", str(w.home / "x"), ok=False), "release 7 does not exist"
    )
    no_rpc = runner.invoke(
        main_app, ["pull", "1", "-o", str(w.home / "x")], env={**w.env, "CURATION_RPC": ""}
    )
    _fails(no_rpc, "needs --rpc URL")
    assert not (w.home / "x").exists()
