"""Transparency report of a release: diff against the parent, turnout, voting-power concentration, revocations.

The report carries every number the HTTP API serves about a release (turnout and shares in basis points too), so
the API maps it and computes nothing itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

from curation.batches import item_ref
from curation.display import markdown_text
from curation.errors import InvalidInput
from curation.governance import (
    share_bps,
    snapshot_passed,
    snapshot_supply,
    status,
    turnout,
    turnout_bps,
    votes_cast,
)
from curation.state import ChainState, ProposalRecord

if TYPE_CHECKING:
    from curation.manifest import BuiltManifest

__all__ = [
    "REPORT_SCHEMA",
    "build_report",
    "decimal_string",
    "gini",
    "nakamoto",
    "parameter_changes",
    "render_markdown",
]

REPORT_SCHEMA: Final = "curation-commons/report/v1"
_PLACES: Final = 6


def decimal_string(value: Fraction, places: int = _PLACES) -> str:
    """`value` rounded half-even to `places` decimals, as a string (exact integer arithmetic, no float)."""
    scaled = value * 10**places
    q = round(scaled)  # Fraction.__round__ rounds half to even
    sign = "-" if q < 0 else ""
    q = abs(q)
    return f"{sign}{q // 10**places}.{q % 10**places:0{places}d}"


def gini(values: Sequence[int]) -> Fraction:
    """Gini coefficient of non-negative amounts (0 equal, towards 1 concentrated); 0 for none or all zero."""
    if any(v < 0 for v in values):
        raise InvalidInput("Gini coefficient needs non-negative values")
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return Fraction(0)
    # G = 2 * sum(i * x_i) / (n * total) - (n + 1) / n, with x ascending and i from 1
    weighted = sum(i * x for i, x in enumerate(xs, start=1))
    return Fraction(2 * weighted, n * total) - Fraction(n + 1, n)


def nakamoto(values: Sequence[int]) -> int:
    """Smallest number of holders whose combined power is more than half of the total (0 when none)."""
    total = sum(values)
    acc = 0
    for k, v in enumerate(sorted(values, reverse=True), start=1):
        acc += v
        if 2 * acc > total:
            return k
    return 0


def _largest_holdings(values: Sequence[int], n: int) -> int:
    """The combined power of the `n` largest holders (0 when there are none)."""
    return sum(sorted(values, reverse=True)[:n])


def _turnout(state: ChainState, p: ProposalRecord) -> dict[str, Any]:
    supply = snapshot_supply(p, state.block, state.supply.at)
    cast = votes_cast(p)
    share = turnout(cast, supply)
    return {
        "proposal_id": p.proposal_id,
        "kind": p.kind.word,
        "status": status(p, state.block).word,
        "snapshot": p.snapshot,
        "deadline": p.deadline,
        "voters": p.voters,
        "for_votes": str(p.for_votes),
        "against_votes": str(p.against_votes),
        "abstain_votes": str(p.abstain_votes),
        "votes_cast": str(cast),
        "total_supply": None if supply is None else str(supply),
        "turnout": None if share is None else decimal_string(share),
        "turnout_bps": None if supply is None else turnout_bps(cast, supply),
    }


def _concentration(state: ChainState, block: int) -> dict[str, Any]:
    power = state.voting_power_at(block)
    values = list(power.values())
    total = sum(values)
    top = _largest_holdings(values, 1)
    return {
        "snapshot": block,
        "holders": len(values),
        "total_votes": str(total),
        "gini": decimal_string(gini(values)),
        "nakamoto": nakamoto(values),
        "largest_share": decimal_string(Fraction(top, total)) if total else "0.000000",
        "top1_share_bps": share_bps(top, total),
        "top10_share_bps": share_bps(_largest_holdings(values, 10), total),
    }


def build_report(
    state: ChainState,
    manifest: BuiltManifest,
    parent_doc: Mapping[str, Any] | None,
    parent_items: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The transparency report of `manifest` (built from `state`) against its parent release, as plain data."""
    doc = manifest.doc
    dataset_id = int(doc["dataset"]["id"])
    old_items = {str(r["item_id"]): r for r in parent_items}
    exclusions = {e["item_id"]: e for e in doc["exclusions"]}
    new_ids: set[str] = set()
    added = []
    reweighted = 0  # items of both releases whose weight changed
    for rec in manifest.items:  # one record at a time: a large manifest's records are not all held at once
        k = rec["item_id"]
        new_ids.add(k)
        if k in old_items:
            reweighted += str(old_items[k].get("weight")) != str(rec["weight"])
        else:
            added.append(
                {
                    "item_id": k,
                    "ref": rec["ref"],
                    "cid": rec["cid"],
                    "source": rec["source"],
                    "contributor": rec["contributor"],
                }
            )
    added.sort(key=lambda a: int(a["item_id"]))
    removed = []
    for k, r in sorted(old_items.items(), key=lambda kv: int(kv[0])):
        if k in new_ids:
            continue
        exc = exclusions.get(k)
        removed.append(
            {
                "item_id": k,
                "ref": r.get("ref", item_ref(int(k))),
                "cid": r.get("cid", ""),
                "reason": exc["reason"] if exc else "not-included",
                "detail": exc["detail"] if exc else "no accepted INCLUDE proposal names it any more",
            }
        )
    since = int(parent_doc["state_block"]["number"]) if parent_doc else -1
    relevant = manifest.inputs.included | {int(k) for k in old_items}
    revocations = [
        {
            "item_id": str(r.item_id),
            "ref": item_ref(r.item_id),
            "contributor": r.contributor,
            "block": r.at.block_number,
            "in_dataset": r.item_id in relevant,
        }
        for r in state.revocations
        if r.at.block_number > since
    ]
    proposals = sorted(
        (p for p in state.proposals.values() if p.dataset_id == dataset_id), key=lambda p: p.proposal_id
    )
    snapshots = sorted({p.snapshot for p in proposals if snapshot_passed(p, state.block)})
    return {
        "schema": REPORT_SCHEMA,
        "dataset": {"id": dataset_id, "name": doc["dataset"]["name"]},
        "manifest": {"cid": manifest.cid, "sha256": manifest.sha256},
        "state_block": doc["state_block"]["number"],
        "parent": doc["parent"],
        "scheme": doc["scheme"],
        "totals": doc["totals"],
        "items_added": added,
        "items_removed": removed,
        "changed_weights": reweighted,
        "exclusions_by_reason": _count_reasons(doc["exclusions"]),
        "proposals": [_turnout(state, p) for p in proposals],
        "concentration": [_concentration(state, b) for b in snapshots],
        "revocations_since_parent": revocations,
        "parameter_changes": parameter_changes(state, dataset_id, since),
    }


def parameter_changes(state: ChainState, dataset_id: int, since: int = -1) -> list[dict[str, Any]]:
    """The dataset's parameter settings after block `since`, oldest first, each with the Governor proposal
    that made it (`proposal`: id and title) or None when a dataset manager set it directly."""
    out = []
    for e in state.param_changes:
        if e.dataset_id != dataset_id or e.at.block_number <= since:
            continue
        made_by = state.change_proposal(e.at)
        title = (
            str(made_by.description).strip().splitlines()[0][:200]
            if made_by and str(made_by.description).strip()
            else ""
        )
        out.append(
            {
                "block": e.at.block_number,
                "params": {
                    "voting_delay": e.voting_delay,
                    "voting_period": e.voting_period,
                    "quorum_bps": e.quorum_bps,
                    "approval_bps": e.approval_bps,
                    "late_quorum_extension": e.late_quorum_extension,
                    "proposal_threshold": str(e.proposal_threshold),
                },
                "proposal": None if made_by is None else {"id": str(made_by.proposal_id), "title": title},
            }
        )
    return out


def _count_reasons(exclusions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in exclusions:
        out[str(e["reason"])] = out.get(str(e["reason"]), 0) + 1
    return dict(sorted(out.items()))


#: Rows of an item table the Markdown report shows; the JSON report always holds every row.
MARKDOWN_ROWS: Final = 1000


def _capped(rows: Sequence[Mapping[str, Any]], limit: int) -> tuple[Sequence[Mapping[str, Any]], list[str]]:
    """The first `limit` rows, and a line saying how many more the JSON report holds (if any)."""
    if len(rows) <= limit:
        return rows, []
    return rows[:limit], ["", f"... and {len(rows) - limit} more: every row is in the JSON report."]


def render_markdown(report: Mapping[str, Any], max_rows: int = MARKDOWN_ROWS) -> str:
    """The report as Markdown: the same facts as the JSON, with item tables cut at `max_rows` rows each
    (a first release of a million items would otherwise be a million-line table)."""
    ds = report["dataset"]
    parent = report["parent"]
    lines = [
        f"# Transparency report: dataset {ds['id']} ({markdown_text(ds['name'])})",
        "",
        f"- state block: {report['state_block']}",
        f"- manifest: `{report['manifest']['cid']}` (sha256 `{report['manifest']['sha256']}`)",
        f"- parent: release {parent['release']} (`{parent['manifest_cid']}`)"
        if parent
        else "- parent: none (first release)",
        f"- scheme: `{report['scheme']['id']}`",
        f"- items: {report['totals']['items']}, bytes: {report['totals']['bytes']}, "
        f"excluded: {report['totals']['excluded']}",
        "",
        f"## Items added ({len(report['items_added'])})",
        "",
    ]
    lines += ["| item | cid | source |", "|---|---|---|"] if report["items_added"] else ["none", ""]
    shown, more = _capped(report["items_added"], max_rows)
    lines += [f"| {a['ref']} | `{a['cid']}` | {a['source']} |" for a in shown] + more
    lines += ["", f"## Items removed ({len(report['items_removed'])})", ""]
    lines += (
        ["| item | cid | reason | detail |", "|---|---|---|---|"] if report["items_removed"] else ["none", ""]
    )
    shown, more = _capped(report["items_removed"], max_rows)
    lines += [
        f"| {r['ref']} | `{r['cid']}` | {r['reason']} | {markdown_text(r['detail'])} |" for r in shown
    ] + more
    lines += ["", "## Exclusions by reason", ""]
    lines += [f"- {k}: {v}" for k, v in report["exclusions_by_reason"].items()] or ["none"]
    lines += ["", "## Turnout per proposal", ""]
    if report["proposals"]:
        lines += [
            "| proposal | kind | status | for | against | abstain | supply | turnout |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {p['proposal_id']} | {p['kind']} | {p['status']} | {p['for_votes']} | {p['against_votes']} | "
            f"{p['abstain_votes']} | {p['total_supply'] or '-'} | {p['turnout'] or '-'} |"
            for p in report["proposals"]
        ]
    else:
        lines.append("none")
    lines += ["", "## Voting-power concentration at each snapshot", ""]
    if report["concentration"]:
        lines += [
            "| snapshot | holders | total votes | Gini | Nakamoto | largest share |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['snapshot']} | {c['holders']} | {c['total_votes']} | {c['gini']} | {c['nakamoto']} | "
            f"{c['largest_share']} |"
            for c in report["concentration"]
        ]
    else:
        lines.append("none")
    lines += ["", "## Revocations since the parent release", ""]
    if report["revocations_since_parent"]:
        lines += ["| item | contributor | block | in this dataset |", "|---|---|---|---|"]
        shown, more = _capped(report["revocations_since_parent"], max_rows)
        lines += [
            f"| {r['ref']} | `{r['contributor']}` | {r['block']} | {'yes' if r['in_dataset'] else 'no'} |"
            for r in shown
        ] + more
    else:
        lines.append("none")
    lines += ["", "## Parameter changes", ""]
    changes = report.get("parameter_changes", [])  # absent from reports made before it existed
    if changes:
        lines += [
            "| block | quorum bps | approval bps | period | delay | threshold | made by |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in changes:
            p = c["params"]
            by = (
                f"governance proposal {c['proposal']['id']}: {markdown_text(c['proposal']['title'])}"
                if c["proposal"]
                else "a dataset manager, directly"
            )
            lines.append(
                f"| {c['block']} | {p['quorum_bps']} | {p['approval_bps']} | {p['voting_period']} | "
                f"{p['voting_delay']} | {p['proposal_threshold']} | {by} |"
            )
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"
