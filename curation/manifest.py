"""Build a release manifest: canonical JSON (RFC 8785) of a dataset at a state block, sha256, item parts.

One builder for every manifest schema: v2 differs from v1 only where it settles a question of
docs/spec/OPEN-QUESTIONS.md (`_Rules`). Reading one back (untrusted bytes) is curation.manifest_read's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, overload

from curation.batches import item_ref
from curation.canonical import canonical_bytes, sha256_hex
from curation.cid import cid_text
from curation.consent import format_consent
from curation.errors import InvalidInput
from curation.licenses import LicenseClass
from curation.selection import DatasetInputs, dataset_inputs, submitted_classes
from curation.state import ChainState, ProposalRecord
from curation.unixfs import compute_cid
from curation.weights.base import WAD, WeightResult, get_scheme

__all__ = [
    "DEFAULT_SCHEME",
    "DEFAULT_SHARD_ITEMS",
    "MANIFEST_SCHEMAS",
    "MANIFEST_SCHEMA_V1",
    "MANIFEST_SCHEMA_V2",
    "PART_SCHEMA",
    "BuiltManifest",
    "ChainContext",
    "ManifestPart",
    "ManifestRows",
    "ParentRelease",
    "build_manifest",
]

MANIFEST_SCHEMA_V1: Final = "curation-commons/manifest/v1"
MANIFEST_SCHEMA_V2: Final = "curation-commons/manifest/v2"
#: Every manifest schema this code builds and reads, oldest first: a release is rebuilt under its own schema.
MANIFEST_SCHEMAS: Final = (MANIFEST_SCHEMA_V1, MANIFEST_SCHEMA_V2)
#: Parts are the same bytes under every manifest schema (their item records did not change).
PART_SCHEMA: Final = "curation-commons/manifest-items/v1"
DEFAULT_SCHEME: Final = "commons-v1"
#: Item lists longer than this go into CID-addressed parts of at most this many items each.
DEFAULT_SHARD_ITEMS: Final = 10_000


@dataclass(frozen=True)
class ChainContext:
    """Facts the manifest records that are not in the events: chain, contracts and the state block header."""

    chain_id: int
    contracts: Mapping[str, str]  # artifact name -> address
    state_block: int
    state_block_hash: str  # 0x hex
    state_timestamp: int


@dataclass(frozen=True)
class ParentRelease:
    """The release this one follows (the dataset's latest anchored release when it was built)."""

    number: int
    manifest_cid: str
    manifest_sha256: str  # hex
    state_block: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.number,
            "manifest_cid": self.manifest_cid,
            "manifest_sha256": self.manifest_sha256,
            "state_block": self.state_block,
        }


@dataclass(frozen=True)
class ManifestPart:
    """One CID-addressed part of a sharded item list."""

    index: int
    data: bytes
    cid: str
    sha256: str
    count: int


@dataclass(frozen=True)
class BuiltManifest:
    """The top-level manifest (`data` is what the sha256 is taken over) and its parts."""

    doc: dict[str, Any]
    data: bytes
    sha256: str
    parts: tuple[ManifestPart, ...]
    items: ManifestRows  # every item record, whether inline or in parts
    weights: WeightResult
    inputs: DatasetInputs

    @property
    def cid(self) -> str:
        """CIDv1 (raw leaves) of `data`, as the store computes it."""
        return str(compute_cid(self.data).cid)


@dataclass(frozen=True)
class _Rules:
    """What a manifest schema decides where v2 settles an open question (docs/spec/OPEN-QUESTIONS.md)."""

    gate_details: bool  # OQ1: a gate exclusion's detail states the facts its reason rests on (v1: "")
    accepted_log_index: bool  # OQ2: sources and removals record the log index of ProposalFinalized
    fixed_point: bool  # OQ3: score and exact_weight in plain decimal notation (v1: to-scientific-string)
    submitted_attribution: bool  # OQ8: attribution from each item's license classes at its submission


_RULES: Final[dict[str, _Rules]] = {
    MANIFEST_SCHEMA_V1: _Rules(
        gate_details=False, accepted_log_index=False, fixed_point=False, submitted_attribution=False
    ),
    MANIFEST_SCHEMA_V2: _Rules(
        gate_details=True, accepted_log_index=True, fixed_point=True, submitted_attribution=True
    ),
}


def _tallies(p: ProposalRecord, rules: _Rules) -> dict[str, Any]:
    out = {
        "for_votes": str(p.for_votes),
        "against_votes": str(p.against_votes),
        "abstain_votes": str(p.abstain_votes),
        "voters": p.voters,
        "total_supply": str(p.past_total_supply or 0),
        "snapshot": p.snapshot,
        "accepted_block": p.finalized.block_number if p.finalized else None,
    }
    if rules.accepted_log_index:
        out["accepted_log_index"] = p.finalized.log_index if p.finalized else None
    return out


def _decimal_text(text: str, rules: _Rules) -> str:
    """A scheme's quantized decimal as the schema prints it: v2 in plain notation (`0.000000005214...`)."""
    return format(Decimal(text), "f") if rules.fixed_point else text


def _source_entries(din: DatasetInputs, result: WeightResult, rules: _Rules) -> list[dict[str, Any]]:
    by_pid = {s.proposal_id: s for s in result.sources}
    out = []
    for p in din.sources:
        w = by_pid.get(p.proposal_id)
        out.append(
            {
                "proposal_id": p.proposal_id,
                "proposer": p.proposer,
                "description_cid": cid_text(p.description_cid),
                **_tallies(p, rules),
                "item_ids": [str(i) for i in p.item_ids],
                "batch_ids": [str(b) for b in p.batch_ids],
                "score": _decimal_text(w.score, rules) if w else None,
                "eligible_items": w.eligible_items if w else 0,
                "eligible_bytes": str(w.eligible_bytes if w else 0),
                "weight": str(w.weight if w else 0),
                "exact_weight": _decimal_text(w.exact_weight, rules) if w else "0",
            }
        )
    return out


#: One item's facts as the manifest records them, captured at build time (the state may fold on afterwards):
#: (item_id, cid, sha256, size, spdx, license_id, contributor, consent, expiry, source, weight).
_Row = tuple[int, bytes, bytes, int, str, int, str, int, int, int, int]


def _item_row(state: ChainState, item_id: int, source: int, weight: int) -> _Row:
    item = state.items[item_id]
    lic = state.licenses.get(item.license_id)
    return (
        item_id,
        item.cid,
        item.sha256,
        item.size,
        lic.spdx if lic else "",
        item.license_id,
        item.contributor,
        item.consent,
        item.expiry,
        source,
        weight,
    )


def _item_entry(row: _Row) -> dict[str, Any]:
    item_id, cid, sha256, size, spdx, license_id, contributor, consent, expiry, source, weight = row
    return {
        "item_id": str(item_id),
        "ref": item_ref(item_id),
        "cid": cid_text(cid),
        "sha256": sha256.hex(),
        "size": str(size),
        "license": spdx,
        "license_id": license_id,
        "contributor": contributor,
        "consent": consent,
        "consent_flags": format_consent(consent),
        "consent_expiry": str(expiry),
        "source": source,
        "weight": str(weight),
    }


class ManifestRows(Sequence[dict[str, Any]]):
    """A manifest's item records in order, each made on demand from a compact row.

    A million records as dicts take about 1.3 GB; as rows about a tenth of that. Each access returns a
    fresh dict, equal to the one in the manifest's bytes.
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[_Row]) -> None:
        self._rows = tuple(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_item_entry(row) for row in self._rows[index]]
        return _item_entry(self._rows[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(_item_entry, self._rows)

    def __repr__(self) -> str:
        return f"ManifestRows({len(self._rows)} items)"

    @property
    def rows(self) -> tuple[_Row, ...]:
        return self._rows


def _mask(value: int) -> str:
    return f"0x{value:02x}"


def _license_name(state: ChainState, license_id: int) -> str:
    lic = state.licenses.get(license_id)
    return f"license {lic.spdx} (id {license_id})" if lic else f"license id {license_id}"


def _gate_detail(state: ChainState, din: DatasetInputs, item_id: int, reason: str) -> str:
    """The facts a gate exclusion rests on, in the fixed sentences of the spec (section 7.5, manifest v2).

    Every value is the one the gate read: the item's facts at the state block (`din.inputs.items`).
    """
    facts = din.inputs.items[item_id]
    use, now = din.inputs.dataset_use, din.inputs.state_timestamp
    if reason == "removed":
        return f"removed by proposal {din.removed_by[item_id]}"
    if reason == "revoked":
        revoked_at = state.items[item_id].revoked_at
        assert revoked_at is not None  # the fold records where every revocation happened
        return f"revoked in block {revoked_at.block_number}"
    if reason == "consent-mismatch":
        return f"consent {_mask(facts.consent)} does not cover use {_mask(use)}"
    if reason == "consent-expired":
        return f"consent expiry {facts.consent_expiry} <= state timestamp {now}"
    license_id = state.items[item_id].license_id
    if reason == "license-not-allowlisted":
        return f"{_license_name(state, license_id)} is not on the allowlist"
    if reason == "license-not-allowed":
        return (
            f"{_license_name(state, license_id)} classes {_mask(facts.license_classes)} "
            f"do not allow use {_mask(use)}"
        )
    if reason == "empty":
        return f"size is {facts.size}"
    raise InvalidInput(
        f"the weight scheme excluded item {item_ref(item_id)} for an unknown reason {reason!r}"
    )


def _exclusions(
    state: ChainState, din: DatasetInputs, result: WeightResult, rules: _Rules
) -> list[dict[str, Any]]:
    entries: dict[int, dict[str, Any]] = {}
    for item_id, reason in result.exclusions.items():
        item = state.items[item_id]
        entries[item_id] = {
            "item_id": str(item_id),
            "ref": item_ref(item_id),
            "cid": cid_text(item.cid),
            "reason": reason,
            "detail": _gate_detail(state, din, item_id, reason) if rules.gate_details else "",
            "source": result.item_source.get(item_id),
        }
    for item_id, (reason, detail, pid) in din.not_admitted.items():
        if item_id in entries:
            continue
        known = state.items.get(item_id)
        entries[item_id] = {
            "item_id": str(item_id),
            "ref": item_ref(item_id),
            "cid": cid_text(known.cid) if known else "",
            "reason": reason,
            "detail": detail,
            "source": pid,
        }
    return [entries[i] for i in sorted(entries)]


def _attribution(state: ChainState, rows: Sequence[_Row], rules: _Rules) -> list[dict[str, Any]]:
    per: dict[str, list[Any]] = {}  # contributor -> [items, bytes, weight, licenses, attribution (v2)]
    for iid, _cid, _sha, size, spdx, _lid, contributor, _consent, _expiry, _source, weight in rows:
        entry = per.get(contributor)
        if entry is None:
            entry = per[contributor] = [0, 0, 0, set(), False]
        entry[0] += 1
        entry[1] += size
        entry[2] += weight
        entry[3].add(spdx)
        if rules.submitted_attribution and not entry[4]:
            entry[4] = bool(submitted_classes(state, iid) & LicenseClass.ATTRIBUTION)
    out = []
    for addr in sorted(per):
        n, size_sum, weight_sum, spdx_set, submitted_needs = per[addr]
        who = state.contributors.get(addr)
        licenses = sorted(spdx_set)
        needs = (
            submitted_needs
            if rules.submitted_attribution
            else any(
                lic.classes & LicenseClass.ATTRIBUTION
                for lic in state.licenses.values()
                if lic.spdx in licenses
            )
        )
        out.append(
            {
                "contributor": addr,
                "contributor_id": who.contributor_id if who else 0,
                "profile_uri": who.profile_uri if who else "",
                "items": n,
                "bytes": str(size_sum),
                "weight": str(weight_sum),
                "licenses": licenses,
                "attribution_required": needs,
            }
        )
    return out


def _dataset_entry(state: ChainState, dataset_id: int, ctx: ChainContext) -> dict[str, Any]:
    ds = state.dataset(dataset_id)
    params = ds.params
    return {
        "id": dataset_id,
        "name": ds.name,
        "description_cid": cid_text(ds.description_cid),
        "creator": ds.creator,
        "use": ds.use,
        "use_flags": format_consent(ds.use),
        "voting_params": None
        if params is None
        else {
            "voting_delay": params.voting_delay,
            "voting_period": params.voting_period,
            "quorum_bps": params.quorum_bps,
            "approval_bps": params.approval_bps,
            "late_quorum_extension": params.late_quorum_extension,
            "proposal_threshold": str(params.proposal_threshold),
        },
        "chain_id": ctx.chain_id,
        "contracts": {name: addr.lower() for name, addr in sorted(ctx.contracts.items())},
    }


def build_manifest(
    state: ChainState,
    dataset_id: int,
    ctx: ChainContext,
    *,
    scheme_id: str = DEFAULT_SCHEME,
    params: Mapping[str, object] | None = None,
    parent: ParentRelease | None = None,
    shard_items: int = DEFAULT_SHARD_ITEMS,
    schema: str = MANIFEST_SCHEMA_V2,
) -> BuiltManifest:
    """The manifest of `dataset_id` at `ctx.state_block`: a pure function of the folded state and `ctx`.

    `schema` is one of MANIFEST_SCHEMAS (a release is rebuilt under the schema it was built with). InvalidInput
    for an unknown dataset, scheme, manifest schema or out-of-range parameters (the message names them).
    """
    rules = _RULES.get(schema)
    if rules is None:
        raise InvalidInput(f"unknown manifest schema {schema!r}; known: {', '.join(MANIFEST_SCHEMAS)}")
    if isinstance(shard_items, bool) or not isinstance(shard_items, int) or shard_items < 1:
        raise InvalidInput(f"shard_items must be an integer >= 1, got {shard_items!r}")
    if state.block != ctx.state_block:
        raise InvalidInput(f"the state is folded to block {state.block}, the context says {ctx.state_block}")
    if parent is not None and parent.state_block > ctx.state_block:
        raise InvalidInput(
            f"the parent release {parent.number} was built at block {parent.state_block}, after this state "
            f"block {ctx.state_block}; wait for block {parent.state_block} to be confirmed"
        )
    dataset = _dataset_entry(state, dataset_id, ctx)
    scheme = get_scheme(scheme_id)
    canon = scheme.canonical_params(params)
    din = dataset_inputs(state, dataset_id, ctx.state_timestamp)
    result = scheme.compute(din.inputs, canon)
    items = ManifestRows(
        [_item_row(state, iid, result.item_source[iid], w) for iid, w in result.items.items()]
    )
    rows = items.rows
    parts: list[ManifestPart] = []
    if len(items) > shard_items:
        for index, start in enumerate(range(0, len(items), shard_items)):
            chunk = items[start : start + shard_items]
            data = canonical_bytes(
                {
                    "schema": PART_SCHEMA,
                    "dataset_id": dataset_id,
                    "state_block": ctx.state_block,
                    "part": index,
                    "items": chunk,
                }
            )
            parts.append(ManifestPart(index, data, str(compute_cid(data).cid), sha256_hex(data), len(chunk)))
    doc: dict[str, Any] = {
        "schema": schema,
        "dataset": dataset,
        "state_block": {
            "number": ctx.state_block,
            "hash": ctx.state_block_hash.lower(),
            "timestamp": ctx.state_timestamp,
        },
        "scheme": {"id": result.scheme_id, "params": dict(result.params)},
        "parent": parent.to_dict() if parent else None,
        "sources": _source_entries(din, result, rules),
        "removals": [
            {
                "proposal_id": p.proposal_id,
                **_tallies(p, rules),
                "item_ids": [str(i) for i in p.item_ids],
                "batch_ids": [str(b) for b in p.batch_ids],
            }
            for p in din.removals
        ],
        "totals": {
            "items": len(rows),
            "bytes": str(sum(row[3] for row in rows)),
            "weight": str(sum(result.items.values())),
            "contributors": len({row[6] for row in rows}),
            "excluded": 0,
        },
        "items": [] if parts else list(items),
        "item_parts": [
            {
                "part": p.index,
                "cid": p.cid,
                "sha256": p.sha256,
                "count": p.count,
                "first_item_id": str(rows[p.index * shard_items][0]),
                "last_item_id": str(rows[p.index * shard_items + p.count - 1][0]),
            }
            for p in parts
        ],
        "exclusions": _exclusions(state, din, result, rules),
        "excluded_batches": sorted(
            [
                {"batch_id": str(b), "reason": "batch-manifest-invalid", "detail": problem, "source": pid}
                for b, (problem, pid) in din.invalid_batches.items()
            ]
            + [
                {
                    "batch_id": str(b),
                    "reason": "removed",
                    "detail": f"removed by proposal {rid}",
                    "source": pid,
                }
                for b, (rid, pid) in din.removed_batches.items()
            ],
            key=lambda e: int(e["batch_id"]),
        ),
        "attribution": _attribution(state, rows, rules),
    }
    doc["totals"]["excluded"] = len(doc["exclusions"])
    if items and doc["totals"]["weight"] != str(WAD):
        raise InvalidInput(
            f"scheme {scheme_id} returned weights summing to {doc['totals']['weight']}, not 10**18"
        )
    data = canonical_bytes(doc)
    return BuiltManifest(doc, data, sha256_hex(data), tuple(parts), items, result, din)
