"""Benchmark: gas of each gasless (forwarded) action beside the same action called directly, same chain and run.

Two wallets do the same sequence of first-time actions on one deployment: one sends its own transactions (it
holds ETH), the other holds none and signs ERC-2771 forward requests that a relayer executes through
CommonsForwarder (OpenZeppelin ERC2771Forwarder). The figure is the gas of the whole transaction each time
(what its payer pays); the difference is the forwarder's overhead: the request's calldata, the EIP-712
signature recovery, the target's isTrustedForwarder check, the request nonce and the ExecutedForwardRequest
event.
"""

from __future__ import annotations

import argparse
import hashlib
import json

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.chain.accounts import Signer, dev_signers
from backend.chain.connection import connect
from backend.chain.contract import ContractClient, Receipt
from backend.chain.deployment import deploy_all
from backend.chain.forwarder import ForwarderClient, PreparedCall, sign_request
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from curation.cid import cid_v1_raw
from curation.consent import Consent
from curation.events import BatchSubmitted, DatasetCreated, ItemSubmitted
from curation.governance import ProposalKind
from curation.merkle import Leaf, MerkleTree

TRAIN_GEN = int(Consent.TRAIN | Consent.GENERATIVE)
#: Most overhead per forwarded action accepted (gas). Measured about 22,000 a request, and 17,000 more for a
#: wallet's first (its forwarder nonce slot goes from zero to one: a fresh SSTORE).
OVERHEAD_TARGET = 45_000


class Bench:
    def __init__(self) -> None:
        self.w3 = connect(None)
        signers = dev_signers(self.w3)
        self.admin, self.relayer = signers[0], signers[1]
        self.dep = deploy_all(self.w3, self.admin)
        self.registry = RegistryClient(self.w3, self.dep.address("ContentRegistry"))
        self.token = TokenClient(self.w3, self.dep.address("CurationToken"), self.admin)
        self.voting = VotingClient(self.w3, self.dep.address("CurationVoting"), self.admin)
        self.forwarder = ForwarderClient(self.w3, self.dep.address("CommonsForwarder"))
        self.license = self.registry.license_id_of("CC-BY-4.0")
        cid = cid_v1_raw(hashlib.sha256(b"bench dataset").digest())
        self.dataset = self.voting.create_dataset("bench", cid, 1).event(DatasetCreated).dataset_id

    def forwarded(self, acct: LocalAccount, call: PreparedCall) -> Receipt:
        request = self.forwarder.build(call, acct.address)
        signed = sign_request(acct, request, self.w3.eth.chain_id, self.forwarder.address)
        self.forwarder.check(signed, min_lifetime=30)
        self.forwarder.simulate(signed, self.relayer.address, call.label)
        return self.forwarder.execute(signed, self.relayer, call.contract)

    def actions(self, acct: LocalAccount, tag: str, send: str) -> dict[str, int]:
        """Every relayed action once, in an order where each one's preconditions hold; gas per action."""
        out: dict[str, int] = {}

        def run(name: str, client: ContractClient, function: str, *args: object) -> Receipt:
            if send == "direct":
                receipt = client.with_signer(Signer.from_key(acct.key))._transact(function, *args)
            else:
                receipt = self.forwarded(acct, PreparedCall.encode(client, function, *args))
            out[name] = receipt.gas_used
            return receipt

        run("register", self.registry, "register", f"ipfs://{tag}")
        run("updateProfile", self.registry, "updateProfile", f"ipfs://{tag}/v2")
        digest = hashlib.sha256(tag.encode()).digest()
        item_args = (cid_v1_raw(digest).to_bytes(), digest, 1000, self.license, TRAIN_GEN, 0)
        item = run("submitItem", self.registry, "submitItem", *item_args).event(ItemSubmitted).item_id
        run("narrowConsent", self.registry, "narrowConsent", item, int(Consent.TRAIN), 0)
        leaves = []
        for i in range(16):
            d = hashlib.sha256(f"{tag} leaf {i}".encode()).digest()
            leaves.append(Leaf(i, cid_v1_raw(d).to_bytes(), d, 100, self.license, TRAIN_GEN, 0))
        tree = MerkleTree.from_leaves(leaves)
        manifest = cid_v1_raw(hashlib.sha256(f"{tag} manifest".encode()).digest()).to_bytes()
        batch = run(
            "submitBatch", self.registry, "submitBatch", tree.root, 16, manifest, self.license, TRAIN_GEN, 0
        ).event(BatchSubmitted)
        run(
            "narrowLeafConsent",
            self.registry,
            "narrowLeafConsent",
            batch.batch_id,
            leaves[3].as_tuple(),
            tree.proof(3),
            int(Consent.TRAIN),
            0,
        )
        run("revokeLeafConsent", self.registry, "revokeLeafConsent", batch.batch_id, 5)
        run("revokeConsent", self.registry, "revokeConsent", item)
        self.token.mint(acct.address, 10**21)
        run("delegate", self.token, "delegate", acct.address)
        run("propose", self.voting, "propose", self.dataset, int(ProposalKind.INCLUDE), [item], [], b"")
        return out

    def run(self) -> dict[str, dict[str, int]]:
        sender: LocalAccount = Account.from_key("0x" + "5e" * 32)  # pays its own gas
        signer: LocalAccount = Account.from_key("0x" + "51" * 32)  # never holds ETH
        self.w3.eth.send_transaction(
            {
                "from": self.admin.address,
                "to": sender.address,
                "value": Web3.to_wei(1, "ether"),
                "gas": 21_000,
            }
        )
        direct = self.actions(sender, "direct", "direct")
        forwarded = self.actions(signer, "forwarded", "forwarded")
        assert self.w3.eth.get_balance(signer.address) == 0, "the forwarded wallet must never need ETH"
        return {"direct": direct, "forwarded": forwarded}


def render(result: dict[str, dict[str, int]]) -> str:
    direct, forwarded = result["direct"], result["forwarded"]
    rows = [f"{'action':20} {'direct':>9} {'forwarded':>10} {'overhead':>9} {'ratio':>6}"]
    for key, a in direct.items():
        b = forwarded[key]
        rows.append(f"{key:20} {a:>9} {b:>10} {b - a:>9} {b / a:6.3f}")
    return "\n".join(rows)


def check(result: dict[str, dict[str, int]]) -> list[str]:
    direct, forwarded = result["direct"], result["forwarded"]
    return [k for k in direct if forwarded[k] - direct[k] > OVERHEAD_TARGET]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    result = Bench().run()
    print(
        "gas used per transaction, direct call vs. through CommonsForwarder (ERC-2771, relayer pays); "
        "embedded py-evm, same run and chain"
    )
    print(render(result))
    print(f"target: overhead <= {OVERHEAD_TARGET:,} gas per action")
    failed = check(result)
    if failed:
        print(f"targets missed: {', '.join(failed)}")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
