"""Attack: revoked content comes back under another CID of the same bytes, attributed to someone else.

The same bytes have a raw CIDv1, a dag-pb CIDv0 and its CIDv1 form. After Alice revoked her raw-CID item,
Mallory submitted identical bytes (same sha256) under the dag-pb CID and they shipped in the next release.
Promised: consent and first claim follow the content (sha256 of the checked bytes), not the CID text: a
later claim of the same bytes is excluded as `duplicate-content`, naming the first claim. A declared sha256
alone cannot squat on content: an earlier claim counts only if its CID is one the bytes have.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.errors import ContractRevert
from backend.release import build_release
from curation.events import ItemSubmitted
from tests.backend.release.release_helpers import ALL, Story
from tests.conftest import Chain

BYTES = b"Alice's essay, later withdrawn. " * 20


def test_revoked_bytes_do_not_return_under_a_dag_pb_cid(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    alice, mallory = s.contributor(4), s.contributor(6)
    first = s.item(alice, BYTES)  # raw CIDv1
    ds = s.dataset()
    s.decide(ds, [first], {s.signer(1): 1})
    assert [row["item_id"] for row in build_release(s.session(), ds).manifest.items] == [str(first)]
    alice.revoke_consent(first)
    dag_pb = s.store.put_bytes(BYTES, cid_version=0).cid  # the dag-pb CIDv0 of the same bytes
    r = mallory.submit_item(dag_pb, hashlib.sha256(BYTES).digest(), len(BYTES), s.lic("CC0-1.0"), ALL)
    copy = r.event(ItemSubmitted).item_id
    s.decide(ds, [copy], {s.signer(1): 1})
    built = build_release(s.session(), ds)
    assert built.manifest.doc["items"] == []
    reasons = {e["item_id"]: (e["reason"], e["detail"]) for e in built.manifest.doc["exclusions"]}
    assert reasons[str(first)][0] == "revoked"
    assert reasons[str(first)][1].startswith("revoked in block ")  # manifest v2 states the revocation's block
    assert reasons[str(copy)] == (
        "duplicate-content",
        f"the same content (sha256 {hashlib.sha256(BYTES).hexdigest()}) was registered first as item:{first}",
    )
    # The CIDv1 form of that dag-pb block is the same CID to the registry, which refuses it outright.
    with pytest.raises(ContractRevert, match="ContentRegistryDuplicateCid"):
        mallory.submit_item(dag_pb.to_v1(), hashlib.sha256(BYTES).digest(), len(BYTES), s.lic("CC0-1.0"), ALL)


def test_a_declared_sha256_alone_cannot_squat_on_content(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    alice, mallory = s.contributor(4), s.contributor(6)
    decoy = s.store.put_bytes(b"not the essay", cid_version=0).cid  # the registry checks raw CIDs itself
    # Mallory claims the essay's sha256 first, under a dag-pb CID of other bytes.
    mallory.submit_item(decoy, hashlib.sha256(BYTES).digest(), len(BYTES), s.lic("CC0-1.0"), ALL)
    honest = s.item(alice, BYTES)
    ds = s.dataset()
    s.decide(ds, [honest], {s.signer(1): 1})
    assert [row["item_id"] for row in build_release(s.session(), ds).manifest.items] == [str(honest)]
