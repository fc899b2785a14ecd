"""backend.cli.gov_cmd: `curation gov ...`, `token allocate` and `chain mine` refusals through Typer's runner
on the embedded chain (the whole governed story runs against Hardhat in test_commons_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.chain.token import TokenClient
from backend.cli.main import app
from tests.conftest import Chain

runner = CliRunner()


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, (args, result.output, result.exception)
    return result.output


@pytest.mark.parametrize(
    "args",
    [
        ("gov", "list"),
        ("gov", "show", "1"),
        ("gov", "vote", "1", "for", "--dev-account", "1"),
        ("gov", "propose", "-m", "x", "--set", "voting_period=5", "--dev-account", "1"),
    ],
)
def test_gov_on_a_direct_deployment_says_how_to_get_governance(cli: Chain, args: tuple[str, ...]) -> None:
    assert "deploy --governed" in fails(*args)


def test_allocation_files_are_checked_before_anything_is_sent(cli: Chain, tmp_path: Path) -> None:
    bad = tmp_path / "alloc.csv"
    bad.write_text(f"{cli.signers[1].address},10\n{cli.signers[2].address},ten\n")
    out = fails("token", "allocate", str(bad), "--yes", "--dev-account", "0")
    assert "line 2: amount = 'ten' does not parse" in out
    assert "missing.csv" in fails("token", "allocate", str(tmp_path / "missing.csv"), "--yes")
    assert TokenClient(cli.w3, cli.deployment.address("CurationToken")).total_supply() == 0


def test_allocate_needs_confirmation_without_a_terminal(cli: Chain, tmp_path: Path) -> None:
    good = tmp_path / "alloc.csv"
    good.write_text(f"{cli.signers[1].address},10\n")
    assert "pass --yes" in fails("token", "allocate", str(good), "--dev-account", "0")


def test_chain_mine_refuses_nonsense(cli: Chain) -> None:
    assert "nothing to mine" in fails("chain", "mine", "0")
    assert "blocks must be 0..100000" in fails("chain", "mine", "100001")
    before = cli.w3.eth.block_number
    assert runner.invoke(app, ["chain", "mine", "3"]).exit_code == 0
    assert cli.w3.eth.block_number == before + 3


def test_dataset_propose_on_a_direct_deployment_is_refused(cli: Chain) -> None:
    runner.invoke(
        app,
        ["dataset", "create", "d", "--use", "train", "--description-cid",
         "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "--yes", "--dev-account", "0"],
    )  # fmt: skip
    out = fails("dataset", "params", "1", "--quorum-bps", "5", "--propose", "--yes", "--dev-account", "0")
    assert "--propose needs a governed deployment" in out


def test_deploy_needs_an_explicit_signer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"CURATION_HOME": str(tmp_path), "CURATION_CONFIG": "", "CURATION_RPC": "x"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CURATION_DEV_ACCOUNT", raising=False)
    monkeypatch.delenv("CURATION_KEYSTORE", raising=False)
    assert "no signer was given" in fails("deploy", "--governed")
    assert not (tmp_path / "deployment.json").exists()
