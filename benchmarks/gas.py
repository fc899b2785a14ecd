"""Benchmark: gas of CurationVoting beside OpenZeppelin's Governor, same token, voters, compiler and EVM."""

from __future__ import annotations

import argparse
import hashlib
import json

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.chain.accounts import Signer, dev_signers
from backend.chain.ballots import sign_ballot
from backend.chain.connection import connect
from backend.chain.contract import ContractClient, Receipt, deploy_contract
from backend.chain.deployment import deploy_all
from backend.chain.registry import RegistryClient
from backend.chain.signatures import WALLET_CHECK_GAS
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from curation.ballots import EIP712_DOMAIN_FIELDS, SignedBallot
from curation.cid import cid_v1_raw
from curation.events import BallotSkipped, DatasetCreated, ProposalCreated, VoteCast
from curation.governance import ProposalKind, Support

VOTES = 1_000 * 10**18
PERIOD = 2_000
REASON = "consistent with the dataset's intended use"
LOOPING_RUNTIME = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP: loops until out of gas
DESCRIPTION = "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy include item 1"


class OZClient(ContractClient):
    """Just enough of OpenZeppelin's Governor for the benchmark."""

    artifact = "OZGovernor"

    def propose(self, target: str, calldata: bytes, description: str) -> Receipt:
        return self._transact("propose", [target], [0], [calldata], description, gas=600_000)

    def proposal_id(self, target: str, calldata: bytes, description: str) -> int:
        """The id `propose` gives (the one OZ's ProposalCreated carries): receipts decode only the events of
        curation.events, so it is asked of the contract."""
        return int(self._call("hashProposal", [target], [0], [calldata], Web3.keccak(text=description)))

    def cast_vote(self, pid: int, support: int, signer: Signer) -> Receipt:
        return self._transact("castVote", pid, support, gas=300_000, signer=signer)

    def cast_vote_with_reason(self, pid: int, support: int, reason: str, signer: Signer) -> Receipt:
        return self._transact("castVoteWithReason", pid, support, reason, gas=300_000, signer=signer)

    def cast_vote_by_sig(self, pid: int, support: int, voter: str, signature: bytes) -> Receipt:
        return self._transact("castVoteBySig", pid, support, voter, signature, gas=300_000)

    def execute(self, target: str, calldata: bytes, description: str) -> Receipt:
        desc_hash = Web3.keccak(text=description)
        return self._transact("execute", [target], [0], [calldata], desc_hash, gas=300_000)

    def sign(self, acct: LocalAccount, pid: int, support: int) -> bytes:
        nonce = int(self._call("nonces", acct.address))
        data = {
            "types": {
                "EIP712Domain": list(EIP712_DOMAIN_FIELDS),
                "Ballot": [
                    {"name": "proposalId", "type": "uint256"},
                    {"name": "support", "type": "uint8"},
                    {"name": "voter", "type": "address"},
                    {"name": "nonce", "type": "uint256"},
                ],
            },
            "primaryType": "Ballot",
            "domain": {
                "name": "OZGovernor",
                "version": "1",
                "chainId": self.w3.eth.chain_id,
                "verifyingContract": self.address,
            },
            "message": {"proposalId": pid, "support": support, "voter": acct.address, "nonce": nonce},
        }
        return bytes(acct.sign_message(encode_typed_data(full_message=data)).signature)


class Bench:
    def __init__(self) -> None:
        self.w3 = connect(None)
        self.signers = dev_signers(self.w3)
        self.admin = self.signers[0]
        dep = deploy_all(self.w3, self.admin)
        self.token = TokenClient(self.w3, dep.address("CurationToken"), self.admin)
        self.ours = VotingClient(self.w3, dep.address("CurationVoting"), self.admin)
        self.registry = RegistryClient(self.w3, dep.address("ContentRegistry"), self.admin)
        gov = deploy_contract(self.w3, self.admin, "OZGovernor", self.token.address, 1, PERIOD, 0, 4)
        self.oz = OZClient(self.w3, gov.address, self.admin)
        self.dataset = (
            self.ours.create_dataset(
                "bench",
                cid_v1_raw(hashlib.sha256(b"bench").digest()),
                1,
                DatasetParams(voting_delay=1, voting_period=PERIOD, quorum_bps=400, approval_bps=5000),
            )
            .event(DatasetCreated)
            .dataset_id
        )
        self.registry.register("")
        digest = hashlib.sha256(b"bench item").digest()
        self.item = RegistryClient.submitted_id(
            self.registry.submit_item(cid_v1_raw(digest), digest, 1, 1, 0x3F)
        )
        self.target = self.registry.address
        self.calldata = Web3.keccak(text="itemCount()")[:4]  # a view: executing it changes nothing
        self.voters: list[LocalAccount] = []

    def keyed(self, n: int) -> list[LocalAccount]:
        out = []
        for _ in range(n):
            acct: LocalAccount = Account.create()
            self.w3.eth.send_transaction(
                {"from": self.admin.address, "to": acct.address, "value": 10**17, "gas": 21_000}
            )
            self.token.mint(acct.address, VOTES)
            self.token.with_signer(Signer.from_key(acct.key)).delegate(acct.address)
            out.append(acct)
        return out

    def pair(self) -> tuple[int, int]:
        """A fresh proposal in each system (one item / one target), both open for voting."""
        ours = (
            self.ours.propose(self.dataset, ProposalKind.INCLUDE, [self.item])
            .event(ProposalCreated)
            .proposal_id
        )
        description = DESCRIPTION + f" #{ours}"
        self.oz.propose(self.target, self.calldata, description)
        oz = self.oz.proposal_id(self.target, self.calldata, description)
        self.w3.testing.mine(2)
        return ours, oz

    def vote_both(self, ours: int, oz: int, acct: LocalAccount, how: str) -> tuple[int, int]:
        signer = Signer.from_key(acct.key)
        if how == "castVote":
            a = self.ours.with_signer(signer).cast_vote(ours, Support.FOR)
            b = self.oz.cast_vote(oz, 1, signer)
        elif how == "castVoteWithReason":
            a = self.ours.with_signer(signer).cast_vote(ours, Support.FOR, REASON)
            b = self.oz.cast_vote_with_reason(oz, 1, REASON, signer)
        else:
            a = self.ours.cast_vote_by_sig(
                sign_ballot(acct, self.ours.ballot(ours, Support.FOR, acct.address))
            )
            b = self.oz.cast_vote_by_sig(oz, 1, acct.address, self.oz.sign(acct, oz, 1))
        return a.gas_used, b.gas_used

    def relay(self, pid: int, accts: list[LocalAccount], hostile: str | None = None) -> int:
        ballots = [sign_ballot(a, self.ours.ballot(pid, Support.FOR, a.address)) for a in accts]
        if hostile is not None:  # a contract wallet's ballot, in the middle of the batch
            unsigned = self.ours.ballot(pid, Support.FOR, hostile)
            ballots.insert(len(ballots) // 2, SignedBallot(**unsigned.model_dump(), signature=b"\x01" * 65))
        receipt = self.ours.relay_ballots(ballots)
        assert len(receipt.all(VoteCast)) == len(accts), "every benchmark ballot must count"
        assert len(receipt.all(BallotSkipped)) == (hostile is not None), "only the wallet's ballot is skipped"
        return receipt.gas_used

    def looping_wallet(self) -> str:
        """A contract whose every call loops until it runs out of gas (runtime JUMPDEST PUSH1 0 JUMP)."""
        initcode = "0x63" + LOOPING_RUNTIME.hex() + "600052" + "6004601cf3"  # MSTORE it, RETURN 4 bytes
        tx = self.w3.eth.send_transaction({"from": self.admin.address, "data": initcode, "gas": 100_000})
        address = self.w3.eth.get_transaction_receipt(tx)["contractAddress"]
        assert address is not None
        assert bytes(self.w3.eth.get_code(address)) == LOOPING_RUNTIME
        return str(address)

    def run(self) -> dict[str, dict[str, int]]:
        ours: dict[str, int] = {}
        oz: dict[str, int] = {}
        direct = self.keyed(4)  # castVote x2, castVoteWithReason, castVoteBySig
        relayed = self.keyed(71)  # batches of 1, 10 and 50, and 10 beside a hostile wallet
        fresh = self.keyed(53)  # first-ever voters: castVote, castVoteBySig, relay of 50 (+ 1 spare)

        # Warm-up: every returning voter votes once in each system, the same way it will be measured.
        w_ours, w_oz = self.pair()
        for acct, how in zip(
            direct, ["castVote", "castVote", "castVoteWithReason", "castVoteBySig"], strict=True
        ):
            self.vote_both(w_ours, w_oz, acct, how)
        for acct in relayed:
            self.vote_both(w_ours, w_oz, acct, "castVoteBySig")

        # Measured proposals.
        p_ours, p_oz = self.pair()
        ours["propose"] = int(self.ours.propose(self.dataset, ProposalKind.INCLUDE, [self.item]).gas_used)
        oz["propose"] = int(self.oz.propose(self.target, self.calldata, DESCRIPTION + " measured").gas_used)
        ours["castVote_first_on_proposal"], oz["castVote_first_on_proposal"] = self.vote_both(
            p_ours, p_oz, direct[0], "castVote"
        )
        ours["castVote"], oz["castVote"] = self.vote_both(p_ours, p_oz, direct[1], "castVote")
        ours["castVoteWithReason"], oz["castVoteWithReason"] = self.vote_both(
            p_ours, p_oz, direct[2], "castVoteWithReason"
        )
        ours["castVoteBySig"], oz["castVoteBySig"] = self.vote_both(p_ours, p_oz, direct[3], "castVoteBySig")
        ours["relay1_per_vote"] = self.relay(p_ours, relayed[:1])
        ours["relay10_total"] = self.relay(p_ours, relayed[1:11])
        ours["relay10_per_vote"] = ours["relay10_total"] // 10
        ours["relay50_per_vote"] = self.relay(p_ours, relayed[11:61]) // 50
        # What a wallet whose isValidSignature loops forever adds to a batch: its capped allowance
        # (WALLET_CHECK_GAS) and the ballot's own cost; the batch still counts.
        with_wallet = self.relay(p_ours, relayed[61:71], hostile=self.looping_wallet())
        ours["relay10_looping_wallet_extra"] = with_wallet - ours["relay10_total"]

        # First-ever voters (no earlier vote in either system: fresh has-voted word here, fresh nonce there).
        ours["castVote_first_ever"], oz["castVote_first_ever"] = self.vote_both(
            p_ours, p_oz, fresh[0], "castVote"
        )
        ours["castVoteBySig_first_ever"], oz["castVoteBySig_first_ever"] = self.vote_both(
            p_ours, p_oz, fresh[1], "castVoteBySig"
        )
        ours["relay50_first_ever_per_vote"] = self.relay(p_ours, fresh[2:52]) // 50

        deadline = self.ours.get_proposal(p_ours).deadline
        self.w3.testing.mine(deadline - self.w3.eth.block_number + 1)
        ours["finalize"] = self.ours.finalize(p_ours).gas_used
        oz["execute"] = self.oz.execute(self.target, self.calldata, DESCRIPTION + f" #{p_ours}").gas_used
        return {"ours": ours, "oz": oz}


TARGETS = {"castVote": 0.85, "castVoteBySig": 0.85}
#: A hostile wallet's ballot may cost the relayer its capped allowance plus the ballot's own few thousand gas.
WALLET_TARGET = 1.05


def render(result: dict[str, dict[str, int]]) -> str:
    ours, oz = result["ours"], result["oz"]
    rows = [f"{'operation':32} {'ours':>10} {'OpenZeppelin':>13} {'ratio':>7}  target"]
    for key in sorted(set(ours) | set(oz), key=lambda k: (k not in oz, k)):
        a, b = ours.get(key), oz.get(key)
        ratio = f"{a / b:.3f}" if a is not None and b else ""
        target = f"<= {TARGETS[key]:.2f}" if key in TARGETS else ""
        rows.append(
            f"{key:32} {a if a is not None else '-':>10} {b if b is not None else '-':>13} {ratio:>7}  {target}"
        )
    relay = ours["relay50_per_vote"] / oz["castVoteBySig"]
    rows.append(f"{'relay50_per_vote / oz castVoteBySig':32} {'':>10} {'':>13} {relay:7.3f}  <= 0.40")
    wallet = ours["relay10_looping_wallet_extra"] / WALLET_CHECK_GAS
    rows.append(
        f"{'looping wallet / WALLET_CHECK_GAS':32} {'':>10} {'':>13} {wallet:7.3f}  <= {WALLET_TARGET:.2f}"
    )
    return "\n".join(rows)


def check(result: dict[str, dict[str, int]]) -> list[str]:
    ours, oz = result["ours"], result["oz"]
    failed = [k for k, t in TARGETS.items() if ours[k] > t * oz[k]]
    if ours["relay50_per_vote"] > 0.40 * oz["castVoteBySig"]:
        failed.append("relay50_per_vote")
    if ours["relay10_looping_wallet_extra"] > WALLET_TARGET * WALLET_CHECK_GAS:
        failed.append("relay10_looping_wallet_extra")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    result = Bench().run()
    print("gas used per transaction (per vote for relayN); embedded py-evm, solc 0.8.28, runs 1000, cancun")
    print(render(result))
    failed = check(result)
    if failed:
        print(f"targets missed: {', '.join(failed)}")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
