"""backend.cli.common: the one error guard of every command."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.cli.common import guarded
from backend.errors import ConfigError
from backend.ipfs.errors import StoreTimeout
from curation.errors import InvalidInput


def _run(exc: BaseException) -> tuple[int, str]:
    app = typer.Typer()

    @app.command()
    @guarded
    def fail() -> None:
        raise exc

    result = CliRunner().invoke(app, [])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (InvalidInput("quorum 12000 is over 10000 bps"), "error: quorum 12000 is over 10000 bps\n"),
        (ConfigError("no deployment record"), "error: no deployment record\n"),
        (
            StoreTimeout("the node did not answer in 5 s"),
            "error: the node did not answer in 5 s (a temporary failure: trying again may succeed)\n",
        ),
    ],
)
def test_a_domain_error_is_one_line_and_exit_1(exc: BaseException, line: str) -> None:
    assert _run(exc) == (1, line)


def test_an_os_error_names_the_file_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.bin"
    code, output = _run(FileNotFoundError(2, "No such file or directory", str(missing)))
    assert (code, output) == (1, f"error: {missing}: No such file or directory\n")


def test_a_bug_is_not_swallowed_into_an_error_line() -> None:
    app = typer.Typer()

    @app.command()
    @guarded
    def fail() -> None:
        raise KeyError("bug")

    result = CliRunner().invoke(app, [])
    assert isinstance(result.exception, KeyError)
    assert "error:" not in result.output


# --- the explicit signer (issue 13 item 4: no command signs as dev account 0 by default) --------------------

_NO_SIGNER = {"CURATION_KEYSTORE": "", "CURATION_DEV_ACCOUNT": ""}


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"CURATION_HOME": str(tmp_path), "CURATION_CONFIG": "", "CURATION_RPC": "http://127.0.0.1:9"}
    return {**env, **extra}


@pytest.mark.parametrize(
    "args",
    [
        ["vote", "1", "for"],
        ["delegate"],
        ["propose", "1", "--item", "1"],
        ["finalize", "1"],
        ["register"],
        ["consent", "5", "--revoke"],
        ["items", "--mine"],
        ["release", "1"],
    ],
)
def test_a_sending_command_without_a_signer_refuses_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    from backend.cli.main import app

    for name in _NO_SIGNER:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, args, env=_cli_env(tmp_path))
    assert result.exit_code == 1, result.output
    assert "no signer was given" in result.output
    assert "--dev-account N" in result.output


def test_the_signer_comes_from_flag_env_or_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.cli.common import ChainOpts, signer_choice

    for name in _NO_SIGNER:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CURATION_CONFIG", "")
    monkeypatch.setenv("CURATION_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="no signer was given"):
        signer_choice(ChainOpts().settings())
    assert signer_choice(ChainOpts(dev_account=2).settings()) == (None, 2)
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text('[curation]\nkeystore = "keys/alice.json"\n')
    alice = (config.parent / "keys/alice.json").resolve()  # relative to the config file
    assert signer_choice(ChainOpts(config=config).settings()) == (alice, None)
    flagged = ChainOpts(config=config, dev_account=1)  # a flag wins over the config's other kind
    assert signer_choice(flagged.settings(), flagged.keystore, flagged.dev_account) == (None, 1)
    monkeypatch.setenv("CURATION_DEV_ACCOUNT", "3")
    assert signer_choice(ChainOpts().settings()) == (None, 3)
    with pytest.raises(ConfigError, match="two signers"):  # the config's keystore and the env's account
        signer_choice(ChainOpts(config=config).settings())


def test_json_output_never_carries_a_number_past_2_53(capsys: pytest.CaptureFixture[str]) -> None:
    from backend.cli.common import emit_json

    emit_json({"item_id": 2**64 + 7, "count": 3, "nested": [{"weight": 10**18}]})
    assert (
        capsys.readouterr().out
        == '{"count":3,"item_id":"18446744073709551623","nested":[{"weight":"1000000000000000000"}]}\n'
    )


def test_human_output_shows_chain_text_literally(capsys: pytest.CaptureFixture[str]) -> None:
    """A proposal description or dataset name read from the chain may look like Rich markup; it is printed as
    is, and a stray closing tag does not stop the command."""
    from backend.cli.common import emit

    emit(False, {}, "[/bold] closes nothing, [red]looks red[/red]")
    assert capsys.readouterr().out.strip() == "[/bold] closes nothing, [red]looks red[/red]"
