"""The gasless relay on a real Hardhat node: a wallet that never held ETH registers, submits and revokes
through POST /relay, paid by an unlocked dev account; a call that would revert is refused with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.api.routes.relay import install_relayer
from backend.chain.accounts import Signer, dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.ipfs import EmbeddedStore
from backend.relay import open_relayer, send_gasless
from backend.settings import Settings
from curation.events import ContributorRegistered, ItemConsentChanged, ItemSubmitted
from tests.backend.api.api_helpers import FakeClock, TestClient, make_app
from tests.backend.relay_helpers import CAROL, DAVE, Calls, signed_for
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration


def test_a_wallet_without_eth_registers_and_revokes_on_hardhat(hardhat: HardhatNode, tmp_path: Path) -> None:
    snapshot = hardhat.rpc("evm_snapshot")
    try:
        w3 = connect(hardhat.url)
        deployment = deploy_all(w3, dev_signers(w3)[0])
        calls = Calls(w3, deployment)
        relayer = open_relayer(Settings(home=tmp_path, relayer_dev_account=1), w3, deployment)
        assert relayer is not None
        assert relayer.signer.local is None  # the node's unlocked account pays: eth_sendTransaction
        paid_before = w3.eth.get_balance(relayer.address)
        assert w3.eth.get_balance(CAROL.address) == 0

        app = make_app(
            tmp_path, FakeClock(), EmbeddedStore(tmp_path / "blocks"), dep=deployment, api_chain_id=None
        )
        install_relayer(app, relayer)
        carol = Signer.from_key(CAROL.key)
        with TestClient(app) as client:
            transport = client._transport
            url = "http://testserver"
            registered = send_gasless(w3, carol, deployment, url, calls.register(), transport=transport)
            assert registered.receipt.event(ContributorRegistered).contributor == CAROL.address.lower()
            submitted = send_gasless(w3, carol, deployment, url, calls.submit("hardhat"), transport=transport)
            item = submitted.receipt.event(ItemSubmitted)
            assert item.contributor == CAROL.address.lower()
            revoked = send_gasless(
                w3, carol, deployment, url, calls.revoke(item.item_id), transport=transport
            )
            assert revoked.receipt.event(ItemConsentChanged).consent == 0
            assert calls.registry.item(item.item_id).revoked

            # A call that would revert, signed with enough gas, is refused by the relay with the contract's
            # error (the node's eth_call from the forwarder decodes it), and nothing is sent.
            head = w3.eth.block_number
            doc = signed_for(calls, DAVE, calls.submit("dave"), gas=300_000).to_json()
            r = client.post("/relay", json=doc)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "would-revert"
            assert "ContentRegistryNotRegistered" in r.json()["detail"]
            assert w3.eth.block_number == head

        assert w3.eth.get_balance(CAROL.address) == 0
        assert w3.eth.get_balance(relayer.address) < paid_before
        assert relayer.quota(CAROL.address).requests_used == 2  # register and submit; the revocation is free
    finally:
        hardhat.rpc("evm_revert", [snapshot])
