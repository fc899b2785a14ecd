"""backend.cli.release_cmd: `curation release` and `curation verify` parse parameters and refuse bad setups."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from backend.cli.release_cmd import parse_params, register
from curation.errors import InvalidInput


def test_params_parse_name_value_pairs() -> None:
    assert parse_params(["alpha=0.5", "contributor_cap=null"]) == {"alpha": "0.5", "contributor_cap": None}
    assert parse_params(None) is None
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_params(["alpha"])


@pytest.mark.parametrize("args", [["release", "1"], ["verify", "1"]])
def test_commands_need_an_rpc_url(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURATION_RPC", raising=False)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"error: `curation {args[0]}` needs --rpc URL" in result.output
