"""License and attribution report of a pull: what was fetched, under which licenses, whose, what was left out."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from curation.consent import format_consent
from curation.licenses import LicenseClass
from curation.manifest_read import ManifestItem

__all__ = [
    "REPORT_JSON",
    "REPORT_MD",
    "REPORT_SCHEMA",
    "build_pull_report",
    "render_markdown",
    "write_report",
]

REPORT_SCHEMA: Final = "curation-commons/pull-report/v1"
REPORT_JSON: Final = "pull-report.json"
REPORT_MD: Final = "ATTRIBUTION.md"


def _classes(flags: int | None) -> dict[str, bool | None]:
    if flags is None:  # the license is no longer in the registry's list: unknown, say so
        return {"commercial_use": None, "share_alike": None, "attribution": None}
    return {
        "commercial_use": bool(flags & LicenseClass.COMMERCIAL_USE),
        "share_alike": bool(flags & LicenseClass.SHARE_ALIKE),
        "attribution": bool(flags & LicenseClass.ATTRIBUTION),
    }


def build_pull_report(
    *,
    dataset: Mapping[str, Any],
    release: Mapping[str, Any],
    head_block: int,
    items: Sequence[ManifestItem],
    excluded: Mapping[int, Mapping[str, Any]],
    status: Mapping[int, str],
    license_classes: Mapping[str, int],
    attribution_required: Mapping[str, bool],
    items_dir: str,
) -> dict[str, Any]:
    """Plain data for pull-report.json: no wall-clock time, every list in item-id or name order.

    `license_classes` are the registry's classes now (shown per license); whether a contributor must be
    credited is the release's own answer (`attribution_required` of its manifest's attribution list), which
    the manifest rule decides once (under schema 2, by the classes each item was submitted under).
    """
    kept = [i for i in items if i.item_id not in excluded]
    licenses: dict[str, dict[str, Any]] = {}
    people: dict[str, dict[str, Any]] = {}
    for item in kept:
        lic = licenses.setdefault(item.license, {"spdx": item.license, "items": 0, "bytes": 0})
        lic["items"] += 1
        lic["bytes"] += item.size
        who = people.setdefault(
            item.contributor, {"contributor": item.contributor, "items": 0, "bytes": 0, "licenses": set()}
        )
        who["items"] += 1
        who["bytes"] += item.size
        who["licenses"].add(item.license)
    license_rows = []
    for spdx in sorted(licenses):
        row = licenses[spdx]
        license_rows.append({**row, "bytes": str(row["bytes"]), **_classes(license_classes.get(spdx))})
    attribution = []
    for addr in sorted(people):
        who = people[addr]
        names = sorted(who["licenses"])
        attribution.append(
            {
                "contributor": addr,
                "items": who["items"],
                "bytes": str(who["bytes"]),
                "licenses": names,
                "attribution_required": attribution_required.get(addr, False),
            }
        )
    counts = {"fetched": 0, "already_present": 0, "not_fetched": 0}
    for item in kept:
        counts[status.get(item.item_id, "fetched")] += 1
    return {
        "schema": REPORT_SCHEMA,
        "dataset": dict(dataset),
        "release": dict(release),
        "consent_checked_at_block": head_block,
        "totals": {
            "manifest_items": len(items),
            "items": len(kept),
            "bytes": str(sum(i.size for i in kept)),
            "fetched": counts["fetched"],
            "already_present": counts["already_present"],
            "not_fetched": counts["not_fetched"],
            "excluded": len(excluded),
        },
        "excluded": [{"item_id": str(k), **excluded[k]} for k in sorted(excluded)],
        "licenses": license_rows,
        "attribution": attribution,
        "files": [
            {
                "item_id": str(i.item_id),
                "ref": i.ref,
                "path": f"{items_dir}/{i.cid}",
                "cid": i.cid,
                "sha256": i.sha256,
                "size": str(i.size),
                "license": i.license,
                "contributor": i.contributor,
                "consent": format_consent(i.consent),
                "weight": str(i.weight),
            }
            for i in kept
        ],
    }


def _yes(value: object) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def render_markdown(report: Mapping[str, Any]) -> str:
    """ATTRIBUTION.md: licenses, contributors to credit, exclusions, for humans and for model cards."""
    ds, rel, tot = report["dataset"], report["release"], report["totals"]
    out = [
        f"# Licenses and attribution: {ds.get('name', '')} (dataset {ds.get('id')}), release {rel.get('number')}",
        "",
        f"- manifest: `{rel.get('manifest_cid')}` (sha256 `{rel.get('manifest_sha256')}`, verified against the "
        "on-chain anchor)",
        f"- state block: {rel.get('state_block')}; consent re-checked at block {report['consent_checked_at_block']}",
        f"- dataset use: {ds.get('use_flags', '')}",
        f"- items: {tot['items']} ({tot['bytes']} bytes), fetched now {tot['fetched']}, already present "
        f"{tot['already_present']}, excluded {tot['excluded']}"
        + (
            f", not fetched {tot['not_fetched']} (a manifest-only pull: `curation pull` into this directory "
            "fetches them)"
            if tot.get("not_fetched")
            else ""
        ),
        "",
        "## Licenses",
        "",
        "| license | items | bytes | commercial use | share-alike | attribution |",
        "|---|---:|---:|---|---|---|",
    ]
    for lic in report["licenses"]:
        out.append(
            f"| {lic['spdx']} | {lic['items']} | {lic['bytes']} | {_yes(lic['commercial_use'])} | "
            f"{_yes(lic['share_alike'])} | {_yes(lic['attribution'])} |"
        )
    out += ["", "## Contributors", "", "| contributor | items | bytes | licenses | attribution required |"]
    out.append("|---|---:|---:|---|---|")
    for who in report["attribution"]:
        out.append(
            f"| {who['contributor']} | {who['items']} | {who['bytes']} | {', '.join(who['licenses'])} | "
            f"{_yes(who['attribution_required'])} |"
        )
    out += ["", "## Excluded since the release", ""]
    if report["excluded"]:
        out.append(
            "These items are in the manifest but their consent no longer covers the dataset's use; they"
        )
        out.append("were not fetched (and a copy from an earlier pull was deleted). Do not train on them.")
        out.append("")
        for ex in report["excluded"]:
            out.append(f"- {ex['ref']} `{ex['cid']}`: {ex['reason']} ({ex['detail']})")
    else:
        out.append("None: every item's consent still covers the dataset's use.")
    return "\n".join(out) + "\n"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_report(out_dir: Path, report: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write pull-report.json and ATTRIBUTION.md into `out_dir` (each replaced atomically)."""
    json_path, md_path = out_dir / REPORT_JSON, out_dir / REPORT_MD
    _write(json_path, (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
    _write(md_path, render_markdown(report).encode())
    return json_path, md_path
