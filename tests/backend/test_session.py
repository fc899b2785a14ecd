"""open_session: one message without a node, the deployment's clients, signer choice, the store closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.chain.accounts import create_keystore
from backend.errors import ConfigError
from backend.ipfs import EmbeddedStore
from backend.session import Session, open_session, pick_signer, require_rpc
from backend.settings import Settings
from tests.conftest import Chain


@pytest.mark.parametrize("rpc", [None, "", "embedded"])
def test_without_a_node_url_the_one_message_names_what_needed_it(rpc: str | None, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, rpc=rpc)
    with pytest.raises(ConfigError) as caught:
        open_session(settings, needs_rpc_for="`curation release`")
    assert str(caught.value) == (
        "`curation release` needs --rpc URL (or CURATION_RPC): the embedded chain lives only inside one "
        "process; `curation demo` runs the whole story on it (and `curation demo --serve` serves it)"
    )
    with pytest.raises(ConfigError, match=r"^this command needs --rpc URL"):
        require_rpc(settings)
    assert require_rpc(Settings(home=tmp_path, rpc="http://127.0.0.1:8545")) == "http://127.0.0.1:8545"


def test_clients_are_bound_to_the_record_and_the_signer(chain: Chain, tmp_path: Path) -> None:
    d = chain.deployment
    s = Session(chain.w3, d, Settings(home=tmp_path), chain.admin)
    assert s.registry().address == d.address("ContentRegistry")
    assert s.voting().address == d.address("CurationVoting")
    assert s.token().address == d.address("CurationToken")
    assert s.releases().address == d.address("ReleaseRegistry")
    assert s.voting().signer is chain.admin
    assert s.need_signer() is chain.admin
    with pytest.raises(ConfigError, match="needs the content store"):
        s.need_store()
    with pytest.raises(ConfigError, match="without one"):
        Session(chain.w3, d, Settings(home=tmp_path)).need_signer()


def test_leaving_the_session_closes_its_store(chain: Chain, tmp_path: Path) -> None:
    closed: list[bool] = []

    class Store(EmbeddedStore):
        def close(self) -> None:
            closed.append(True)
            super().close()

    with Session(chain.w3, chain.deployment, Settings(home=tmp_path), store=Store(tmp_path / "b")) as s:
        assert s.need_store() is s.store
    assert closed == [True]


def test_signer_from_a_dev_account_or_a_keystore(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pick_signer(chain.w3, None, None).address == chain.signers[0].address
    assert pick_signer(chain.w3, None, 2).address == chain.signers[2].address
    with pytest.raises(ConfigError, match="--dev-account 99 is out of range"):
        pick_signer(chain.w3, None, 99)
    path = create_keystore(tmp_path / "keys", "correct horse")
    monkeypatch.delenv("CURATION_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="needs a password: set CURATION_PASSWORD"):
        pick_signer(chain.w3, path, None)
    asked: list[str] = []

    def password(what: str) -> str:
        asked.append(what)
        return "correct horse"

    assert pick_signer(chain.w3, path, None, password).address == path.stem
    assert asked == [f"password for {path.name}"]
    monkeypatch.setenv("CURATION_PASSWORD", "correct horse")
    assert pick_signer(chain.w3, path, None).address == path.stem
