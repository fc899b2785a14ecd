"""POST /relay and GET /relay/quota/{address} over the embedded chain: statuses, codes, and the gasless client."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.api.routes.relay import install_relayer
from backend.chain.accounts import Signer
from backend.chain.forwarder import PreparedCall
from backend.relay import QuotaLedger, Relayer, RelayLimits, send_gasless
from curation.cid import cid_v1_raw
from curation.events import ContributorRegistered, ItemConsentChanged, ItemSubmitted
from tests.backend.api.api_helpers import TestClient
from tests.backend.relay_helpers import CAROL, DAVE, MALLORY, Calls, Clock, signed_for
from tests.conftest import Chain


@pytest.fixture
def calls(chain: Chain) -> Calls:
    return Calls(chain.w3, chain.deployment)


@pytest.fixture
def relay_clock() -> Clock:
    return Clock()


@pytest.fixture
def client(
    chain: Chain, build_app: Callable[..., FastAPI], tmp_path: Path, relay_clock: Clock
) -> Iterator[TestClient]:
    app = build_app(dep=chain.deployment, api_chain_id=None)
    ledger = QuotaLedger(f"sqlite:///{tmp_path / 'relay.sqlite'}", RelayLimits(max_requests=2), relay_clock)
    install_relayer(app, Relayer(chain.w3, chain.deployment, chain.signers[1], ledger))
    with TestClient(app) as c:
        yield c


def test_a_wallet_without_eth_registers_through_the_api(
    chain: Chain, calls: Calls, client: TestClient
) -> None:
    r = client.post("/relay", json=signed_for(calls, CAROL, calls.register()).to_json())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == CAROL.address
    assert body["function"] == "ContentRegistry.register"
    assert body["nonce"] == "0"
    assert body["events"] == ["ContributorRegistered"]
    assert body["quota"]["requests_left"] == 1
    assert body["quota"]["revocations_always_relayed"] is True
    receipt = chain.w3.eth.get_transaction_receipt(body["tx_hash"])
    assert receipt["from"] == chain.signers[1].address  # the relayer sent it
    assert receipt["gasUsed"] == body["gas_used"]
    assert calls.registry.contributor_id(CAROL.address) == 1
    assert chain.w3.eth.get_balance(CAROL.address) == 0
    quota = client.get(f"/relay/quota/{CAROL.address.lower()}")
    assert quota.status_code == 200
    assert quota.json()["requests_used"] == 1
    assert quota.json()["address"] == CAROL.address


def _error(r: httpx.Response, status: int, code: str, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert words in r.json()["detail"]


def test_refusals_map_to_statuses_and_codes(chain: Chain, calls: Calls, client: TestClient) -> None:
    good = signed_for(calls, CAROL, calls.register()).to_json()
    head = chain.w3.eth.block_number
    forged = signed_for(calls, MALLORY, calls.register()).to_json()
    _error(
        client.post("/relay", json={**good, "signature": forged["signature"]}),
        422,
        "invalid-request",
        "recovers to",
    )
    _error(
        client.post("/relay", json={**good, "to": chain.deployment.address("ReleaseRegistry")}),
        403,
        "not-relayable",
        "not a contract",
    )
    transfer = PreparedCall.encode(calls.token, "transfer", DAVE.address, 1)
    _error(
        client.post("/relay", json={**good, "to": calls.token.address, "data": "0x" + transfer.data.hex()}),
        403,
        "not-relayable",
        "CurationToken.transfer is not relayed",
    )
    _error(
        client.post("/relay", json={**good, "data": "0x12345678" + "00" * 20_000}),
        413,
        "payload-too-large",
        "at most 16384",
    )
    _error(client.post("/relay", json={**good, "gas": 76_000}), 422, "invalid-input", "gas")
    submit = signed_for(calls, DAVE, calls.submit("x"), gas=300_000).to_json()
    _error(client.post("/relay", json=submit), 422, "would-revert", "ContentRegistryNotRegistered")
    r = client.post("/relay", content=b'{"from": [[[[', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert chain.w3.eth.block_number == head  # nothing was sent
    assert client.get(f"/relay/quota/{CAROL.address}").json()["requests_used"] == 0
    _error(client.get("/relay/quota/0x1234"), 422, "invalid-input", "address")


def test_a_spent_quota_is_429_but_a_revocation_goes_through(calls: Calls, client: TestClient) -> None:
    assert client.post("/relay", json=signed_for(calls, CAROL, calls.register()).to_json()).status_code == 200
    r = client.post("/relay", json=signed_for(calls, CAROL, calls.submit("one")).to_json())
    assert r.status_code == 200, r.text
    item = calls.registry.item_id_by_cid(_cid_of("one"))
    spent = client.post("/relay", json=signed_for(calls, CAROL, calls.submit("two")).to_json())
    _error(spent, 429, "quota-exhausted", "revocations are always relayed")
    assert int(spent.headers["Retry-After"]) > 0
    revoked = client.post("/relay", json=signed_for(calls, CAROL, calls.revoke(item)).to_json())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["events"] == ["ItemConsentChanged"]
    assert calls.registry.item(item).revoked


def _cid_of(tag: str) -> bytes:
    return cid_v1_raw(hashlib.sha256(tag.encode()).digest()).to_bytes()


def test_without_a_relayer_the_routes_answer_503(
    chain: Chain, calls: Calls, build_app: Callable[..., FastAPI]
) -> None:
    with TestClient(build_app(dep=chain.deployment, api_chain_id=None)) as bare:
        r = bare.post("/relay", json=signed_for(calls, CAROL, calls.register()).to_json())
        _error(r, 503, "relay-not-configured", "CURATION_RELAYER_KEYSTORE")
        _error(bare.get(f"/relay/quota/{CAROL.address}"), 503, "relay-not-configured", "no requests")


def test_the_gasless_client_goes_through_the_api(chain: Chain, calls: Calls, client: TestClient) -> None:
    """send_gasless as the CLI calls it: simulate, sign, POST /relay, then read the receipt from the node."""
    carol = Signer.from_key(CAROL.key)
    transport = client._transport  # the app, in process: the embedded chain lives in this process only
    done = send_gasless(
        chain.w3, carol, chain.deployment, "http://testserver", calls.register(), transport=transport
    )
    assert done.receipt.event(ContributorRegistered).contributor == CAROL.address.lower()
    assert done.quota["requests_left"] == 1
    submitted = send_gasless(
        chain.w3, carol, chain.deployment, "http://testserver", calls.submit("s"), transport=transport
    )
    item = submitted.receipt.event(ItemSubmitted).item_id
    revoked = send_gasless(
        chain.w3, carol, chain.deployment, "http://testserver", calls.revoke(item), transport=transport
    )
    assert revoked.receipt.event(ItemConsentChanged).consent == 0
    assert chain.w3.eth.get_balance(CAROL.address) == 0


def test_the_openapi_document_describes_the_relay(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/relay"]["post"]
    assert {"403", "413", "422", "429", "503"} <= set(post["responses"])
    schema = doc["components"]["schemas"]["RelayIn"]
    assert "from" in schema["properties"]
    assert schema["examples"][0]["value"] == "0"
