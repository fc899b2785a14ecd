"""Sign-in with Ethereum through the API: a session for a good signature, 401 with a reason for every forgery."""

from __future__ import annotations

from backend.api.siwe import format_time
from tests.backend.api.api_helpers import (
    ALICE,
    CHAIN_ID,
    MALLORY,
    FakeClock,
    TestClient,
    sign,
    sign_in,
    siwe_message,
)


def _refused(r: object, why: str) -> None:
    assert r.status_code == 401, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["code"] == "unauthenticated"
    assert why in body["detail"], body
    assert r.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]


def test_nonce_names_what_the_message_must_say(client: TestClient, clock: FakeClock) -> None:
    r = client.post("/auth/nonce")
    body = r.json()
    assert r.headers["cache-control"] == "no-store"
    assert body["domain"] == "curation.example.org"
    assert body["chain_id"] == CHAIN_ID
    assert body["expires_at"] == int(clock()) + 300
    assert body["nonce"] != client.post("/auth/nonce").json()["nonce"]


def test_good_signature_gives_a_session_token(client: TestClient, clock: FakeClock) -> None:
    r = sign_in(client, ALICE, clock)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["address"] == ALICE.address
    assert body["expires_at"] == int(clock()) + 600  # message expiry is sooner than the session TTL
    who = client.get("/auth/session", headers={"Authorization": f"Bearer {body['token']}"})
    assert who.status_code == 200
    assert who.json()["address"] == ALICE.address


def test_wrong_domain_is_refused(client: TestClient, clock: FakeClock) -> None:
    _refused(sign_in(client, ALICE, clock, domain="evil.example.org"), "domain 'evil.example.org'")


def test_wrong_chain_is_refused(client: TestClient, clock: FakeClock) -> None:
    _refused(sign_in(client, ALICE, clock, chain_id=1), "chain id 1")


def test_expired_message_is_refused(client: TestClient, clock: FakeClock) -> None:
    r = sign_in(client, ALICE, clock, expiration_time=format_time(clock() - 1))
    _refused(r, "expired")


def test_message_not_yet_valid_is_refused(client: TestClient, clock: FakeClock) -> None:
    _refused(sign_in(client, ALICE, clock, not_before=format_time(clock() + 3600)), "not valid yet")


def test_wrong_signer_is_refused(client: TestClient, clock: FakeClock) -> None:
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock).to_text()
    r = client.post("/auth/verify", json={"message": text, "signature": sign(MALLORY, text)})
    _refused(r, f"signature is by {MALLORY.address}")
    # the forged attempt did not spend Alice's nonce
    r = client.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)})
    assert r.status_code == 200


def test_reused_nonce_is_refused(client: TestClient, clock: FakeClock) -> None:
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock).to_text()
    body = {"message": text, "signature": sign(ALICE, text)}
    assert client.post("/auth/verify", json=body).status_code == 200
    _refused(client.post("/auth/verify", json=body), "already used")


def test_nonce_not_issued_here_is_refused(client: TestClient, clock: FakeClock) -> None:
    text = siwe_message(ALICE, "abcdef0123456789", clock).to_text()
    _refused(client.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)}), "nonce")


def test_expired_nonce_is_refused(client: TestClient, clock: FakeClock) -> None:
    nonce = client.post("/auth/nonce").json()["nonce"]
    clock.advance(301)
    text = siwe_message(ALICE, nonce, clock).to_text()
    _refused(client.post("/auth/verify", json={"message": text, "signature": sign(ALICE, text)}), "expired")


def test_malformed_message_and_signature_are_refused(client: TestClient, clock: FakeClock) -> None:
    r = client.post("/auth/verify", json={"message": "hello", "signature": "0x" + "00" * 65})
    _refused(r, "EIP-4361")
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(ALICE, nonce, clock).to_text()
    _refused(client.post("/auth/verify", json={"message": text, "signature": "0x1234"}), "65 bytes")


def test_session_token_expires_and_cannot_be_forged(client: TestClient, clock: FakeClock, token: str) -> None:
    assert client.get("/auth/session", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    forged = token.replace(ALICE.address, MALLORY.address)
    _refused(client.get("/auth/session", headers={"Authorization": f"Bearer {forged}"}), "signature")
    _refused(client.get("/auth/session", headers={"Authorization": "Bearer nonsense"}), "malformed")
    _refused(client.get("/auth/session"), "sign in first")
    clock.advance(601)
    _refused(client.get("/auth/session", headers={"Authorization": f"Bearer {token}"}), "expired")


def test_oversized_sign_in_body_is_413_not_buffered(client: TestClient) -> None:
    r = client.post(
        "/auth/verify",
        content=b'{"message": "' + b"a" * 100_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload-too-large"
