"""Shared set-up for the CurationVoting tests: keyed voters, registry content, datasets, proposals, mining."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.chain.accounts import Signer
from backend.chain.ballots import sign_ballot
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from curation.ballots import SignedBallot
from curation.cid import cid_v1_raw
from curation.consent import Consent
from curation.events import DatasetCreated, ProposalCreated
from curation.governance import ProposalKind, Support
from tests.conftest import Chain

DESCRIPTION = cid_v1_raw(hashlib.sha256(b"dataset description").digest())
USE = int(Consent.TRAIN | Consent.COMMERCIAL)
CC0 = 1  # license ids follow the sorted default allowlist; 1 is an allowed open license


@dataclass
class World:
    """The deployed system plus helpers; every test gets a fresh one (the chain fixture reverts)."""

    chain: Chain
    token: TokenClient = field(init=False)
    voting: VotingClient = field(init=False)
    registry: RegistryClient = field(init=False)
    _contributor: bool = False

    def __post_init__(self) -> None:
        d, admin = self.chain.deployment, self.chain.admin
        self.token = TokenClient(self.chain.w3, d.address("CurationToken"), admin)
        self.voting = VotingClient(self.chain.w3, d.address("CurationVoting"), admin)
        self.registry = RegistryClient(self.chain.w3, d.address("ContentRegistry"), admin)

    @property
    def w3(self):  # type: ignore[no-untyped-def]
        return self.chain.w3

    @property
    def block(self) -> int:
        return int(self.chain.w3.eth.block_number)

    # --- accounts -----------------------------------------------------------------------------------------
    def keyed(self, votes: int = 0, eth: int = 10**18) -> LocalAccount:
        """A new key with ETH, `votes` tokens minted and delegated to itself."""
        acct: LocalAccount = Account.create()
        self.w3.eth.send_transaction(
            {"from": self.chain.admin.address, "to": acct.address, "value": eth, "gas": 21_000}
        )
        if votes:
            self.token.mint(acct.address, votes)
        self.token.with_signer(Signer.from_key(acct.key)).delegate(acct.address)
        return acct

    def dev(self, index: int, votes: int) -> Signer:
        """Unlocked dev account `index` with `votes` tokens, self-delegated."""
        s = self.chain.signers[index]
        if votes:
            self.token.mint(s.address, votes)
        self.token.with_signer(s).delegate(s.address)
        return s

    # --- content ------------------------------------------------------------------------------------------
    def items(self, n: int) -> list[int]:
        if not self._contributor:
            self.registry.register("ipfs://contributor")
            self._contributor = True
        ids = []
        for _ in range(n):
            digest = hashlib.sha256(f"item {self.registry.item_count()}".encode()).digest()
            r = self.registry.submit_item(cid_v1_raw(digest), digest, 1000, CC0, 0x3F)
            ids.append(RegistryClient.submitted_id(r))
        return ids

    def batches(self, n: int) -> list[int]:
        if not self._contributor:
            self.registry.register("ipfs://contributor")
            self._contributor = True
        ids = []
        for _ in range(n):
            root = hashlib.sha256(f"batch {self.registry.batch_count()}".encode()).digest()
            r = self.registry.submit_batch_root(root, 4, cid_v1_raw(root), CC0, 0x3F)
            ids.append(RegistryClient.submitted_id(r))
        return ids

    # --- governance ---------------------------------------------------------------------------------------
    def dataset(self, params: DatasetParams | None = None, name: str = "commons") -> int:
        r = self.voting.create_dataset(name, DESCRIPTION, USE, params or DatasetParams(voting_period=20))
        return r.event(DatasetCreated).dataset_id

    def propose(
        self,
        dataset_id: int,
        items: list[int] | None = None,
        kind: ProposalKind = ProposalKind.INCLUDE,
        batches: list[int] | None = None,
        by: Signer | None = None,
    ) -> int:
        client = self.voting.with_signer(by) if by else self.voting
        r = client.propose(dataset_id, kind, items if items is not None else self.items(1), batches or [])
        return r.event(ProposalCreated).proposal_id

    def mine_to(self, block: int) -> None:
        """Mine empty blocks until the chain head is `block` (the next transaction lands in `block` + 1)."""
        gap = block - self.block
        assert gap >= 0, f"head {self.block} is already past {block}"
        if gap:
            self.w3.testing.mine(gap)

    def open(self, proposal_id: int) -> None:
        """Make the next transaction the first one that may vote (block snapshot + 1)."""
        self.mine_to(self.voting.get_proposal(proposal_id).snapshot)

    def close(self, proposal_id: int) -> None:
        """Make the next transaction the first one after the deadline."""
        self.mine_to(self.voting.get_proposal(proposal_id).deadline)

    def ballot(self, acct: LocalAccount, proposal_id: int, support: Support = Support.FOR) -> SignedBallot:
        return sign_ballot(acct, self.voting.ballot(proposal_id, support, acct.address))
