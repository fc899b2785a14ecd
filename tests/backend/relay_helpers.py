"""Helpers of the gasless tests: wallets without ETH, the calls they make, and a clock the tests move."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.chain.contract import Receipt
from backend.chain.deployment import Deployment
from backend.chain.forwarder import ForwarderClient, PreparedCall, SignedForwardRequest, sign_request
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from curation.cid import cid_v1_raw
from curation.consent import Consent
from curation.merkle import Leaf, MerkleTree

__all__: list[str] = []

#: Fixed keys: wallets that never held ETH (the tests check their balance stays 0).
CAROL: LocalAccount = Account.from_key("0x" + "c1" * 32)
DAVE: LocalAccount = Account.from_key("0x" + "d1" * 32)
MALLORY: LocalAccount = Account.from_key("0x" + "e1" * 32)
TRAIN_GEN = int(Consent.TRAIN | Consent.GENERATIVE)


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Calls:
    """The calls of one deployment, encoded as a gasless client makes them."""

    w3: Web3
    deployment: Deployment

    @property
    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.address("ContentRegistry"))

    @property
    def token(self) -> TokenClient:
        return TokenClient(self.w3, self.deployment.address("CurationToken"))

    @property
    def voting(self) -> VotingClient:
        return VotingClient(self.w3, self.deployment.address("CurationVoting"))

    @property
    def forwarder(self) -> ForwarderClient:
        return ForwarderClient(self.w3, self.deployment.address("CommonsForwarder"))

    def register(self, uri: str = "ipfs://carol") -> PreparedCall:
        return PreparedCall.encode(self.registry, "register", uri)

    def submit(self, tag: str) -> PreparedCall:
        digest = hashlib.sha256(tag.encode()).digest()
        license_id = self.registry.license_id_of("CC-BY-4.0")
        cid = cid_v1_raw(digest).to_bytes()
        return PreparedCall.encode(self.registry, "submitItem", cid, digest, 100, license_id, TRAIN_GEN, 0)

    def narrow(self, item_id: int) -> PreparedCall:
        return PreparedCall.encode(self.registry, "narrowConsent", item_id, int(Consent.TRAIN), 0)

    def revoke(self, item_id: int) -> PreparedCall:
        return PreparedCall.encode(self.registry, "revokeConsent", item_id)

    def batch(self, n: int = 4) -> tuple[PreparedCall, list[Leaf], MerkleTree]:
        license_id = self.registry.license_id_of("CC-BY-4.0")
        leaves = []
        for i in range(n):
            digest = hashlib.sha256(f"leaf {i}".encode()).digest()
            leaves.append(Leaf(i, cid_v1_raw(digest).to_bytes(), digest, 10, license_id, TRAIN_GEN, 0))
        tree = MerkleTree.from_leaves(leaves)
        manifest = cid_v1_raw(hashlib.sha256(b"manifest").digest()).to_bytes()
        call = PreparedCall.encode(
            self.registry, "submitBatch", tree.root, n, manifest, license_id, TRAIN_GEN, 0
        )
        return call, leaves, tree


def signed_for(
    calls: Calls, acct: LocalAccount, call: PreparedCall, *, ttl: int = 600, gas: int | None = None
) -> SignedForwardRequest:
    """`call` from `acct`, built against the chain (nonce, deadline, gas) and signed."""
    fwd = calls.forwarder
    request = fwd.build(call, acct.address, ttl=ttl, gas=gas)
    return sign_request(acct, request, calls.w3.eth.chain_id, fwd.address)


def forward(calls: Calls, acct: LocalAccount, call: PreparedCall, relayer: object) -> Receipt:
    """Check, simulate and execute `call` for `acct`, paid by `relayer` (a Signer)."""
    from backend.chain.accounts import Signer

    assert isinstance(relayer, Signer)
    fwd = calls.forwarder
    signed = signed_for(calls, acct, call)
    fwd.check(signed, min_lifetime=30)
    fwd.simulate(signed, relayer.address, call.label)
    return fwd.execute(signed, relayer, call.contract)
