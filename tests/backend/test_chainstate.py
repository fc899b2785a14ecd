"""fold_at: the one chain -> index -> fold path; read-only folds never write the index; batch admission."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.chainstate import StateBlockAhead, admit_accepted_batches, chain_context, fold_at
from backend.index import IndexEmptyError, indexed_contracts, open_indexer
from backend.ipfs import EmbeddedStore
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


def _tables(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def test_a_synced_fold_is_the_chain_at_the_confirmed_head_with_its_context(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    folded = fold_at(s.session(), sync=True)
    head = chain.w3.eth.get_block("latest")
    assert folded.block == folded.state.block == head["number"]
    assert folded.context.state_block_hash == "0x" + bytes(head["hash"]).hex()
    assert folded.context.state_timestamp == head["timestamp"]
    assert folded.context.chain_id == chain.deployment.chain_id
    assert folded.context.contracts == {n: a.lower() for n, a in indexed_contracts(chain.deployment).items()}
    assert ids["ds"] in folded.state.datasets
    earlier = fold_at(s.session(), folded.block - 5, sync=True)
    assert earlier.block == folded.block - 5
    assert chain_context(s.session(), earlier.block) == earlier.context


def test_a_read_only_fold_never_writes_the_index(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    db = tmp_path / "index.sqlite"
    session = s.session(db=f"sqlite:///{db}")
    with pytest.raises(IndexEmptyError, match="no index yet"):
        fold_at(session, sync=False)
    assert _tables(db) == []  # nothing created
    synced = fold_at(session, sync=True)
    indexer = open_indexer(session)
    before = indexer.dump()
    indexer.close()
    s.item(s.contributor(6), b"a later item " * 9)  # new blocks and logs the index has not seen
    read = fold_at(session, sync=False)
    assert read.block == synced.block
    assert set(read.state.items) == set(synced.state.items)
    indexer = open_indexer(session)
    assert indexer.dump() == before
    indexer.close()
    with pytest.raises(StateBlockAhead, match="beyond the confirmed head"):
        fold_at(session, synced.block + 1, sync=False)
    assert ids["ds"] in read.state.datasets


def test_accepted_batches_are_admitted_and_an_unreadable_one_is_reported(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    folded = fold_at(s.session(), sync=True)
    assert admit_accepted_batches(s.session(), folded.state) == []
    assert folded.state.batches[ids["b1"]].loaded
    empty = s.session()
    empty.store = EmbeddedStore(tmp_path / "empty")  # a store without the batch manifest
    again = fold_at(empty, sync=True)
    (problem,) = admit_accepted_batches(empty, again.state)
    assert f"batch {ids['b1']}, included in dataset {ids['ds']}" in problem
    assert not again.state.batches[ids["b1"]].loaded
