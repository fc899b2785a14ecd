"""`curation cid` and `curation ipfs ...`: output, exit codes, one-sentence errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.cli import ipfs_cmd

HELLO_V0 = "QmYDAmHsFu5oWsJU21esKnN4ZRyE8txJNvrZxvxXLymC2L"
HELLO_V1 = "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxsa"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    ipfs_cmd.register(app)
    ipfs_cmd.register(app)  # idempotent
    return app


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello IPFS\n")
    return path


def test_cid_prints_what_ipfs_add_only_hash_prints(app: typer.Typer, hello: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["cid", str(hello)]).stdout.strip() == HELLO_V1
    assert runner.invoke(app, ["cid", str(hello), "--cid-version", "0"]).stdout.strip() == HELLO_V0
    assert runner.invoke(app, ["cid", "-"], input=b"hello IPFS\n").stdout.strip() == HELLO_V1


@pytest.mark.parametrize(("target", "message"), [("missing.txt", "does not exist"), (".", "is a directory")])
def test_cid_of_a_bad_path_is_one_clear_error(
    app: typer.Typer, tmp_path: Path, target: str, message: str
) -> None:
    result = CliRunner().invoke(app, ["cid", str(tmp_path / target)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_add_then_get_through_the_embedded_store(app: typer.Typer, hello: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["ipfs", "--home", str(tmp_path / "home")]
    added = runner.invoke(app, [*home, "add", str(hello)])
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == HELLO_V1
    out = tmp_path / "out.txt"
    got = runner.invoke(app, [*home, "get", HELLO_V1, "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == b"hello IPFS\n"
    assert runner.invoke(app, [*home, "pin", "ls"]).stdout.split() == [HELLO_V1]
    car = tmp_path / "x.car"
    assert runner.invoke(app, [*home, "car", "export", HELLO_V1, "-o", str(car)]).exit_code == 0
    other = ["ipfs", "--home", str(tmp_path / "other")]
    assert runner.invoke(app, [*other, "car", "import", str(car)]).stdout.split() == [HELLO_V1]
    assert runner.invoke(app, [*other, "cat", HELLO_V1]).stdout == "hello IPFS\n"


def test_get_errors_are_one_sentence(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["ipfs", "--home", str(tmp_path / "home")]
    bad = runner.invoke(app, [*home, "get", "not-a-cid", "-o", str(tmp_path / "o")])
    assert bad.exit_code == 1
    assert "invalid CID 'not-a-cid'" in bad.stderr
    missing = runner.invoke(app, [*home, "get", HELLO_V1, "-o", str(tmp_path / "o")])
    assert missing.exit_code == 1
    assert f"block {HELLO_V1} is not in the embedded block store" in missing.stderr
    down = runner.invoke(
        app,
        [
            "ipfs",
            "--ipfs",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
            "get",
            HELLO_V1,
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert down.exit_code == 1
    assert "cannot reach the IPFS node" in down.stderr
    assert not (tmp_path / "o").exists()
