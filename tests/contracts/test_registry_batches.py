"""ContentRegistry batches: submission by Merkle root, leaf encoding, per-leaf narrowing and revocation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from eth_utils import keccak

from backend.chain.registry import RegistryClient
from backend.errors import ContractRevert
from curation.cid import cid_v0, cid_v1_raw
from curation.consent import Consent
from curation.events import BatchSubmitted, LeafConsentChanged
from curation.licenses import DEFAULT_LICENSES
from curation.merkle import Leaf, MerkleTree
from tests.conftest import Chain

TRAIN, COMMERCIAL, GENERATIVE = int(Consent.TRAIN), int(Consent.COMMERCIAL), int(Consent.GENERATIVE)
CC_BY = sorted(DEFAULT_LICENSES).index("CC-BY-4.0") + 1
MIT = sorted(DEFAULT_LICENSES).index("MIT") + 1
MANIFEST = cid_v1_raw(hashlib.sha256(b"manifest").digest())


def _registry(chain: Chain, who: int = 0) -> RegistryClient:
    return RegistryClient(chain.w3, chain.deployment.address("ContentRegistry"), chain.signers[who])


def _contributor(chain: Chain, who: int = 1) -> RegistryClient:
    reg = _registry(chain, who)
    reg.register("")
    return reg


def _leaves(
    n: int, tag: str = "leaf", license_id: int = CC_BY, consent: int = TRAIN | GENERATIVE
) -> list[Leaf]:
    out = []
    for i in range(n):
        d = hashlib.sha256(f"{tag}-{i}".encode()).digest()
        out.append(Leaf(i, cid_v1_raw(d).to_bytes(), d, 100 + i, license_id, consent, 0))
    return out


def _per_leaf(n: int) -> list[Leaf]:
    """Leaves with their own terms: alternating licenses and consents, some with an expiry."""
    out = []
    for i in range(n):
        d = hashlib.sha256(f"own-{i}".encode()).digest()
        lic, consent = (CC_BY, TRAIN | COMMERCIAL) if i % 2 else (MIT, TRAIN | GENERATIVE)
        out.append(
            Leaf(i, cid_v1_raw(d).to_bytes(), d, 1 + i, lic, consent, (2**40 + i) if i % 3 == 0 else 0)
        )
    return out


def _now(chain: Chain) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


# --- submission ---------------------------------------------------------------------------------------------


def test_shared_terms_batch_is_stored_and_announced(chain: Chain) -> None:
    alice = _contributor(chain)
    leaves = _leaves(5)
    tree = MerkleTree.from_leaves(leaves)
    r = alice.submit_batch(leaves, MANIFEST, shared=True)
    submitted = r.event(BatchSubmitted)
    assert submitted == BatchSubmitted(
        submitted.at,
        batch_id=1,
        contributor=chain.signers[1].address.lower(),
        root=tree.root,
        count=5,
        manifest_cid=MANIFEST.to_bytes(),
        license_id=CC_BY,
        consent=TRAIN | GENERATIVE,
        expiry=0,
    )
    rec = alice.batch(1)
    assert (rec.contributor, rec.root, rec.count, rec.license_id, rec.consent, rec.expiry) == (
        chain.signers[1].address,
        tree.root,
        5,
        CC_BY,
        TRAIN | GENERATIVE,
        0,
    )
    assert not rec.per_leaf
    assert alice.batch_count() == 1
    assert alice.batch_id_by_root(tree.root) == 1
    assert alice.item_count() == 0  # batch leaves are not items


def test_per_leaf_batch_carries_the_marker_and_shared_expiry_is_kept(chain: Chain) -> None:
    alice = _contributor(chain)
    r = alice.submit_batch(_per_leaf(4), cid_v0(b"\x07" * 32))
    ev = r.event(BatchSubmitted)
    assert (ev.batch_id, ev.license_id, ev.consent, ev.expiry) == (1, 0, 0, 0)
    assert alice.batch(1).per_leaf
    expiry = _now(chain) + 1000
    shared = _leaves(3, "exp", consent=TRAIN)
    shared = [Leaf(x.index, x.cid, x.sha256, x.size, x.license_id, x.consent, expiry) for x in shared]
    r2 = alice.submit_batch(shared, MANIFEST, shared=True)
    assert (r2.event(BatchSubmitted).batch_id, alice.batch(2).expiry) == (2, expiry)


def test_per_leaf_batch_must_not_pass_shared_consent_or_expiry(chain: Chain) -> None:
    alice = _contributor(chain)
    root = MerkleTree.from_leaves(_per_leaf(2)).root
    with pytest.raises(ContractRevert, match=r"ContentRegistryPerLeafTermsSet\(consent=1, expiry=0\)"):
        alice.submit_batch_root(root, 2, MANIFEST, 0, TRAIN, 0)
    with pytest.raises(ContractRevert, match=r"ContentRegistryPerLeafTermsSet\(consent=0, expiry=5\)"):
        alice.submit_batch_root(root, 2, MANIFEST, 0, 0, 5)


def test_batch_submission_checks_every_argument(chain: Chain) -> None:
    alice = _contributor(chain)
    root = MerkleTree.from_leaves(_leaves(2)).root
    cases: list[tuple[tuple[Any, ...], str]] = [
        ((b"\x00" * 32, 2, MANIFEST, CC_BY, TRAIN, 0), "ContentRegistryZeroRoot"),
        ((root, 0, MANIFEST, CC_BY, TRAIN, 0), "ContentRegistryEmptyBatch"),
        ((root, 2, b"\x12\x20" + b"\x01" * 31, CC_BY, TRAIN, 0), "ContentRegistryMalformedCid"),
        ((root, 2, MANIFEST, 77, TRAIN, 0), r"ContentRegistryUnknownLicense\(licenseId=77\)"),
        ((root, 2, MANIFEST, CC_BY, 0, 0), "ContentRegistryNoConsent"),
        ((root, 2, MANIFEST, CC_BY, 0x100, 0), "ContentRegistryUnknownConsentBits"),
        ((root, 2, MANIFEST, CC_BY, TRAIN, 1), "ContentRegistryExpiryInPast"),
    ]
    for args, error in cases:
        with pytest.raises(ContractRevert, match=error):
            alice.submit_batch_root(*args)
    _registry(chain).set_license("CC-BY-4.0", 5, False)
    with pytest.raises(ContractRevert, match="ContentRegistryLicenseNotAllowed"):
        alice.submit_batch_root(root, 2, MANIFEST, CC_BY, TRAIN, 0)
    with pytest.raises(ContractRevert, match="ContentRegistryNotRegistered"):
        _registry(chain, 5).submit_batch_root(root, 2, MANIFEST, MIT, TRAIN, 0)
    assert alice.batch_count() == 0


def test_the_same_leaves_cannot_be_submitted_twice(chain: Chain) -> None:
    alice, bob = _contributor(chain, 1), _contributor(chain, 2)
    leaves = _leaves(3)
    root = MerkleTree.from_leaves(leaves).root
    alice.submit_batch(leaves, MANIFEST, shared=True)
    other_manifest = cid_v1_raw(b"\x05" * 32)
    with pytest.raises(
        ContractRevert, match=rf"ContentRegistryDuplicateBatch\(root=0x{root.hex()}, batchId=1\)"
    ):
        bob.submit_batch(leaves, other_manifest, shared=True)
    assert alice.batch_count() == 1


def test_reading_an_unknown_batch_reverts(chain: Chain) -> None:
    reg = _registry(chain)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownBatch\(batchId=3\)"):
        reg.batch(3)
    with pytest.raises(ContractRevert, match="ContentRegistryUnknownBatch"):
        reg.verify_leaf(3, _leaves(1)[0], [])
    assert reg.batch_id_by_root(b"\x01" * 32) == 0


# --- leaf encoding ------------------------------------------------------------------------------------------


def test_contract_and_python_hash_leaves_identically(chain: Chain) -> None:
    reg = _registry(chain)
    odd = Leaf(
        2**32 - 1, cid_v0(b"\xff" * 32).to_bytes(), b"\xee" * 32, 2**64 - 1, 2**16 - 1, 2**16 - 1, 2**64 - 1
    )
    malformed = Leaf(0, b"", b"\x00" * 32, 0, 0, 0, 0)  # the encoding does not judge a leaf
    for leaf in [*_leaves(2), *_per_leaf(2), odd, malformed]:
        assert reg.leaf_hash(leaf) == leaf.hash()


def test_every_leaf_of_a_batch_verifies_on_chain_and_a_tampered_one_does_not(chain: Chain) -> None:
    alice = _contributor(chain)
    leaves = _per_leaf(7)
    tree = MerkleTree.from_leaves(leaves)
    batch_id = alice.submitted_id(alice.submit_batch(leaves, MANIFEST))
    for leaf in leaves:
        assert alice.verify_leaf(batch_id, leaf, tree.proof(leaf.index))
    forged = Leaf(3, leaves[3].cid, leaves[3].sha256, leaves[3].size, leaves[3].license_id, 0x3F, 0)
    assert not alice.verify_leaf(batch_id, forged, tree.proof(3))
    assert not alice.verify_leaf(batch_id, leaves[3], tree.proof(4))


# --- per-leaf narrowing -------------------------------------------------------------------------------------


def _batch(chain: Chain, leaves: list[Leaf], shared: bool = False) -> tuple[RegistryClient, int, MerkleTree]:
    alice = _contributor(chain)
    batch_id = alice.submitted_id(alice.submit_batch(leaves, MANIFEST, shared=shared))
    return alice, batch_id, MerkleTree.from_leaves(leaves)


def test_narrowing_a_leaf_with_a_valid_proof_stores_and_announces_it(chain: Chain) -> None:
    leaves = _per_leaf(8)
    alice, batch_id, tree = _batch(chain, leaves)
    leaf = leaves[6]  # MIT, TRAIN|GENERATIVE, expiry 2**40 + 6
    assert not alice.leaf_consent(batch_id, 6).changed
    r = alice.narrow_leaf(batch_id, leaf, tree.proof(6), GENERATIVE, 2**40)
    changed = r.event(LeafConsentChanged)
    assert changed == LeafConsentChanged(
        changed.at,
        batch_id=batch_id,
        contributor=chain.signers[1].address.lower(),
        leaf_index=6,
        consent=GENERATIVE,
        expiry=2**40,
    )
    state = alice.leaf_consent(batch_id, 6)
    assert (state.changed, state.consent, state.expiry, state.revoked) == (True, GENERATIVE, 2**40, False)
    assert not alice.leaf_consent(batch_id, 5).changed
    # The next narrowing starts from the stored state, not from the leaf's original terms.
    with pytest.raises(ContractRevert, match=r"ContentRegistryConsentWidened\(current=4, requested=5\)"):
        alice.narrow_leaf(batch_id, leaf, tree.proof(6), TRAIN | GENERATIVE, 2**40)
    with pytest.raises(ContractRevert, match=r"ContentRegistryExpiryExtended\(current=1099511627776"):
        alice.narrow_leaf(batch_id, leaf, tree.proof(6), GENERATIVE, 2**40 + 6)
    alice.narrow_leaf(batch_id, leaf, tree.proof(6), GENERATIVE, 2**40 - 1)
    assert alice.leaf_consent(batch_id, 6).expiry == 2**40 - 1


def test_a_leaf_cannot_be_widened_beyond_its_submitted_terms(chain: Chain) -> None:
    leaves = _per_leaf(4)
    alice, batch_id, tree = _batch(chain, leaves)
    with pytest.raises(ContractRevert, match=r"ContentRegistryConsentWidened\(current=3, requested=7\)"):
        alice.narrow_leaf(batch_id, leaves[1], tree.proof(1), TRAIN | COMMERCIAL | GENERATIVE, 0)
    with pytest.raises(
        ContractRevert, match=r"ContentRegistryExpiryExtended\(current=1099511627776, requested=0\)"
    ):
        alice.narrow_leaf(batch_id, leaves[0], tree.proof(0), TRAIN, 0)
    with pytest.raises(ContractRevert, match="ContentRegistryNoConsent"):
        alice.narrow_leaf(batch_id, leaves[1], tree.proof(1), 0, 0)
    assert not alice.leaf_consent(batch_id, 1).changed


def test_narrowing_with_an_invalid_proof_reverts_and_writes_nothing(chain: Chain) -> None:
    leaves = _per_leaf(5)
    alice, batch_id, tree = _batch(chain, leaves)
    leaf = leaves[2]
    wrong_sibling = [b"\x00" * 32, *tree.proof(2)[1:]]
    widened_leaf = Leaf(2, leaf.cid, leaf.sha256, leaf.size, leaf.license_id, 0x3F, leaf.expiry)
    other_index = Leaf(1, leaf.cid, leaf.sha256, leaf.size, leaf.license_id, leaf.consent, leaf.expiry)
    for bad_leaf, proof in (
        (leaf, wrong_sibling),
        (leaf, tree.proof(1)),
        (leaf, []),
        (widened_leaf, tree.proof(2)),  # a forged leaf granting more cannot be proven
        (other_index, tree.proof(1)),
    ):
        with pytest.raises(
            ContractRevert, match=rf"ContentRegistryInvalidProof\(batchId={batch_id}, leafIndex="
        ):
            alice.narrow_leaf(batch_id, bad_leaf, proof, TRAIN, leaf.expiry)
    assert not alice.leaf_consent(batch_id, 1).changed
    assert not alice.leaf_consent(batch_id, 2).changed


def test_leaves_of_a_shared_batch_must_carry_the_shared_terms(chain: Chain) -> None:
    leaves = _leaves(4)
    alice, batch_id, tree = _batch(chain, leaves, shared=True)
    other = Leaf(1, leaves[1].cid, leaves[1].sha256, leaves[1].size, MIT, leaves[1].consent, 0)
    with pytest.raises(
        ContractRevert, match=rf"ContentRegistryLeafTermsMismatch\(batchId={batch_id}, leafIndex=1\)"
    ):
        alice.narrow_leaf(batch_id, other, tree.proof(1), TRAIN, 0)
    alice.narrow_leaf(batch_id, leaves[1], tree.proof(1), TRAIN, 0)
    assert alice.leaf_consent(batch_id, 1).consent == TRAIN


def test_leaf_index_must_be_within_the_batch(chain: Chain) -> None:
    leaves = _per_leaf(3)
    alice, batch_id, _tree = _batch(chain, leaves)
    beyond = Leaf(3, leaves[0].cid, leaves[0].sha256, 1, MIT, TRAIN, 0)
    with pytest.raises(
        ContractRevert, match=r"ContentRegistryLeafIndexOutOfRange\(batchId=1, leafIndex=3, count=3\)"
    ):
        alice.narrow_leaf(batch_id, beyond, [], TRAIN, 0)
    with pytest.raises(ContractRevert, match="ContentRegistryLeafIndexOutOfRange"):
        alice.revoke_leaf(batch_id, 3)


def test_only_the_batch_contributor_changes_leaf_consent(chain: Chain) -> None:
    leaves = _per_leaf(3)
    _alice, batch_id, tree = _batch(chain, leaves)
    mallory = _contributor(chain, 2)
    stranger = _registry(chain, 3)  # not even registered
    for other in (mallory, stranger):
        with pytest.raises(ContractRevert, match="ContentRegistryNotContributor"):
            other.narrow_leaf(batch_id, leaves[0], tree.proof(0), TRAIN, 2**40)
        with pytest.raises(ContractRevert, match="ContentRegistryNotContributor"):
            other.revoke_leaf(batch_id, 0)
    assert not mallory.is_leaf_revoked(batch_id, 0)


def test_leaf_consent_changes_on_unknown_batches_revert(chain: Chain) -> None:
    alice = _contributor(chain)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownBatch\(batchId=9\)"):
        alice.narrow_leaf(9, _leaves(1)[0], [], TRAIN, 0)
    with pytest.raises(ContractRevert, match=r"ContentRegistryUnknownBatch\(batchId=9\)"):
        alice.revoke_leaf(9, 0)


# --- per-leaf revocation ------------------------------------------------------------------------------------


def test_revoking_a_leaf_sets_only_its_bit_and_is_final(chain: Chain) -> None:
    leaves = _leaves(300, "big")
    alice, batch_id, tree = _batch(chain, leaves, shared=True)
    alice.narrow_leaf(batch_id, leaves[255], tree.proof(255), TRAIN, 0)
    for index in (0, 255, 256, 299):
        r = alice.revoke_leaf(batch_id, index)
        changed = r.event(LeafConsentChanged)
        assert changed == LeafConsentChanged(
            changed.at,
            batch_id=batch_id,
            contributor=chain.signers[1].address.lower(),
            leaf_index=index,
            consent=0,
            expiry=0,
        )
    revoked = {i for i in (0, 1, 254, 255, 256, 257, 298, 299) if alice.is_leaf_revoked(batch_id, i)}
    assert revoked == {0, 255, 256, 299}
    state = alice.leaf_consent(batch_id, 255)
    assert (state.changed, state.consent, state.expiry, state.revoked) == (True, 0, 0, True)
    with pytest.raises(
        ContractRevert, match=rf"ContentRegistryLeafRevoked\(batchId={batch_id}, leafIndex=256\)"
    ):
        alice.revoke_leaf(batch_id, 256)
    with pytest.raises(ContractRevert, match="ContentRegistryLeafRevoked"):
        alice.narrow_leaf(batch_id, leaves[0], tree.proof(0), TRAIN, 0)
    # Revoking needs no proof; narrowing a live neighbour still works.
    alice.narrow_leaf(batch_id, leaves[1], tree.proof(1), TRAIN, 0)


# --- events are enough --------------------------------------------------------------------------------------


def test_state_rebuilt_from_logs_alone_matches_the_contract(chain: Chain) -> None:
    """Fold every registry log into state, as the indexer will, and compare with the contract's views."""
    admin = _registry(chain)
    admin.set_license("Unlicense", 1, True)
    alice, bob = _contributor(chain, 1), _contributor(chain, 2)
    bob.update_profile("ipfs://bob-v2")
    d1, d2 = hashlib.sha256(b"one").digest(), hashlib.sha256(b"two").digest()
    alice.submit_item(cid_v1_raw(d1), d1, 11, CC_BY, TRAIN | COMMERCIAL, _now(chain) + 99)
    bob.submit_item(cid_v0(d2), d2, 22, MIT, TRAIN)
    alice.narrow_consent(1, TRAIN, _now(chain) + 50)
    bob.revoke_consent(2)
    leaves = _per_leaf(4)
    tree = MerkleTree.from_leaves(leaves)
    alice.submit_batch(leaves, MANIFEST)
    alice.narrow_leaf(1, leaves[1], tree.proof(1), TRAIN, 7)
    alice.revoke_leaf(1, 2)
    admin.set_license("Unlicense", 1, False)

    licenses: dict[int, tuple[str, int, bool]] = {}
    profiles: dict[str, tuple[int, str]] = {}
    items: dict[int, dict[str, Any]] = {}
    batches: dict[int, dict[str, Any]] = {}
    leaf_terms: dict[tuple[int, int], tuple[int, int]] = {}
    topics = {keccak(text=_signature(e)): e["name"] for e in admin.contract.abi if e["type"] == "event"}
    logs = chain.w3.eth.get_logs({"address": admin.address, "fromBlock": 0, "toBlock": "latest"})
    for log in logs:
        name = topics[bytes(log["topics"][0])]
        ev = dict(admin.contract.events[name]().process_log(log)["args"])
        if name == "LicenseSet":
            licenses[ev["licenseId"]] = (ev["spdx"], ev["classes"], ev["allowed"])
        elif name in ("ContributorRegistered", "ProfileUpdated"):
            profiles[ev["contributor"]] = (ev["contributorId"], ev["profileURI"])
        elif name == "ItemSubmitted":
            items[ev["itemId"]] = ev
        elif name == "ItemConsentChanged":
            items[ev["itemId"]] |= {"consent": ev["consent"], "expiry": ev["expiry"]}
        elif name == "BatchSubmitted":
            batches[ev["batchId"]] = ev
        elif name == "LeafConsentChanged":
            leaf_terms[(ev["batchId"], ev["leafIndex"])] = (ev["consent"], ev["expiry"])

    assert [(i, *lic) for i, lic in sorted(licenses.items())] == [
        (r.license_id, r.spdx, r.classes, r.allowed) for r in admin.licenses()
    ]
    assert profiles[chain.signers[2].address] == (2, "ipfs://bob-v2")
    for addr, (cid, _uri) in profiles.items():
        assert admin.contributor_id(addr) == cid
    assert len(items) == admin.item_count()
    for item_id, ev in items.items():
        rec = admin.item(item_id)
        assert (ev["contributor"], ev["size"], ev["licenseId"], ev["consent"], ev["expiry"]) == (
            rec.contributor,
            rec.size,
            rec.license_id,
            rec.consent,
            rec.expiry,
        )
        assert admin.item_id_by_cid(ev["cid"]) == item_id
    assert len(batches) == admin.batch_count()
    for batch_id, ev in batches.items():
        rec = admin.batch(batch_id)
        assert (ev["contributor"], ev["root"], ev["count"], ev["licenseId"]) == (
            rec.contributor,
            rec.root,
            rec.count,
            rec.license_id,
        )
        assert MerkleTree.from_leaves(leaves).root == ev["root"]  # the manifest's leaves verify
    for (batch_id, index), (consent, expiry) in leaf_terms.items():
        state = admin.leaf_consent(batch_id, index)
        assert (state.consent, state.expiry) == (consent, expiry)
    assert leaf_terms == {(1, 1): (TRAIN, 7), (1, 2): (0, 0)}


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
