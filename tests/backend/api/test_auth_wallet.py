"""Sign-in by a contract wallet (ERC-1271, as EIP-4361 asks) against a real wallet on the embedded chain."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from eth_account import Account
from fastapi import FastAPI

from backend.chain.signatures import erc1271_accepts
from tests.backend.api.api_helpers import ALICE, FakeClock, TestClient, sign, siwe_message
from tests.conftest import Chain
from tests.contracts.wallet import deploy_wallet


def _try(
    client: TestClient, clock: FakeClock, address: str, signer: object, signature: str | None = None
) -> object:
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock, address=address).to_text()
    sig = signature if signature is not None else sign(signer, text)  # type: ignore[arg-type]
    return client.post("/auth/verify", json={"message": text, "signature": sig})


def test_a_contract_wallet_signs_in_with_its_owners_signature(
    chain: Chain, build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    owner, stranger = Account.create(), Account.create()
    wallet = deploy_wallet(chain.w3, owner.address, chain.admin.address).address
    with TestClient(build_app(signature_check=partial(erc1271_accepts, chain.w3))) as client:
        r = _try(client, clock, wallet, owner)
        assert r.status_code == 200, r.text  # type: ignore[attr-defined]
        body = r.json()  # type: ignore[attr-defined]
        assert body["address"] == wallet
        who = client.get("/auth/session", headers={"Authorization": f"Bearer {body['token']}"})
        assert who.json()["address"] == wallet
        refused = _try(client, clock, wallet, stranger)
        assert refused.status_code == 401  # type: ignore[attr-defined]
        assert "is no contract wallet that accepts it" in refused.json()["detail"]  # type: ignore[attr-defined]
        long_sig = "0x" + "ab" * 130  # two owners' worth of bytes: taken, then refused by the wallet
        assert _try(client, clock, wallet, owner, long_sig).status_code == 401  # type: ignore[attr-defined]
        # an EOA still signs in as before
        assert _try(client, clock, ALICE.address, ALICE).status_code == 200  # type: ignore[attr-defined]


def test_without_a_chain_only_eoas_sign_in(
    chain: Chain, build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    owner = Account.create()
    wallet = deploy_wallet(chain.w3, owner.address, chain.admin.address).address
    with TestClient(build_app()) as client:
        r = _try(client, clock, wallet, owner)
        assert r.status_code == 401  # type: ignore[attr-defined]
        assert f"signature is by {owner.address}, not by {wallet}" == r.json()["detail"]  # type: ignore[attr-defined]
        assert "65 bytes" in _try(client, clock, wallet, owner, "0x" + "ab" * 130).json()["detail"]  # type: ignore[attr-defined]


def test_a_wallet_check_with_the_node_down_is_503_and_spends_no_nonce(
    build_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    from web3 import HTTPProvider, Web3

    down = Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2}))
    owner = Account.create()
    with TestClient(build_app(signature_check=partial(erc1271_accepts, down))) as client:
        nonce = client.post("/auth/nonce").json()["nonce"]
        text = siwe_message(ALICE, nonce, clock, address="0x" + "11" * 20).to_text()
        r = client.post("/auth/verify", json={"message": text, "signature": sign(owner, text)})
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "chain-unavailable"
        # the nonce is still good for the real signer
        good = siwe_message(ALICE, nonce, clock).to_text()
        assert (
            client.post("/auth/verify", json={"message": good, "signature": sign(ALICE, good)}).status_code
            == 200
        )
