"""Conformance vectors of docs/spec/commons-v1.md: every vector rebuilds byte for byte, and frozen per version.

Each vector (docs/spec/vectors/<name>/vector.json) holds decoded events, the chain context, the build inputs,
the batch manifests and item bytes a build reads, and the expected manifest bytes beside it under every
manifest schema (`manifest.json` for v1, `manifest.v2.json` for v2). The harness below is the release path of
backend/release.py (`prepare_dataset` + `build_manifest`) without a chain or a store: fold the events up to the
state block, read the manifests of the batches the dataset needs, check the bytes of every content candidate,
build under each schema.

FROZEN records each vector's manifest sha256 under its (manifest schema, scheme id): released bytes never
change. A change of bytes needs a new version (a new manifest schema or scheme id) and new vectors under it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final

import pytest

from curation import events as ev
from curation.cid import CID, cid_text
from curation.content import ContentCheck, ContentChecker, content_cids
from curation.errors import InvalidInput
from curation.manifest import (
    MANIFEST_SCHEMA_V1,
    MANIFEST_SCHEMA_V2,
    MANIFEST_SCHEMAS,
    BuiltManifest,
    ChainContext,
    ParentRelease,
    build_manifest,
)
from curation.selection import content_candidates, needed_batches
from curation.state import BatchLoader, ChainState, admit_batch, fold_events
from curation.unixfs import compute_cid

VECTORS_DIR: Final = Path(__file__).resolve().parents[2] / "docs" / "spec" / "vectors"
VECTOR_FORMAT: Final = "curation-commons/conformance-vector/v3"
MIN_VECTORS: Final = 30

#: Solidity `string` fields of the events: raw bytes on chain, ChainText here (U+FFFD for invalid UTF-8).
STRING_FIELDS: Final = frozenset({"spdx", "profile_uri", "name", "reason", "scheme_id"})
_EVENT_CLASSES: Final = {cls.__name__: (contract, cls) for (contract, _), cls in ev.EVENT_TYPES.items()}
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")

# (manifest schema, scheme id) -> vector -> sha256 of the expected manifest bytes, or "error:<type>" for a
# vector whose build must fail. Entries of a released version are never edited: new bytes need a new version.
FROZEN: Final[dict[tuple[str, str], dict[str, str]]] = {
    (MANIFEST_SCHEMA_V1, "commons-v1"): {
        "01-empty-dataset": "95faa95551e6ad2ebcfcf22ace2027ec6340002860e07b9dd173f4a7ee1f384f",
        "02-source-without-eligible-items": "942aff9ef04ff14204b0d1b3c37bb9e7074eaafc60a709a9af1cf2ab3eafc3ab",
        "03-one-item": "d5d9d5cad48051e54d8a91b4dfe47bcf8f7fbcf9f9849a8c4419091e6d048464",
        "04-two-sources-floor-and-split": "d17efcb428854212c854ec553f493ce2158fd8a3e2b5acffd200171ce60e7eaf",
        "05-epoch-cap-binding": "e4104e07d193d41a803be8ab2b02bd33d2530a58f923b8f1a2117473fd41fd15",
        "06-contributor-cap-binding": "7b2ee1a5bc372c100548330f0fb0d4cd926ac04edf493c44b51042de71e7bf34",
        "07-both-caps-binding": "1f71ce0fd87e2441356ea4638c926cf68964302b81d573e951c02ae91a1c7230",
        "08-tight-contributor-cap": "4535f57c0b1cfc3b7622ff8f9e0829484c6e636e139ad33681bd27870558f919",
        "09-infeasible-contributor-cap": "error:InfeasibleCaps",
        "10-infeasible-caps-together": "error:InfeasibleCaps",
        "11-exact-ties-between-cells": "d13229cb5d256befaf1e070250d835d6e739389a4da2203267bd4344381fad46",
        "12-exact-ties-within-a-source": "da6095856830e41d5b305a9f98fc8a1511b67ace6ee8956b03e2187d68f1b8af",
        "13-revocation-before-state-block": "4dc3bcea775a988e4caf6661ce6e5f00eae84302889f7b83b71de4b07070c8ed",
        "14-revocation-after-state-block": "0f6a4965cafd69008bf3efd0654f61408bce06899f4a0458ce95b45f7d2e804a",
        "15-consent-narrowed": "9568096273765f2acc35f3a374c75d65b19c21df96afc2fa8294433a51821694",
        "16-remove-then-include": "5f4f71ed7766b8a6ccd773615e56a4610e6bb9bf0666343fc52cbd5ab0f73279",
        "17-include-then-remove": "55e09b3481e12f79568a4e7c4f71d9a5e5791ad5580057da733ac321ad068e93",
        "18-include-remove-include": "7a6d79e9f96cb5991c2855d0882295dad1614cdf8437b8b7b58740f13527cd53",
        "19-batch-shared-terms-and-leaf-consent": "b4d1092ae487a7229315e0b184668699447a8ea9218de2a8e084ba6c373166af",
        "20-batch-dropped-leaves": "d20ca104cf61ac2bd7bad00fd41f16e30d751dbaa7ce474fc3a1f7f0964ad419",
        "21-batch-manifest-invalid": "58bf874cb1f4d8e667eb3f25cecdd8158fa9d70f6f85acce07eb4107b763e114",
        "22-batch-removed-and-reincluded": "47313cb30ec5ec814ce48e444663f9d028bf3f550eb3f4f489724cf923d3afc8",
        "23-consent-expiry-at-state-block": "c2e83ac8a04aa2475864ec0c9e5925a893309d7d6b52a058b7d5c3f52611bba7",
        "24-license-noncommercial-in-commercial-dataset": "164831354952be2fb8d69a1ff8a2d81da3d9ac6d71f98e2e3fb0448730a8c10b",
        "25-license-disabled": "0abb33b76ca1f545a86b78e2c35686c2ea20b61de6dad7ac74ca677dd6d5ab12",
        "26-license-class-widened-after-submission": "bf1228858e67501c0fd0fa9727123598373f4e4b8e882b0d9c56b47c686ea50c",
        "27-huge-sizes-and-supplies": "82d3cabc188de303a0182c5320ec5e44f76c1ecdc2486480e15b7832c003c349",
        "28-zero-weight-voters": "232012f9a2e2d017574cfe4769b9091a37953c99591bdf27384d21445eebbf64",
        "29-duplicate-cid": "fb624be902827ea93104b834e123c4cced9b7c771e8b3f2f574bb9f84024e3ad",
        "30-duplicate-content-under-another-cid": "35f93faf52d944fb14521e2ba217f3f2334f701fa6d93e977479a5d3bd37a318",
        "31-declared-size-lie": "e15d8a0a548ba8b96064c4d5d7ccf4553424a775b3072f23e2ad68448194659c",
        "32-declared-sha256-lie": "8d60f6e3b4d785a8a953d615f4614ed3fd73b96480ded7ea8f1b21175e0a0898",
        "33-sharded-parts-multiblock": "9ff31c9376861863e2a57447835a5aabedd1dc49230eeea58ca8e63f2c26708e",
        "34-sharded-parts-small": "037590a1aaa4ac2ecb39b5fe4e1e1e855682bb4467341418da3bec3227e689de",
        "35-parent-and-canonical-parameters": "5267944c4af7f0acdb5edc866f841393f59c33d7cad9c5d679bb53d553693a37",
        "36-untrusted-text-and-description-cids": "4517ea34f6d467413a962165a132d5b6bd8cb98c3a2646b195e1e81a35870a2d",
        "37-datasets-are-isolated": "465146f76e136abb0fcd4c84e395f8b084c57a09e6e8bd1cf21c5c7558f022cd",
        "38-acceptance-order-and-shared-items": "daf57aa2f40c669a19ea31fcefa176eba59b4f6a19359cddacce5aa88b13d4b5",
        "39-rejected-pending-and-late-proposals": "8c467ddefef56c02df66d28ca6830026b25a5efed63919617370a59f9265e451",
        "40-tiny-exact-weight": "b4221272a59bc56f8446ef1c627a644382b7506e6377f70a5eb65c2cd2aa8336",
        "41-content-unavailable": "error:ContentNotChecked",
        "42-batch-manifest-unavailable": "error:BatchNotAdmitted",
        "43-infeasible-epoch-cap": "error:InfeasibleCaps",
        "44-tight-epoch-cap": "345172938a10d1948cc7891cc44889ea458fd25e2b4b73faf3daa0fabbfe9f98",
        "45-latest-metadata-at-state-block": "335aed7cd40e3ee6b959c54b2c3a7fa8a6ae270a721f8252c66b68d0da18f127",
        "46-dataset-without-voting-params": "0872e949999bf7ad92b9c062fa83d9cbc96a574fb5caccc3651af1acb078d1af",
        # added with manifest v2: the same rules, more stories
        "47-same-block-acceptances-in-log-order": "5cbb52a3321f91220b628849df4f62826b0cc368e23beb748af37d2679746946",
        "48-every-gate-reason-with-its-facts": "2bcdd11a7bbf51c8e0fc8ab8b7f5949de68ee0b65b59c955d8b1d830aa0ca3de",
        "49-tiny-scores-and-weights-in-plain-notation": "7be3c43f13236ba33c3bdcfa243e6fc2f6a00c4d1be1daec2fea51cecdae8cd9",
        "50-attribution-from-submission-classes": "46bcb54abcc1b472852611df40843c51e3b15a4cd6974558b3381d4200411f9b",
    },
    (MANIFEST_SCHEMA_V2, "commons-v1"): {
        "01-empty-dataset": "a376988fa9fa0793dfc9b042892ddee66960bf5947020eccf1f362d4ee750cc0",
        "02-source-without-eligible-items": "c9ba7663f1d57044e596b35ff8aa7fcfa2deeb9bfd8f5096478aee6fdb5382c5",
        "03-one-item": "f11120e545a516d336c3414e1278cc72d9b4fb1b6a2c45ecd243d889d3a3a4c7",
        "04-two-sources-floor-and-split": "a3e3ea581f7319a775693d27bd92f6447ca04f6ee5c4bcb0a7fe91502c94c44e",
        "05-epoch-cap-binding": "2beb2a100ef193aa5899237b2daa70b928576139b89b29887f6145e9e212ce0e",
        "06-contributor-cap-binding": "57a705f8d20b3fbe21082a816db6b024449b5c62676349b0ad0e3bef77da2c98",
        "07-both-caps-binding": "3b9e3bdca6012ea57d1c1cabf37332e98c03d4384f6c58092010a03ae949123e",
        "08-tight-contributor-cap": "aff852efcf2f08be59fd19c6c578c95286e66afae5c712c679c85b1d45a1b659",
        "09-infeasible-contributor-cap": "error:InfeasibleCaps",
        "10-infeasible-caps-together": "error:InfeasibleCaps",
        "11-exact-ties-between-cells": "33888cb84c037d737f37943f117a4395ccc057adcffd8293578c36a652a3d32d",
        "12-exact-ties-within-a-source": "4efb1df7215c815d669681a33864747a0e36ad19fd9200ebf00601181953573e",
        "13-revocation-before-state-block": "47213f15a14a38afc3ee749e9e83d8727b86bb3168ef2c090ab7e1d72fff7bff",
        "14-revocation-after-state-block": "6c964b008de08c3358757e36b0779c52f01c2eb6747e421ca904e64f9c81100a",
        "15-consent-narrowed": "40c36fe9c8f1c93cbee90382f2414c7183a9b9bc4b812bfd76e5efe8a59160c8",
        "16-remove-then-include": "2564465f199d9222a58fd17c896e84518fdca00c6db25565b69ccb7aa132e2b4",
        "17-include-then-remove": "97d21766e1a47b6bf5679e7475a3e33baf21d74fa556e6113cd196f5396a53dd",
        "18-include-remove-include": "51bfb93bca3043b4fad49aa20a1e636b4d6b276b7aac1a99cbe795636e8eef90",
        "19-batch-shared-terms-and-leaf-consent": "777310fae29a2edd2cfefdc43113c4d6d0a96eea18272607e1610e44dbb63528",
        "20-batch-dropped-leaves": "b4415401bc23475f0cee36af5715ee926b485259635eacf2722f09b1880a93af",
        "21-batch-manifest-invalid": "12125d28868306010b697710ec3d7fa020f93269625e4f9e9f46538df6bdd6a4",
        "22-batch-removed-and-reincluded": "67dad29a2824c65153d5a201435d781cb512e8297f82e7e8ff67fe380df37c71",
        "23-consent-expiry-at-state-block": "f51cb625c3a152b020b65d242c5387a9717a8004bc523ddc9d66333a1feba0c4",
        "24-license-noncommercial-in-commercial-dataset": "77a979eeba126603b64ba60e626b4d25da2774b1e616b418b8ed4a830eb4f2ba",
        "25-license-disabled": "92fe2482815af017ce77048f80f9c21c5facbe439c7e5a36e58ecaa697732d12",
        "26-license-class-widened-after-submission": "131ecaec5aa3abb96c7e95a1f93e84de00efbe44ec40100e912fa997cac81ec9",
        "27-huge-sizes-and-supplies": "a1c0ec9467c4445b0b53282add52f00e63b64e63d553504444844250f278c7d2",
        "28-zero-weight-voters": "fbc04b30b7fb6c46dbe9a4f44962d07ed7e65e7bc6d6d66e67be0424a66c30a3",
        "29-duplicate-cid": "28ba31a826897b312e151733f9c83e79f9caf314034b7fec2240063d3524235e",
        "30-duplicate-content-under-another-cid": "00a58e50235a7f6f8194a2b8df9f57abd807a2c2690e84ec44bf40be91c1d63d",
        "31-declared-size-lie": "0bda5714aa275d7579a356c3e296bb4a251ce2a8ca4321913d7225b43db8994a",
        "32-declared-sha256-lie": "d33795b3475c59c6aa55007a81e09220e33bbd57f41e2fb9f68123084d006696",
        "33-sharded-parts-multiblock": "d39e97d6149421cd75856f38a0862e781473116115114a50c93d091518060e53",
        "34-sharded-parts-small": "f95210c27215f72b45da2c3aa6bae6b37504f828a214d08c0d80bf76d8ddbf63",
        "35-parent-and-canonical-parameters": "281ba77c3282cf328c4b498070be79f3f44a1e6a6b323ce0599abd58d0de4d92",
        "36-untrusted-text-and-description-cids": "e5587c249a2449e32cf7d538736b7319b50940d425471e85be29458bbfc87fe6",
        "37-datasets-are-isolated": "d8386cd8046cf131c17e13a93b632a84095dab8a1566471f16cd02eb8d9fc551",
        "38-acceptance-order-and-shared-items": "fb05ddce38ae34bb622abf8482bdcbf775d23653a2e884f703cf0bc5fec57d00",
        "39-rejected-pending-and-late-proposals": "06a269a01c5e7ea2bcf7f304610b30c3554ddeb6b32db1e893e9b24928870dda",
        "40-tiny-exact-weight": "1b058edd0e7e6c81c492c2a2f778454fdfe333bce128c0085ff1a9d87b51a28c",
        "41-content-unavailable": "error:ContentNotChecked",
        "42-batch-manifest-unavailable": "error:BatchNotAdmitted",
        "43-infeasible-epoch-cap": "error:InfeasibleCaps",
        "44-tight-epoch-cap": "5e1d82f1da89bc5472658434833ee09c2d9e9b6fc4b37d010dcb73294839c36c",
        "45-latest-metadata-at-state-block": "1782080b3a37c9af86fe178ef4ce4bbb7d444566a42961fdf101710a9dab6394",
        "46-dataset-without-voting-params": "f8a97945fdcd54cc196edf81663b44407e5117af77c70a62f982816dcf23f4d8",
        "47-same-block-acceptances-in-log-order": "4fb93bf7e34fa1da498479474376fc74d34a981b026fc494709353a3d06c626c",
        "48-every-gate-reason-with-its-facts": "a586690093c53552a6ca436a07cf4b89215c63b36523af044a51b070325f578e",
        "49-tiny-scores-and-weights-in-plain-notation": "8484d1c2c96a9086d50118cf7abf4b78e8e04424ad113d3299d3d2c35981e5fb",
        "50-attribution-from-submission-classes": "5dbcff2432adff1aa7b1f77f69b9619028ce26359a4eda24d5c6169e648f2587",
    },
}

#: For each version's table above, every time vectors were added: (number of vectors, sha256 of the first that
#: many entries in name order, as canonical JSON of {vector: outcome}). Vectors may be added to a version
#: (numbered after the others); an entry recorded once is never edited, and the older digests prove it.
#: Recording a digest is a deliberate two-step act, never a side effect of regenerating the vectors.
FROZEN_TABLE_DIGESTS: Final[dict[tuple[str, str], tuple[tuple[int, str], ...]]] = {
    (MANIFEST_SCHEMA_V1, "commons-v1"): (
        (46, "4eb2ec0faa564fb9de2095c5da9ab4f9cce336554b6e89ba1f71e150d4ba6248"),
        (50, "404b84b92dd33af49b555f64b9e3a037ec5005b435521847783fd5697856d40b"),
    ),
    (MANIFEST_SCHEMA_V2, "commons-v1"): (
        (50, "6a0029aac2e0ac3209493eabbc7de63269cbbddeb7eeb5bd3c75e15fcc22a2f8"),
    ),
}


def table_digest(table: Mapping[str, str], count: int | None = None) -> str:
    """sha256 of the first `count` entries of `table` in name order (all of them by default)."""
    names = sorted(table)[:count]
    shown = {name: table[name] for name in names}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- reading a vector ---------------------------------------------------------------------------------------


class VectorError(Exception):
    """A vector file is not well formed (a fault of the vector, not of the implementation)."""


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise VectorError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    raise VectorError(f"{where}: expected an integer or a decimal string, got {value!r}")


def _hex(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise VectorError(f"{where}: expected 0x-hex, got {value!r}")
    return bytes.fromhex(value[2:])


def _text(value: Any, where: str) -> ev.ChainText:
    """A JSON string (its UTF-8 bytes) or {"hex": "0x.."} for bytes that are not UTF-8."""
    if isinstance(value, str):
        return ev.ChainText(value.encode("utf-8"))
    if isinstance(value, dict) and set(value) == {"hex"}:
        return ev.ChainText(_hex(value["hex"], where))
    raise VectorError(f"{where}: expected a string or {{'hex': '0x..'}}, got {value!r}")


def decode_event(obj: Mapping[str, Any], where: str = "event") -> ev.ChainEvent:
    """One event of a vector: {"contract", "event", "at": {"block_number", "log_index", "address"}, fields}."""
    name = obj.get("event")
    if name not in _EVENT_CLASSES:
        raise VectorError(f"{where}: unknown event {name!r}")
    contract, cls = _EVENT_CLASSES[name]
    if obj.get("contract") != contract:
        raise VectorError(f"{where}: {name} is emitted by {contract}, not {obj.get('contract')!r}")
    at_obj = obj.get("at")
    if not isinstance(at_obj, dict):
        raise VectorError(f"{where}: missing 'at'")
    at = ev.LogPosition(
        _int(at_obj.get("block_number"), f"{where}.at.block_number"),
        _int(at_obj.get("log_index"), f"{where}.at.log_index"),
        str(at_obj.get("tx_hash", "")),
        str(at_obj.get("address", "")),
    )
    fields = dataclasses.fields(cls)[1:]
    expected = {"contract", "event", "at"} | {f.name for f in fields}
    if set(obj) != expected:
        raise VectorError(f"{where}: {name} has fields {sorted(set(obj))}, expected {sorted(expected)}")
    values: list[Any] = []
    for f in fields:
        raw, here = obj[f.name], f"{where}.{f.name}"
        if f.type == "int":
            values.append(_int(raw, here))
        elif f.type == "bool":
            if not isinstance(raw, bool):
                raise VectorError(f"{here}: expected a boolean")
            values.append(raw)
        elif f.type == "bytes":
            values.append(_hex(raw, here))
        elif f.type == "tuple[int, ...]":
            if not isinstance(raw, list):
                raise VectorError(f"{here}: expected a list")
            values.append(tuple(_int(v, f"{here}[{i}]") for i, v in enumerate(raw)))
        elif f.type == "str" and f.name in STRING_FIELDS:
            values.append(_text(raw, here))
        elif f.type == "str":
            if not isinstance(raw, str) or not re.fullmatch(r"0x[0-9a-f]{40}", raw):
                raise VectorError(f"{here}: expected a lowercase address, got {raw!r}")
            values.append(raw)
        else:  # pragma: no cover - a new field type needs a rule here
            raise VectorError(f"{here}: no rule for field type {f.type}")
    return cls(at, *values)


@dataclass(frozen=True)
class Vector:
    """A vector as read from its directory."""

    name: str
    path: Path
    doc: dict[str, Any]

    @property
    def schemas(self) -> tuple[str, ...]:
        """The manifest schemas the vector has expected outcomes for."""
        return tuple(self.doc["expected"])

    def version(self, schema: str) -> tuple[str, str]:
        """(manifest schema, scheme id): the key of FROZEN the outcome under `schema` belongs to."""
        return (schema, str(self.doc["scheme"]))

    def expected(self, schema: str) -> dict[str, Any]:
        expected = self.doc["expected"].get(schema)
        if not isinstance(expected, dict):
            raise VectorError(f"{self.name}: no expected outcome under {schema}")
        return expected

    def file(self, name: str) -> bytes:
        if "/" in name or name.startswith("."):
            raise VectorError(f"{self.name}: file name {name!r} must name a file beside vector.json")
        return (self.path / name).read_bytes()

    def outcome(self, schema: str) -> str:
        """What FROZEN records under `schema`: the manifest's sha256, or `error:<type>`."""
        expected = self.expected(schema)
        if "error" in expected:
            return f"error:{expected['error']}"
        return str(expected["sha256"])


def load_vector(path: Path) -> Vector:
    doc = json.loads((path / "vector.json").read_bytes())
    if not isinstance(doc, dict) or doc.get("format") != VECTOR_FORMAT:
        raise VectorError(f"{path.name}: not a {VECTOR_FORMAT} file")
    if doc.get("name") != path.name:
        raise VectorError(f"{path.name}: its name field says {doc.get('name')!r}")
    return Vector(path.name, path, doc)


def vector_dirs() -> list[Path]:
    return sorted(p for p in VECTORS_DIR.iterdir() if (p / "vector.json").is_file())


@cache
def all_vectors() -> tuple[Vector, ...]:
    return tuple(load_vector(p) for p in vector_dirs())


def all_cases() -> list[tuple[Vector, str]]:
    """Every vector under every manifest schema it has an expected outcome for."""
    return [(v, schema) for v in all_vectors() for schema in v.schemas]


def _collected(cases: Callable[[], Sequence[Any]]) -> Sequence[Any]:
    """`cases()` for parametrize, or none when a vector file is malformed: importing this module (as the
    generator does, over vectors of an older format) must not fail; the first test below reports the error."""
    try:
        return cases()
    except VectorError:
        return []


def _case_id(case: object) -> str:
    if isinstance(case, Vector):
        return case.name
    return str(case).rsplit("/", 1)[-1]


# --- running a vector: the release path without a chain or a store -------------------------------------------


def _checked(item_id: int, size: int, sha256: bytes, entry: Mapping[str, Any], where: str) -> ContentCheck:
    """The content check of one item from the vector's record of the bytes under its CID."""
    if "hex" in entry:
        checker = ContentChecker(item_id, size, sha256)
        checker.feed(
            _hex(entry["hex"], where)
        )  # the whole file: a reader stops one byte past `size`, same result
        return checker.finish()
    attested = entry.get("attested")
    if not isinstance(attested, dict):
        raise VectorError(f"{where}: content needs 'hex' or 'attested'")
    # Bytes too large to ship: the vector asserts they match the declared size and sha256 and have these CIDs.
    if _int(attested["size"], f"{where}.size") != size or _hex(attested["sha256"], where) != sha256:
        raise VectorError(f"{where}: attested content must match the item's declared size and sha256")
    cids = tuple(sorted(CID.parse(c).to_bytes() for c in attested["cids"]))
    return ContentCheck(item_id, None, sha256, cids)


def _serving(data: bytes) -> BatchLoader:
    def load(_cid: bytes) -> bytes:
        return data

    return load


def prepare_state(vector: Vector) -> tuple[ChainState, ChainContext]:
    """Fold, admit the dataset's needed batches, check the candidates' bytes (backend.release.prepare_dataset)."""
    doc = vector.doc
    chain, build = doc["chain"], doc["build"]
    block = chain["state_block"]
    ctx = ChainContext(
        chain_id=_int(chain["chain_id"], "chain.chain_id"),
        contracts=dict(chain["contracts"]),
        state_block=_int(block["number"], "chain.state_block.number"),
        state_block_hash=str(block["hash"]),
        state_timestamp=_int(block["timestamp"], "chain.state_block.timestamp"),
    )
    events = [decode_event(e, f"events[{i}]") for i, e in enumerate(doc["events"])]
    state = fold_events(events, ctx.state_block)
    dataset_id = _int(build["dataset_id"], "build.dataset_id")
    state.dataset(dataset_id)
    batches: dict[str, str] = doc.get("batch_manifests", {})
    for batch_id in needed_batches(state, dataset_id):
        text = cid_text(state.batches[batch_id].manifest_cid)
        if text not in batches:
            continue  # not available: the build must stop (BatchNotAdmitted), never exclude
        admit_batch(state, batch_id, _serving(vector.file(batches[text])))
    content: dict[str, Any] = doc.get("content", {})
    for item_id in content_candidates(state, dataset_id, ctx.state_timestamp):
        item = state.items[item_id]
        text = cid_text(item.cid)
        if text not in content:
            continue  # not available: the build must stop (ContentNotChecked), never exclude
        state.content[item_id] = _checked(item_id, item.size, item.sha256, content[text], f"content[{text}]")
    return state, ctx


def build_vector(vector: Vector, schema: str) -> BuiltManifest:
    """The manifest the vector's inputs give under manifest `schema` (exceptions propagate)."""
    state, ctx = prepare_state(vector)
    build = vector.doc["build"]
    parent = build.get("parent")
    return build_manifest(
        state,
        _int(build["dataset_id"], "build.dataset_id"),
        ctx,
        scheme_id=vector.doc["scheme"],
        params=build.get("params"),
        parent=None
        if parent is None
        else ParentRelease(
            _int(parent["release"], "parent.release"),
            str(parent["manifest_cid"]),
            str(parent["manifest_sha256"]),
            _int(parent["state_block"], "parent.state_block"),
        ),
        shard_items=_int(build.get("shard_items", 10_000), "build.shard_items"),
        schema=schema,
    )


def outcome_of(vector: Vector, schema: str) -> tuple[BuiltManifest | None, str]:
    """(the built manifest or None, its sha256 or `error:<type>`): what FROZEN compares."""
    try:
        built = build_vector(vector, schema)
    except InvalidInput as exc:
        return None, f"error:{type(exc).__name__}"
    return built, built.sha256


def frozen_problem(
    vector: Vector, schema: str, outcome: str, frozen: Mapping[tuple[str, str], Mapping[str, str]]
) -> str | None:
    """Why `outcome` under `schema` breaks the freeze of that version (None when it does not)."""
    version = vector.version(schema)
    scheme = version[1]
    recorded = frozen.get(version, {}).get(vector.name)
    if recorded is None:
        return (
            f"vector {vector.name} ({schema}, {scheme}) is not in FROZEN: add "
            f"{vector.name!r}: {outcome!r} under {version!r} when the vector is new"
        )
    if recorded != outcome:
        return (
            f"vector {vector.name}: the build now gives {outcome}, but {schema} with scheme {scheme} froze "
            f"{recorded}. Bytes of a released version never change: bump the version (a new manifest schema "
            "in curation/manifest.py MANIFEST_SCHEMAS or a new scheme id beside curation/weights/commons_v1.py), "
            "add vectors under it, and keep these"
        )
    return None


# --- the tests ----------------------------------------------------------------------------------------------


def test_there_are_at_least_30_vectors_each_under_every_schema_and_frozen() -> None:
    vectors = all_vectors()
    assert len(vectors) >= MIN_VECTORS, (
        f"{len(vectors)} vectors in {VECTORS_DIR}, at least {MIN_VECTORS} needed"
    )
    for vector in vectors:
        assert vector.schemas == MANIFEST_SCHEMAS, (
            f"{vector.name} has outcomes under {vector.schemas}, every vector needs {MANIFEST_SCHEMAS}"
        )
    for schema in MANIFEST_SCHEMAS:
        names = {v.name for v in vectors}
        recorded = {name for (s, _), table in FROZEN.items() if s == schema for name in table}
        assert recorded == names, f"FROZEN[{schema}] and {VECTORS_DIR} differ: {sorted(recorded ^ names)}"


@pytest.mark.parametrize(("vector", "schema"), _collected(all_cases), ids=_case_id)
def test_vector_rebuilds_byte_for_byte(vector: Vector, schema: str) -> None:
    built, outcome = outcome_of(vector, schema)
    expected = vector.expected(schema)
    if "error" in expected:
        assert built is None, (
            f"{vector.name}: the build must fail with {expected['error']}, it gave {outcome}"
        )
        assert outcome == f"error:{expected['error']}"
        return
    assert built is not None, f"{vector.name}: the build failed ({outcome})"
    data = vector.file(expected["manifest"])
    assert hashlib.sha256(data).hexdigest() == expected["sha256"], f"{vector.name}: manifest file vs sha256"
    assert built.data == data, f"{vector.name}: rebuilt manifest bytes differ from {expected['manifest']}"
    assert built.sha256 == expected["sha256"]
    assert built.cid == expected["cid"] == str(compute_cid(data).cid)
    assert built.doc["schema"] == schema
    assert built.doc["scheme"]["id"] == vector.doc["scheme"]
    parts = expected.get("parts", [])
    assert [p.index for p in built.parts] == list(range(len(parts)))
    for part, want in zip(built.parts, parts, strict=True):
        part_data = vector.file(want["file"])
        assert part.data == part_data, f"{vector.name}: part {part.index} differs from {want['file']}"
        assert part.sha256 == want["sha256"] == hashlib.sha256(part_data).hexdigest()
        assert part.cid == want["cid"]


@pytest.mark.parametrize(("vector", "schema"), _collected(all_cases), ids=_case_id)
def test_vector_bytes_are_frozen_under_their_version(vector: Vector, schema: str) -> None:
    # Both the vector's files and what the code builds now must match what the version froze.
    for outcome in (vector.outcome(schema), outcome_of(vector, schema)[1]):
        problem = frozen_problem(vector, schema, outcome, FROZEN)
        assert problem is None, problem


def test_released_tables_are_unchanged() -> None:
    assert set(FROZEN_TABLE_DIGESTS) == set(FROZEN)
    for version, table in FROZEN.items():
        records = FROZEN_TABLE_DIGESTS[version]
        for count, digest in records:
            assert table_digest(table, count) == digest, (
                f"the frozen table of {version} was edited (its first {count} vectors changed): vectors of a "
                "released version never change; bump the version and add a new table"
            )
        assert records[-1][0] == len(table), (
            f"the frozen table of {version} has {len(table)} vectors, the last digest covers "
            f"{records[-1][0]}: record ({len(table)}, {table_digest(table)!r}) after checking the new ones"
        )


@pytest.mark.parametrize("schema", MANIFEST_SCHEMAS, ids=_case_id)
def test_changed_bytes_under_the_same_version_ask_for_a_version_bump(schema: str) -> None:
    vector = next(v for v in all_vectors() if "error" not in v.expected(schema))
    problem = frozen_problem(vector, schema, "0" * 64, FROZEN)
    assert problem is not None
    assert "bump the version" in problem
    assert frozen_problem(vector, schema, vector.outcome(schema), FROZEN) is None


def test_v1_and_v2_differ_only_where_v2_settles_an_open_question() -> None:
    """Every member of a v1 manifest is in its v2 twin with the same value, except the ones v2 settles."""
    for vector in all_vectors():
        if "error" in vector.expected(MANIFEST_SCHEMA_V1):
            continue
        v1 = json.loads(vector.file(vector.expected(MANIFEST_SCHEMA_V1)["manifest"]))
        v2 = json.loads(vector.file(vector.expected(MANIFEST_SCHEMA_V2)["manifest"]))
        assert (v1.pop("schema"), v2.pop("schema")) == (MANIFEST_SCHEMA_V1, MANIFEST_SCHEMA_V2)
        for key in ("sources", "removals"):
            for old, new in zip(v1[key], v2[key], strict=True):
                assert isinstance(new.pop("accepted_log_index"), int)  # OQ2
                for field in ("score", "exact_weight"):  # OQ3: the same value, in plain notation
                    if field in old:
                        assert Decimal(old.pop(field)) == Decimal(text := new.pop(field))
                        assert "E" not in text
        for old, new in zip(v1["exclusions"], v2["exclusions"], strict=True):
            if old["detail"] == "":  # OQ1: gate reasons carry their facts
                assert new.pop("detail")
                assert old.pop("detail") == ""
        for old, new in zip(v1["attribution"], v2["attribution"], strict=True):  # OQ8
            del old["attribution_required"], new["attribution_required"]
        assert v1 == v2, vector.name


@pytest.mark.parametrize("vector", _collected(all_vectors), ids=_case_id)
def test_vector_inputs_are_what_a_store_would_serve(vector: Vector) -> None:
    """Every batch manifest and every shipped byte string is stored under a CID those bytes really have."""
    for text, name in vector.doc.get("batch_manifests", {}).items():
        assert str(compute_cid(vector.file(name)).cid) == text, f"{vector.name}: batch manifest {name}"
    for text, entry in vector.doc.get("content", {}).items():
        if "hex" not in entry:
            continue
        data = _hex(entry["hex"], text)
        v0 = compute_cid(data, cid_version=0).cid
        forms = content_cids(hashlib.sha256(data).digest(), v0, v0.to_v1(), compute_cid(data).cid)
        assert CID.parse(text).to_bytes() in forms, f"{vector.name}: content under {text} has other CIDs"
