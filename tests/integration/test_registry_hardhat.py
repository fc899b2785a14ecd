"""ContentRegistry on a real Hardhat node: deploy, register, submit an item and a batch, narrow and revoke."""

from __future__ import annotations

import hashlib

import pytest

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.registry import RegistryClient
from backend.errors import ChainError, ContractRevert
from curation.cid import cid_v1_raw
from curation.consent import Consent
from curation.events import ItemSubmitted
from curation.merkle import Leaf, MerkleTree
from tests.integration.hardhat import HardhatNode

pytestmark = pytest.mark.integration


def _assert_reverted_with(exc: ChainError, name: str) -> None:
    """Hardhat rejects a reverting transaction with nested error data; it must decode to the named error."""
    assert isinstance(exc, ContractRevert), repr(exc)
    assert exc.error_name == name, str(exc)


def test_deploy_and_submit_on_hardhat(hardhat: HardhatNode) -> None:
    snapshot = hardhat.rpc("evm_snapshot")
    try:
        w3 = connect(hardhat.url)
        signers = dev_signers(w3)
        deployment = deploy_all(w3, signers[0])
        assert deployment.chain_id == 31337
        alice = RegistryClient(w3, deployment.address("ContentRegistry"), signers[1])
        license_id = alice.license_id_of("CC-BY-4.0")
        assert license_id != 0

        alice.register("ipfs://alice")
        d = hashlib.sha256(b"hello hardhat").digest()
        train_gen = int(Consent.TRAIN | Consent.GENERATIVE)
        item = alice.submit_item(cid_v1_raw(d), d, 13, license_id, train_gen)
        item_id = alice.submitted_id(item)
        assert item.event(ItemSubmitted).cid == cid_v1_raw(d).to_bytes()
        with pytest.raises(ChainError) as dup:
            alice.submit_item(cid_v1_raw(d), d, 13, license_id, int(Consent.TRAIN))
        _assert_reverted_with(dup.value, "ContentRegistryDuplicateCid")

        leaves = []
        for i in range(10):
            digest = hashlib.sha256(f"leaf {i}".encode()).digest()
            leaves.append(Leaf(i, cid_v1_raw(digest).to_bytes(), digest, 100, license_id, train_gen, 0))
        tree = MerkleTree.from_leaves(leaves)
        batch_id = alice.submitted_id(alice.submit_batch(leaves, cid_v1_raw(b"\x01" * 32), shared=True))
        assert alice.batch(batch_id).root == tree.root
        assert alice.batch_count() == 1
        assert alice.item_count() == 1

        alice.narrow_consent(item_id, int(Consent.TRAIN), 0)
        alice.narrow_leaf(batch_id, leaves[4], tree.proof(4), int(Consent.TRAIN), 0)
        alice.revoke_leaf(batch_id, 5)
        with pytest.raises(ChainError) as bad_proof:
            alice.narrow_leaf(batch_id, leaves[6], tree.proof(7), int(Consent.TRAIN), 0)
        _assert_reverted_with(bad_proof.value, "ContentRegistryInvalidProof")
        assert alice.verify_leaf(batch_id, leaves[6], tree.proof(6))
        with pytest.raises(ContractRevert, match="ContentRegistryUnknownItem"):  # eth_call reverts decode
            alice.item(999)
        assert alice.item(item_id).consent == int(Consent.TRAIN)
        assert alice.leaf_consent(batch_id, 4).consent == int(Consent.TRAIN)
        assert alice.is_leaf_revoked(batch_id, 5)
        assert not alice.is_leaf_revoked(batch_id, 6)
    finally:
        hardhat.rpc("evm_revert", [snapshot])
