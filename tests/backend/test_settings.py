"""One settings loader: flag > CURATION_* environment > config file > default, for every command (ipfs and
serve too), relative paths, the API's fields, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.cli.main import app
from backend.errors import ConfigError
from backend.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CURATION_RPC", "CURATION_IPFS", "CURATION_DB", "CURATION_DEPLOYMENT", "CURATION_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CURATION_HOME", str(tmp_path / "home"))


def test_precedence_is_flag_then_env_then_file_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'rpc = "http://file:1"\nipfs = "http://file:5001"\ndeployment = "dep.json"\nconfirmations = 3\n'
    )
    s = load_settings(config)
    assert (s.rpc, s.ipfs, s.confirmations) == ("http://file:1", "http://file:5001", 3)
    assert s.deployment == (tmp_path / "dep.json").resolve()  # relative to the config file
    assert s.db is None  # default
    monkeypatch.setenv("CURATION_RPC", "http://env:2")
    assert load_settings(config).rpc == "http://env:2"
    assert load_settings(config, rpc="http://flag:3").rpc == "http://flag:3"
    assert load_settings(config, rpc=None).ipfs == "http://file:5001"


def test_default_file_is_home_config_toml_and_optional(tmp_path: Path) -> None:
    assert load_settings().rpc is None  # no file: defaults
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('[curation]\nrpc = "http://home:1"\n')
    assert load_settings().rpc == "http://home:1"


def test_config_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("rpc = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    bad.write_text('rcp = "x"\n')
    with pytest.raises(ConfigError, match="unknown keys rcp"):
        load_settings(bad)
    bad.write_text('confirmations = "many"\n')
    with pytest.raises(ConfigError, match="confirmations"):
        load_settings(bad)
    monkeypatch.setenv("CURATION_CONFIG", str(tmp_path / "env-named.toml"))
    with pytest.raises(ConfigError, match=r"env-named\.toml does not exist"):
        load_settings()


def test_cli_reads_config_and_reports_its_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('rcp = "x"\n')
    result = CliRunner().invoke(app, ["pull", "1", "-o", str(tmp_path / "o"), "--config", str(bad)])
    assert result.exit_code == 1
    assert "error: config file" in result.output
    assert "unknown keys rcp" in result.output
    record = tmp_path / "deployment.json"  # the record is read first; then the node named in the file
    record.write_text(
        '{"chain_id": 1, "deploy_block": 0, "compiler_version": "-", "deployer": "0x0", "contracts": {}}'
    )
    good = tmp_path / "good.toml"
    good.write_text('rpc = "not-a-url"\ndeployment = "deployment.json"\n')
    result = CliRunner().invoke(app, ["pull", "1", "-o", str(tmp_path / "o"), "--config", str(good)])
    assert result.exit_code == 1
    assert "'not-a-url' is not an http(s) URL" in result.output


def test_the_api_fields_load_like_every_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'api_cors_origins = ["https://a.example"]\napi_upload_tmp = "uploads"\napi_rate_limit = 9\n'
    )
    s = load_settings(config)
    assert s.api_cors_origins == ["https://a.example"]
    assert s.api_upload_tmp == (tmp_path / "uploads").resolve()
    assert s.api_rate_limit == 9
    monkeypatch.setenv("CURATION_API_CORS_ORIGINS", "https://b.example, https://c.example")
    assert load_settings(config).api_cors_origins == ["https://b.example", "https://c.example"]
    bad = tmp_path / "bad.toml"
    bad.write_text('api_session_secret = "short"\n')
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings(bad)
    served = Settings(api_session_secret="s" * 32).with_served_origin("0.0.0.0", 9000)
    assert (served.sign_in_uri, served.sign_in_domain) == ("http://localhost:9000", "localhost:9000")


def test_curation_ipfs_reads_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('home = "from-config"\n')
    monkeypatch.setenv("CURATION_CONFIG", str(config))
    monkeypatch.delenv("CURATION_HOME")  # the environment would win over the file
    monkeypatch.delenv("CURATION_IPFS", raising=False)
    data = tmp_path / "data.txt"
    data.write_bytes(b"stored where the config file says\n")
    added = CliRunner().invoke(app, ["ipfs", "add", str(data)])
    assert added.exit_code == 0, added.output
    assert (tmp_path / "from-config" / "blocks").is_dir()
    flagged = CliRunner().invoke(app, ["ipfs", "--home", str(tmp_path / "flag"), "add", str(data)])
    assert flagged.exit_code == 0, flagged.output
    assert (tmp_path / "flag" / "blocks").is_dir()  # a flag wins over the file
    config.write_text('rcp = "x"\n')
    refused = CliRunner().invoke(app, ["ipfs", "add", str(data)])
    assert refused.exit_code == 1
    assert "error: config file" in refused.output
    assert "unknown keys rcp" in refused.output
