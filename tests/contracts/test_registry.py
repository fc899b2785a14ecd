"""ContentRegistry: license allowlist, contributors, single items and their consent (embedded chain)."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import pytest
from web3 import Web3
from web3.middleware.base import Web3Middleware

from backend.chain.connection import LimitedHTTPProvider
from backend.chain.registry import RegistryClient
from backend.chain.rpc import RpcFaultError, RpcLimits
from backend.errors import ChainError, ContractRevert
from curation.cid import cid_v0, cid_v1_dag_pb, cid_v1_raw
from curation.consent import ALL, Consent, unknown_bits
from curation.events import (
    ContributorRegistered,
    ItemConsentChanged,
    ItemSubmitted,
    LicenseManagerSet,
    LicenseSet,
    ProfileUpdated,
    VoteCast,
)
from curation.licenses import DEFAULT_LICENSES, LicenseClass
from tests.conftest import Chain

TRAIN, COMMERCIAL, GENERATIVE = int(Consent.TRAIN), int(Consent.COMMERCIAL), int(Consent.GENERATIVE)
FULL = int(ALL)
CC_BY = sorted(DEFAULT_LICENSES).index("CC-BY-4.0") + 1  # deploy_all adds the defaults in sorted order


def _registry(chain: Chain, who: int = 0) -> RegistryClient:
    return RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.signers[who])


def _contributor(chain: Chain, who: int = 1) -> RegistryClient:
    reg = _registry(chain, who)
    reg.register(f"ipfs://profile-{who}")
    return reg


def _digest(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def _now(chain: Chain) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def _submit(
    reg: RegistryClient, tag: str, consent: int = FULL, expiry: int = 0, license_id: int = CC_BY
) -> int:
    d = _digest(tag)
    return reg.submitted_id(reg.submit_item(cid_v1_raw(d), d, 1234, license_id, consent, expiry))


# --- license allowlist --------------------------------------------------------------------------------------


def test_deployment_allowlists_the_default_licenses_in_sorted_order(chain: Chain) -> None:
    reg = _registry(chain)
    assert reg.license_count() == len(DEFAULT_LICENSES)
    for record, spdx in zip(reg.licenses(), sorted(DEFAULT_LICENSES), strict=True):
        assert (record.spdx, record.classes, record.allowed) == (spdx, int(DEFAULT_LICENSES[spdx]), True)
        assert reg.license_id_of(spdx) == record.license_id


def test_set_license_adds_a_new_id_and_updates_in_place(chain: Chain) -> None:
    reg = _registry(chain)
    first = reg.set_license("GPL-3.0-or-later", int(LicenseClass.SHARE_ALIKE), True)
    new_id = len(DEFAULT_LICENSES) + 1
    added = first.event(LicenseSet)
    assert added == LicenseSet(
        at=added.at,
        license_id=new_id,
        spdx="GPL-3.0-or-later",
        classes=int(LicenseClass.SHARE_ALIKE),
        allowed=True,
    )
    assert (added.at.tx_hash, added.at.block_number) == (first.tx_hash, first.block_number)
    again = reg.set_license("GPL-3.0-or-later", int(LicenseClass.COMMERCIAL_USE), False)
    assert again.event(LicenseSet).license_id == new_id
    assert reg.license_count() == new_id
    assert reg.license(new_id).classes == int(LicenseClass.COMMERCIAL_USE)
    assert reg.license(new_id).allowed is False
    assert reg.license_id_of("GPL-3.0-or-later") == new_id
    assert reg.license_id_of("Unlisted-1.0") == 0


def test_reading_an_unknown_license_reverts(chain: Chain) -> None:
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownLicense\(licenseId=99\)"):
        _registry(chain).license(99)


@pytest.mark.parametrize("spdx", ["", "CC BY", "MIT;", "x" * 65, "Ä-1.0"])
def test_set_license_rejects_an_invalid_spdx_id(chain: Chain, spdx: str) -> None:
    with pytest.raises(ContractRevert, match="ContentRegistryInvalidSpdx"):
        _registry(chain).set_license(spdx, 1, True)


def test_set_license_rejects_unknown_class_bits(chain: Chain) -> None:
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownLicenseClasses\(classes=8\)"):
        _registry(chain).set_license("MIT-0", 8, True)


def test_only_license_managers_set_licenses_and_only_the_admin_appoints_them(chain: Chain) -> None:
    reg = _registry(chain)
    bob = chain.signers[2]
    assert reg.admin() == chain.admin.address
    assert reg.is_license_manager(chain.admin.address)
    with pytest.raises(ContractRevert, match=r"ContentRegistryNotLicenseManager\(caller=0x[0-9a-fA-F]{40}\)"):
        reg.with_signer(bob).set_license("MIT-0", 1, True)
    with pytest.raises(ContractRevert, match=r"ContentRegistryNotAdmin.*admin"):
        reg.with_signer(bob).set_license_manager(bob.address, True)
    granted = reg.set_license_manager(bob.address, True)
    appointed = granted.event(LicenseManagerSet)
    assert appointed == LicenseManagerSet(appointed.at, account=bob.address.lower(), allowed=True)
    assert reg.with_signer(bob).set_license("MIT-0", 1, True).event(LicenseSet).spdx == "MIT-0"
    reg.set_license_manager(bob.address, False)
    assert not reg.is_license_manager(bob.address)
    with pytest.raises(ContractRevert, match="ContentRegistryNotLicenseManager"):
        reg.with_signer(bob).set_license("MIT-0", 1, False)


# --- contributors -------------------------------------------------------------------------------------------


def test_register_assigns_sequential_ids_and_emits_the_profile(chain: Chain) -> None:
    alice, bob = _registry(chain, 1), _registry(chain, 2)
    r = alice.register("ipfs://alice")
    joined = r.event(ContributorRegistered)
    assert joined == ContributorRegistered(
        joined.at, contributor=chain.signers[1].address.lower(), contributor_id=1, profile_uri="ipfs://alice"
    )
    assert bob.register("").event(ContributorRegistered).contributor_id == 2
    assert alice.contributor_count() == 2
    assert alice.contributor_id(chain.signers[2].address) == 2
    assert alice.contributor_address(1) == chain.signers[1].address
    assert alice.contributor_id(chain.signers[3].address) == 0


def test_register_twice_reverts(chain: Chain) -> None:
    alice = _contributor(chain)
    with pytest.raises(ContractRevert, match=r"ContentRegistryAlreadyRegistered.*updateProfile"):
        alice.register("ipfs://again")


def test_profile_uri_longer_than_1024_bytes_is_rejected(chain: Chain) -> None:
    with pytest.raises(ContractRevert, match=r"ContentRegistryProfileURITooLong\(length=1025\)"):
        _registry(chain, 1).register("x" * 1025)
    alice = _contributor(chain)
    with pytest.raises(ContractRevert, match="ContentRegistryProfileURITooLong"):
        alice.update_profile("y" * 1025)


def test_update_profile_emits_the_new_uri_and_needs_registration(chain: Chain) -> None:
    with pytest.raises(ContractRevert, match="ContentRegistryNotRegistered"):
        _registry(chain, 1).update_profile("ipfs://nobody")
    alice = _contributor(chain)
    updated = alice.update_profile("https://alice.example").event(ProfileUpdated)
    assert updated == ProfileUpdated(
        updated.at,
        contributor=chain.signers[1].address.lower(),
        contributor_id=1,
        profile_uri="https://alice.example",
    )


# --- single items -------------------------------------------------------------------------------------------


def test_submit_item_stores_the_packed_record_and_emits_every_field(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("hello")
    expiry = _now(chain) + 86_400
    r = alice.submit_item(cid_v1_raw(d), d, 2**64 - 1, CC_BY, TRAIN | GENERATIVE, expiry)
    submitted = r.event(ItemSubmitted)
    assert submitted == ItemSubmitted(
        submitted.at,
        item_id=1,
        contributor=chain.signers[1].address.lower(),
        cid=cid_v1_raw(d).to_bytes(),
        content_sha256=d,
        size=2**64 - 1,
        license_id=CC_BY,
        consent=TRAIN | GENERATIVE,
        expiry=expiry,
    )
    rec = alice.item(1)
    assert (rec.contributor, rec.size, rec.license_id, rec.consent, rec.expiry) == (
        chain.signers[1].address,
        2**64 - 1,
        CC_BY,
        TRAIN | GENERATIVE,
        expiry,
    )
    assert alice.item_count() == 1
    assert alice.item_id_by_cid(cid_v1_raw(d)) == 1


def test_items_accept_cidv0_and_dag_pb_and_ids_are_sequential(chain: Chain) -> None:
    alice = _contributor(chain)
    content = _digest("content")  # for dag-pb the CID digest is the root block's, not the content's
    r0 = alice.submit_item(cid_v0(_digest("v0")), content, 1, CC_BY, TRAIN)
    r1 = alice.submit_item(cid_v1_dag_pb(_digest("pb")), content, 1, CC_BY, TRAIN)
    assert [alice.submitted_id(r0), alice.submitted_id(r1)] == [1, 2]
    assert r0.event(ItemSubmitted).cid == cid_v0(_digest("v0")).to_bytes()


def test_submit_requires_registration(chain: Chain) -> None:
    d = _digest("x")
    with pytest.raises(
        ContractRevert, match=r"ContentRegistryNotRegistered\(caller=0x[0-9a-fA-F]{40}\).*register"
    ):
        _registry(chain, 4).submit_item(cid_v1_raw(d), d, 1, CC_BY, TRAIN)


@pytest.mark.parametrize(
    "cid",
    [
        b"",
        b"\x12\x20" + b"\x11" * 31,  # CIDv0 one byte short
        b"\x12\x20" + b"\x11" * 33,  # CIDv0 one byte long
        b"\x13\x20" + b"\x11" * 32,  # not sha2-256
        b"\x01\x71\x12\x20" + b"\x11" * 32,  # dag-cbor codec
        b"\x01\x55\x00\x20" + b"\x11" * 32,  # identity multihash
        b"\x01\x55\x12\x14" + b"\x11" * 32,  # wrong digest length
        b"\x02\x55\x12\x20" + b"\x11" * 32,  # CID version 2
        b"\x01\x55\x12\x20" + b"\x11" * 33,  # trailing byte
    ],
)
def test_malformed_cids_are_rejected(chain: Chain, cid: bytes) -> None:
    alice = _contributor(chain)
    with pytest.raises(
        ContractRevert, match=r"ContentRegistryMalformedCid\(cid=0x[0-9a-f]*\).*CIDv0 or CIDv1"
    ):
        alice.submit_item(cid, b"\x11" * 32, 1, CC_BY, TRAIN)
    assert alice.item_count() == 0


def test_a_raw_cid_must_carry_the_content_sha256(chain: Chain) -> None:
    alice = _contributor(chain)
    with pytest.raises(ContractRevert, match="ContentRegistryDigestMismatch"):
        alice.submit_item(cid_v1_raw(_digest("a")), _digest("b"), 1, CC_BY, TRAIN)


def test_zero_size_is_rejected(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("zero")
    with pytest.raises(ContractRevert, match=r"ContentRegistryZeroSize\(\).*at least one byte"):
        alice.submit_item(cid_v1_raw(d), d, 0, CC_BY, TRAIN)


def test_unknown_and_disallowed_licenses_are_rejected(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("lic")
    for bad in (0, 999):
        with pytest.raises(ContractRevert, match=rf"ContentRegistryUnknownLicense\(licenseId={bad}\)"):
            alice.submit_item(cid_v1_raw(d), d, 1, bad, TRAIN)
    _registry(chain).set_license("CC-BY-4.0", int(DEFAULT_LICENSES["CC-BY-4.0"]), False)
    with pytest.raises(ContractRevert, match=rf"ContentRegistryLicenseNotAllowed\(licenseId={CC_BY}\)"):
        alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, TRAIN)


def test_consent_must_be_non_empty_and_use_known_bits(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("consent")
    with pytest.raises(ContractRevert, match="ContentRegistryNoConsent"):
        alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, 0)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownConsentBits\(consent=64\)"):
        alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, 0x40)


def test_known_consent_bits_match_the_python_flags(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("known bits")
    first_unknown = FULL + 1  # 0x40: the lowest bit no Consent flag names
    assert unknown_bits(FULL) == 0
    assert unknown_bits(first_unknown) == first_unknown
    with pytest.raises(
        ContractRevert, match=rf"ContentRegistryUnknownConsentBits\(consent={first_unknown}\)"
    ):
        alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, first_unknown)
    assert alice.submitted_id(alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, FULL)) > 0


def test_expiry_must_be_none_or_in_the_future(chain: Chain) -> None:
    alice = _contributor(chain)
    d = _digest("exp")
    with pytest.raises(ContractRevert, match="ContentRegistryExpiryInPast"):
        alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, TRAIN, _now(chain))


def test_duplicate_cids_are_rejected_across_cid_versions(chain: Chain) -> None:
    alice, bob = _contributor(chain, 1), _contributor(chain, 2)
    d = _digest("dup")
    alice.submit_item(cid_v1_raw(d), d, 1, CC_BY, TRAIN)
    with pytest.raises(ContractRevert, match=r"ContentRegistryDuplicateCid\(cid=0x[0-9a-f]+, itemId=1\)"):
        bob.submit_item(cid_v1_raw(d), d, 1, CC_BY, TRAIN)
    alice.submit_item(cid_v0(d), d, 1, CC_BY, TRAIN)  # a dag-pb CID of the same digest is other content
    with pytest.raises(ContractRevert, match=r"ContentRegistryDuplicateCid\(.*itemId=2\)"):
        bob.submit_item(cid_v1_dag_pb(d), d, 1, CC_BY, TRAIN)  # ... but is the same as the CIDv0
    assert alice.item_id_by_cid(cid_v1_dag_pb(d)) == 2
    assert alice.item_count() == 2


def test_reading_items_checks_ids_and_cids(chain: Chain) -> None:
    reg = _registry(chain)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownItem\(itemId=7\)"):
        reg.item(7)
    with pytest.raises(ContractRevert, match="ContentRegistryMalformedCid"):
        reg.item_id_by_cid(b"\x01\x02")
    assert reg.item_id_by_cid(cid_v1_raw(_digest("none"))) == 0


# --- item consent -------------------------------------------------------------------------------------------


def test_narrowing_shrinks_the_mask_and_moves_the_expiry_earlier(chain: Chain) -> None:
    alice = _contributor(chain)
    far = _now(chain) + 10_000
    item_id = _submit(alice, "n", consent=TRAIN | COMMERCIAL | GENERATIVE)
    r = alice.narrow_consent(item_id, TRAIN | GENERATIVE, far)  # from no expiry to one: earlier
    changed = r.event(ItemConsentChanged)
    assert changed == ItemConsentChanged(
        changed.at,
        item_id=item_id,
        contributor=chain.signers[1].address.lower(),
        consent=TRAIN | GENERATIVE,
        expiry=far,
    )
    alice.narrow_consent(item_id, TRAIN, far - 1)
    alice.narrow_consent(item_id, TRAIN, far - 1)  # unchanged terms are allowed (idempotent retry)
    rec = alice.item(item_id)
    assert (rec.consent, rec.expiry, rec.size, rec.license_id) == (TRAIN, far - 1, 1234, CC_BY)


def test_consent_never_widens(chain: Chain) -> None:
    alice = _contributor(chain)
    far = _now(chain) + 10_000
    item_id = _submit(alice, "w", consent=TRAIN | GENERATIVE, expiry=far)
    with pytest.raises(ContractRevert, match=r"ContentRegistryConsentWidened\(current=5, requested=7\)"):
        alice.narrow_consent(item_id, TRAIN | GENERATIVE | COMMERCIAL, far)
    with pytest.raises(ContractRevert, match=r"ContentRegistryConsentWidened\(current=5, requested=2\)"):
        alice.narrow_consent(item_id, COMMERCIAL, far)
    with pytest.raises(
        ContractRevert, match=rf"ContentRegistryExpiryExtended\(current={far}, requested={far + 1}\)"
    ):
        alice.narrow_consent(item_id, TRAIN, far + 1)
    with pytest.raises(ContractRevert, match=rf"ContentRegistryExpiryExtended\(current={far}, requested=0\)"):
        alice.narrow_consent(item_id, TRAIN, 0)  # 0 = none is the latest expiry of all
    with pytest.raises(ContractRevert, match=r"ContentRegistryNoConsent.*revokeConsent"):
        alice.narrow_consent(item_id, 0, far)
    rec = alice.item(item_id)
    assert (rec.consent, rec.expiry) == (TRAIN | GENERATIVE, far)


def test_only_the_contributor_changes_an_items_consent(chain: Chain) -> None:
    alice, mallory = _contributor(chain, 1), _contributor(chain, 2)
    item_id = _submit(alice, "mine")
    admin = _registry(chain, 0)
    owner = chain.signers[1].address.lower()
    for other in (mallory, admin):
        with pytest.raises(ContractRevert, match=rf"ContentRegistryNotContributor\(.*contributor={owner}\)"):
            other.narrow_consent(item_id, TRAIN, 0)
        with pytest.raises(ContractRevert, match="ContentRegistryNotContributor"):
            other.revoke_consent(item_id)
    assert alice.item(item_id).consent == FULL


def test_consent_changes_on_unknown_items_revert(chain: Chain) -> None:
    alice = _contributor(chain)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownItem\(itemId=5\)"):
        alice.narrow_consent(5, TRAIN, 0)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownItem\(itemId=0\)"):
        alice.revoke_consent(0)


def test_revocation_is_final(chain: Chain) -> None:
    alice = _contributor(chain)
    item_id = _submit(alice, "rev", expiry=_now(chain) + 500)
    r = alice.revoke_consent(item_id)
    revoked = r.event(ItemConsentChanged)
    assert revoked == ItemConsentChanged(
        revoked.at, item_id=item_id, contributor=chain.signers[1].address.lower(), consent=0, expiry=0
    )
    rec = alice.item(item_id)
    assert rec.revoked
    assert (rec.consent, rec.expiry) == (0, 0)
    with pytest.raises(ContractRevert, match=rf"ContentRegistryItemRevoked\(itemId={item_id}\)"):
        alice.revoke_consent(item_id)
    with pytest.raises(ContractRevert, match="ContentRegistryItemRevoked"):
        alice.narrow_consent(item_id, TRAIN, 0)


# --- event logs ---------------------------------------------------------------------------------------------


def test_event_logs_decode_arguments_and_filter_by_indexed_ones(chain: Chain) -> None:
    alice, bob = _contributor(chain, 1), _contributor(chain, 2)
    start = chain.w3.eth.block_number
    a1, b1, a2 = _submit(alice, "a1"), _submit(bob, "b1"), _submit(alice, "a2")
    everyone = alice.event_logs(ItemSubmitted, start)
    assert [e.item_id for e in everyone] == [a1, b1, a2]
    assert all(e.at.block_number > start for e in everyone)
    assert {e.at.address for e in everyone} == {alice.address.lower()}
    mine = alice.event_logs(ItemSubmitted, start, filters={"contributor": chain.signers[1].address})
    assert [(e.item_id, e.cid) for e in mine] == [
        (a1, cid_v1_raw(_digest("a1")).to_bytes()),
        (a2, cid_v1_raw(_digest("a2")).to_bytes()),
    ]
    assert alice.event_logs(ItemSubmitted, start, everyone[0].at.block_number) == everyone[:1]
    assert alice.event_logs(ItemSubmitted, start, filters={"item_id": [a2, b1]}) == everyone[1:]
    assert alice.event_logs(ItemSubmitted, start, filters={"size": 2}) == []  # data fields: after decoding


class _RangeCap(Web3Middleware):
    """A node that refuses eth_getLogs over more than `CAP` blocks, as public RPC providers do."""

    CAP = 2
    asked: ClassVar[list[int]] = []

    def wrap_make_request(self, make_request: Any) -> Any:
        def middleware(method: str, params: Any) -> Any:
            if method == "eth_getLogs":
                f = params[0]
                span = _block(f["toBlock"]) - _block(f["fromBlock"]) + 1
                self.asked.append(span)
                if span > self.CAP:
                    return {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "error": {"code": -32005, "message": "block range too large"},
                    }
            return make_request(method, params)

        return middleware


def _block(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def test_event_logs_ask_for_less_when_the_node_caps_the_range(chain: Chain) -> None:
    alice = _contributor(chain, 1)
    start = chain.w3.eth.block_number
    ids = [_submit(alice, f"item-{i}") for i in range(5)]  # one block each
    capped_w3 = Web3(chain.w3.provider)
    capped_w3.middleware_onion.add(_RangeCap)
    capped = RegistryClient(capped_w3, alice.address)
    _RangeCap.asked.clear()
    found = capped.event_logs(ItemSubmitted, start, max_range=100, verify="none")
    assert [e.item_id for e in found] == ids
    assert found == alice.event_logs(ItemSubmitted, start)
    head = chain.w3.eth.block_number
    assert _RangeCap.asked[0] == head - start + 1 > _RangeCap.CAP  # everything first, then less
    answered = [span for span in _RangeCap.asked if span <= _RangeCap.CAP]
    assert sum(answered) == head - start + 1  # every block asked for exactly once among the answers
    assert capped.event_logs(ItemSubmitted, start, max_range=100) == found  # checked against the blooms too
    _RangeCap.CAP = 0  # a node that refuses even one block: the error names the block
    try:
        with pytest.raises(
            ChainError,
            match=rf"refuses eth_getLogs even for the single block {start}: .*block range too large",
        ):
            capped.event_logs(ItemSubmitted, start)
    finally:
        _RangeCap.CAP = 2


def test_event_logs_from_a_node_that_does_not_answer_name_what_failed() -> None:
    w3 = Web3(LimitedHTTPProvider("http://127.0.0.1:9", RpcLimits(connect_timeout=0.5, retry_time=1)))
    reg = RegistryClient(w3, "0x" + "11" * 20)
    with pytest.raises(
        RpcFaultError,
        match=r"reading ContentRegistry\.ItemSubmitted logs 0\.\.latest failed: eth_blockNumber to "
        r"http://127\.0\.0\.1:9 failed \d+ times; last error: cannot connect",
    ):
        reg.event_logs(ItemSubmitted, 0)
    with pytest.raises(
        ChainError, match=r"VoteCast logs 0\.\.latest: VoteCast is an event of CurationVoting"
    ):
        reg.event_logs(VoteCast, 0)
