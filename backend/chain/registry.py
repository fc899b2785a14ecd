"""Typed wrapper of ContentRegistry: contributors, items, batches by Merkle root, licenses and consent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.chain.contract import ContractClient, Receipt
from backend.errors import ChainError
from curation.cid import CID, parse_cid
from curation.errors import InvalidInput
from curation.events import BatchSubmitted, ItemSubmitted
from curation.merkle import Leaf, MerkleTree

__all__ = [
    "PER_LEAF",
    "BatchRecord",
    "ItemRecord",
    "LeafConsent",
    "LicenseRecord",
    "RegistryClient",
    "cid_bytes",
]

#: Per-leaf terms marker: a batch submitted with license id 0 carries license, consent and expiry per leaf.
PER_LEAF = 0

# Gas limits: generous upper bounds (only gas used is charged); proofs add about 2,000 per level.
_GAS_SMALL = 120_000
_GAS_SUBMIT = 250_000
_GAS_STRING = 400_000
_GAS_LEAF_BASE = 200_000
_GAS_PER_PROOF_STEP = 4_000


@dataclass(frozen=True)
class ItemRecord:
    """An item as stored on-chain (CID and sha256 are only in its ItemSubmitted event)."""

    contributor: str
    size: int
    license_id: int
    consent: int
    expiry: int

    @property
    def revoked(self) -> bool:
        return self.consent == 0


@dataclass(frozen=True)
class BatchRecord:
    """A batch as stored on-chain; `license_id` 0 means per-leaf terms."""

    contributor: str
    root: bytes
    count: int
    license_id: int
    consent: int
    expiry: int

    @property
    def per_leaf(self) -> bool:
        return self.license_id == PER_LEAF


@dataclass(frozen=True)
class LicenseRecord:
    """An allowlist entry: SPDX id, class flags (curation.licenses.LicenseClass), whether it is allowed."""

    license_id: int
    spdx: str
    classes: int
    allowed: bool


@dataclass(frozen=True)
class LeafConsent:
    """Consent of one batch leaf as changed on-chain; `changed` False: the leaf's own terms still hold."""

    changed: bool
    consent: int
    expiry: int

    @property
    def revoked(self) -> bool:
        return self.changed and self.consent == 0


def cid_bytes(cid: str | bytes | CID) -> bytes:
    """Binary form of a CID: text and CID objects are parsed (InvalidInput when text does not parse);
    bytes are sent as given, so the contract judges their structure."""
    if isinstance(cid, bytes | bytearray):
        return bytes(cid)
    return parse_cid(cid).to_bytes()


class RegistryClient(ContractClient):
    """ContentRegistry: one typed method per contract function, plus batch helpers."""

    artifact = "ContentRegistry"

    # --- license allowlist ------------------------------------------------------------------------------
    def set_license(self, spdx: str, classes: int, allowed: bool) -> Receipt:
        """Add or update a license (license-manager role); the id is `receipt.event(LicenseSet).license_id`."""
        return self._transact("setLicense", spdx, int(classes), allowed, gas=_GAS_STRING)

    def set_license_manager(self, account: str, allowed: bool) -> Receipt:
        return self._transact("setLicenseManager", account, allowed, gas=_GAS_SMALL)

    # --- contributors -----------------------------------------------------------------------------------
    def register(self, profile_uri: str = "") -> Receipt:
        """Register the signer as a contributor (needed before any submission)."""
        return self._transact("register", profile_uri, gas=_GAS_STRING)

    def update_profile(self, profile_uri: str) -> Receipt:
        return self._transact("updateProfile", profile_uri, gas=_GAS_STRING)

    # --- submission -------------------------------------------------------------------------------------
    def submit_item(
        self,
        cid: str | bytes | CID,
        sha256: bytes,
        size: int,
        license_id: int,
        consent: int,
        expiry: int = 0,
    ) -> Receipt:
        """Submit one item; its id is `receipt.event(ItemSubmitted).item_id`."""
        return self._transact(
            "submitItem", cid_bytes(cid), sha256, size, license_id, int(consent), expiry, gas=_GAS_SUBMIT
        )

    def submit_batch_root(
        self,
        root: bytes,
        count: int,
        manifest_cid: str | bytes | CID,
        license_id: int = PER_LEAF,
        consent: int = 0,
        expiry: int = 0,
    ) -> Receipt:
        """Submit a batch by an already computed root (`submit_batch` computes it from the leaves)."""
        return self._transact(
            "submitBatch",
            root,
            count,
            cid_bytes(manifest_cid),
            license_id,
            int(consent),
            expiry,
            gas=_GAS_SUBMIT,
        )

    def submit_batch(
        self, leaves: Sequence[Leaf], manifest_cid: str | bytes | CID, shared: bool = False
    ) -> Receipt:
        """Submit `leaves` (indices 0..n-1) by their Merkle root (curation.merkle).

        `shared=True` declares the terms of the first leaf as the batch's shared terms; every leaf must then
        carry the same license, consent and expiry (InvalidInput otherwise). Otherwise the batch has per-leaf
        terms.
        """
        tree = MerkleTree.from_leaves(leaves)
        if not shared:
            return self.submit_batch_root(tree.root, len(tree), manifest_cid)
        terms = {(leaf.license_id, leaf.consent, leaf.expiry) for leaf in leaves}
        if len(terms) != 1:
            raise InvalidInput(
                f"a batch with shared terms needs one license/consent/expiry, leaves carry {terms}"
            )
        ((license_id, consent, expiry),) = terms
        return self.submit_batch_root(tree.root, len(tree), manifest_cid, license_id, consent, expiry)

    # --- consent ----------------------------------------------------------------------------------------
    def narrow_consent(self, item_id: int, consent: int, expiry: int) -> Receipt:
        """Narrow an item's consent (subset mask, expiry no later; 0 = none)."""
        return self._transact("narrowConsent", item_id, int(consent), expiry, gas=_GAS_SMALL)

    def revoke_consent(self, item_id: int) -> Receipt:
        return self._transact("revokeConsent", item_id, gas=_GAS_SMALL)

    def narrow_leaf(
        self, batch_id: int, leaf: Leaf, proof: Sequence[bytes], consent: int, expiry: int
    ) -> Receipt:
        """Narrow one batch leaf's consent, proving the leaf with `proof` (MerkleTree.proof)."""
        gas = _GAS_LEAF_BASE + _GAS_PER_PROOF_STEP * len(proof)
        return self._transact(
            "narrowLeafConsent", batch_id, leaf.as_tuple(), list(proof), int(consent), expiry, gas=gas
        )

    def revoke_leaf(self, batch_id: int, leaf_index: int) -> Receipt:
        return self._transact("revokeLeafConsent", batch_id, leaf_index, gas=_GAS_SMALL)

    # --- reads ------------------------------------------------------------------------------------------
    def admin(self) -> str:
        return str(self._call("admin"))

    def is_license_manager(self, account: str) -> bool:
        return bool(self._call("isLicenseManager", account))

    def license_count(self) -> int:
        return int(self._call("licenseCount"))

    def license(self, license_id: int) -> LicenseRecord:
        spdx, classes, allowed = self._call("license", license_id)
        return LicenseRecord(license_id, str(spdx), int(classes), bool(allowed))

    def license_id_of(self, spdx: str) -> int:
        """Id of license `spdx` (0 if never added)."""
        return int(self._call("licenseIdOf", spdx))

    def licenses(self) -> list[LicenseRecord]:
        """Every license ever added, by id."""
        return [self.license(i) for i in range(1, self.license_count() + 1)]

    def contributor_count(self) -> int:
        return int(self._call("contributorCount"))

    def contributor_id(self, account: str) -> int:
        """Contributor id of `account` (0 if not registered)."""
        return int(self._call("contributorId", account))

    def contributor_address(self, contributor_id: int) -> str:
        return str(self._call("contributorAddress", contributor_id))

    def item_count(self) -> int:
        return int(self._call("itemCount"))

    def batch_count(self) -> int:
        return int(self._call("batchCount"))

    def item(self, item_id: int) -> ItemRecord:
        contributor, size, license_id, consent, expiry = self._call("item", item_id)
        return ItemRecord(str(contributor), int(size), int(license_id), int(consent), int(expiry))

    def item_id_by_cid(self, cid: str | bytes | CID) -> int:
        """Item id registered under `cid` in either CID version (0 if none)."""
        return int(self._call("itemIdByCid", cid_bytes(cid)))

    def batch(self, batch_id: int) -> BatchRecord:
        contributor, root, count, license_id, consent, expiry = self._call("batch", batch_id)
        return BatchRecord(
            str(contributor), bytes(root), int(count), int(license_id), int(consent), int(expiry)
        )

    def batch_id_by_root(self, root: bytes) -> int:
        return int(self._call("batchIdByRoot", root))

    def leaf_consent(self, batch_id: int, leaf_index: int) -> LeafConsent:
        changed, consent, expiry = self._call("leafConsent", batch_id, leaf_index)
        return LeafConsent(bool(changed), int(consent), int(expiry))

    def is_leaf_revoked(self, batch_id: int, leaf_index: int) -> bool:
        return bool(self._call("isLeafRevoked", batch_id, leaf_index))

    def leaf_hash(self, leaf: Leaf) -> bytes:
        """The contract's hash of `leaf` (equals `leaf.hash()`; a cross-check of the encoding)."""
        return bytes(self._call("leafHash", leaf.as_tuple()))

    def verify_leaf(self, batch_id: int, leaf: Leaf, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyLeaf", batch_id, leaf.as_tuple(), list(proof)))

    # --- helpers ----------------------------------------------------------------------------------------
    @staticmethod
    def submitted_id(receipt: Receipt) -> int:
        """The item or batch id a submission receipt carries."""
        for item in receipt.all(ItemSubmitted):
            return item.item_id
        for batch in receipt.all(BatchSubmitted):
            return batch.batch_id
        raise ChainError(f"transaction {receipt.tx_hash} submitted neither an item nor a batch")
