"""Event dataclasses follow the ABIs; the release/verify commands parse parameters and refuse bad setups."""

from __future__ import annotations

import dataclasses
import re

import pytest
import typer
from typer.testing import CliRunner

from backend.chain.artifacts import load_artifact
from backend.cli.release_cmd import parse_params, register
from curation.errors import InvalidInput
from curation.events import EVENT_TYPES

_RENAMED = {"from": "sender", "to": "recipient", "profileURI": "profile_uri"}


def _snake(name: str) -> str:
    return _RENAMED.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("contract", "event"), sorted(EVENT_TYPES))
def test_event_fields_follow_the_abi_inputs_in_order(contract: str, event: str) -> None:
    (entry,) = [e for e in load_artifact(contract).abi if e.get("type") == "event" and e["name"] == event]
    fields = [f.name for f in dataclasses.fields(EVENT_TYPES[(contract, event)])][1:]
    assert fields == [_snake(i["name"]) for i in entry["inputs"]]


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
