"""backend.cli.operator_cmd: `curation dataset`, `license`, `roles`, `chain fund` through Typer's runner, on the
embedded chain (open_session swapped for one on the test chain) and, in one integration test, a Hardhat node."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.voting import VotingClient
from backend.cli import common
from backend.cli.main import app
from tests.conftest import Chain
from tests.integration.hardhat import HardhatNode

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
runner = CliRunner()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result


def last_json(result: Any) -> Any:
    return json.loads(result.stdout.strip().splitlines()[-1])


def _voting(chain: Chain) -> VotingClient:
    return VotingClient(chain.w3, chain.deployment.address("CurationVoting"))


def test_dataset_create_params_and_list(cli: Chain) -> None:
    out = last_json(
        run(
            "dataset", "create", "essays", "--use", "train,commercial", "--description-cid", CID,
            "--quorum-bps", "1000", "--yes", "--json",
        )
    )  # fmt: skip
    ds = out["dataset_id"]
    assert (out["use"], out["params"]["quorum_bps"], out["plan"]["function"]) == (
        "train,commercial",
        1000,
        "createDataset",
    )
    text = run("dataset", "params", str(ds), "--approval-bps", "6000", "--quorum-bps", "1000", "--yes").stdout
    assert "CurationVoting.setDatasetParams" in text
    assert "approval_bps: 5000 -> 6000" in text
    assert "quorum_bps: 1000 (unchanged)" in text
    assert f"dataset {ds}: approval_bps 5000 -> 6000" in text
    listed = last_json(run("dataset", "list", "--json"))["datasets"]
    assert [d["params"]["approval_bps"] for d in listed if d["dataset_id"] == ds] == [6000]
    assert "essays" in run("dataset", "list").stdout


def test_a_sending_command_without_yes_on_a_pipe_refuses_and_sends_nothing(cli: Chain) -> None:
    count, block = _voting(cli).dataset_count(), cli.w3.eth.block_number
    r = run("dataset", "create", "d", "--use", "train", "--description-cid", CID, code=1)
    assert "CurationVoting.createDataset" in r.stdout  # the plan was shown first
    assert "error: stdin is not a terminal, so nobody can confirm: pass --yes" in r.stderr
    assert (_voting(cli).dataset_count(), cli.w3.eth.block_number) == (count, block)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["dataset", "create", "d", "--use", "train", "--description-cid", CID, "--quorum-bps", "10001"],
         "error: quorum_bps = 10001 is out of range: it must be an integer from 0 to 10000"),
        (["dataset", "create", "", "--use", "train", "--description-cid", CID], "error: dataset name = ''"),
        (["dataset", "params", "1", "--approval-bps", "0"], "error: approval_bps = 0 is out of range"),
        (["dataset", "params", "1"], "error: no parameter given"),
        (["license", "add", "Foo-1.0"], "error: spdx = 'Foo-1.0' is not a known license"),
        (["license", "disable", "GPL-3.0-only"], "error: spdx = 'GPL-3.0-only' was never added"),
        (["roles", "grant", "owner", "0x" + "11" * 20], "error: role = 'owner' is not a role"),
        (["roles", "grant", "minter", "0x1234"], "error: address = '0x1234' is not an account address"),
        (["roles", "revoke", "minter", "0x" + "11" * 20, "--dev-account", "1"], "is not the admin of"),
        (["chain", "fund", "0x" + "11" * 20, "1.5wei"], "error: amount = '1.5wei' is not a whole number of wei"),
    ],
)  # fmt: skip
def test_refusals_are_one_error_line_and_send_nothing(cli: Chain, args: list[str], words: str) -> None:
    block = cli.w3.eth.block_number
    r = run(*args, "--yes", code=1)
    assert words in r.stderr
    assert cli.w3.eth.block_number == block


def test_license_add_disable_list(cli: Chain) -> None:
    off = last_json(run("license", "disable", "mit", "--yes", "--json"))
    assert (off["spdx"], off["allowed"], off["plan"]["args"]["allowed"]) == ("MIT", False, "false")
    added = last_json(
        run(
            "license",
            "add",
            "LicenseRef-X",
            "--custom",
            "--classes",
            "commercial,share-alike",
            "--yes",
            "--json",
        )
    )
    assert (added["spdx"], added["classes"]) == ("LicenseRef-X", "commercial,share-alike")
    rows = {r["spdx"]: r for r in last_json(run("license", "list", "--json"))["licenses"]}
    assert rows["MIT"]["allowed"] is False
    assert rows["LicenseRef-X"]["allowed"] is True
    assert "LicenseRef-X" in run("license", "list").stdout


def test_roles_grant_show_revoke(cli: Chain) -> None:
    who = cli.signers[6].address
    plan = last_json(run("roles", "grant", "publisher", who, "--yes", "--json"))["plan"]
    assert (plan["contract"], plan["function"], plan["args"]) == (
        "ReleaseRegistry",
        "setPublisher",
        {"account": who, "allowed": "true"},
    )
    shown = {r["role"]: r["holds"] for r in last_json(run("roles", "show", who, "--json"))["roles"]}
    assert shown == {"minter": False, "dataset-manager": False, "license-manager": False, "publisher": True}
    run("roles", "revoke", "publisher", who, "--yes")
    assert not any(r["holds"] for r in last_json(run("roles", "show", who, "--json"))["roles"])
    assert all(r["holds"] for r in last_json(run("roles", "show", "--json"))["roles"])  # the signer: admin


def test_chain_fund(cli: Chain) -> None:
    to = Account.create().address
    out = last_json(run("chain", "fund", to, "2", "--yes", "--json"))
    assert out["wei"] == out["balance"] == str(2 * 10**18) == str(cli.w3.eth.get_balance(to))
    assert out["plan"]["args"]["value"] == "2000000000000000000 wei (2 ETH)"


@pytest.mark.integration
def test_operator_commands_against_hardhat(hardhat: HardhatNode, tmp_path: Path) -> None:
    """The operator story on a real node: roles, license, dataset create/params/list, chain fund."""
    snapshot = hardhat.rpc("evm_snapshot")
    try:
        w3 = connect(hardhat.url)
        deploy_all(w3, dev_signers(w3)[0]).save(tmp_path / "deployment.json")
        env = {
            "CURATION_HOME": str(tmp_path),
            "CURATION_RPC": hardhat.url,
            "CURATION_IPFS": "",
            "CURATION_CONFIG": "",
            "CURATION_DEV_ACCOUNT": "0",
        }

        def go(*args: str, code: int = 0) -> Any:
            r = runner.invoke(app, list(args), env=env)
            assert r.exit_code == code, (args, r.output, r.exception)
            return r

        manager = dev_signers(w3)[1].address
        go("roles", "grant", "dataset-manager", manager, "--yes", "--json")
        assert {r["role"]: r["holds"] for r in last_json(go("roles", "show", manager, "--json"))["roles"]}[
            "dataset-manager"
        ]
        go("license", "add", "LicenseRef-Hardhat", "--custom", "--classes", "attribution", "--yes")
        assert "LicenseRef-Hardhat" in {
            r["spdx"] for r in last_json(go("license", "list", "--json"))["licenses"]
        }
        created = last_json(
            go("dataset", "create", "hh", "--use", "train", "--description-cid", CID, "--voting-period", "5",
               "--yes", "--json", "--dev-account", "1")
        )  # fmt: skip
        ds = created["dataset_id"]
        changed = last_json(
            go("dataset", "params", str(ds), "--voting-period", "9", "--yes", "--json", "--dev-account", "1")
        )
        assert changed["changed"] == {"voting_period": {"old": "5", "new": "9"}}
        assert [
            d["params"]["voting_period"] for d in last_json(go("dataset", "list", "--json"))["datasets"]
        ] == [9]
        refused = go("dataset", "params", str(ds), "--quorum-bps", "1", "--yes", "--dev-account", "2", code=1)
        assert "lacks the dataset-manager role" in refused.stderr
        to = Account.create().address
        funded = last_json(go("chain", "fund", to, "1000000000000000000wei", "--yes", "--json"))
        assert funded["balance"] == str(10**18) == str(w3.eth.get_balance(to))
    finally:
        hardhat.rpc("evm_revert", [snapshot])


@pytest.mark.parametrize(("answer", "code"), [("n\n", 1), ("y\n", 0)])
def test_on_a_terminal_the_plan_is_confirmed_or_declined(
    cli: Chain, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    monkeypatch.setattr(common, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    count = _voting(cli).dataset_count()
    r = runner.invoke(
        app, ["dataset", "create", "d", "--use", "train", "--description-cid", CID], input=answer
    )
    assert r.exit_code == code, r.output
    assert "send this transaction?" in r.stderr
    assert _voting(cli).dataset_count() == count + (1 - code)
    if code:
        assert "error: cancelled: nothing was sent" in r.stderr
