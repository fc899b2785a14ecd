"""backend.relay: the relayer's checks, quotas and the right to revoke, on the embedded chain; the HTTP client."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from backend.chain.accounts import Signer, create_keystore
from backend.chain.forwarder import ForwardRequestRejected, PreparedCall, SignedForwardRequest, sign_request
from backend.errors import ConfigError
from backend.relay import (
    NotRelayable,
    QuotaExhausted,
    QuotaLedger,
    Relayer,
    RelayError,
    RelayerUnfunded,
    RelayLimits,
    RelayUnavailable,
    RequestTooLarge,
    WouldRevert,
    open_relayer,
    send_gasless,
)
from backend.settings import Settings
from curation.events import ContributorRegistered, ItemConsentChanged, ItemSubmitted
from tests.backend.relay_helpers import CAROL, DAVE, MALLORY, Calls, Clock, signed_for
from tests.conftest import Chain


@pytest.fixture
def calls(chain: Chain) -> Calls:
    return Calls(chain.w3, chain.deployment)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _relayer(
    chain: Chain, tmp_path: Path, clock: Clock, signer: Signer | None = None, **limits: int
) -> Relayer:
    ledger = QuotaLedger(f"sqlite:///{tmp_path / 'relay.sqlite'}", RelayLimits(**limits), clock)
    return Relayer(chain.w3, chain.deployment, signer or chain.signers[1], ledger)


def _relay(relayer: Relayer, calls: Calls, acct: object, call: PreparedCall) -> object:
    assert isinstance(acct, type(CAROL))
    return relayer.relay(signed_for(calls, acct, call).to_json())


def test_a_wallet_without_eth_registers_submits_and_revokes(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock)
    done = relayer.relay(signed_for(calls, CAROL, calls.register()).to_json())
    assert done.receipt.event(ContributorRegistered).contributor == CAROL.address.lower()
    assert done.function == "ContentRegistry.register"
    out = done.to_json()
    assert out["from"] == CAROL.address
    assert out["nonce"] == "0"  # integers that name chain values travel as decimal strings
    assert out["events"] == ["ContributorRegistered"]
    assert out["quota"]["requests_used"] == 1
    assert out["quota"]["gas_used"] == done.receipt.gas_used
    item = relayer.relay(signed_for(calls, CAROL, calls.submit("c")).to_json()).receipt.event(ItemSubmitted)
    revoked = relayer.relay(signed_for(calls, CAROL, calls.revoke(item.item_id)))
    assert revoked.receipt.event(ItemConsentChanged).consent == 0
    assert chain.w3.eth.get_balance(CAROL.address) == 0
    assert relayer.quota(CAROL.address).requests_used == 2  # the revocation is not counted


def _refused(
    chain: Chain, relayer: Relayer, doc: dict[str, object], error: type[Exception], reason: str
) -> None:
    head = chain.w3.eth.block_number
    with pytest.raises(error, match=reason):
        relayer.relay(doc)
    assert chain.w3.eth.block_number == head, "nothing may be sent for a refused request"
    sender = str(doc["from"])
    assert relayer.quota(sender).requests_used == 0, "a refused request must not use quota"
    assert relayer.quota(sender).gas_used == 0


def test_refusals_are_typed_and_send_nothing(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock, max_request_gas=1_000_000, max_data_bytes=2048)
    good = signed_for(calls, CAROL, calls.register())
    doc = good.to_json()

    typed = good.request.typed_data(good.chain_id, good.forwarder)
    forged = {
        **doc,
        "signature": "0x"
        + bytes(MALLORY.sign_message(encode_typed_data(full_message=typed)).signature).hex(),
    }
    _refused(chain, relayer, forged, ForwardRequestRejected, "recovers to " + MALLORY.address)

    def resigned(**change: object) -> dict[str, object]:
        request = dataclasses.replace(good.request, **change)  # type: ignore[arg-type]
        return dict(sign_request(CAROL, request, good.chain_id, good.forwarder).to_json())

    _refused(chain, relayer, resigned(nonce=3), ForwardRequestRejected, "expects nonce 0")
    _refused(
        chain, relayer, resigned(deadline=calls.forwarder.chain_time()), ForwardRequestRejected, "expired"
    )
    releases = chain.deployment.address("ReleaseRegistry")
    _refused(chain, relayer, resigned(to=releases), NotRelayable, "not a contract this relay pays calls to")
    set_license = PreparedCall.encode(calls.registry, "setLicense", "MIT", 1, True)
    _refused(
        chain,
        relayer,
        resigned(data=set_license.data),
        NotRelayable,
        "ContentRegistry.setLicense is not relayed",
    )
    _refused(chain, relayer, resigned(data=b"\xde\xad\xbe\xef"), NotRelayable, "selector 0xdeadbeef")
    _refused(chain, relayer, resigned(value=1), NotRelayable, "never ETH")
    _refused(chain, relayer, resigned(gas=1_000_001), NotRelayable, "at most 1,000,000")
    long_uri = PreparedCall.encode(calls.registry, "register", "x" * 3000)
    _refused(chain, relayer, resigned(data=long_uri.data), RequestTooLarge, "this relay takes at most 2048")
    _refused(chain, relayer, {**doc, "gas": 5}, ForwardRequestRejected, "gas must be a string")

    submit = signed_for(calls, DAVE, calls.submit("unregistered"), gas=300_000).to_json()
    _refused(chain, relayer, submit, WouldRevert, r"not sent: .*reverted with ContentRegistryNotRegistered")
    with pytest.raises(WouldRevert) as why:
        relayer.relay(submit)
    assert why.value.error_name == "ContentRegistryNotRegistered"

    assert relayer.relay(doc).receipt.event(ContributorRegistered)  # the good one still goes through
    with pytest.raises(ForwardRequestRejected, match="expects nonce 1"):  # a replay: its nonce is spent
        relayer.relay(doc)


def test_a_spent_quota_refuses_a_submit_but_still_relays_a_revocation(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock, max_requests=2)
    relayer.relay(signed_for(calls, CAROL, calls.register()))
    item = relayer.relay(signed_for(calls, CAROL, calls.submit("one"))).receipt.event(ItemSubmitted)
    assert relayer.quota(CAROL.address).requests_left == 0
    head = chain.w3.eth.block_number
    with pytest.raises(QuotaExhausted, match="used its 2 relayed requests") as spent:
        relayer.relay(signed_for(calls, CAROL, calls.submit("two")))
    assert spent.value.retry_after == 86_400
    assert chain.w3.eth.block_number == head
    revoked = relayer.relay(signed_for(calls, CAROL, calls.revoke(item.item_id)))  # a right, not a privilege
    assert revoked.receipt.event(ItemConsentChanged).consent == 0
    assert revoked.quota.requests_used == 2
    # Another wallet's quota is its own.
    relayer.relay(signed_for(calls, DAVE, calls.register("ipfs://dave")))
    # The window rolls: a day later the wallet may submit again.
    clock.now += 86_401
    assert relayer.relay(signed_for(calls, CAROL, calls.submit("two"))).receipt.event(ItemSubmitted)


def test_a_revocation_that_would_revert_is_still_refused(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock, max_requests=1)
    relayer.relay(signed_for(calls, CAROL, calls.register()))
    signed = signed_for(calls, CAROL, calls.revoke(42), gas=100_000)  # no item 42: no free pass around checks
    with pytest.raises(WouldRevert, match="ContentRegistryUnknownItem"):
        relayer.relay(signed)


def test_the_gas_quota_counts_what_a_request_may_cost(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock, max_gas=400_000)
    first = relayer.relay(signed_for(calls, CAROL, calls.register()))
    assert first.quota.gas_used == first.receipt.gas_used
    with pytest.raises(QuotaExhausted, match="relayed gas left"):
        relayer.relay(signed_for(calls, CAROL, calls.submit("big"), gas=200_000))
    with pytest.raises(QuotaExhausted, match="more than a wallet's whole quota"):
        relayer.relay(signed_for(calls, CAROL, calls.submit("huge"), gas=1_000_000))


def test_quotas_survive_a_restart(chain: Chain, calls: Calls, tmp_path: Path, clock: Clock) -> None:
    relayer = _relayer(chain, tmp_path, clock, max_requests=1)
    relayer.relay(signed_for(calls, CAROL, calls.register()))
    again = _relayer(chain, tmp_path, clock, max_requests=1)  # a new process on the same ledger file
    assert again.quota(CAROL.address).requests_used == 1
    with pytest.raises(QuotaExhausted):
        again.relay(signed_for(calls, CAROL, calls.submit("after restart")))


def test_one_wallets_request_in_flight_does_not_hold_up_another(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    relayer = _relayer(chain, tmp_path, clock)
    with relayer._one_at_a_time(CAROL.address):  # Carol's request is being sent
        done = relayer.relay(signed_for(calls, DAVE, calls.register("ipfs://dave")))
    assert done.sender == DAVE.address


def test_a_relayer_without_eth_is_refused_before_sending(
    chain: Chain, calls: Calls, tmp_path: Path, clock: Clock
) -> None:
    broke = Signer.from_key("0x" + "b7" * 32)
    relayer = _relayer(chain, tmp_path, clock, signer=broke)
    with pytest.raises(RelayerUnfunded, match="the operator must fund it"):
        relayer.relay(signed_for(calls, CAROL, calls.register()))
    assert relayer.quota(CAROL.address).requests_used == 0  # the reservation was dropped


def test_open_relayer_reads_the_settings(chain: Chain, tmp_path: Path) -> None:
    base = {"home": tmp_path}
    assert open_relayer(Settings(**base), chain.w3, chain.deployment) is None
    dev = open_relayer(Settings(**base, relayer_dev_account=2), chain.w3, chain.deployment)
    assert dev is not None
    assert dev.address == chain.signers[2].address
    assert (tmp_path / "relay.sqlite").exists()
    key = "0x" + "a7" * 32
    path = create_keystore(tmp_path / "keys", "pw", key)
    keyed = open_relayer(
        Settings(**base, relayer_keystore=path, relayer_password="pw"), chain.w3, chain.deployment
    )
    assert keyed is not None
    assert keyed.address == Account.from_key(key).address
    with pytest.raises(ConfigError, match="CURATION_RELAYER_PASSWORD is not"):
        open_relayer(Settings(**base, relayer_keystore=path), chain.w3, chain.deployment)
    with pytest.raises(ConfigError, match="out of range"):
        open_relayer(Settings(**base, relayer_dev_account=99), chain.w3, chain.deployment)


# --- the client: faults a real relay does not produce, injected through httpx's MockTransport ----------------


def _answering(status: int, body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(status, content=body))


@pytest.mark.parametrize(
    ("status", "body", "error", "reason"),
    [
        (
            429,
            b'{"detail": "quota spent", "code": "quota-exhausted"}',
            RelayUnavailable,
            "429 quota-exhausted",
        ),
        (403, b'{"detail": "no", "code": "not-relayable"}', RelayError, "403 not-relayable"),
        (200, b"[" * 70_000, RelayError, "more than 65536 bytes"),
        (200, b"<html>", RelayError, "not JSON"),
        (200, b'{"tx_hash": 5}', RelayError, "no tx_hash"),
        (200, b'{"tx_hash": "0x1234"}', Exception, "not a transaction hash"),
    ],
)
def test_the_client_reports_a_relay_that_refuses_or_misbehaves(
    chain: Chain, calls: Calls, status: int, body: bytes, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        send_gasless(
            chain.w3,
            Signer.from_key(CAROL.key),
            chain.deployment,
            "http://relay.test",
            calls.register(),
            transport=_answering(status, body),
        )


def test_the_client_does_not_believe_a_relay_that_sent_nothing(chain: Chain, calls: Calls) -> None:
    """A relay answering with some other transaction's hash: the receipt read from the node gives it away."""
    other = chain.w3.eth.send_transaction(
        {"from": chain.admin.address, "to": chain.signers[2].address, "value": 1}
    )
    body = json.dumps({"tx_hash": "0x" + bytes(other).hex()}).encode()
    with pytest.raises(Exception, match="not a successful call of the forwarder"):
        send_gasless(
            chain.w3,
            Signer.from_key(CAROL.key),
            chain.deployment,
            "http://relay.test",
            calls.register(),
            transport=_answering(200, body),
        )


def test_the_client_simulates_before_signing(chain: Chain, calls: Calls) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    with pytest.raises(Exception, match="ContentRegistryNotRegistered"):
        send_gasless(
            chain.w3,
            Signer.from_key(DAVE.key),
            chain.deployment,
            "http://relay.test",
            calls.submit("x"),
            transport=httpx.MockTransport(record),
        )
    assert seen == []  # a call that would revert is never posted


def test_the_client_posts_the_json_form(chain: Chain, calls: Calls) -> None:
    posted: list[dict[str, object]] = []

    def record(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(503, json={"detail": "relayer out of funds", "code": "relayer-unfunded"})

    with pytest.raises(RelayUnavailable, match="relayer out of funds"):
        send_gasless(
            chain.w3,
            Signer.from_key(CAROL.key),
            chain.deployment,
            "http://relay.test/",
            calls.register(),
            transport=httpx.MockTransport(record),
        )
    (doc,) = posted
    signed = SignedForwardRequest.from_json(doc, max_data_bytes=16_384)
    assert signed.recover() == CAROL.address
    assert signed.request.deadline > calls.forwarder.chain_time()
