"""Helpers of the API tests: a fake clock, wallets, a read model built from real objects, settings, sign-in."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import rfc8785
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what the project pins
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]  # re-exported for the tests; the helpers below are imported by name

from backend.api.app import create_app
from backend.api.models import (
    Contributor,
    ContributorWeight,
    Dataset,
    DatasetParamsOut,
    Item,
    ItemWeight,
    License,
    Page,
    Proposal,
    ProposalTurnout,
    ReleaseDiff,
    SourceWeightOut,
    Tallies,
    TransparencyReport,
    VotingConcentration,
    Weights,
)
from backend.api.readmodel import InMemoryReadModel
from backend.api.siwe import SignatureCheck, SiweMessage, format_time
from backend.chain.deployment import Deployment
from backend.ipfs import ContentStore
from backend.settings import Settings
from curation.batches import item_ref
from curation.consent import Consent, format_consent
from curation.licenses import DEFAULT_LICENSES, LicenseClass
from curation.unixfs import compute_cid
from curation.weights import ItemFacts, SourceFacts, WeightInputs, WeightResult, compute_weights

CHAIN_ID = 31337
DOMAIN = "curation.example.org"
URI = "https://curation.example.org/login"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
T0 = 1_760_000_000.0
SECRET = "test-secret-" + "x" * 40

ALICE: LocalAccount = Account.from_key("0x" + "a1" * 32)
BOB: LocalAccount = Account.from_key("0x" + "b2" * 32)
MALLORY: LocalAccount = Account.from_key("0x" + "c3" * 32)


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def licenses() -> list[License]:
    rows = []
    for i, (spdx, classes) in enumerate(sorted(DEFAULT_LICENSES.items()), start=1):
        rows.append(
            License(
                id=i,
                spdx=spdx,
                commercial_use=bool(classes & LicenseClass.COMMERCIAL_USE),
                share_alike=bool(classes & LicenseClass.SHARE_ALIKE),
                attribution=bool(classes & LicenseClass.ATTRIBUTION),
                allowed=True,
            )
        )
    rows.append(
        License(
            id=len(rows) + 1,
            spdx="CC-BY-ND-4.0",
            commercial_use=True,
            share_alike=False,
            attribution=True,
            allowed=False,
        )
    )
    return rows


def weights_model(result: WeightResult, dataset_id: int, number: int) -> Weights:
    """The Weights response for a scheme's result (every item in one page; `ReadModel.weights` slices)."""
    rows = [
        ItemWeight(item_id=item_id, weight=str(w), source=result.item_source[item_id])
        for item_id, w in sorted(result.items.items())
    ]
    return Weights(
        dataset_id=dataset_id,
        release=number,
        scheme_id=result.scheme_id,
        params=dict(result.params),
        total=str(sum(result.items.values()) if result.items else 0),
        sources=[
            SourceWeightOut(
                proposal_id=s.proposal_id,
                score=s.score,
                eligible_items=s.eligible_items,
                eligible_bytes=s.eligible_bytes,
                weight=str(s.weight),
            )
            for s in result.sources
        ],
        contributors=[
            ContributorWeight(address=a, weight=str(w)) for a, w in sorted(result.contributors.items())
        ],
        items=Page[ItemWeight](items=rows, total=len(rows), offset=0, limit=max(1, len(rows))),
        exclusions={str(k): v for k, v in sorted(result.exclusions.items())},
    )


def license_id(spdx: str) -> int:
    return next(lic.id for lic in licenses() if lic.spdx == spdx)


CONTENTS = {1: b"alpha text\n" * 40, 2: b"beta text\n" * 90, 3: b"gamma\n" * 10, 4: b"delta\n" * 300}
OWNERS = {1: ALICE, 2: ALICE, 3: BOB, 4: BOB}


def _train_dataset(dataset_id: int, name: str, *, proposal_threshold: str) -> Dataset:
    """A dataset for training use, with the sample governance parameters and no release yet."""
    return Dataset(
        id=dataset_id,
        name=name,
        description_cid=None,
        use=int(Consent.TRAIN),
        use_names="train",
        params=DatasetParamsOut(
            voting_delay=1,
            voting_period=20,
            quorum_bps=400,
            approval_bps=5000,
            late_quorum_extension=0,
            proposal_threshold=proposal_threshold,
        ),
        release_count=0,
        latest_release=None,
    )


def sample_model() -> InMemoryReadModel:
    """One dataset with two releases; items, weights and CIDs computed by the real domain code."""
    model = InMemoryReadModel()
    for lic in licenses():
        model.add_license(lic)
    cc_by = license_id("CC-BY-4.0")
    items = {}
    for item_id, data in CONTENTS.items():
        items[item_id] = Item(
            id=item_id,
            ref=item_ref(item_id),
            cid=str(compute_cid(data).cid),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            license_id=cc_by,
            license="CC-BY-4.0",
            contributor=OWNERS[item_id].address,
            consent=int(Consent.TRAIN | Consent.EVALUATION),
            consent_names=format_consent(Consent.TRAIN | Consent.EVALUATION),
            expiry=0,
            revoked=item_id == 3,
            block=10 + item_id,
        )
        model.add_item(items[item_id])
    for cid, acct in enumerate((ALICE, BOB), start=1):
        mine = [i for i in items.values() if i.contributor == acct.address]
        model.add_contributor(
            Contributor(
                id=cid,
                address=acct.address,
                profile_uri=f"ipfs://profile{cid}",
                item_count=len(mine),
                total_bytes=sum(i.size for i in mine),
            )
        )
    model.add_dataset(_train_dataset(1, "open-text", proposal_threshold=str(10**18)))
    model.add_dataset(_train_dataset(2, "empty", proposal_threshold="0"))
    supply = 1000 * 10**18
    tallies = {
        1: (600 * 10**18, 100 * 10**18, 5 * 10**18),
        2: (300 * 10**18, 0, 0),
        3: (10**18, 2 * 10**18, 0),
    }
    kinds = {
        1: ("include", [1, 2, 3], "accepted"),
        2: ("remove", [3], "accepted"),
        3: ("include", [4], "active"),
    }
    for pid, (kind, ids, status) in kinds.items():
        f, a, ab = tallies[pid]
        model.add_proposal(
            Proposal(
                id=pid,
                dataset_id=1,
                kind=kind,
                item_ids=ids,
                batch_ids=[],
                description_cid=None,
                proposer=ALICE.address,
                snapshot_block=20 + pid,
                deadline_block=40 + pid,
                status=status,
                tallies=Tallies(for_votes=str(f), against_votes=str(a), abstain_votes=str(ab)),
                voters=3,
                total_supply=str(supply),
                quorum_reached=status == "accepted",
            )
        )
    facts = {
        i: ItemFacts(
            item_id=i,
            size=it.size,
            license_classes=int(DEFAULT_LICENSES["CC-BY-4.0"]),
            license_allowed=True,
            contributor=it.contributor.lower(),
            consent=it.consent,
            consent_expiry=0,
            revoked=it.revoked,
        )
        for i, it in items.items()
    }
    source = SourceFacts(
        proposal_id=1,
        for_votes=tallies[1][0],
        against_votes=tallies[1][1],
        abstain_votes=tallies[1][2],
        accepted_order=(60, 0),
        item_ids=(1, 2, 3),
        total_supply=supply,
    )
    for number, removed in ((1, frozenset()), (2, frozenset({3}))):
        inputs = WeightInputs(
            dataset_use=int(Consent.TRAIN),
            state_timestamp=int(T0),
            sources=(source,),
            removed_item_ids=removed,
            items=facts,
        )
        result = compute_weights("commons-v1", inputs)
        manifest = rfc8785.dumps(
            {
                "schema": "curation-commons/manifest/v1",
                "dataset": 1,
                "release": number,
                "items": {str(k): str(w) for k, w in result.items.items()},
            }
        )
        weights = weights_model(result, 1, number)
        report = TransparencyReport(
            dataset_id=1,
            release=number,
            parent=number - 1 or None,
            state_block=100 * number,
            manifest_cid=str(compute_cid(manifest).cid),
            item_count=len(result.items),
            contributor_count=1,
            diff=ReleaseDiff(
                added_items=sorted(result.items) if number == 1 else [],
                removed_items={} if number == 1 else {"3": "removed"},
                changed_weights=number - 1,
            ),
            turnout=[
                ProposalTurnout(
                    proposal_id=1,
                    votes_cast=str(sum(tallies[1])),
                    total_supply=str(supply),
                    turnout_bps=sum(tallies[1]) * 10_000 // supply,
                    voters=3,
                )
            ],
            concentration=VotingConcentration(
                voters=3, top1_share_bps=6000, top10_share_bps=10_000, nakamoto=1
            ),
            revocations=[3] if number == 2 else [],
        )
        model.add_release(
            1,
            manifest,
            state_block=100 * number,
            scheme_id=result.scheme_id,
            item_count=len(result.items),
            weights=weights,
            report=report,
        )
    return model


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "home": tmp_path / "home",
        "api_domain": DOMAIN,
        "api_uri": URI,
        "api_chain_id": CHAIN_ID,
        "api_session_secret": SECRET,
        "api_max_upload_bytes": 1024 * 1024,
        "api_rate_limit": 10_000,
        "api_upload_rate_limit": 1000,
        "api_upload_tmp": tmp_path / "uploads",
    }
    base.update(overrides)
    (tmp_path / "uploads").mkdir(exist_ok=True)
    return Settings.model_validate(base)


def deployment(registry: str = REGISTRY, chain_id: int = CHAIN_ID) -> Deployment:
    return Deployment(
        chain_id=chain_id,
        deploy_block=1,
        compiler_version="0.8.28",
        deployer=ALICE.address,
        contracts={"ContentRegistry": registry},
    )


def make_app(
    tmp_path: Path,
    clock: FakeClock,
    store: ContentStore,
    model: Any = None,
    dep: Deployment | None = None,
    signature_check: SignatureCheck | None = None,
    **settings: Any,
) -> FastAPI:
    """The API app over `store` (sample model and deployment unless given), settings overridden by `settings`."""
    return create_app(
        make_settings(tmp_path, **settings),
        model if model is not None else sample_model(),
        store,
        dep if dep is not None else deployment(),
        clock=clock,
        signature_check=signature_check,
    )


def siwe_message(account: LocalAccount, nonce: str, clock: FakeClock, **overrides: Any) -> SiweMessage:
    msg = SiweMessage(
        domain=DOMAIN,
        address=account.address,
        uri=URI,
        chain_id=CHAIN_ID,
        nonce=nonce,
        issued_at=format_time(clock()),
        statement="Sign in to Curation Commons to upload content.",
        expiration_time=format_time(clock() + 600),
    )
    return replace(msg, **overrides)


def sign(account: LocalAccount, text: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def sign_in(client: TestClient, account: LocalAccount, clock: FakeClock, **overrides: Any) -> Any:
    """POST /auth/nonce, sign the message with `account` (fields overridable), POST /auth/verify."""
    nonce = client.post("/auth/nonce").json()["nonce"]
    text = siwe_message(account, nonce, clock, **overrides).to_text()
    return client.post("/auth/verify", json={"message": text, "signature": sign(account, text)})
