"""A small governed dataset on the embedded chain, for the release tests (no tests here)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from backend.chain.accounts import Signer
from backend.chain.registry import RegistryClient
from backend.chain.releases import ReleaseClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.contribute import store_batch_manifest
from backend.ipfs import EmbeddedStore
from backend.session import Session
from backend.settings import Settings
from curation.batches import leaf_for_bytes
from curation.consent import Consent
from curation.events import DatasetCreated, ProposalCreated
from curation.governance import ProposalKind
from curation.merkle import Leaf
from curation.unixfs import compute_cid
from tests.conftest import Chain

USE = int(Consent.TRAIN | Consent.COMMERCIAL)
ALL = 0x3F


@dataclass
class Story:
    """Clients bound to the deployment plus helpers that leave a readable chain history."""

    chain: Chain
    store_dir: Path
    token: TokenClient = field(init=False)
    voting: VotingClient = field(init=False)
    registry: RegistryClient = field(init=False)
    releases: ReleaseClient = field(init=False)
    store: EmbeddedStore = field(init=False)

    def __post_init__(self) -> None:
        d, admin, w3 = self.chain.deployment, self.chain.admin, self.chain.w3
        self.token = TokenClient(w3, d.address("CurationToken"), admin)
        self.voting = VotingClient(w3, d.address("CurationVoting"), admin)
        self.registry = RegistryClient(w3, d.address("ContentRegistry"), admin)
        self.releases = ReleaseClient(w3, d.address("ReleaseRegistry"), admin)
        self.store = EmbeddedStore(self.store_dir)

    def session(self, **settings: object) -> Session:
        """The deployment with this story's store; an in-memory index unless `settings` say otherwise."""
        values: dict[str, object] = {"home": self.store_dir.parent / "home", "db": "sqlite://", **settings}
        return Session(
            self.chain.w3, self.chain.deployment, Settings.model_validate(values), store=self.store
        )

    def signer(self, i: int) -> Signer:
        return self.chain.signers[i]

    @property
    def block(self) -> int:
        return int(self.chain.w3.eth.block_number)

    def lic(self, spdx: str) -> int:
        return self.registry.license_id_of(spdx)

    def curator(self, i: int, votes: int) -> Signer:
        s = self.signer(i)
        self.token.mint(s.address, votes)
        self.token.with_signer(s).delegate(s.address)
        return s

    def contributor(self, i: int) -> RegistryClient:
        reg = self.registry.with_signer(self.signer(i))
        reg.register(f"https://example.org/contributor/{i}")
        return reg

    def item(self, reg: RegistryClient, content: bytes, spdx: str = "CC0-1.0", consent: int = ALL) -> int:
        cid = compute_cid(content).cid
        self.store.put_bytes(content)
        r = reg.submit_item(cid, hashlib.sha256(content).digest(), len(content), self.lic(spdx), consent)
        return RegistryClient.submitted_id(r)

    def batch(
        self, reg: RegistryClient, contents: list[bytes], spdx: str = "CC-BY-4.0"
    ) -> tuple[int, list[Leaf]]:
        leaves = [leaf_for_bytes(i, c, self.lic(spdx), ALL) for i, c in enumerate(contents)]
        for content in contents:
            self.store.put_bytes(content)
        stored = store_batch_manifest(self.store, leaves)
        r = reg.submit_batch(leaves, stored.cid)
        return RegistryClient.submitted_id(r), leaves

    def dataset(self, name: str = "open text", use: int = USE) -> int:
        params = DatasetParams(voting_delay=1, voting_period=4, quorum_bps=400, approval_bps=5000)
        r = self.voting.create_dataset(name, compute_cid(name.encode()).cid.encode(), use, params)
        return r.event(DatasetCreated).dataset_id

    def decide(
        self,
        dataset_id: int,
        items: list[int],
        votes: dict[Signer, int],
        batches: list[int] | None = None,
        kind: ProposalKind = ProposalKind.INCLUDE,
    ) -> int:
        """Propose, vote (support per curator), wait out the period, finalize; returns the proposal id."""
        r = self.voting.propose(dataset_id, kind, items, batches or [])
        pid = r.event(ProposalCreated).proposal_id
        info = self.voting.get_proposal(pid)
        gap = info.snapshot - self.block
        if gap > 0:
            self.chain.w3.testing.mine(gap)
        for who, support in votes.items():
            self.voting.with_signer(who).cast_vote(pid, support)
        gap = self.voting.get_proposal(pid).deadline + 1 - self.block
        if gap > 0:
            self.chain.w3.testing.mine(gap)
        self.voting.finalize(pid)
        return pid


def governed(chain: Chain, store_dir: Path) -> tuple[Story, dict[str, int]]:
    """Curators, two contributors, items and a batch (one leaf a duplicate), one dataset, two sources."""
    s = Story(chain, store_dir)
    big, mid, small = s.curator(1, 600), s.curator(2, 300), s.curator(3, 100)
    alice, bob = s.contributor(4), s.contributor(5)
    i1 = s.item(alice, b"alpha " * 50)
    i2 = s.item(alice, b"beta " * 80)
    i3 = s.item(alice, b"gamma non-commercial", spdx="CC-BY-NC-4.0")
    b1, _ = s.batch(bob, [b"leaf zero" * 30, b"alpha " * 50, b"leaf two" * 10])  # leaf 1 duplicates item 1
    ds = s.dataset()
    p1 = s.decide(ds, [i1, i2, i3], {big: 1, mid: 0}, batches=[b1])
    i4 = s.item(bob, b"delta " * 20, spdx="MIT")
    p2 = s.decide(ds, [i4], {big: 1, small: 1})
    return s, {"ds": ds, "i1": i1, "i2": i2, "i3": i3, "i4": i4, "b1": b1, "p1": p1, "p2": p2}
