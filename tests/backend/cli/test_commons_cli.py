"""A whole commons from the command line alone, against a Hardhat node: deploy governed, allocate the
token, create a dataset, add a license, change a parameter through propose/vote/queue/execute, contribute and
revoke gaslessly from an account holding no ETH (through `curation serve`'s relay), vote, release and pull.
Nothing here calls the Python API to set things up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.cli.main import app as main_app
from curation.unixfs import compute_cid
from tests.backend.api.serve_process import free_port
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration
runner = CliRunner()
TOKEN = 10**18


@dataclass
class Commons:
    node: HardhatNode
    home: Path
    env: dict[str, str]
    accounts: list[str]

    def run(self, *args: str, code: int = 0) -> Any:
        result = runner.invoke(main_app, list(args), env=self.env)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout.strip().splitlines()[-1])


ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """The real `curation serve` (a child process) on the commons, with a relayer paying from dev account 9."""
    port = free_port()
    log = open(Path(env["CURATION_HOME"]) / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env, "CURATION_RELAYER_DEV_ACCOUNT": "9", "CURATION_API_RATE_LIMIT": "100000"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (Path(env["CURATION_HOME"]) / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "curation serve did not answer /health"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def commons(hardhat: HardhatNode, tmp_path: Path) -> Iterator[Commons]:
    snapshot = hardhat.rpc("evm_snapshot")
    env = {
        "CURATION_HOME": str(tmp_path),
        "CURATION_RPC": hardhat.url,
        "CURATION_IPFS": "",
        "CURATION_CONFIG": "",
    }
    accounts = [s.address for s in dev_signers(connect(hardhat.url))]
    try:
        yield Commons(hardhat, tmp_path, env, accounts)
    finally:
        hardhat.rpc("evm_revert", [snapshot])


def test_a_whole_commons_from_the_cli(commons: Commons) -> None:
    c = commons
    # 1. Deploy governed: the timelock is the admin of every contract.
    deployed = c.json("deploy", "--governed", "--dev-account", "0")
    assert {"CommonsTimelock", "CommonsGovernor", "CommonsForwarder"} <= set(deployed["contracts"])
    roles = c.json("roles", "show", c.accounts[0], "--dev-account", "0")["roles"]
    assert {r["admin"] for r in roles} == {deployed["contracts"]["CommonsTimelock"]}

    # 2. The genesis allocation closes genesis: minting only by proposal from now on.
    alloc = c.home / "allocation.csv"
    alloc.write_text(f"address,amount\n{c.accounts[1]},600\n{c.accounts[2]},400\n{c.accounts[3]},10\n")
    allocated = c.json("token", "allocate", str(alloc), "--yes", "--dev-account", "0")
    assert allocated["total"] == str(1010 * TOKEN)
    again = c.run("token", "allocate", str(alloc), "--yes", "--dev-account", "0", code=1)
    assert "runs once" in again.output
    for i in (1, 2):
        c.run("delegate", "--dev-account", str(i))

    # 3. The operator (deployer) keeps the day-to-day roles: a dataset and a license, directly.
    desc = str(compute_cid(b"a commons dataset").cid)
    created = c.json(
        "dataset", "create", "commons", "--use", "train", "--description-cid", desc,
        "--voting-delay", "1", "--voting-period", "6", "--yes", "--dev-account", "0",
    )  # fmt: skip
    assert str(created["dataset_id"]) == "1"
    c.run(
        "license",
        "add",
        "LicenseRef-Commons",
        "--custom",
        "--classes",
        "attribution",
        "--yes",
        "--dev-account",
        "0",
    )

    # 4. A parameter change through the Governor: propose, vote, queue, execute.
    proposed = c.json(
        "dataset", "params", "1", "--quorum-bps", "500", "--propose", "--yes", "--dev-account", "3"
    )
    gid = proposed["proposal_id"]
    assert "CurationVoting.setDatasetParams(datasetId=1" in proposed["actions"][0]
    assert "quorumBps=500" in proposed["actions"][0]
    early = c.run("gov", "queue", gid, "--dev-account", "3", code=1)
    assert "is pending" in early.output
    c.run("chain", "mine", "2")
    assert c.json("gov", "vote", gid, "for", "--dev-account", "1")["weight"] == str(600 * TOKEN)
    c.run("gov", "vote", gid, "against", "--reason", "too strict", "--dev-account", "2")
    c.run("chain", "mine", "21")
    shown = c.json("gov", "show", gid)
    assert (shown["state"], shown["votes"]["for"], shown["votes"]["against"]) == (
        "succeeded",
        str(600 * TOKEN),
        str(400 * TOKEN),
    )
    assert "votes for 600, against 400, abstain 0" in c.run("gov", "show", gid).stdout  # whole tokens
    assert f"votes for {600 * TOKEN}, against {400 * TOKEN}" in c.run("gov", "show", gid, "--raw").stdout
    c.run("gov", "queue", gid, "--dev-account", "3")
    c.run("chain", "mine", "1", "--seconds", "2")
    c.run("gov", "execute", gid, "--dev-account", "3")
    [listed] = c.json("gov", "list")["proposals"]
    assert listed["state"] == "executed"
    [dataset] = c.json("dataset", "list")["datasets"]
    assert dataset["params"]["quorum_bps"] == 500

    # 5. Contribute, propose the items, vote, release, pull.
    files = []
    for i, data in enumerate([b"commons one\n" * 40, b"commons two\n" * 60]):
        files.append(c.home / f"c{i}.txt")
        files[-1].write_bytes(data)
    c.json("register", "--dev-account", "4")
    items = c.json(
        "contribute", *map(str, files), "--license", "CC-BY-4.0", "--consent", "train", "--dev-account", "4"
    )
    assert len(items["items"]) == 2
    proposal = c.json("propose", "1", "--item", "1", "--item", "2", "--dev-account", "1")
    c.run("chain", "mine", str(int(proposal["snapshot"]) - connect(c.node.url).eth.block_number))
    c.run("vote", str(proposal["proposal_id"]), "for", "--dev-account", "1")
    c.run("chain", "mine", "8")
    assert c.json("finalize", str(proposal["proposal_id"]), "--dev-account", "1")["outcome"] == "accepted"
    released = c.json("release", "1", "--dev-account", "0")
    assert (released["release"], released["items"]) == (1, 2)
    pulled = c.json("pull", "commons", "-o", str(c.home / "pulled"))
    assert (pulled["items"], pulled["fetched"]) == (2, 2)
