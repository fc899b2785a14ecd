"""Shared fixtures: one embedded chain (py-evm) per session, every test isolated by snapshot/revert."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from backend.chain.accounts import Signer, dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import Deployment, deploy_all

pytest_plugins = ["tests.integration.hardhat", "tests.integration.jsipfs", "tests.integration.postgres"]


@dataclass
class Chain:
    w3: Web3
    signers: list[Signer]
    deployment: Deployment

    @property
    def admin(self) -> Signer:
        return self.signers[0]


@pytest.fixture(scope="session")
def _chain_session() -> Chain:
    w3 = connect(None)
    signers = dev_signers(w3)
    return Chain(w3, signers, deploy_all(w3, signers[0]))


@pytest.fixture
def chain(_chain_session: Chain) -> Iterator[Chain]:
    """The deployed system on the embedded chain; every change a test makes is reverted after it."""
    w3 = _chain_session.w3
    snap = w3.testing.snapshot()
    try:
        yield _chain_session
    finally:
        w3.testing.revert(snap)
