"""Generate the conformance vectors of docs/spec/commons-v1.md (run once; the files are then frozen).

    .venv/bin/python -m tests.spec.make_vectors            # write missing vectors, refuse to change others
    .venv/bin/python -m tests.spec.make_vectors --check    # write nothing; exit 1 if any file would change
    .venv/bin/python -m tests.spec.make_vectors --force    # rewrite changed vectors (only with a new version)

Each vector is a small chain story told with `Story`: the events the contracts would emit, the batch manifests
and item bytes a build reads, the chain context and the build parameters. The project's own code computes the
expected manifest once under every manifest schema (tests/spec/test_conformance_vectors.py `build_vector`, the
release path); from then on the files are the reference, and the test holds the code to them. The FROZEN tables
to paste into the test are printed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from curation import events as ev
from curation.batches import build_batch_manifest, leaf_for_bytes
from curation.cid import CID, DAG_PB, SHA2_256
from curation.errors import InvalidInput
from curation.manifest import MANIFEST_SCHEMA_V1, MANIFEST_SCHEMAS
from curation.merkle import Leaf, merkle_root
from curation.unixfs import compute_cid
from curation.weights import COMMONS_V1
from tests.spec.test_conformance_vectors import (
    STRING_FIELDS,
    VECTOR_FORMAT,
    VECTORS_DIR,
    Vector,
    build_vector,
)

# --- actors and constants -------------------------------------------------------------------------------------

ZERO: Final = "0x" + "00" * 20
ALICE: Final = "0x" + "a1" * 20
BOB: Final = "0x" + "b0" * 20
CAROL: Final = "0x" + "ca" * 20
DAVE: Final = "0x" + "da" * 20
MALLORY: Final = "0x" + "ee" * 20
CURATORS: Final = ("0x" + "c1" * 20, "0x" + "c2" * 20, "0x" + "c3" * 20)
LATE: Final = ("0x" + "d1" * 20, "0x" + "d2" * 20, "0x" + "d3" * 20)  # tokens bought after the snapshot
CONTRACTS: Final = {
    "CurationToken": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    "ContentRegistry": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    "CurationVoting": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
    "ReleaseRegistry": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
}
CHAIN_ID: Final = 31337
GENESIS_TIME: Final = 1_767_225_600
BLOCK_TIME: Final = 12
WEI: Final = 10**18

TRAIN, COMMERCIAL, GENERATIVE, EVALUATION, REDISTRIBUTE, SYNTHETIC = 1, 2, 4, 8, 16, 32
ALL_CONSENT: Final = 0x3F
C_USE, SHARE_ALIKE, ATTRIBUTION = 1, 2, 4  # license classes
CC0, CC_BY, CC_BY_NC, CC_BY_SA = 1, 2, 3, 4  # license ids of the standard setup
INCLUDE, REMOVE = 0, 1
ACCEPTED, REJECTED = 3, 4
AGAINST, FOR, ABSTAIN = 0, 1, 2


def timestamp(block: int) -> int:
    return GENESIS_TIME + BLOCK_TIME * block


def text_of(data: bytes) -> str:
    return str(compute_cid(data).cid)


def blob(tag: str, size: int) -> bytes:
    """`size` deterministic bytes that differ for every tag."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{tag}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def fake_dag_pb(tag: str) -> CID:
    """A dag-pb CIDv1 standing for a file too large to ship (attested content)."""
    return CID(1, DAG_PB, SHA2_256, hashlib.sha256(f"attested:{tag}".encode()).digest())


# --- telling a story --------------------------------------------------------------------------------------------


@dataclass
class Story:
    """Events as the contracts would emit them, with the files a build reads."""

    name: str
    title: str
    covers: list[str]
    block: int = 1
    log_index: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    batch_files: dict[str, bytes] = field(default_factory=dict)  # CID text -> manifest bytes
    content: dict[str, dict[str, Any]] = field(default_factory=dict)  # CID text -> {"hex"} or {"attested"}
    items: int = 0
    batches: int = 0
    datasets: int = 0
    proposals: int = 0
    power: dict[str, int] = field(default_factory=dict)
    supply: int = 0
    period: int = 5
    params: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # dataset -> frozen at propose
    parent: dict[str, Any] | None = None
    shard_items: int = 10_000
    dataset_id: int = 1

    # -- low level ----------------------------------------------------------------------------------------
    def next_block(self, n: int = 1) -> int:
        self.block += n
        self.log_index = 0
        return self.block

    def emit(self, cls: type[ev.ChainEvent], **values: Any) -> None:
        contract = next(c for (c, _), k in ev.EVENT_TYPES.items() if k is cls)
        if cls is ev.DatasetParamsSet:  # what CurationVoting.propose copies into the proposal and its event
            self.thresholds[values["dataset_id"]] = (
                values["quorum_bps"],
                values["approval_bps"],
                values["late_quorum_extension"],
            )
        obj: dict[str, Any] = {
            "contract": contract,
            "event": cls.__name__,
            "at": {"block_number": self.block, "log_index": self.log_index, "address": CONTRACTS[contract]},
        }
        for name in (f for f in cls.__dataclass_fields__ if f != "at"):
            obj[name] = _json_value(name, values.pop(name))
        if values:
            raise TypeError(f"{cls.__name__} has no fields {sorted(values)}")
        self.events.append(obj)
        self.log_index += 1

    # -- token ------------------------------------------------------------------------------------------------
    def mint(self, to: str, amount: int) -> None:
        self.emit(ev.Transfer, sender=ZERO, recipient=to, value=amount)
        self.emit(ev.DelegateChanged, delegator=to, from_delegate=ZERO, to_delegate=to)
        old = self.power.get(to, 0)
        self.power[to] = old + amount
        self.supply += amount
        self.emit(ev.DelegateVotesChanged, delegate=to, previous_votes=old, new_votes=old + amount)

    # -- registry ---------------------------------------------------------------------------------------------
    def license(self, license_id: int, spdx: str | bytes, classes: int, allowed: bool = True) -> None:
        self.emit(ev.LicenseSet, license_id=license_id, spdx=spdx, classes=classes, allowed=allowed)

    def contributor(self, who: str, contributor_id: int, uri: str | bytes = "") -> None:
        self.emit(ev.ContributorRegistered, contributor=who, contributor_id=contributor_id, profile_uri=uri)

    def standard(self, *, contributors: Sequence[str] = (ALICE, BOB, CAROL)) -> None:
        """Tokens for three curators (600, 300, 100 tokens), four licenses, registered contributors."""
        for who, amount in zip(CURATORS, (600, 300, 100), strict=True):
            self.mint(who, amount * WEI)
        self.next_block()
        self.license(CC0, "CC0-1.0", C_USE)
        self.license(CC_BY, "CC-BY-4.0", C_USE | ATTRIBUTION)
        self.license(CC_BY_NC, "CC-BY-NC-4.0", ATTRIBUTION)
        self.license(CC_BY_SA, "CC-BY-SA-4.0", C_USE | SHARE_ALIKE | ATTRIBUTION)
        self.next_block()
        uris = {
            ALICE: "https://alice.example/profile",
            BOB: "ipfs://bob",
            CAROL: "",
            DAVE: "https://dave.example",
        }
        for i, who in enumerate(contributors, start=1):
            self.contributor(who, i, uris.get(who, f"https://contributor-{i}.example"))
        self.next_block()

    def store(self, data: bytes, cid: CID | None = None) -> CID:
        cid = cid or compute_cid(data).cid
        self.content[str(cid)] = {"hex": "0x" + data.hex()}
        return cid

    def item(
        self,
        who: str,
        data: bytes,
        *,
        license_id: int = CC0,
        consent: int = ALL_CONSENT,
        expiry: int = 0,
        cid: CID | None = None,
        sha256: bytes | None = None,
        size: int | None = None,
        ship: bool = True,
    ) -> int:
        """ItemSubmitted for `data` (its raw CIDv1 unless `cid`); its bytes go into the vector unless not `ship`."""
        self.items += 1
        cid = cid or compute_cid(data).cid
        if ship:
            self.store(data, cid)
        self.emit(
            ev.ItemSubmitted,
            item_id=self.items,
            contributor=who,
            cid=cid.to_bytes(),
            content_sha256=sha256 if sha256 is not None else hashlib.sha256(data).digest(),
            size=len(data) if size is None else size,
            license_id=license_id,
            consent=consent,
            expiry=expiry,
        )
        return self.items

    def attested_item(self, who: str, tag: str, size: int, **kw: Any) -> int:
        """An item of `size` bytes the vector cannot ship: its check is attested (size, sha256, CIDs)."""
        cid = fake_dag_pb(tag)
        sha = hashlib.sha256(f"attested-bytes:{tag}".encode()).digest()
        raw = CID(1, 0x55, SHA2_256, sha)
        self.content[str(cid)] = {
            "attested": {"size": str(size), "sha256": "0x" + sha.hex(), "cids": sorted([str(cid), str(raw)])}
        }
        self.items += 1
        self.emit(
            ev.ItemSubmitted,
            item_id=self.items,
            contributor=who,
            cid=cid.to_bytes(),
            content_sha256=sha,
            size=size,
            license_id=kw.get("license_id", CC0),
            consent=kw.get("consent", ALL_CONSENT),
            expiry=kw.get("expiry", 0),
        )
        return self.items

    def batch(
        self,
        who: str,
        leaves: Sequence[Leaf],
        *,
        shared: tuple[int, int, int] | None = None,
        manifest: bytes | None = None,
        ship_manifest: bool = True,
        ship: Sequence[bytes] = (),
    ) -> int:
        """BatchSubmitted for `leaves` (root and count on chain); `manifest` replaces the honest manifest file."""
        self.batches += 1
        data = build_batch_manifest(leaves) if manifest is None else manifest
        cid = compute_cid(data).cid
        if ship_manifest:
            self.batch_files[str(cid)] = data
        for content in ship:
            self.store(content)
        license_id, consent, expiry = shared or (0, 0, 0)
        self.emit(
            ev.BatchSubmitted,
            batch_id=self.batches,
            contributor=who,
            root=merkle_root(leaves),
            count=len(leaves),
            manifest_cid=cid.to_bytes(),
            license_id=license_id,
            consent=consent,
            expiry=expiry,
        )
        return self.batches

    def leaves(
        self,
        tag: str,
        sizes: Sequence[int],
        license_id: int = CC0,
        consent: int = ALL_CONSENT,
        expiry: int = 0,
    ) -> tuple[list[Leaf], list[bytes]]:
        contents = [blob(f"{tag}:{i}", size) for i, size in enumerate(sizes)]
        return [leaf_for_bytes(i, c, license_id, consent, expiry) for i, c in enumerate(contents)], contents

    def narrow(self, item_id: int, who: str, consent: int, expiry: int = 0) -> None:
        self.emit(ev.ItemConsentChanged, item_id=item_id, contributor=who, consent=consent, expiry=expiry)

    def revoke(self, item_id: int, who: str) -> None:
        self.narrow(item_id, who, 0, 0)

    def narrow_leaf(self, batch_id: int, who: str, index: int, consent: int, expiry: int = 0) -> None:
        self.emit(
            ev.LeafConsentChanged,
            batch_id=batch_id,
            contributor=who,
            leaf_index=index,
            consent=consent,
            expiry=expiry,
        )

    # -- voting -----------------------------------------------------------------------------------------------
    def dataset(
        self,
        name: str | bytes = "open text corpus",
        use: int = TRAIN | GENERATIVE,
        description_cid: bytes = b"",
        params: bool = True,
    ) -> int:
        self.datasets += 1
        self.emit(
            ev.DatasetCreated,
            dataset_id=self.datasets,
            creator=CURATORS[0],
            name=name,
            description_cid=description_cid,
            use=use,
        )
        if params:
            self.emit(
                ev.DatasetParamsSet,
                dataset_id=self.datasets,
                voting_delay=1,
                voting_period=self.period,
                quorum_bps=400,
                approval_bps=5000,
                late_quorum_extension=0,
                proposal_threshold=WEI,
            )
        self.next_block()
        return self.datasets

    def propose(
        self,
        dataset: int,
        kind: int = INCLUDE,
        items: Sequence[int] = (),
        batches: Sequence[int] = (),
        description_cid: bytes = b"",
        proposer: str = CURATORS[0],
    ) -> int:
        self.proposals += 1
        snapshot = self.block + 1
        quorum_bps, approval_bps, extension = self.thresholds.get(dataset, (0, 0, 0))
        self.emit(
            ev.ProposalCreated,
            proposal_id=self.proposals,
            dataset_id=dataset,
            proposer=proposer,
            kind=kind,
            item_ids=tuple(items),
            batch_ids=tuple(batches),
            description_cid=description_cid,
            snapshot=snapshot,
            deadline=snapshot + self.period,
            quorum_bps=quorum_bps,
            approval_bps=approval_bps,
            late_quorum_extension=extension,
        )
        self.next_block(2)
        return self.proposals

    def vote(
        self, proposal: int, voter: str, support: int, weight: int | None = None, reason: str | bytes = ""
    ) -> int:
        w = self.power.get(voter, 0) if weight is None else weight
        self.emit(ev.VoteCast, voter=voter, proposal_id=proposal, support=support, weight=w, reason=reason)
        return w

    def finalize(
        self,
        proposal: int,
        tallies: tuple[int, int, int],
        outcome: int = ACCEPTED,
        supply: int | None = None,
    ) -> None:
        f, a, ab = tallies
        self.emit(
            ev.ProposalFinalized,
            proposal_id=proposal,
            outcome=outcome,
            for_votes=f,
            against_votes=a,
            abstain_votes=ab,
            past_total_supply=self.supply if supply is None else supply,
        )

    def decide(
        self,
        dataset: int,
        items: Sequence[int] = (),
        batches: Sequence[int] = (),
        *,
        kind: int = INCLUDE,
        votes: Sequence[tuple[str, int]] = ((CURATORS[0], FOR),),
        outcome: int = ACCEPTED,
        description_cid: bytes = b"",
        finalize: bool = True,
    ) -> int:
        """Propose, vote with each curator's full power, finalize after the deadline."""
        pid = self.propose(dataset, kind, items, batches, description_cid)
        tallies = [0, 0, 0]
        for voter, support in votes:
            tallies[support] += self.vote(pid, voter, support)
        self.next_block(self.period)
        if finalize:
            self.finalize(pid, (tallies[FOR], tallies[AGAINST], tallies[ABSTAIN]), outcome)
            self.next_block()
        return pid

    # -- the vector -------------------------------------------------------------------------------------------
    def vector(self, state_block: int | None = None, *, hash_tag: str = "") -> dict[str, Any]:
        number = self.block if state_block is None else state_block
        return {
            "format": VECTOR_FORMAT,
            "name": self.name,
            "title": self.title,
            "covers": self.covers,
            "scheme": COMMONS_V1,
            "build": {
                "dataset_id": self.dataset_id,
                "params": self.params,
                "parent": self.parent,
                "shard_items": self.shard_items,
            },
            "chain": {
                "chain_id": CHAIN_ID,
                "contracts": CONTRACTS,
                "state_block": {
                    "number": number,
                    "hash": "0x" + hashlib.sha256(f"{self.name}{hash_tag}:{number}".encode()).hexdigest(),
                    "timestamp": timestamp(number),
                },
            },
            "events": self.events,
            "batch_manifests": {},
            "content": dict(sorted(self.content.items())),
        }


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value <= 2**53 - 1 else str(value)
    if isinstance(value, bytes) and name in STRING_FIELDS:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"hex": "0x" + value.hex()}
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return [_json_value(name, v) for v in value]
    return value


# --- the vectors ------------------------------------------------------------------------------------------------

VECTORS: list[Callable[[], tuple[Story, dict[str, Any]]]] = []


def vector(fn: Callable[[], tuple[Story, dict[str, Any]]]) -> Callable[[], tuple[Story, dict[str, Any]]]:
    VECTORS.append(fn)
    return fn


@vector
def v01() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "01-empty-dataset", "A dataset with no proposals: every list empty, totals zero", ["empty dataset"]
    )
    s.standard()
    s.item(ALICE, b"an item nobody proposed")
    s.dataset()
    return s, s.vector()


@vector
def v02() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "02-source-without-eligible-items",
        "An accepted source whose only item is revoked: weight 0, exact_weight 0E-30, totals.weight 0",
        ["empty dataset", "revocation before the state block", "zero exact weight printed as 0E-30"],
    )
    s.standard()
    item = s.item(ALICE, b"revoked before acceptance")
    ds = s.dataset()
    s.revoke(item, ALICE)
    s.next_block()
    s.decide(ds, [item])
    return s, s.vector()


@vector
def v03() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "03-one-item",
        "One item in one accepted source, default parameters; token, delegation and ballot events are folded "
        "but do not reach the manifest",
        ["one item", "default parameters", "voting_params", "attribution"],
    )
    s.standard()
    item = s.item(ALICE, b"hello, commons\n", license_id=CC_BY)
    ds = s.dataset()
    pid = s.propose(ds, INCLUDE, [item], description_cid=text_cid(b"why this item"))
    f = s.vote(pid, CURATORS[0], FOR, reason="good data")
    a = s.vote(pid, CURATORS[2], AGAINST)
    s.emit(ev.BallotSkipped, voter=CURATORS[1], proposal_id=pid, index=0, reason=2)
    s.next_block(s.period)
    s.finalize(pid, (f, a, 0))
    s.next_block()
    return s, s.vector()


def text_cid(data: bytes) -> bytes:
    return compute_cid(data).cid.to_bytes()


@vector
def v04() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "04-two-sources-floor-and-split",
        "Two sources with different tallies and sizes: score, n^alpha, exp tilt, floor, split by size within a "
        "source with largest remainder",
        ["score", "exp and ln", "floor", "split by size", "largest remainder"],
    )
    s.standard()
    a = [s.item(ALICE, blob("a", 100)), s.item(BOB, blob("b", 37)), s.item(ALICE, blob("c", 11))]
    b = [s.item(CAROL, blob("d", 1000), license_id=CC_BY_SA)]
    ds = s.dataset()
    s.decide(ds, a, votes=[(CURATORS[0], FOR), (CURATORS[1], AGAINST)])
    s.decide(ds, b, votes=[(CURATORS[1], FOR), (CURATORS[2], ABSTAIN)])
    return s, s.vector()


@vector
def v05() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "05-epoch-cap-binding",
        "The epoch cap binds the small source (w <= max_epochs * n / budget_bytes): water-filling",
        ["caps binding", "epoch cap", "progressive filling"],
    )
    s.standard()
    small = s.item(ALICE, blob("small", 30))
    big = [s.item(BOB, blob(f"big{i}", 1500)) for i in range(2)]
    mid = s.item(CAROL, blob("mid", 400))
    ds = s.dataset()
    s.decide(ds, [small], votes=[(CURATORS[0], FOR)])
    s.decide(ds, big, votes=[(CURATORS[2], FOR)])
    s.decide(ds, [mid], votes=[(CURATORS[1], FOR)])
    s.params = {"budget_bytes": "3430", "max_epochs": "1.5"}
    return s, s.vector()


@vector
def v06() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "06-contributor-cap-binding",
        "The contributor cap binds the dominant contributor; cells are (source, contributor) and items split by "
        "size within their cell",
        ["caps binding", "contributor cap", "progressive filling", "split within a cell"],
    )
    s.standard(contributors=(ALICE, BOB, CAROL, DAVE))
    one = [s.item(ALICE, blob("a1", 900)), s.item(ALICE, blob("a2", 301)), s.item(BOB, blob("b1", 120))]
    two = [s.item(ALICE, blob("a3", 700)), s.item(CAROL, blob("c1", 90)), s.item(DAVE, blob("d1", 45))]
    ds = s.dataset()
    s.decide(ds, one, votes=[(CURATORS[0], FOR), (CURATORS[2], AGAINST)])
    s.decide(ds, two, votes=[(CURATORS[1], FOR)])
    s.params = {"contributor_cap": "0.35"}
    return s, s.vector()


@vector
def v07() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "07-both-caps-binding",
        "Epoch cap and contributor cap both bind: progressive filling over sources and contributors at once",
        ["caps binding", "epoch cap", "contributor cap", "progressive filling"],
    )
    s.standard(contributors=(ALICE, BOB, CAROL, DAVE))
    one = [s.item(ALICE, blob("a1", 2000)), s.item(BOB, blob("b1", 500))]
    two = [s.item(ALICE, blob("a2", 1200)), s.item(CAROL, blob("c1", 300))]
    three = [s.item(DAVE, blob("d1", 40)), s.item(BOB, blob("b2", 60))]
    ds = s.dataset()
    s.decide(ds, one, votes=[(CURATORS[0], FOR)])
    s.decide(ds, two, votes=[(CURATORS[1], FOR), (CURATORS[2], AGAINST)])
    s.decide(ds, three, votes=[(CURATORS[0], FOR), (CURATORS[1], FOR)])
    s.params = {"contributor_cap": "0.4", "budget_bytes": "8200", "max_epochs": "3"}
    return s, s.vector()


@vector
def v08() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "08-tight-contributor-cap",
        "contributor_cap * contributors == 1: every cell freezes at its cap and the total falls short of one by "
        "2E-50, within the filling tolerance (1e-40), so the build succeeds",
        ["caps binding", "contributor cap", "tight cap", "filling tolerance"],
    )
    s.standard()
    one = [s.item(BOB, blob("b1", 300)), s.item(ALICE, blob("a1", 233))]
    two = [s.item(ALICE, blob("a2", 358)), s.item(BOB, blob("b2", 400))]
    three = [s.item(BOB, blob("b3", 269))]
    ds = s.dataset()
    s.decide(ds, one, votes=[(CURATORS[1], FOR), (CURATORS[2], AGAINST)])
    s.decide(ds, two, votes=[(CURATORS[0], FOR), (CURATORS[1], AGAINST)])
    s.decide(ds, three, votes=[(CURATORS[0], FOR), (CURATORS[2], FOR), (CURATORS[1], AGAINST)])
    s.params = {"contributor_cap": "0.5"}
    return s, s.vector()


@vector
def v09() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "09-infeasible-contributor-cap",
        "contributor_cap * contributors < 1: the build fails (InfeasibleCaps), no manifest",
        ["caps infeasible", "contributor cap", "what stops a build"],
    )
    s.standard()
    items = [s.item(ALICE, blob("a", 50)), s.item(BOB, blob("b", 60))]
    ds = s.dataset()
    s.decide(ds, items)
    s.params = {"contributor_cap": "0.4"}
    return s, s.vector()


@vector
def v10() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "10-infeasible-caps-together",
        "Both caps feasible alone, but progressive filling freezes every cell below a total of one: InfeasibleCaps",
        ["caps infeasible", "epoch cap", "contributor cap", "filling tolerance", "what stops a build"],
    )
    s.standard()
    big, small = s.item(ALICE, blob("a", 1000)), s.item(BOB, blob("b", 10))
    ds = s.dataset()
    s.decide(ds, [big])
    s.decide(ds, [small])
    s.params = {"contributor_cap": "0.5", "budget_bytes": "1010", "max_epochs": "2"}
    return s, s.vector()


@vector
def v11() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "11-exact-ties-between-cells",
        "Three identical sources: equal remainders at 30 digits below one wei; the spare wei goes to the cell with "
        "the smallest item id, not the earliest source",
        ["ties", "largest remainder", "tie-break by item id"],
    )
    s.standard()
    ids = [s.item(who, blob(f"tie{i}", 64)) for i, who in enumerate((ALICE, BOB, CAROL))]
    ds = s.dataset()
    for item in (ids[2], ids[0], ids[1]):
        s.decide(ds, [item])
    return s, s.vector()


@vector
def v12() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "12-exact-ties-within-a-source",
        "Items of equal size in one source: wad * size / bytes leaves equal remainders; ties go to smaller item ids",
        ["ties", "split by size", "tie-break by item id"],
    )
    s.standard()
    ids = [s.item(ALICE, blob(f"eq{i}", 7)) for i in range(3)] + [s.item(BOB, blob("odd", 13))]
    ds = s.dataset()
    s.decide(ds, [ids[3], ids[2], ids[0], ids[1]])
    return s, s.vector()


@vector
def v13() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "13-revocation-before-state-block",
        "Consent narrowed, then revoked before the state block: the item is excluded as revoked and weighs 0",
        ["revocation before the state block", "consent narrowing"],
    )
    s.standard()
    keep, gone = s.item(ALICE, blob("keep", 80)), s.item(BOB, blob("gone", 80))
    ds = s.dataset()
    s.decide(ds, [keep, gone])
    s.narrow(gone, BOB, TRAIN | GENERATIVE)
    s.next_block()
    s.revoke(gone, BOB)
    s.next_block()
    return s, s.vector()


@vector
def v14() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "14-revocation-after-state-block",
        "A revocation in a block after the state block is not folded: the item keeps its weight in this release",
        ["revocation after the state block", "events after B ignored"],
    )
    s.standard()
    keep, later = s.item(ALICE, blob("keep", 80)), s.item(BOB, blob("later", 80))
    ds = s.dataset()
    s.decide(ds, [keep, later])
    state_block = s.block
    s.next_block()
    s.revoke(later, BOB)
    return s, s.vector(state_block)


@vector
def v15() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "15-consent-narrowed",
        "Narrowed consent: one item no longer covers the dataset's use (consent-mismatch); another keeps the use "
        "but gains an expiry (listed with consent_expiry and narrowed consent_flags)",
        ["consent narrowing", "consent-mismatch", "consent flags"],
    )
    s.standard()
    a, b, c = (s.item(w, blob(t, 60)) for w, t in ((ALICE, "a"), (BOB, "b"), (CAROL, "c")))
    ds = s.dataset(use=TRAIN | GENERATIVE)
    s.decide(ds, [a, b, c])
    s.narrow(a, ALICE, TRAIN | EVALUATION)
    s.narrow(b, BOB, TRAIN | GENERATIVE | SYNTHETIC, timestamp(s.block) + 10_000)
    s.next_block()
    return s, s.vector()


@vector
def v16() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "16-remove-then-include",
        "A REMOVE accepted before any INCLUDE does not pre-empt the item: the later INCLUDE counts",
        ["REMOVE then INCLUDE", "latest decision wins", "removals"],
    )
    s.standard()
    item = s.item(ALICE, blob("pre-empted", 90))
    other = s.item(BOB, blob("other", 90))
    ds = s.dataset()
    s.decide(ds, [item], kind=REMOVE)
    s.decide(ds, [item, other])
    return s, s.vector()


@vector
def v17() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "17-include-then-remove",
        "The latest accepted decision is a REMOVE: the item is excluded as removed, listed under its INCLUDE",
        ["INCLUDE then REMOVE", "latest decision wins", "removals"],
    )
    s.standard()
    item, other = s.item(ALICE, blob("contested", 90)), s.item(BOB, blob("other", 90))
    ds = s.dataset()
    s.decide(ds, [item, other])
    s.decide(ds, [item], kind=REMOVE, votes=[(CURATORS[1], FOR), (CURATORS[2], AGAINST)])
    return s, s.vector()


@vector
def v18() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "18-include-remove-include",
        "INCLUDE, REMOVE, INCLUDE: the item counts in the first INCLUDE accepted after the REMOVE; the first "
        "INCLUDE no longer carries it (eligible 0, exact_weight 0E-30)",
        ["INCLUDE then REMOVE", "REMOVE then INCLUDE", "latest decision wins"],
    )
    s.standard()
    item = s.item(ALICE, blob("contested", 90))
    ds = s.dataset()
    s.decide(ds, [item])
    s.decide(ds, [item], kind=REMOVE)
    s.decide(ds, [item])
    s.decide(ds, [item])
    return s, s.vector()


@vector
def v19() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "19-batch-shared-terms-and-leaf-consent",
        "A batch with shared terms: leaf consent changes made before the batch is read are replayed (one leaf "
        "revoked, one narrowed out of the use); a leaf revoked after the state block still counts",
        ["batch leaves", "valid batch", "leaf consent changes", "revocation after the state block"],
    )
    s.standard()
    single = s.item(ALICE, blob("single", 120))
    leaves, contents = s.leaves("bob", [40, 41, 42, 43, 44], license_id=CC_BY, consent=ALL_CONSENT)
    batch = s.batch(BOB, leaves, shared=(CC_BY, ALL_CONSENT, 0), ship=contents)
    s.next_block()
    s.narrow_leaf(batch, BOB, 1, 0)
    s.narrow_leaf(batch, BOB, 2, TRAIN | COMMERCIAL)
    s.narrow_leaf(batch, BOB, 3, TRAIN | GENERATIVE | EVALUATION)
    s.next_block()
    ds = s.dataset()
    s.decide(ds, [single], [batch])
    state_block = s.block
    s.next_block()
    s.narrow_leaf(batch, BOB, 4, 0)
    return s, s.vector(state_block)


@vector
def v20() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "20-batch-dropped-leaves",
        "Leaves that break a registry rule are dropped as leaf-invalid with a detail and an empty cid: malformed "
        "CID, raw CID digest differs, size 0, license 0, consent 0, unknown consent bits, unknown license, "
        "license not allowed at the batch's block, terms differing from the batch's shared terms",
        ["batch leaves", "dropped leaf", "leaf-invalid details", "license history"],
    )
    s.standard()
    s.license(9, "LicenseRef-paused", C_USE, allowed=False)
    s.next_block()
    good = blob("good", 50)
    bad_cid = CID(1, 0x71, SHA2_256, hashlib.sha256(b"cbor").digest()).to_bytes()
    raw_other = compute_cid(b"other bytes").cid.to_bytes()
    specs = [
        Leaf(0, compute_cid(good).cid.to_bytes(), hashlib.sha256(good).digest(), 50, CC0, ALL_CONSENT, 0),
        Leaf(1, bad_cid, hashlib.sha256(b"cbor").digest(), 10, CC0, ALL_CONSENT, 0),
        Leaf(2, raw_other, hashlib.sha256(b"not other bytes").digest(), 15, CC0, ALL_CONSENT, 0),
        Leaf(3, text_cid(b"empty claim"), hashlib.sha256(b"empty claim").digest(), 0, CC0, ALL_CONSENT, 0),
        Leaf(4, text_cid(b"no license"), hashlib.sha256(b"no license").digest(), 10, 0, ALL_CONSENT, 0),
        Leaf(5, text_cid(b"no consent"), hashlib.sha256(b"no consent").digest(), 10, CC0, 0, 0),
        Leaf(6, text_cid(b"odd bits"), hashlib.sha256(b"odd bits").digest(), 8, CC0, 0x41, 0),
        Leaf(7, text_cid(b"unknown lic"), hashlib.sha256(b"unknown lic").digest(), 11, 8, ALL_CONSENT, 0),
        Leaf(8, text_cid(b"paused lic"), hashlib.sha256(b"paused lic").digest(), 10, 9, ALL_CONSENT, 0),
    ]
    per_leaf = s.batch(BOB, specs, ship=[good])
    s.next_block()
    s.license(9, "LicenseRef-paused", C_USE, allowed=True)  # allowed later: too late for the batch
    s.next_block()
    shared_good = blob("shared", 33)
    shared = [
        leaf_for_bytes(0, shared_good, CC_BY, ALL_CONSENT),
        leaf_for_bytes(1, blob("differs", 34), CC_BY, TRAIN),
    ]
    shared_batch = s.batch(CAROL, shared, shared=(CC_BY, ALL_CONSENT, 0), ship=[shared_good])
    s.next_block()
    ds = s.dataset()
    s.decide(ds, [], [per_leaf, shared_batch])
    return s, s.vector()


@vector
def v21() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "21-batch-manifest-invalid",
        "Batch manifests that do not prove against the chain: wrong root, wrong count, wrong schema; each batch is "
        "listed in excluded_batches (not counted in totals.excluded) and none of its leaves is admitted",
        ["batch leaves", "invalid manifest", "excluded_batches", "totals.excluded"],
    )
    s.standard()
    honest = s.item(ALICE, blob("honest", 70))
    leaves, _ = s.leaves("root", [20, 21])
    swapped, _ = s.leaves("swapped", [20, 21])
    b1 = s.batch(BOB, leaves, manifest=build_batch_manifest(swapped))
    leaves2, _ = s.leaves("count", [22, 23, 24])
    b2 = s.batch(BOB, leaves2, manifest=build_batch_manifest(leaves2[:2]))
    leaves3, _ = s.leaves("schema", [25])
    wrong = json.loads(build_batch_manifest(leaves3))
    wrong["schema"] = "curation-commons/batch/v0"
    b3 = s.batch(CAROL, leaves3, manifest=json.dumps(wrong).encode())
    revoked = s.item(CAROL, blob("revoked", 70))
    s.revoke(revoked, CAROL)
    s.next_block()
    ds = s.dataset()
    s.decide(ds, [honest, revoked], [b3, b1])
    s.decide(ds, [], [b2, b1])
    return s, s.vector()


@vector
def v22() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "22-batch-removed-and-reincluded",
        "A batch whose latest decision is a REMOVE is never read (its manifest is not shipped) and is listed as "
        "removed; a batch REMOVEd and then INCLUDEd again is read and counts in the later INCLUDE",
        ["batch leaves", "removed batch", "REMOVE then INCLUDE", "INCLUDE then REMOVE", "what a build reads"],
    )
    s.standard()
    gone, _ = s.leaves("gone", [30, 31])
    b1 = s.batch(BOB, gone, shared=(CC0, ALL_CONSENT, 0), ship_manifest=False)
    back, back_contents = s.leaves("back", [32, 33])
    b2 = s.batch(CAROL, back, shared=(CC0, ALL_CONSENT, 0), ship=back_contents)
    item = s.item(ALICE, blob("single", 64))
    ds = s.dataset()
    s.decide(ds, [item], [b1, b2])
    s.decide(ds, [], [b2, b1], kind=REMOVE)
    s.decide(ds, [], [b2])
    return s, s.vector()


@vector
def v23() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "23-consent-expiry-at-state-block",
        "Consent holds while timestamp < expiry: an expiry equal to the state block's timestamp is expired, one "
        "second later is not (items and batch leaves)",
        ["consent expiry at the exact block timestamp", "batch leaves"],
    )
    s.standard()
    state_block = s.block + 40
    t = timestamp(state_block)
    at = s.item(ALICE, blob("at", 50), expiry=t)
    after = s.item(BOB, blob("after", 50), expiry=t + 1)
    leaves, contents = s.leaves("leafexp", [20, 21], consent=ALL_CONSENT, expiry=t)
    batch = s.batch(CAROL, leaves, shared=(CC0, ALL_CONSENT, t), ship=contents)
    ds = s.dataset()
    s.decide(ds, [at, after], [batch])
    assert s.block <= state_block
    return s, s.vector(state_block)


@vector
def v24() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "24-license-noncommercial-in-commercial-dataset",
        "A commercial dataset admits only licenses with the commercial-use class: a CC-BY-NC item is "
        "license-not-allowed; a non-commercial consent is consent-mismatch",
        ["license gates", "non-commercial license", "commercial dataset", "attribution_required"],
    )
    s.standard()
    nc = s.item(ALICE, blob("nc", 70), license_id=CC_BY_NC)
    by = s.item(BOB, blob("by", 70), license_id=CC_BY)
    cc0 = s.item(CAROL, blob("cc0", 70))
    no_commercial = s.item(CAROL, blob("nocom", 70), consent=TRAIN | GENERATIVE)
    ds = s.dataset(name="commercial corpus", use=TRAIN | COMMERCIAL)
    s.decide(ds, [nc, by, cc0, no_commercial])
    return s, s.vector()


@vector
def v25() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "25-license-disabled",
        "A license taken off the allowlist after submission: license-not-allowlisted at the state block; a license "
        "disabled and enabled again counts (the allowlist is read at B)",
        ["license gates", "license disabled", "license history"],
    )
    s.standard()
    off = s.item(ALICE, blob("off", 70), license_id=CC_BY)
    back = s.item(BOB, blob("back", 70), license_id=CC_BY_SA)
    ds = s.dataset()
    s.decide(ds, [off, back])
    s.license(CC_BY, "CC-BY-4.0", C_USE | ATTRIBUTION, allowed=False)
    s.license(CC_BY_SA, "CC-BY-SA-4.0", C_USE | SHARE_ALIKE | ATTRIBUTION, allowed=False)
    s.next_block()
    s.license(CC_BY_SA, "CC-BY-SA-4.0", C_USE | SHARE_ALIKE | ATTRIBUTION, allowed=True)
    s.next_block()
    return s, s.vector()


@vector
def v26() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "26-license-class-widened-after-submission",
        "License classes never widen for submitted items: an NC license widened to commercial use later still "
        "excludes the item submitted under it; items submitted after the change count; a narrowing applies to "
        "everyone; attribution_required follows the classes at B",
        ["license gates", "class widened after submission", "license history", "attribution_required"],
    )
    s.standard()
    s.license(7, "LicenseRef-house", ATTRIBUTION)  # non-commercial at first
    s.next_block()
    before = s.item(ALICE, blob("before", 70), license_id=7)
    narrowed = s.item(BOB, blob("narrowed", 70), license_id=CC_BY)
    s.next_block()
    s.license(7, "LicenseRef-house", C_USE)  # widened to commercial, attribution dropped
    s.license(CC_BY, "CC-BY-4.0", ATTRIBUTION)  # narrowed: no commercial use any more
    s.next_block()
    after = s.item(CAROL, blob("after", 70), license_id=7)
    ds = s.dataset(name="commercial corpus", use=TRAIN | COMMERCIAL)
    s.decide(ds, [before, narrowed, after])
    return s, s.vector()


@vector
def v27() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "27-huge-sizes-and-supplies",
        "Sizes near 2**64 (attested content) and a token supply near 2**208: integers exact end to end, amounts "
        "as decimal strings, a 20-digit declared size in a content-mismatch detail",
        ["huge sizes", "huge token supplies", "numbers as strings", "attested content"],
    )
    s.standard()
    s.mint(CURATORS[0], 2**208 - 1 - s.supply)  # the ERC20Votes ceiling
    s.next_block()
    top = 2**64 - 1
    a = s.attested_item(ALICE, "max", top)
    b = s.attested_item(BOB, "half", 2**63 + 12345)
    c = s.attested_item(ALICE, "max-again", top - 1)
    d = s.attested_item(CAROL, "small", 1)
    liar = s.item(CAROL, b"tiny", size=top)
    ds = s.dataset()
    p1 = s.propose(ds, INCLUDE, [a, b, liar])
    s.vote(p1, CURATORS[0], FOR, weight=2**127)
    s.vote(p1, CURATORS[1], AGAINST, weight=2**120 + 7)
    s.next_block(s.period)
    s.finalize(p1, (2**127, 2**120 + 7, 0))
    s.next_block()
    p2 = s.propose(ds, INCLUDE, [c, d])
    s.vote(p2, CURATORS[0], FOR, weight=2**128 - 1)
    s.vote(p2, CURATORS[2], ABSTAIN, weight=10**30)
    s.next_block(s.period)
    s.finalize(p2, (2**128 - 1, 0, 10**30))
    s.next_block()
    return s, s.vector()


@vector
def v28() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "28-zero-weight-voters",
        "Voters whose tokens came after the snapshot vote with weight 0: counted in voters, not in tallies; with "
        "prior_strength_bps 0 a source backed only by For scores exactly 1",
        ["zero-weight voters", "voters count", "prior strength 0"],
    )
    s.standard()
    items = [s.item(ALICE, blob("a", 60)), s.item(BOB, blob("b", 60))]
    ds = s.dataset()
    p1 = s.propose(ds, INCLUDE, items[:1])
    at_snapshot = s.supply
    for who in LATE:  # bought after p1's snapshot: they may vote, with weight 0
        s.mint(who, 50 * WEI)
    f = s.vote(p1, CURATORS[2], FOR)
    for who, support in zip(LATE, (FOR, AGAINST, ABSTAIN), strict=True):
        s.vote(p1, who, support, weight=0)
    s.next_block(s.period)
    s.finalize(p1, (f, 0, 0), supply=at_snapshot)
    s.next_block()
    p2 = s.propose(ds, INCLUDE, items[1:])
    f2 = s.vote(p2, CURATORS[0], FOR)
    a2 = s.vote(p2, CURATORS[1], AGAINST)
    s.next_block(s.period)
    s.finalize(p2, (f2, a2, 0))
    s.next_block()
    s.params = {"prior_strength_bps": 0}
    return s, s.vector()


@vector
def v29() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "29-duplicate-cid",
        "First claim on a CID wins among single items and leaves of batches read for the dataset; a CIDv0 and its "
        "CIDv1 dag-pb form are one CID; the detail wording differs for single items and leaves",
        ["duplicate CID", "CIDv0 and CIDv1 identity", "batch leaves"],
    )
    s.standard(contributors=(ALICE, BOB, CAROL, DAVE))
    x = blob("x", 90)
    first = s.item(ALICE, x)
    y = blob("y", 91)
    v0 = compute_cid(y, cid_version=0).cid
    q = s.item(CAROL, y, cid=v0)
    z = blob("z", 92)
    leaves = [
        leaf_for_bytes(0, x, CC0, ALL_CONSENT),  # same raw CID as item 1
        Leaf(
            1, v0.to_v1().to_bytes(), hashlib.sha256(y).digest(), 91, CC0, ALL_CONSENT, 0
        ),  # v1 form of a v0
        leaf_for_bytes(2, z, CC0, ALL_CONSENT),  # claimed first here, then by a single item
    ]
    batch = s.batch(BOB, leaves, shared=(CC0, ALL_CONSENT, 0), ship=[z])
    s.next_block()
    late = s.item(DAVE, z)
    ds = s.dataset()
    s.decide(ds, [late, q, first], [batch])
    return s, s.vector()


@vector
def v30() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "30-duplicate-content-under-another-cid",
        "Consent follows the content: Alice revokes her item; the same bytes submitted later by Mallory under "
        "their CIDv0 stay out as a duplicate of Alice's item",
        ["duplicate content under another CID", "revocation before the state block"],
    )
    s.standard(contributors=(ALICE, BOB, MALLORY))
    x = blob("alice's essay", 300)
    alice = s.item(ALICE, x)
    s.revoke(alice, ALICE)
    s.next_block()
    mallory = s.item(MALLORY, x, cid=compute_cid(x, cid_version=0).cid)
    bob = s.item(BOB, blob("bob", 100))
    ds = s.dataset()
    s.decide(ds, [alice, mallory, bob])
    return s, s.vector()


@vector
def v31() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "31-declared-size-lie",
        "Declared sizes are checked against the bytes: larger bytes and smaller bytes are content-mismatch, with "
        "the sentences every reader writes identically",
        ["size lie", "content checks", "content-mismatch details"],
    )
    s.standard()
    honest = s.item(ALICE, blob("honest", 100))
    x, y = blob("short claim", 100), blob("long claim", 40)
    short = s.item(BOB, x, size=60)
    long = s.item(CAROL, y, size=4000)
    ds = s.dataset()
    s.decide(ds, [honest, short, long])
    return s, s.vector()


@vector
def v32() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "32-declared-sha256-lie",
        "A declared sha256 that the bytes do not have is content-mismatch, and cannot squat on content: the honest "
        "later claim of those bytes keeps its weight",
        ["sha256 lie", "content checks", "duplicate content", "content-mismatch details"],
    )
    s.standard(contributors=(ALICE, BOB, MALLORY))
    x = blob("alice's photo", 200)
    z = blob("mallory's junk", 200)
    squat = s.item(MALLORY, z, cid=compute_cid(z, cid_version=0).cid, sha256=hashlib.sha256(x).digest())
    alice = s.item(ALICE, x)
    bob = s.item(BOB, blob("bob", 90))
    ds = s.dataset()
    s.decide(ds, [squat, alice, bob])
    return s, s.vector()


@vector
def v33() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "33-sharded-parts-multiblock",
        "720 items, shard_items 700: two parts; part 0 is larger than 256 KiB so its CID is a balanced UnixFS DAG "
        "(two raw leaves under a dag-pb root), part 1 is one raw block",
        ["sharded parts", "part naming and numbering", "UnixFS CID over 256 KiB"],
    )
    s.standard()
    leaves, contents = s.leaves("shard", [5 + i % 17 for i in range(720)])
    batch = s.batch(BOB, leaves, shared=(CC0, ALL_CONSENT, 0), ship=contents)
    ds = s.dataset()
    s.decide(ds, [], [batch])
    s.shard_items = 700
    return s, s.vector()


@vector
def v34() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "34-sharded-parts-small",
        "Five items, shard_items 2: parts 0, 1, 2 with 2, 2 and 1 items, first/last item ids, an empty inline list",
        ["sharded parts", "part naming and numbering"],
    )
    s.standard()
    ids = [s.item(w, blob(f"p{i}", 20 + i)) for i, w in enumerate((ALICE, BOB, CAROL, ALICE, BOB))]
    ds = s.dataset()
    s.decide(ds, ids[:3])
    s.decide(ds, ids[3:])
    s.shard_items = 2
    return s, s.vector()


@vector
def v35() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "35-parent-and-canonical-parameters",
        "A parent release link, and parameters given in non-canonical spellings (0.70, 4.0, 5E-2, 1.000) recorded "
        "in canonical form",
        ["parent", "canonical parameters", "contributor cap 1"],
    )
    s.standard()
    ids = [s.item(ALICE, blob("a", 40)), s.item(BOB, blob("b", 400))]
    ds = s.dataset()
    s.decide(ds, ids)
    s.params = {
        "alpha": "0.70",
        "eta": "4.0",
        "floor_eps": "5E-2",
        "prior_strength_bps": 250,
        "contributor_cap": "1.000",
    }
    s.parent = {
        "release": 4,
        "manifest_cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "manifest_sha256": "b0" * 32,
        "state_block": s.block - 3,
    }
    return s, s.vector()


@vector
def v36() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "36-untrusted-text-and-description-cids",
        "Strings are raw bytes on chain: invalid UTF-8 shows as U+FFFD; quotes, controls, U+2028 and non-BMP "
        "characters through canonical JSON; description CIDs empty, CIDv0 and bytes that are no CID (CIDv1: vector 03)",
        ["strings as raw bytes", "U+FFFD", "canonical JSON escapes", "empty description_cid"],
    )
    s.mint(CURATORS[0], 10 * WEI)
    s.next_block()
    s.license(CC0, "CC0-1.0", C_USE)
    s.license(5, "LicenseRef-caf\u00e9-\U0001f600", C_USE | ATTRIBUTION)
    s.next_block()
    s.contributor(ALICE, 1, b'https://alice.example/\xff\xfe?q="x"\n\t\x01\x7f')
    s.contributor(BOB, 2, "ipfs://bob\u2028line\u2029para")
    s.next_block()
    a = s.item(ALICE, blob("a", 30), license_id=5)
    b = s.item(BOB, blob("b", 30))
    ds = s.dataset(name=b'Caf\xe9 \xf0\x9f\x98 corpus "quoted"\\', description_cid=b"")
    v0 = compute_cid(b"description", cid_version=0).cid.to_bytes()
    s.decide(ds, [a], description_cid=v0)
    s.decide(ds, [b], description_cid=b"\x01\x02 not a cid")
    s.decide(ds, [a], kind=REMOVE, outcome=REJECTED, description_cid=text_cid(b"reason"))
    return s, s.vector()


@vector
def v37() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "37-datasets-are-isolated",
        "Only the batches the built dataset's curators accepted are read: another dataset's batch, which claims "
        "the same CID earlier, neither excludes this dataset's item nor is read (its manifest is not shipped)",
        ["what a build reads", "duplicate CID scope", "several datasets"],
    )
    s.standard()
    x = blob("shared bytes", 77)
    leaves = [leaf_for_bytes(0, x, CC0, ALL_CONSENT)]
    other_batch = s.batch(BOB, leaves, shared=(CC0, ALL_CONSENT, 0), ship_manifest=False)
    s.next_block()
    item = s.item(ALICE, x)
    other_item = s.item(CAROL, blob("other dataset", 50))
    mine = s.dataset("mine")
    theirs = s.dataset("theirs", use=TRAIN)
    s.decide(theirs, [other_item], [other_batch])
    s.decide(mine, [item])
    s.decide(theirs, [item], kind=REMOVE)
    s.dataset_id = mine
    return s, s.vector()


@vector
def v38() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "38-acceptance-order-and-shared-items",
        "Sources are ordered by (block, log index) of ProposalFinalized, not by proposal id; an item named by two "
        "sources (and twice by one) counts once, in the earlier accepted source",
        ["acceptance order key", "item in several sources", "same-block finalization"],
    )
    s.standard()
    shared = s.item(ALICE, blob("shared", 100))
    own1 = s.item(BOB, blob("own1", 60))
    own2 = s.item(CAROL, blob("own2", 60))
    ds = s.dataset()
    p1 = s.propose(ds, INCLUDE, [shared, own1])
    p2 = s.propose(ds, INCLUDE, [own2, shared, shared])
    p3 = s.propose(ds, INCLUDE, [shared])
    votes = {p: s.vote(p, CURATORS[0], FOR) for p in (p1, p2, p3)}
    s.next_block(s.period)
    s.finalize(p3, (votes[p3], 0, 0))
    s.finalize(p2, (votes[p2], 0, 0))
    s.next_block()
    s.finalize(p1, (votes[p1], 0, 0))
    s.next_block()
    return s, s.vector()


@vector
def v39() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "39-rejected-pending-and-late-proposals",
        "Only proposals accepted by the state block count: a rejected INCLUDE, a pending one (extended, never "
        "finalized), one finalized after the state block and a rejected REMOVE change nothing",
        ["acceptance", "events after B ignored", "ProposalExtended", "BallotSkipped"],
    )
    s.standard()
    a, b, c, d = (s.item(w, blob(t, 50)) for w, t in ((ALICE, "a"), (BOB, "b"), (CAROL, "c"), (ALICE, "d")))
    ds = s.dataset()
    s.decide(ds, [a])
    s.decide(ds, [b], votes=[(CURATORS[0], AGAINST), (CURATORS[1], FOR)], outcome=REJECTED)
    s.decide(ds, [a], kind=REMOVE, votes=[(CURATORS[1], FOR), (CURATORS[0], AGAINST)], outcome=REJECTED)
    pending = s.propose(ds, INCLUDE, [c])
    s.vote(pending, CURATORS[2], FOR)
    s.emit(ev.ProposalExtended, proposal_id=pending, deadline=s.block + 50)
    s.emit(ev.BallotSkipped, voter=CURATORS[1], proposal_id=pending, index=3, reason=1)
    late = s.propose(ds, INCLUDE, [d])
    f = s.vote(late, CURATORS[0], FOR)
    s.next_block(s.period)
    state_block = s.block
    s.next_block()
    s.finalize(late, (f, 0, 0))
    return s, s.vector(state_block)


@vector
def v40() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "40-tiny-exact-weight",
        "floor_eps 0 and a source ten million times smaller than the other: exact_weight below 1e-6 is printed in "
        "exponent notation (Decimal to-scientific-string), and it still gets its wei",
        ["printed precision of exact_weight", "exponent notation", "attested content"],
    )
    s.standard()
    tiny = s.item(ALICE, b"x")
    huge = s.attested_item(BOB, "ten-million", 10_000_000)
    ds = s.dataset()
    s.decide(ds, [tiny], votes=[(CURATORS[2], FOR), (CURATORS[1], AGAINST)])
    s.decide(ds, [huge], votes=[(CURATORS[0], FOR), (CURATORS[1], FOR)])
    s.params = {"floor_eps": "0", "alpha": "1"}
    return s, s.vector()


@vector
def v41() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "41-content-unavailable",
        "An item that passes every other gate has bytes no store can give: the build stops (ContentNotChecked); it "
        "never becomes an exclusion",
        ["availability", "what stops a build"],
    )
    s.standard()
    here = s.item(ALICE, blob("here", 40))
    missing = s.item(BOB, blob("missing", 40), ship=False)
    ds = s.dataset()
    s.decide(ds, [here, missing])
    return s, s.vector()


@vector
def v42() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "42-batch-manifest-unavailable",
        "A batch the dataset accepted has a manifest no store can give: the build stops (BatchNotAdmitted); it "
        "never becomes an exclusion",
        ["availability", "what stops a build", "batch leaves"],
    )
    s.standard()
    leaves, contents = s.leaves("lost", [10, 11])
    batch = s.batch(BOB, leaves, shared=(CC0, ALL_CONSENT, 0), ship_manifest=False, ship=contents)
    ds = s.dataset()
    s.decide(ds, [], [batch])
    return s, s.vector()


@vector
def v43() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "43-infeasible-epoch-cap",
        "max_epochs * eligible bytes < budget_bytes: the budget cannot be read within max_epochs; InfeasibleCaps",
        ["caps infeasible", "epoch cap", "what stops a build"],
    )
    s.standard()
    ids = [s.item(ALICE, blob("a", 100)), s.item(BOB, blob("b", 100))]
    ds = s.dataset()
    s.decide(ds, ids)
    s.params = {"budget_bytes": "1000", "max_epochs": "4.99"}
    return s, s.vector()


@vector
def v44() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "44-tight-epoch-cap",
        "max_epochs * eligible bytes == budget_bytes: every source freezes at its cap (w = n / total bytes) and "
        "the total is exactly one",
        ["caps binding", "epoch cap", "tight cap", "filling tolerance"],
    )
    s.standard()
    ids = [s.item(BOB, blob("b", 232)), s.item(ALICE, blob("a", 95)), s.item(BOB, blob("c", 323))]
    ds = s.dataset()
    s.decide(ds, ids[:1], votes=[(CURATORS[0], FOR), (CURATORS[1], FOR), (CURATORS[2], AGAINST)])
    s.decide(ds, ids[1:2], votes=[(CURATORS[0], FOR), (CURATORS[1], FOR), (CURATORS[2], AGAINST)])
    s.decide(ds, ids[2:], votes=[(CURATORS[0], FOR), (CURATORS[1], AGAINST), (CURATORS[2], AGAINST)])
    s.params = {"budget_bytes": "1300", "max_epochs": "2"}
    return s, s.vector()


@vector
def v45() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "45-latest-metadata-at-state-block",
        "Dataset parameters, contributor profiles and license names are read as of the state block: later "
        "changes are ignored, earlier ones replaced",
        ["voting_params", "profile updates", "license renamed", "events after B ignored"],
    )
    s.standard()
    a = s.item(ALICE, blob("a", 50), license_id=CC_BY)
    ds = s.dataset()
    s.decide(ds, [a])
    s.emit(ev.ProfileUpdated, contributor=ALICE, contributor_id=1, profile_uri="https://alice.example/v2")
    s.emit(
        ev.DatasetParamsSet,
        dataset_id=ds,
        voting_delay=2,
        voting_period=20,
        quorum_bps=1000,
        approval_bps=6000,
        late_quorum_extension=3,
        proposal_threshold=10**30,
    )
    s.license(CC_BY, "CC-BY-4.0-renamed", C_USE | ATTRIBUTION)
    s.next_block()
    state_block = s.block
    s.next_block()
    s.emit(ev.ProfileUpdated, contributor=ALICE, contributor_id=1, profile_uri="https://alice.example/v3")
    s.emit(
        ev.DatasetParamsSet,
        dataset_id=ds,
        voting_delay=9,
        voting_period=99,
        quorum_bps=9,
        approval_bps=9999,
        late_quorum_extension=9,
        proposal_threshold=9,
    )
    return s, s.vector(state_block)


@vector
def v46() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "46-dataset-without-voting-params",
        "A dataset with no DatasetParamsSet: voting_params is null; dataset use 0 admits every consent and license",
        ["voting_params null", "use 0"],
    )
    s.standard()
    a = s.item(ALICE, blob("a", 50), license_id=CC_BY_NC, consent=EVALUATION)
    ds = s.dataset(use=0, params=False)
    s.decide(ds, [a])
    return s, s.vector()


# --- vectors added with manifest v2 (they show what v2 settles; built under every schema like the others) -----


@vector
def v47() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "47-same-block-acceptances-in-log-order",
        "Five proposals finalized in one block: the log index orders them (INCLUDE 2 before INCLUDE 1 for a shared "
        "item; REMOVE 5 before INCLUDE 6 of the same item, so the INCLUDE wins; REMOVE 4 takes an item out). "
        "Manifest v1 records only accepted_block, v2 also accepted_log_index",
        [
            "acceptance order key",
            "same-block finalization",
            "accepted_log_index",
            "REMOVE then INCLUDE",
            "removals",
        ],
    )
    s.standard()
    a, b = s.item(ALICE, blob("a", 60)), s.item(BOB, blob("b", 60))
    shared = s.item(CAROL, blob("shared", 90))
    c, d = s.item(ALICE, blob("c", 50)), s.item(BOB, blob("d", 70))
    ds = s.dataset()
    votes: dict[int, int] = {}
    for kind, items in (
        (INCLUDE, [a, shared]),
        (INCLUDE, [b, shared]),
        (INCLUDE, [c, d]),
        (REMOVE, [c]),
        (REMOVE, [d]),
        (INCLUDE, [d]),
    ):
        pid = s.propose(ds, kind, items)
        votes[pid] = s.vote(pid, CURATORS[0], FOR)
    s.next_block(s.period)
    s.finalize(3, (votes[3], 0, 0))
    s.next_block()
    for pid in (2, 5, 4, 6, 1):  # one block, in this log order
        s.finalize(pid, (votes[pid], 0, 0))
    s.next_block()
    return s, s.vector()


@vector
def v48() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "48-every-gate-reason-with-its-facts",
        "One commercial dataset with an item for every gate reason: removed, revoked (an item and a batch leaf), "
        "consent-mismatch, consent-expired, license-not-allowlisted (a disabled and an unknown license), "
        "license-not-allowed (a non-commercial license and one narrowed after submission), empty. Manifest v1 "
        "leaves their detail empty; v2 states the facts each reason rests on",
        ["gate exclusion details", "every gate reason", "license history", "leaf consent changes"],
    )
    s.standard()
    s.license(5, "LicenseRef-withdrawn", C_USE)
    s.license(6, "LicenseRef-narrowed", C_USE | ATTRIBUTION)
    s.next_block()
    state_block = s.block + 60
    ok = s.item(CAROL, blob("ok", 80))
    removed = s.item(ALICE, blob("removed", 80))
    revoked = s.item(BOB, blob("revoked", 80))
    mismatch = s.item(ALICE, blob("mismatch", 80), consent=TRAIN | GENERATIVE)
    expired = s.item(BOB, blob("expired", 80), expiry=timestamp(state_block))
    withdrawn = s.item(ALICE, blob("withdrawn", 80), license_id=5)
    unknown = s.item(BOB, blob("unknown", 80), license_id=99)
    noncommercial = s.item(ALICE, blob("nc", 80), license_id=CC_BY_NC)
    narrowed = s.item(BOB, blob("narrowed", 80), license_id=6)
    empty = s.item(CAROL, b"")
    leaves, contents = s.leaves("leaf", [40, 41])
    batch = s.batch(CAROL, leaves, shared=(CC0, ALL_CONSENT, 0), ship=contents)
    s.next_block()
    s.revoke(revoked, BOB)
    s.narrow_leaf(batch, CAROL, 1, 0)
    s.license(5, "LicenseRef-withdrawn", C_USE, allowed=False)
    s.license(6, "LicenseRef-narrowed", ATTRIBUTION)
    s.next_block()
    ds = s.dataset(name="commercial corpus", use=TRAIN | COMMERCIAL)
    items = [ok, removed, revoked, mismatch, expired, withdrawn, unknown, noncommercial, narrowed, empty]
    s.decide(ds, items, [batch])
    s.decide(ds, [removed], kind=REMOVE)
    assert s.block <= state_block
    return s, s.vector(state_block)


@vector
def v49() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "49-tiny-scores-and-weights-in-plain-notation",
        "prior_strength_bps 0 and floor_eps 0: a score of 1E-9, a score of 0, an exact weight below 1e-6 and a "
        "zero exact weight. Manifest v1 prints them in exponent form (1.000000000E-9, 0E-18, 0E-30), v2 in plain "
        "notation with the same digits",
        [
            "printed precision of score",
            "printed precision of exact_weight",
            "exponent notation",
            "attested content",
        ],
    )
    s.standard()
    tiny = s.item(ALICE, b"x")
    huge = s.attested_item(BOB, "ten-million-again", 10_000_000)
    zero = s.item(CAROL, blob("zero-score", 40))
    gone = s.item(ALICE, blob("gone", 40))
    s.revoke(gone, ALICE)
    s.next_block()
    ds = s.dataset()
    for items, tallies in (
        ([tiny], (1, 999_999_999, 0)),
        ([huge], (600 * WEI, 0, 0)),
        ([zero], (0, 300 * WEI, 0)),
        ([gone], (100 * WEI, 0, 0)),
    ):
        pid = s.propose(ds, INCLUDE, items)
        s.vote(pid, CURATORS[0], FOR, weight=tallies[0])
        s.vote(pid, CURATORS[1], AGAINST, weight=tallies[1])
        s.next_block(s.period)
        s.finalize(pid, tallies)
        s.next_block()
    s.params = {"prior_strength_bps": 0, "floor_eps": "0", "alpha": "1"}
    return s, s.vector()


@vector
def v50() -> tuple[Story, dict[str, Any]]:
    s = Story(
        "50-attribution-from-submission-classes",
        "attribution_required: an attribution bit dropped after submission, two license ids sharing one SPDX text "
        "and an attribution bit added after submission. Manifest v1 reads the current classes of every license "
        "with the same SPDX text; v2 reads the classes each item was submitted under",
        ["attribution_required", "license history", "licenses sharing an SPDX text"],
    )
    s.standard()
    s.license(7, "LicenseRef-house", C_USE | ATTRIBUTION)
    s.license(8, "LicenseRef-shared", C_USE)
    s.license(9, "LicenseRef-shared", C_USE | ATTRIBUTION)
    s.license(10, "LicenseRef-late", C_USE)
    s.next_block()
    dropped = s.item(ALICE, blob("dropped", 70), license_id=7)
    shared = s.item(BOB, blob("shared", 70), license_id=8)
    added = s.item(CAROL, blob("added", 70), license_id=10)
    s.next_block()
    s.license(7, "LicenseRef-house", C_USE)  # attribution dropped after submission
    s.license(10, "LicenseRef-late", C_USE | ATTRIBUTION)  # attribution added after submission
    s.next_block()
    ds = s.dataset()
    s.decide(ds, [dropped, shared, added])
    return s, s.vector()


# --- writing ---------------------------------------------------------------------------------------------------


def manifest_file(schema: str) -> str:
    """`manifest.json` for manifest v1 (the name the first vectors used), `manifest.v2.json` and so on after."""
    return "manifest.json" if schema == MANIFEST_SCHEMA_V1 else f"manifest.{schema.rsplit('/', 1)[1]}.json"


def render(story: Story, doc: dict[str, Any]) -> dict[str, bytes]:
    """Every file of the vector's directory, with the expected outputs computed by the project's code."""
    files: dict[str, bytes] = {}
    for i, (text, data) in enumerate(sorted(story.batch_files.items())):
        name = f"batch-manifest-{i}.json"
        doc["batch_manifests"][text] = name
        files[name] = data
    doc["expected"] = {}
    for schema in MANIFEST_SCHEMAS:
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in files.items():
                (Path(tmp) / name).write_bytes(data)
            try:
                built = build_vector(Vector(story.name, Path(tmp), doc), schema)
            except InvalidInput as exc:
                doc["expected"][schema] = {"error": type(exc).__name__, "message": str(exc)}
                continue
        name = manifest_file(schema)
        parts = []
        for p in built.parts:
            part_name = f"manifest-part-{p.index:05d}.json"  # parts are the same bytes under every schema
            if files.setdefault(part_name, p.data) != p.data:
                raise SystemExit(f"{story.name}: part {p.index} differs between manifest schemas")
            parts.append({"file": part_name, "sha256": p.sha256, "cid": p.cid, "count": p.count})
        doc["expected"][schema] = {"manifest": name, "sha256": built.sha256, "cid": built.cid, "parts": parts}
        files[name] = built.data
    files["vector.json"] = (json.dumps(doc, indent=1, ensure_ascii=True) + "\n").encode()
    return files


def index(rows: Sequence[tuple[str, str, list[str], list[str]]]) -> bytes:
    """docs/spec/vectors/README.md: every vector with what it shows, what it covers and its outcomes."""
    lines = [
        "# Conformance vectors (manifests `curation-commons/manifest/v1` and `v2`, scheme `commons-v1`)",
        "",
        "Each directory holds `vector.json` (inputs and the expected outcome under each manifest schema, format in",
        "[../commons-v1.md, Appendix A](../commons-v1.md#appendix-a-the-vector-format)) and, unless the build must",
        "fail, `manifest.json` (the expected manifest v1 bytes), `manifest.v2.json` (manifest v2), their parts",
        "`manifest-part-NNNNN.json` (the same bytes under both) and the batch manifests it reads. Generated once",
        "by `python -m tests.spec.make_vectors`; frozen since (a change of bytes needs a new version). Checked by",
        "`tests/spec/test_conformance_vectors.py`.",
        "",
        "| vector | shows | covers | v1 | v2 |",
        "|---|---|---|---|---|",
    ]
    for name, title, covers, outcomes in rows:
        shown = [
            f"fails: `{outcome[6:]}`" if outcome.startswith("error:") else f"sha256 `{outcome[:16]}...`"
            for outcome in outcomes
        ]
        lines.append(
            f"| [{name}]({name}/vector.json) | {title} | {'; '.join(covers)} | {' | '.join(shown)} |"
        )
    return ("\n".join(lines) + "\n").encode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    parser.add_argument("--force", action="store_true", help="rewrite vectors whose files changed")
    parser.add_argument("--only", help="generate only the vector with this name")
    args = parser.parse_args(argv)
    changed: list[str] = []
    frozen: dict[str, list[tuple[str, str]]] = {schema: [] for schema in MANIFEST_SCHEMAS}
    rows: list[tuple[str, str, list[str], list[str]]] = []
    names = set()
    for make in VECTORS:
        story, doc = make()
        if story.name in names:
            raise SystemExit(f"two vectors are named {story.name}")
        names.add(story.name)
        if args.only and story.name != args.only:
            continue
        files = render(story, doc)
        outcomes = []
        for schema, expected in doc["expected"].items():
            outcome = f"error:{expected['error']}" if "error" in expected else expected["sha256"]
            frozen[schema].append((story.name, outcome))
            outcomes.append(outcome)
        rows.append((story.name, story.title, story.covers, outcomes))
        target = VECTORS_DIR / story.name
        existing = {p.name: p.read_bytes() for p in target.iterdir()} if target.is_dir() else {}
        if existing == files:
            continue
        if args.check or (existing and not args.force):
            changed.append(story.name if existing else f"{story.name} (missing)")
            continue
        if target.is_dir():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name, data in files.items():
            (target / name).write_bytes(data)
        print(f"wrote {target}")
    readme = VECTORS_DIR / "README.md"
    if not args.only and (not readme.is_file() or readme.read_bytes() != index(rows)):
        if args.check:
            changed.append("README.md")
        else:
            readme.write_bytes(index(rows))
            print(f"wrote {readme}")
    for schema, entries in frozen.items():
        print(f"FROZEN entries under {schema} (tests/spec/test_conformance_vectors.py):")
        for name, outcome in entries:
            print(f'        "{name}": "{outcome}",')
    if changed:
        print(
            "these vectors would change: "
            + ", ".join(changed)
            + " (frozen: a change of bytes needs a new version; "
            "--force rewrites them)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
