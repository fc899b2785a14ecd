"""Exports of a manifest: MLCommons Croissant 1.1 (JSON-LD, with RAI fields) and a Hugging Face dataset card."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from curation.consent import format_consent
from curation.display import markdown_text, yaml_string
from curation.manifest_read import part_file_name

__all__ = [
    "CROISSANT_CONTEXT",
    "DEFAULT_GATEWAY",
    "PARQUET_MEDIA_TYPE",
    "croissant",
    "dataset_card",
    "gateway_url",
]

#: Croissant needs http(s) URLs: content is addressed through a trustless gateway by CID.
DEFAULT_GATEWAY: Final = "https://ipfs.io"

#: Croissant's encodingFormat for Parquet (mlcroissant's EncodingFormat.PARQUET).
PARQUET_MEDIA_TYPE: Final = "application/x-parquet"

#: JSON-LD context of Croissant 1.1 (as mlcroissant writes it) plus the RAI namespace.
CROISSANT_CONTEXT: Final[dict[str, Any]] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# (field name in the manifest's item records, Croissant data type, description)
_ITEM_FIELDS: Final = (
    ("item_id", "sc:Text", "item id: the registry item id, or 2**64 + batch * 2**32 + leaf for a batch leaf"),
    ("ref", "sc:Text", "item:<id> or batch:<batch id>:<leaf index>"),
    ("cid", "sc:Text", "IPFS CID of the content"),
    ("sha256", "sc:Text", "sha256 of the content, hex"),
    ("size", "sc:Text", "content size in bytes (decimal string)"),
    ("license", "sc:Text", "SPDX license id"),
    ("contributor", "sc:Text", "contributor address"),
    ("consent_flags", "sc:Text", "uses the contributor consents to"),
    ("source", "sc:Integer", "accepted INCLUDE proposal the item counts in"),
    ("weight", "sc:Text", "training weight in wad (10**18 = the whole dataset), decimal string"),
)


class _Part(Protocol):
    @property
    def index(self) -> int: ...

    @property
    def cid(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def gateway_url(gateway: str, cid: str) -> str:
    """`<gateway>/ipfs/<cid>` (the gateway without a trailing slash)."""
    return f"{gateway.rstrip('/')}/ipfs/{cid}"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def _version(doc: Mapping[str, Any]) -> str:
    parent = doc.get("parent")
    return f"{(parent['release'] if parent else 0) + 1}.0.0"


def _licenses(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({str(r["license"]) for r in items if r.get("license")})


def _rai(doc: Mapping[str, Any]) -> dict[str, Any]:
    ds = doc["dataset"]
    use = format_consent(int(ds["use"]))
    totals = doc["totals"]
    reasons = sorted({str(e["reason"]) for e in doc.get("exclusions", [])})
    return {
        "rai:dataCollection": (
            "Contributors submit openly licensed content to the Curation Commons ContentRegistry contract: "
            "bytes on IPFS (by CID), the chain records contributor, SPDX license and consent terms."
        ),
        "rai:dataCollectionType": ["Direct contribution by the content's authors or rights holders"],
        "rai:dataAnnotationProtocol": (
            "Curators holding the voting token propose to include or remove items and vote For, Against or "
            "Abstain with their voting power at each proposal's snapshot block; the tallies behind every "
            "included source are in the manifest."
        ),
        "rai:dataPreprocessingProtocol": (
            "Items enter only if included by an accepted proposal and not removed, consent not revoked, "
            f"consent covering the dataset's use ({use}) and not expired at the state block, and license "
            f"allowed for that use; excluded here: {totals.get('excluded', 0)} items "
            f"(reasons: {', '.join(reasons) or 'none'}). Weights: scheme {doc['scheme']['id']}."
        ),
        "rai:dataUseCases": [f"Intended use declared by the dataset: {use}"],
        "rai:dataLimitations": (
            "Composition reflects what contributors submitted and curators accepted; token-weighted voting "
            "can over-represent large holders (see the release's transparency report for concentration)."
        ),
        "rai:dataBiases": (
            "Selection follows the preferences of token holders who voted; thinly voted sources are "
            "shrunk toward a neutral score, and a floor keeps every accepted source sampled."
        ),
        "rai:personalSensitiveInformation": (
            "Contributor identities are public blockchain addresses; content is not screened for personal "
            "data beyond curation votes and the grievance process."
        ),
        "rai:dataSocialImpact": (
            "Contributors keep explicit, revocable consent; revocations are honoured by every later release."
        ),
        "rai:dataReleaseMaintenancePlan": (
            "Each release is anchored on-chain (manifest CID and sha256) with a parent link and a "
            "transparency report; anyone can rebuild it from chain logs with `curation verify`."
        ),
    }


def _fields(record_set: str, file_id: str, *, column: bool = False) -> list[dict[str, Any]]:
    """The item fields of a RecordSet read from `file_id`: by JSONPath from JSON, by column from Parquet."""
    return [
        {
            "@type": "cr:Field",
            "@id": f"{record_set}/{name}",
            "name": name,
            "description": text,
            "dataType": dtype,
            "source": {
                "fileObject": {"@id": file_id},
                "extract": {"column": name} if column else {"jsonPath": f"$.items[*].{name}"},
            },
        }
        for name, dtype, text in _ITEM_FIELDS
    ]


def _record_set_id(part: int | None) -> str:
    return "items" if part is None else f"items-{part:05d}"


def _parquet_files(
    listing: Mapping[str, Any], gateway: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """FileObjects and RecordSets of the Parquet files a `parquet.json` listing names (in its order)."""
    files, record_sets = [], []
    for entry in listing["files"]:
        part, file_id = entry["part"], str(entry["file"])
        what = "the manifest's items" if part is None else f"items, part {part}"
        files.append(
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": file_id,
                "description": f"Parquet rows of {what} (the same rows as the canonical JSON, {entry['rows']})",
                "contentUrl": gateway_url(gateway, str(entry["cid"])),
                "encodingFormat": PARQUET_MEDIA_TYPE,
                "sha256": str(entry["sha256"]),
            }
        )
        rs = _record_set_id(part)
        record_sets.append(
            {"@type": "cr:RecordSet", "@id": rs, "name": rs, "field": _fields(rs, file_id, column=True)}
        )
    return files, record_sets


def croissant(
    doc: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    manifest_cid: str,
    manifest_sha256: str,
    *,
    gateway: str = DEFAULT_GATEWAY,
    parts: Sequence[_Part] = (),
    parquet: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Croissant 1.1 JSON-LD of a manifest: the manifest (and its parts) as FileObjects, one RecordSet of
    item records per file, RAI fields from the dataset's use, gates and governance.

    With `parquet` (the release's `parquet.json` document, as data), its Parquet files are FileObjects too
    and the RecordSets read the item records from them, by column; without it, from the JSON by JSONPath.
    """
    ds = doc["dataset"]
    manifest_id = "manifest.json"
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": manifest_id,
            "name": manifest_id,
            "description": "Release manifest (canonical JSON, RFC 8785)",
            "contentUrl": gateway_url(gateway, manifest_cid),
            "encodingFormat": "application/json",
            "sha256": manifest_sha256,
        }
    ]
    record_sets: list[dict[str, Any]] = []
    if parts:
        for part in parts:
            file_id = part_file_name(part.index)
            distribution.append(
                {
                    "@type": "cr:FileObject",
                    "@id": file_id,
                    "name": file_id,
                    "description": f"Items, part {part.index}",
                    "contentUrl": gateway_url(gateway, part.cid),
                    "encodingFormat": "application/json",
                    "sha256": part.sha256,
                }
            )
            rs = _record_set_id(part.index)
            record_sets.append(
                {"@type": "cr:RecordSet", "@id": rs, "name": rs, "field": _fields(rs, file_id)}
            )
    else:
        record_sets.append(
            {"@type": "cr:RecordSet", "@id": "items", "name": "items", "field": _fields("items", manifest_id)}
        )
    if parquet is not None:
        parquet_files, record_sets = _parquet_files(parquet, gateway)
        distribution.extend(parquet_files)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(ds["name"])).strip("-") or f"dataset-{ds['id']}"
    totals = doc["totals"]
    out: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": name,
        "description": (
            f"{ds['name']}: {totals['items']} items ({totals['bytes']} bytes) from {totals['contributors']} "
            f"contributors, curated on chain {ds['chain_id']} up to block {doc['state_block']['number']}."
        ),
        "url": gateway_url(gateway, manifest_cid),
        "version": _version(doc),
        "datePublished": _date(int(doc["state_block"]["timestamp"])),
        "license": [f"https://spdx.org/licenses/{lic}.html" for lic in _licenses(items)],
        "creator": {"@type": "sc:Organization", "name": "Curation Commons contributors"},
        "keywords": [
            "curation-commons",
            "community-curated",
            "consent",
            *format_consent(int(ds["use"])).split(","),
        ],
        "citeAs": f"Curation Commons dataset {ds['id']} ({ds['name']}), manifest sha256 {manifest_sha256}",
        "isLiveDataset": False,
        **_rai(doc),
        "distribution": distribution,
        "recordSet": record_sets,
    }
    return out


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "n>1M"


def dataset_card(
    doc: Mapping[str, Any], manifest_cid: str, manifest_sha256: str, *, gateway: str = DEFAULT_GATEWAY
) -> str:
    """A Hugging Face dataset card (README.md with YAML front matter) for a manifest."""
    ds = doc["dataset"]
    totals = doc["totals"]
    licenses = sorted({str(a) for entry in doc.get("attribution", []) for a in entry["licenses"]})
    hf_licenses = [lic.lower() for lic in licenses] or ["other"]
    lines = [
        "---",
        f"pretty_name: {yaml_string(str(ds['name']))}",
        "license:",
        *[f"- {lic}" for lic in hf_licenses],
        "size_categories:",
        f"- {_size_category(int(totals['items']))}",
        "tags:",
        "- curation-commons",
        "- community-curated",
        "- consent",
        "---",
        "",
        f"# {markdown_text(ds['name'])}",
        "",
        f"Curated on chain {ds['chain_id']} by token-weighted votes; intended use: "
        f"**{format_consent(int(ds['use']))}**. State block {doc['state_block']['number']} "
        f"(`{doc['state_block']['hash']}`), weight scheme `{doc['scheme']['id']}`.",
        "",
        f"- manifest: [`{manifest_cid}`]({gateway_url(gateway, manifest_cid)}), sha256 `{manifest_sha256}`",
        f"- items: {totals['items']}, bytes: {totals['bytes']}, contributors: {totals['contributors']}, "
        f"excluded: {totals['excluded']}",
        "- verify: `curation verify " + str(ds["id"]) + "` rebuilds the manifest from chain logs",
        "",
        "## Sources (accepted INCLUDE proposals)",
        "",
        "| proposal | for | against | abstain | score | weight (wad) | eligible items |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {s['proposal_id']} | {s['for_votes']} | {s['against_votes']} | {s['abstain_votes']} | "
            f"{s['score']} | {s['weight']} | {s['eligible_items']} |"
            for s in doc.get("sources", [])
        ],
        "",
        "## Attribution",
        "",
        "| contributor | profile | items | licenses | attribution required |",
        "|---|---|---|---|---|",
        *[
            f"| `{a['contributor']}` | {markdown_text(a['profile_uri'])} | {a['items']} | {', '.join(a['licenses'])} | "
            f"{'yes' if a['attribution_required'] else 'no'} |"
            for a in doc.get("attribution", [])
        ],
        "",
        "## Consent",
        "",
        "Every item's consent flags and expiry are in the manifest. Contributors can narrow or revoke consent "
        "at any time; later releases honour it, and trainers should drop items revoked after the state block.",
        "",
    ]
    return "\n".join(lines)
