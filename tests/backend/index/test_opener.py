"""open_indexer: one definition of the indexed contracts, so `curation index` and a release share a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import backend.cli.index_cmd as index_cmd
from backend.chain.deployment import CONTRACTS
from backend.cli.main import app
from backend.index import IndexerError, indexed_contracts, open_indexer
from backend.release import build_release
from backend.session import Session
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


def test_the_indexed_contracts_are_the_decoded_ones_of_the_record(chain: Chain) -> None:
    record = chain.deployment.model_copy(
        update={"contracts": {**chain.deployment.contracts, "Extra": "0x" + "ee" * 20}}
    )
    # Every contract whose events are decoded; the forwarder emits none the domain reads.
    assert set(indexed_contracts(record)) == set(CONTRACTS) - {"CommonsForwarder"}
    assert indexed_contracts(record) == indexed_contracts(chain.deployment)


def test_curation_index_and_a_release_agree_on_the_database(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    extra = {**chain.deployment.contracts, "Extra": "0x" + "ee" * 20}  # a record with one more contract
    record = chain.deployment.model_copy(update={"contracts": extra})
    db = f"sqlite:///{tmp_path / 'index.sqlite'}"

    def session(settings: Any, **_kw: Any) -> Session:
        return Session(chain.w3, record, settings)

    monkeypatch.setattr(index_cmd, "open_session", session)
    monkeypatch.delenv("CURATION_CONFIG", raising=False)
    monkeypatch.setenv("CURATION_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["index", "--rpc", "http://node.invalid:8545", "--db", db])
    assert result.exit_code == 0, result.output
    assert "index complete to block" in result.output
    release = Session(chain.w3, record, s.session(db=db).settings, store=s.store)
    built = build_release(release, ids["ds"])  # same database, same deployment key: no IndexMismatchError
    assert built.manifest.doc["dataset"]["contracts"] == {
        n: a.lower() for n, a in indexed_contracts(chain.deployment).items()
    }


def test_a_read_only_indexer_refuses_to_sync(chain: Chain, tmp_path: Path) -> None:
    s, _ = governed(chain, tmp_path / "store")
    session = s.session(db=f"sqlite:///{tmp_path / 'index.sqlite'}")
    open_indexer(session).close()  # creates and binds the database
    reader = open_indexer(session, read_only=True)
    try:
        with pytest.raises(IndexerError, match="read-only"):
            reader.sync()
        assert reader.state_block() is None
    finally:
        reader.close()
