"""CommonsForwarder (OpenZeppelin ERC2771Forwarder) on the embedded chain: a wallet without ETH acts through it."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from backend.chain.forwarder import (
    ForwardRequestRejected,
    PreparedCall,
    SignedForwardRequest,
    execute_gas,
    function_selectors,
    sign_request,
)
from backend.errors import ContractRevert
from curation.consent import Consent
from curation.events import (
    BatchSubmitted,
    ContributorRegistered,
    DatasetCreated,
    DelegateChanged,
    ItemConsentChanged,
    ItemSubmitted,
    LeafConsentChanged,
    ProposalCreated,
)
from curation.governance import ProposalKind
from tests.backend.relay_helpers import CAROL, DAVE, MALLORY, Calls, forward, signed_for
from tests.conftest import Chain


@pytest.fixture
def calls(chain: Chain) -> Calls:
    return Calls(chain.w3, chain.deployment)


def test_every_gasless_action_acts_as_its_signer_who_holds_no_eth(chain: Chain, calls: Calls) -> None:
    relayer = chain.signers[1]
    w3 = chain.w3
    me = CAROL.address.lower()
    paid_before = w3.eth.get_balance(relayer.address)
    assert w3.eth.get_balance(CAROL.address) == 0

    got = forward(calls, CAROL, calls.register(), relayer)
    assert got.event(ContributorRegistered).contributor == me
    assert calls.registry.contributor_id(CAROL.address) == 1

    item = forward(calls, CAROL, calls.submit("carol 1"), relayer).event(ItemSubmitted)
    assert item.contributor == me
    narrowed = forward(calls, CAROL, calls.narrow(item.item_id), relayer).event(ItemConsentChanged)
    assert (narrowed.contributor, narrowed.consent) == (me, int(Consent.TRAIN))

    batch_call, leaves, tree = calls.batch()
    batch = forward(calls, CAROL, batch_call, relayer).event(BatchSubmitted)
    assert batch.contributor == me
    leaf_call = PreparedCall.encode(
        calls.registry,
        "narrowLeafConsent",
        batch.batch_id,
        leaves[1].as_tuple(),
        tree.proof(1),
        int(Consent.TRAIN),
        0,
    )
    assert forward(calls, CAROL, leaf_call, relayer).event(LeafConsentChanged).contributor == me
    leaf_revoke = PreparedCall.encode(calls.registry, "revokeLeafConsent", batch.batch_id, 2)
    assert forward(calls, CAROL, leaf_revoke, relayer).event(LeafConsentChanged).consent == 0
    assert calls.registry.is_leaf_revoked(batch.batch_id, 2)

    revoked = forward(calls, CAROL, calls.revoke(item.item_id), relayer).event(ItemConsentChanged)
    assert (revoked.contributor, revoked.consent) == (me, 0)
    assert calls.registry.item(item.item_id).revoked

    calls.token.with_signer(chain.admin).mint(CAROL.address, 10**18)
    delegate = PreparedCall.encode(calls.token, "delegate", CAROL.address)
    assert forward(calls, CAROL, delegate, relayer).event(DelegateChanged).delegator == me
    assert calls.token.delegates(CAROL.address) == CAROL.address

    dataset = calls.voting.with_signer(chain.admin).create_dataset("gasless", b"\x01\x55\x00\x00", 1)
    dataset_id = dataset.event(DatasetCreated).dataset_id
    propose = PreparedCall.encode(
        calls.voting, "propose", dataset_id, int(ProposalKind.INCLUDE), [item.item_id], [], b""
    )
    assert forward(calls, CAROL, propose, relayer).event(ProposalCreated).proposer == me

    assert w3.eth.get_balance(CAROL.address) == 0  # never held ETH, never needed it
    assert w3.eth.get_balance(relayer.address) < paid_before  # the relayer paid
    assert calls.forwarder.nonce(CAROL.address) == 9  # nine actions, one nonce each


def test_the_signature_is_the_forwarders_own_typed_data(calls: Calls) -> None:
    signed = signed_for(calls, CAROL, calls.register())
    assert calls.forwarder.verify(signed)  # eth-account's EIP-712 encoding and the contract's agree
    assert signed.recover() == CAROL.address
    other = dataclasses.replace(
        signed, request=dataclasses.replace(signed.request, gas=signed.request.gas + 1)
    )
    assert not calls.forwarder.verify(other)
    assert other.recover() != CAROL.address


def test_a_call_that_would_revert_is_refused_with_the_contracts_error(chain: Chain, calls: Calls) -> None:
    with pytest.raises(ContractRevert) as early:  # building the request simulates it already
        calls.forwarder.build(calls.submit("not registered"), DAVE.address)
    assert early.value.error_name == "ContentRegistryNotRegistered"
    assert DAVE.address in str(early.value)

    signed = signed_for(calls, DAVE, calls.submit("not registered"), gas=300_000)
    head = chain.w3.eth.block_number
    with pytest.raises(ContractRevert) as late:
        calls.forwarder.simulate(signed, chain.signers[1].address, "ContentRegistry.submitItem")
    assert late.value.error_name == "ContentRegistryNotRegistered"
    assert chain.w3.eth.block_number == head  # a simulation sends nothing


def test_too_little_gas_is_found_in_the_simulation(chain: Chain, calls: Calls) -> None:
    signed = signed_for(calls, CAROL, calls.register(), gas=5_000)
    with pytest.raises(ContractRevert, match="runs out of gas with the 5,000 gas"):
        calls.forwarder.simulate(signed, chain.signers[1].address, "ContentRegistry.register")


def test_the_forwarder_refuses_what_was_not_signed_by_from(chain: Chain, calls: Calls) -> None:
    """Even sent without the relay's checks, a forged request reverts on chain: the forwarder is the guard."""
    good = signed_for(calls, CAROL, calls.register())
    typed = good.request.typed_data(good.chain_id, good.forwarder)
    forged = dataclasses.replace(
        good, signature=bytes(MALLORY.sign_message(encode_typed_data(full_message=typed)).signature)
    )
    assert "recovers to " + MALLORY.address in (calls.forwarder.rejection(forged) or "")
    with pytest.raises(ContractRevert) as refused:
        calls.forwarder.simulate(forged, chain.signers[1].address, "ContentRegistry.register")
    assert refused.value.error_name == "ERC2771ForwarderInvalidSigner"
    with pytest.raises(ContractRevert, match="ERC2771ForwarderInvalidSigner"):
        calls.forwarder.execute(forged, chain.signers[1], "ContentRegistry")
    assert calls.registry.contributor_id(CAROL.address) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nonce": 7}, "signed with nonce 7, but the forwarder expects nonce 0"),
        ({"deadline": 1}, "expired or is about to"),
    ],
)
def test_stale_or_expired_requests_are_rejected_before_anything_is_sent(
    chain: Chain, calls: Calls, change: dict[str, int], reason: str
) -> None:
    base = signed_for(calls, CAROL, calls.register())
    signed = sign_request(CAROL, dataclasses.replace(base.request, **change), base.chain_id, base.forwarder)
    with pytest.raises(ForwardRequestRejected, match=reason):
        calls.forwarder.check(signed, min_lifetime=30)


def test_a_deadline_too_close_to_the_latest_block_is_rejected(calls: Calls) -> None:
    now = calls.forwarder.chain_time()
    base = signed_for(calls, CAROL, calls.register())
    signed = sign_request(
        CAROL, dataclasses.replace(base.request, deadline=now + 10), base.chain_id, base.forwarder
    )
    assert calls.forwarder.rejection(signed) is None
    with pytest.raises(ForwardRequestRejected, match="expired or is about to"):
        calls.forwarder.check(signed, min_lifetime=30)


def test_a_request_for_another_chain_or_forwarder_is_rejected(calls: Calls) -> None:
    good = signed_for(calls, CAROL, calls.register())
    other_chain = sign_request(CAROL, good.request, 1, good.forwarder)
    with pytest.raises(ForwardRequestRejected, match="signed for chain 1"):
        calls.forwarder.check(other_chain)
    elsewhere = sign_request(CAROL, good.request, good.chain_id, calls.registry.address)
    with pytest.raises(ForwardRequestRejected, match="signed for forwarder"):
        calls.forwarder.check(elsewhere)


def test_the_json_form_carries_integers_as_decimal_strings(calls: Calls) -> None:
    signed = signed_for(calls, CAROL, calls.register())
    doc = signed.to_json()
    assert all(isinstance(v, str) for v in doc.values())
    assert doc["nonce"] == "0"
    assert SignedForwardRequest.from_json(doc, max_data_bytes=1024) == signed


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"gas": 100_000}, "gas must be a string"),
        ({"gas": "1e5"}, "gas must be a decimal string"),
        ({"deadline": str(2**48)}, "deadline 281474976710656 does not fit"),
        ({"from": "0x1234"}, "from must be a 0x address"),
        ({"data": "0x12"}, "4-byte function selector"),
        ({"data": "0x" + "00" * 1025}, "data is 1025 bytes; at most 1024"),
        ({"data": "0xzz000000"}, "even number of hex digits"),
        ({"signature": "0x" + "11" * 64}, "signature must be 65 bytes"),
        ({"extra": "1"}, "unknown fields in the request: extra"),
        ({"nonce": None}, "nonce is missing"),
    ],
)
def test_a_malformed_json_request_says_what_is_wrong(
    calls: Calls, change: dict[str, object], reason: str
) -> None:
    doc: dict[str, object] = {**signed_for(calls, CAROL, calls.register()).to_json(), **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(ForwardRequestRejected, match=reason):
        SignedForwardRequest.from_json(doc, max_data_bytes=1024)


def test_selectors_and_gas_bound() -> None:
    names = set(function_selectors("ContentRegistry").values())
    assert {"register", "submitItem", "revokeConsent", "setLicense"} <= names
    assert "itemCount" not in names  # views are never relayed
    assert execute_gas(63_000, 100) == 63_000 + 1_000 + 100_000 + 16 * (100 + 384)


def test_a_key_that_is_not_the_sender_cannot_sign(calls: Calls) -> None:
    request = signed_for(calls, CAROL, calls.register()).request
    with pytest.raises(ValueError, match="key belongs to"):
        sign_request(Account.from_key("0x" + "f1" * 32), request, 1, calls.forwarder.address)
