"""The unsigned transaction from POST /uploads, signed by the contributor's own key, registers the item."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from web3 import Web3

from backend.api.app import create_app
from backend.api.chain_readmodel import ChainReadModel
from backend.chain.accounts import Signer
from backend.chain.registry import RegistryClient
from backend.ipfs import EmbeddedStore
from backend.session import Session
from backend.settings import Settings
from curation.consent import Consent
from curation.events import ItemSubmitted
from tests.backend.api.api_helpers import ALICE, FakeClock, TestClient, make_settings, sign_in
from tests.conftest import Chain


def test_submit_transaction_from_upload_registers_the_item_on_chain(
    chain: Chain, build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    w3 = chain.w3
    w3.eth.send_transaction(
        {"from": chain.admin.address, "to": ALICE.address, "value": Web3.to_wei(1, "ether"), "gas": 21_000}
    )
    registry = RegistryClient(w3, chain.deployment.address("ContentRegistry"), Signer.from_key(ALICE.key))
    registry.register("ipfs://alice")
    clock.now = float(w3.eth.get_block("latest")["timestamp"])
    app = build_app(dep=chain.deployment, api_chain_id=None)
    data = b"a contribution that ends up on chain\n" * 20
    with TestClient(app) as client:
        token = sign_in(client, ALICE, clock, chain_id=w3.eth.chain_id).json()["token"]
        r = client.post(
            "/uploads",
            params={
                "license": "CC-BY-SA-4.0",
                "consent": "train,generative",
                "expiry": int(clock()) + 86_400,
            },
            content=data,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 201, r.text
    body = r.json()
    tx = dict(body["transaction"])
    tx.update(nonce=w3.eth.get_transaction_count(ALICE.address), gasPrice=w3.eth.gas_price)
    signed = ALICE.sign_transaction(tx)  # the wallet signs; the server never saw the key
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1
    item_id = registry.item_id_by_cid(body["cid"])
    assert item_id == 1
    item = registry.item(item_id)
    assert item.contributor == ALICE.address
    assert item.size == len(data)
    assert registry.license(item.license_id).spdx == "CC-BY-SA-4.0"
    assert item.consent == int(Consent.TRAIN | Consent.GENERATIVE)
    assert item.expiry == int(clock()) + 86_400
    logged = registry.decode_receipt(receipt).event(ItemSubmitted)
    assert (logged.item_id, logged.contributor) == (1, ALICE.address.lower())
    assert logged.content_sha256 == hashlib.sha256(data).digest()


def test_a_wallet_is_refused_until_it_registers_then_served_without_waiting_for_a_refresh(
    chain: Chain, clock: FakeClock, tmp_path: Path
) -> None:
    """The chain read model: a fold taken before the wallet registered, kept (ttl 1 h); the registry says yes."""
    w3 = chain.w3
    w3.eth.send_transaction(
        {"from": chain.admin.address, "to": ALICE.address, "value": Web3.to_wei(1, "ether"), "gas": 21_000}
    )
    store = EmbeddedStore(tmp_path / "blocks")
    session = Session(w3, chain.deployment, Settings(home=tmp_path / "home", db="sqlite://"), store=store)
    model = ChainReadModel(session, ttl=3600, clock=FakeClock())  # the clock never moves: one fold
    assert not model.is_registered(ALICE.address)
    clock.now = float(w3.eth.get_block("latest")["timestamp"])
    settings = make_settings(tmp_path, api_chain_id=None)
    app = create_app(settings, model, store, chain.deployment, clock=clock)
    params = {"license": "CC-BY-4.0", "consent": "train"}
    with TestClient(app) as client:
        token = sign_in(client, ALICE, clock, chain_id=w3.eth.chain_id).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        refused = client.post("/uploads", params=params, content=b"too early\n", headers=auth)
        assert (refused.status_code, refused.json()["code"]) == (403, "not-registered"), refused.text
        assert store.pins() == []
        RegistryClient(w3, chain.deployment.address("ContentRegistry"), Signer.from_key(ALICE.key)).register()
        assert ALICE.address.lower() not in {
            c.address.lower() for c in model.contributors(offset=0, limit=10).items
        }
        accepted = client.post("/uploads", params=params, content=b"registered now\n", headers=auth)
    assert accepted.status_code == 201, accepted.text
    assert len(store.pins()) == 1
