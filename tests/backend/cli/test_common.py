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
