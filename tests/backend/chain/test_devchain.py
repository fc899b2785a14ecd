"""The embedded chain is reproducible: the same transactions give the same blocks on every run."""

from __future__ import annotations

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.devchain import BLOCK_TIME, GENESIS_TIMESTAMP


def _run() -> tuple[object, ...]:
    w3 = connect(None)
    deployment = deploy_all(w3, dev_signers(w3)[0])
    w3.testing.mine(2)
    head = w3.eth.get_block("latest")
    return head["number"], bytes(head["hash"]), head["timestamp"], tuple(sorted(deployment.contracts.items()))


def test_two_fresh_embedded_chains_produce_identical_blocks() -> None:
    assert _run() == _run()


def test_blocks_are_twelve_seconds_apart_from_a_fixed_genesis() -> None:
    w3 = connect(None)
    assert w3.eth.get_block(0)["timestamp"] == GENESIS_TIMESTAMP
    w3.testing.mine(3)
    assert w3.eth.get_block(3)["timestamp"] == GENESIS_TIMESTAMP + 3 * BLOCK_TIME
    snap = w3.testing.snapshot()
    w3.testing.mine(1)
    w3.testing.revert(snap)
    w3.testing.mine(1)
    assert w3.eth.get_block("latest")["timestamp"] == GENESIS_TIMESTAMP + 4 * BLOCK_TIME
