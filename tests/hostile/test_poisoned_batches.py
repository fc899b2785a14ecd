"""Attack: one `register` + one `submitBatch`, no proposal and no vote, stops every release.

The fold used to read every batch manifest ever submitted, so a manifest that no store has, one with a
malformed field (`"size": "²"`, a 5,000-digit integer) or one of 200 kB of nested JSON halted
`build_release` for every dataset (or crashed it). Promised: a batch is read only once a dataset's curators
accept a proposal naming it; a malformed one is then excluded with its problem (the same on every machine);
an unreadable one stops only that dataset's release, with an error naming the batch, the proposal and the
remedies, and an accepted REMOVE of the batch is such a remedy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.chainstate import BatchUnavailable
from backend.release import build_release
from curation.batches import leaf_for_bytes
from curation.events import BatchSubmitted
from curation.governance import ProposalKind
from curation.merkle import merkle_root
from curation.unixfs import compute_cid
from tests.backend.release.release_helpers import ALL, Story
from tests.conftest import Chain

_LEAVES = [leaf_for_bytes(i, f"real leaf {i}".encode(), 1, ALL) for i in range(2)]
_ROOT = merkle_root(_LEAVES)
_MALFORMED = (
    b'{"schema":"curation-commons/batch/v1","count":2,"leaves":[{"index":0,"size":"\xc2\xb2"}]}',
    b'{"schema":"curation-commons/batch/v1","count":2,"leaves":[{"index":0,"size":' + b"9" * 5000 + b"}]}",
    b"[" * 100_000 + b"]" * 100_000,  # 200 kB of nesting: the C parser used to overflow the stack
)


def _world(chain: Chain, tmp_path: Path) -> tuple[Story, int, int]:
    """An honest item accepted into a dataset; returns (story, dataset id, curator votes holder index)."""
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    alice = s.contributor(4)
    item = s.item(alice, b"honest bytes " * 10)
    ds = s.dataset()
    s.decide(ds, [item], {s.signer(1): 1})
    return s, ds, item


def _poison(s: Story, manifest: bytes | None) -> int:
    """Mallory registers and submits a batch whose manifest is `manifest` (None: bytes stored nowhere)."""
    mallory = s.contributor(6)
    data = manifest if manifest is not None else b"never stored anywhere"
    if manifest is not None:
        s.store.put_bytes(data)
    r = mallory.submit_batch_root(_ROOT, len(_LEAVES), compute_cid(data).cid)
    return r.event(BatchSubmitted).batch_id


@pytest.mark.parametrize(
    "manifest", [None, *_MALFORMED], ids=["unavailable", "size-superscript", "huge-int", "nested"]
)
def test_a_batch_no_proposal_names_is_never_read(
    chain: Chain, tmp_path: Path, manifest: bytes | None
) -> None:
    s, ds, item = _world(chain, tmp_path)
    _poison(s, manifest)
    built = build_release(s.session(), ds)
    assert [row["item_id"] for row in built.manifest.items] == [str(item)]
    assert built.manifest.doc["excluded_batches"] == []


@pytest.mark.parametrize("manifest", _MALFORMED, ids=["size-superscript", "huge-int", "nested"])
def test_an_accepted_malformed_batch_is_excluded_with_its_problem(
    chain: Chain, tmp_path: Path, manifest: bytes
) -> None:
    s, ds, item = _world(chain, tmp_path)
    batch = _poison(s, manifest)
    pid = s.decide(ds, [], {s.signer(1): 1}, batches=[batch])
    built = build_release(s.session(), ds)
    (entry,) = built.manifest.doc["excluded_batches"]
    assert (entry["batch_id"], entry["reason"], entry["source"]) == (
        str(batch),
        "batch-manifest-invalid",
        pid,
    )
    assert entry["detail"]
    assert [row["item_id"] for row in built.manifest.items] == [str(item)]


def test_an_accepted_unreadable_batch_names_batch_proposal_and_remedy_and_remove_lifts_it(
    chain: Chain, tmp_path: Path
) -> None:
    s, ds, item = _world(chain, tmp_path)
    batch = _poison(s, None)
    pid = s.decide(ds, [], {s.signer(1): 1}, batches=[batch])
    with pytest.raises(BatchUnavailable) as err:
        build_release(s.session(), ds)
    message = str(err.value)
    for needed in (f"batch {batch}", f"proposal {pid}", "curation ipfs add", f"REMOVE of batch {batch}"):
        assert needed in message
    other = s.dataset("another dataset")  # a dataset that never accepted the batch is not affected
    assert build_release(s.session(), other).manifest.doc["items"] == []
    rid = s.decide(ds, [], {s.signer(1): 1}, batches=[batch], kind=ProposalKind.REMOVE)
    built = build_release(s.session(), ds)
    assert [row["item_id"] for row in built.manifest.items] == [str(item)]
    assert built.manifest.doc["excluded_batches"] == [
        {"batch_id": str(batch), "reason": "removed", "detail": f"removed by proposal {rid}", "source": pid}
    ]


def test_leaf_revocation_before_the_batch_is_read_still_counts(chain: Chain, tmp_path: Path) -> None:
    s, ds, _ = _world(chain, tmp_path)
    bob = s.contributor(5)
    batch, _ = s.batch(bob, [b"leaf kept " * 9, b"leaf revoked " * 9], spdx="CC0-1.0")
    bob.revoke_leaf(batch, 1)  # folded while the batch is still a header; replayed when it is read
    s.decide(ds, [], {s.signer(1): 1}, batches=[batch])
    built = build_release(s.session(), ds)
    reasons = {e["ref"]: e["reason"] for e in built.manifest.doc["exclusions"]}
    assert reasons == {f"batch:{batch}:1": "revoked"}
    assert hashlib.sha256(b"leaf kept " * 9).hexdigest() in {row["sha256"] for row in built.manifest.items}
