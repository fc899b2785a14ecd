"""Keystores, connections and deployment records: bad input gives a clear error and writes nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from backend.chain.accounts import Signer, create_keystore, list_keystores, load_keystore
from backend.chain.connection import connect
from backend.chain.deployment import Deployment
from backend.errors import ChainError, ConfigError
from tests.conftest import Chain
from tests.integration.hardhat import free_port


def test_keystore_round_trip_and_private_mode(tmp_path: Path) -> None:
    path = create_keystore(tmp_path, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = load_keystore(path, "correct horse")
    assert signer.address == path.stem
    assert signer.local is not None
    assert list_keystores(tmp_path) == [path]


def test_keystore_with_wrong_password_names_the_file(tmp_path: Path) -> None:
    path = create_keystore(tmp_path, "right")
    with pytest.raises(ConfigError, match=f"wrong password for keystore {path}"):
        load_keystore(path, "wrong")


def test_broken_or_missing_keystore_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "0xbroken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="not a readable JSON keystore"):
        load_keystore(broken, "x")
    with pytest.raises(ConfigError, match="does not exist"):
        load_keystore(tmp_path / "missing.json", "x")


def test_keystore_refuses_empty_password_and_overwrite(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="non-empty password"):
        create_keystore(tmp_path, "")
    assert list_keystores(tmp_path) == []
    key = "0x" + "11" * 32
    create_keystore(tmp_path, "pw", key)
    with pytest.raises(ConfigError, match="already exists"):
        create_keystore(tmp_path, "pw", key)


def test_rpc_url_that_does_not_answer_is_a_chain_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=f"RPC URL {url} does not answer"):
        connect(url, timeout=2)


def test_rpc_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        connect("ws://localhost:8545")


def test_local_key_signer_sends_transactions(chain: Chain) -> None:
    from backend.chain.token import TokenClient

    local = Signer.from_key("0x" + "22" * 32)
    w3 = chain.w3
    w3.eth.send_transaction(
        {"from": chain.admin.address, "to": local.address, "value": 10**18, "gas": 21_000}
    )
    token = TokenClient(w3, chain.deployment.address("CurationToken"), chain.admin)
    token.mint(local.address, 7)
    token.with_signer(local).transfer(chain.admin.address, 3)
    assert token.balance_of(local.address) == 4


def test_deployment_record_round_trip_and_chain_check(chain: Chain, tmp_path: Path) -> None:
    path = tmp_path / "d" / "deployment.json"
    chain.deployment.save(path)
    loaded = Deployment.load(path)
    assert loaded == chain.deployment
    loaded.check_chain(chain.w3)
    other = loaded.model_copy(update={"chain_id": 1})
    with pytest.raises(ConfigError, match="chain id 1"):
        other.check_chain(chain.w3)
    with pytest.raises(ConfigError, match="no deployment record"):
        Deployment.load(tmp_path / "none.json")
    path.write_text(json.dumps({"chain_id": "x"}))
    with pytest.raises(ConfigError, match="malformed"):
        Deployment.load(path)
    with pytest.raises(ConfigError, match="no Nope contract"):
        loaded.address("Nope")
