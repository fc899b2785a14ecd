"""`curation demo`: the whole story, from contribution to a verified, sampled release, in one process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from backend.chain.accounts import Signer, dev_signers
from backend.chain.ballots import relay, sign_ballot
from backend.chain.blocks import send_value
from backend.chain.connection import connect, mine
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.registry import RegistryClient
from backend.chain.rpc import RpcLimits
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.contribute import change_item_consent, contribute
from backend.errors import ConfigError
from backend.ipfs import open_store
from backend.ipfs.base import ContentStore
from backend.release import build_release, publish_release, verify_release
from backend.session import Session
from backend.settings import Settings
from backend.trainer import PulledDataset, ShardedSampler, TrainerClient, pull
from curation.batches import split_item_id
from curation.consent import Consent, parse_consent
from curation.events import DatasetCreated, ProposalCreated, ProposalFinalized
from curation.governance import ProposalKind, ProposalStatus

__all__ = ["DemoResult", "run_demo"]

TOKEN = 10**18
USE = Consent.TRAIN | Consent.COMMERCIAL

#: Who contributes what: (contributor, files, SPDX license, consent flags, as one batch?).
CONTRIBUTIONS: tuple[tuple[str, tuple[str, ...], str, str, bool], ...] = (
    (
        "alice",
        (
            "aesop-the-fox-and-the-grapes.txt",
            "aesop-the-ant-and-the-grasshopper.txt",
            "aesop-the-north-wind-and-the-sun.txt",
        ),
        "CC0-1.0",
        "train,commercial,generative,evaluation,redistribute",
        False,
    ),
    ("bob", ("commons-on-consent.txt",), "CC0-1.0", "all", False),
    ("bob", ("commons-on-attribution.txt",), "CC-BY-NC-4.0", "train,commercial,redistribute", False),
    ("bob", ("commons-on-governance.txt",), "CC-BY-SA-4.0", "train,commercial,redistribute", False),
    ("carol", ("field-notes-river.txt", "recipe-barley-soup.txt"), "CC-BY-4.0", "train,commercial", True),
    ("dave", ("notes-on-sorting.txt",), "MIT", "train,evaluation", False),
)
CONTRIBUTORS = ("alice", "bob", "carol", "dave")
CURATORS = (("ana", 400), ("ben", 350), ("chen", 250))
PARAMS = DatasetParams(voting_delay=1, voting_period=10, quorum_bps=2000, approval_bps=6000)

DESCRIPTION = (
    "commons-text: short openly licensed English texts (fables, essays, field notes) for training text "
    "models that may be used commercially. Items must grant train and commercial consent under a license "
    "that permits commercial use."
)

Log = Callable[[str], None]


@dataclass
class DemoResult:
    """Everything the demo did, for tables and the final JSON line."""

    chain_id: int = 0
    deployment: Deployment | None = None
    dataset_id: int = 0
    files: dict[int, tuple[str, str, str, str]] = field(
        default_factory=dict
    )  # id -> (file, who, spdx, flags)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    relayed: tuple[int, int] = (0, 0)  # counted, skipped
    events: list[str] = field(default_factory=list)
    release: int = 0
    manifest_cid: str = ""
    manifest_sha256: str = ""
    state_block: int = 0
    weights: dict[int, int] = field(default_factory=dict)
    exclusions: dict[int, str] = field(default_factory=dict)
    verified: bool = False
    verify_differences: list[str] = field(default_factory=list)
    pulled: int = 0
    pull_excluded: dict[int, str] = field(default_factory=dict)
    pull_dir: str = ""
    samples: list[int] = field(default_factory=list)
    release_dir: str = ""
    session: Session | None = None  # chain, deployment, store and settings of the run (for `demo --serve`)

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "dataset_id": self.dataset_id,
            "release": self.release,
            "manifest_cid": self.manifest_cid,
            "manifest_sha256": self.manifest_sha256,
            "weights": {str(k): v for k, v in sorted(self.weights.items())},
        }


def _curator_key(name: str) -> LocalAccount:
    # Deterministic demo keys (never use for anything real): the same ballots, hence the same chain, each run.
    account: LocalAccount = Account.from_key(keccak(text=f"curation-commons demo curator {name}"))
    return account


def _corpus_dir() -> Path:
    return Path(str(resources.files("backend") / "demo_corpus"))


class _Story:
    def __init__(self, w3: Any, store: ContentStore, log: Log, work_dir: Path) -> None:
        self.w3 = w3
        self.store = store
        self.log = log
        self.work_dir = work_dir
        self.result = DemoResult(chain_id=w3.eth.chain_id)
        signers = dev_signers(w3)
        if len(signers) < 1 + len(CONTRIBUTORS):
            raise ConfigError(
                f"the demo needs {1 + len(CONTRIBUTORS)} unlocked accounts, the node has {len(signers)}"
            )
        self.operator = signers[0]
        self.people: dict[str, Signer] = {n: signers[i + 1] for i, n in enumerate(CONTRIBUTORS)}
        self.curators: dict[str, LocalAccount] = {n: _curator_key(n) for n, _ in CURATORS}

    # -- steps -------------------------------------------------------------------------------------------
    def deploy(self) -> Deployment:
        self.log("deploying CurationToken, ContentRegistry, CurationVoting, ReleaseRegistry")
        deployment = deploy_all(self.w3, self.operator)
        self.result.deployment = deployment
        self.registry = RegistryClient(self.w3, deployment.address("ContentRegistry"), self.operator)
        self.token = TokenClient(self.w3, deployment.address("CurationToken"), self.operator)
        self.voting = VotingClient(self.w3, deployment.address("CurationVoting"), self.operator)
        return deployment

    def contribute(self) -> dict[str, list[int]]:
        corpus = _corpus_dir()
        ids: dict[str, list[int]] = {}
        for name in CONTRIBUTORS:
            self.registry.with_signer(self.people[name]).register(f"ipfs://profile-of-{name}")
        for who, files, spdx, flags, batch in CONTRIBUTIONS:
            registry = self.registry.with_signer(self.people[who])
            paths = [corpus / f for f in files]
            done = contribute(registry, self.store, paths, spdx, int(parse_consent(flags)), batch=batch)
            for f in done.files:
                self.result.files[f.item_id] = (f.path.name, who, spdx, flags)
                ids.setdefault(who, []).append(f.item_id)
            what = f"batch {done.batch_id}" if batch else f"{len(done.files)} item(s)"
            self.log(f"{who} contributed {', '.join(files)} as {what} under {spdx}")
        return ids

    def narrow(self, item_id: int) -> None:
        # Alice no longer wants her fable used for generative models: narrowing, still covers this dataset.
        alice = self.registry.with_signer(self.people["alice"])
        flags = int(parse_consent("train,commercial,evaluation,redistribute"))
        change_item_consent(alice, item_id, narrow=flags)
        self.result.files[item_id] = (
            *self.result.files[item_id][:3],
            "train,commercial,evaluation,redistribute",
        )
        self.result.events.append(
            f"alice narrowed item {item_id} to train,commercial,evaluation,redistribute"
        )

    def curators_join(self) -> None:
        for name, amount in CURATORS:
            account = self.curators[name]
            send_value(self.w3, self.operator.address, account.address, TOKEN)
            self.token.mint(account.address, amount * TOKEN)
            self.token.with_signer(Signer(account.address, account)).delegate(account.address)
        self.log(f"minted and self-delegated voting power to {', '.join(n for n, _ in CURATORS)}")

    def create_dataset(self) -> int:
        description = self.store.put_bytes(DESCRIPTION.encode(), pin=True).cid
        receipt = self.voting.create_dataset("commons-text", str(description), int(USE), PARAMS)
        dataset_id = receipt.event(DatasetCreated).dataset_id
        self.result.dataset_id = dataset_id
        self.log(f"created dataset {dataset_id} 'commons-text' for use train,commercial")
        return dataset_id

    def vote(self, ids: dict[str, list[int]]) -> None:
        plan = [
            ("fables", ProposalKind.INCLUDE, ids["alice"], {"ana": "for", "ben": "for", "chen": "against"}),
            (
                "essays",
                ProposalKind.INCLUDE,
                ids["bob"] + ids["dave"],
                {"ana": "for", "ben": "for", "chen": "for"},
            ),
            (
                "field notes",
                ProposalKind.INCLUDE,
                ids["carol"],
                {"ana": "abstain", "ben": "for", "chen": "for"},
            ),
            (
                "drop the ant",
                ProposalKind.REMOVE,
                ids["alice"][1:2],
                {"ana": "against", "ben": "against", "chen": "for"},
            ),
        ]
        carol_batch = sorted({self._batch_of(i) for i in ids["carol"]})
        proposals = []
        proposer = self.voting.with_signer(Signer(self.curators["ana"].address, self.curators["ana"]))
        for title, kind, items, _ in plan:
            batch_ids = carol_batch if title == "field notes" else []
            item_ids = [] if batch_ids else items
            r = proposer.propose(self.result.dataset_id, kind, item_ids, batch_ids)
            proposals.append(r.event(ProposalCreated).proposal_id)
        mine(self.w3, PARAMS.voting_delay + 1)
        ballots = []
        for pid, (_, _, _, votes) in zip(proposals, plan, strict=True):
            for name, support in votes.items():
                account = self.curators[name]
                if name == "ana":  # votes directly, once with a reason
                    client = self.voting.with_signer(Signer(account.address, account))
                    client.cast_vote(pid, support, reason="fits the charter" if pid == proposals[1] else None)
                else:  # signs; the operator relays every signed ballot in one transaction
                    ballots.append(sign_ballot(account, self.voting.ballot(pid, support, account.address)))
        report = relay(self.voting, ballots)
        self.result.relayed = (len(report.counted), len(report.skipped))
        self.log(
            f"ana voted directly; {len(report.counted)} signed ballots relayed in {len(report.receipts)} tx"
        )
        mine(self.w3, PARAMS.voting_period + 1)
        for pid, (title, kind, _, _) in zip(proposals, plan, strict=True):
            event = self.voting.finalize(pid).event(ProposalFinalized)
            self.result.proposals.append(
                {
                    "id": pid,
                    "title": title,
                    "kind": ProposalKind(kind).name,
                    "for": event.for_votes // TOKEN,
                    "against": event.against_votes // TOKEN,
                    "abstain": event.abstain_votes // TOKEN,
                    "supply": event.past_total_supply // TOKEN,
                    "outcome": ProposalStatus(event.outcome).name.capitalize(),
                }
            )

    def _batch_of(self, item_id: int) -> int:
        split = split_item_id(item_id)
        if split is None:
            raise ConfigError(f"item {item_id} is not a batch leaf")
        return split[0]

    def revoke(self, item_id: int) -> None:
        bob = self.registry.with_signer(self.people["bob"])
        change_item_consent(bob, item_id)  # no new mask: revoke
        self.result.events.append(f"bob revoked consent for item {item_id} after the vote")

    def release(self, settings: Settings) -> Session:
        assert self.result.deployment is not None
        session = Session(self.w3, self.result.deployment, settings, store=self.store)
        built = build_release(session, self.result.dataset_id)
        out = self.work_dir / "release"
        published = publish_release(session, built, self.operator, out_dir=out)
        r = self.result
        r.release, r.manifest_cid, r.manifest_sha256 = (
            published.number,
            published.manifest_cid,
            published.manifest_sha256,
        )
        r.state_block, r.release_dir = published.state_block, str(out)
        r.weights = dict(built.manifest.weights.items)
        r.exclusions = {int(e["item_id"]): e["reason"] for e in built.manifest.doc["exclusions"]}
        self.log(f"published release {published.number}: manifest {published.manifest_cid}")
        self.result.session = session
        return session

    def verify(self, session: Session) -> None:
        outcome = verify_release(session, self.result.dataset_id, self.result.release)
        self.result.verified, self.result.verify_differences = outcome.equal, outcome.differences
        self.log("rebuilt the release from chain logs: " + ("identical" if outcome.equal else "DIFFERENT"))

    def pull_and_sample(self) -> None:
        assert self.result.deployment is not None
        out = self.work_dir / "pull"
        client = TrainerClient(self.w3, self.result.deployment, self.store)
        pulled = pull(client, self.result.dataset_id, out, self.result.release)
        self.result.pulled, self.result.pull_dir = pulled.fetched + pulled.already_present, str(out)
        self.result.pull_excluded = {i: c.reason for i, c in pulled.excluded.items()}
        dataset = PulledDataset.open(out)
        sampler = ShardedSampler(
            dataset.manifest.weights, dataset.manifest.digest, seed=2026, count=12, world_size=1
        )
        self.result.samples = [int(e["item_id"]) for e in dataset.examples(sampler, read=False)]
        self.log(
            f"pulled {self.result.pulled} verified items to {out}; drew {len(self.result.samples)} samples"
        )


def run_demo(settings: Settings, work_dir: Path, log: Log | None = None) -> DemoResult:
    """Run the story on `settings.rpc` (None: embedded chain) and `settings.ipfs` (None: embedded store)."""
    say = log or (lambda _msg: None)
    w3 = connect(settings.rpc, limits=RpcLimits.from_settings(settings))
    store = open_store(settings)
    work_dir.mkdir(parents=True, exist_ok=True)
    story = _Story(w3, store, say, work_dir)
    deployment = story.deploy()
    if settings.rpc is not None:  # other processes (verify, pull, sample) find this deployment afterwards
        deployment.save(settings.deployment_path)
    ids = story.contribute()
    story.narrow(ids["alice"][2])
    story.curators_join()
    story.create_dataset()
    story.vote(ids)
    story.revoke(ids["bob"][0])
    # The story mines its own blocks: it releases at the head (no confirmations), into an in-memory index on
    # the embedded chain (which no other process can index).
    db_url = "sqlite://" if settings.rpc is None else settings.db_url
    session = story.release(settings.model_copy(update={"db": db_url, "confirmations": 0}))
    story.verify(session)
    story.pull_and_sample()
    return story.result
