"""Attack: a claimed size (or sha256) buys weight the bytes do not back.

A contributor registered 10 real bytes as 10**15 bytes; once included, the item held ~100% of the dataset's
weight, the release anchored and verified, and every trainer's pull then failed on it. Promised: before an
item is weighted its bytes are read (never past the declared size) and must match the declared size and, for
any CID, the declared sha256; a mismatch is excluded as `content-mismatch` with a detail that anyone re-running
`curation verify` reproduces, and the honest items share the weight.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from backend.release import build_release, publish_release, verify_release
from curation.events import ItemSubmitted
from curation.unixfs import compute_cid
from tests.backend.release.release_helpers import ALL, Story
from tests.conftest import Chain


def test_a_size_lie_is_excluded_and_the_release_verifies(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    alice, mallory = s.contributor(4), s.contributor(6)
    honest = s.item(alice, b"an honest item of some length " * 4)
    real = b"ten bytes!"
    s.store.put_bytes(real)
    r = mallory.submit_item(
        compute_cid(real).cid, hashlib.sha256(real).digest(), 10**15, s.lic("CC0-1.0"), ALL
    )
    liar = r.event(ItemSubmitted).item_id
    ds = s.dataset()
    s.decide(ds, [honest, liar], {s.signer(1): 1})
    built = build_release(s.session(), ds)
    assert [(row["item_id"], row["weight"]) for row in built.manifest.items] == [(str(honest), str(10**18))]
    (excluded,) = built.manifest.doc["exclusions"]
    assert excluded["item_id"] == str(liar)
    assert excluded["reason"] == "content-mismatch"
    assert excluded["detail"] == f"the content is 10 bytes, its declared size is {10**15}"
    publish_release(s.session(), built, s.chain.admin)
    assert verify_release(s.session(), ds).equal


def test_a_dag_pb_item_whose_declared_sha256_is_not_its_bytes_is_excluded(
    chain: Chain, tmp_path: Path
) -> None:
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    mallory = s.contributor(6)
    data = b"dag-pb content " * 100
    cid = s.store.put_bytes(data, cid_version=0).cid
    fake = hashlib.sha256(b"somebody else's bytes").digest()
    r = mallory.submit_item(cid, fake, len(data), s.lic("CC0-1.0"), ALL)
    item = r.event(ItemSubmitted).item_id
    ds = s.dataset()
    s.decide(ds, [item], {s.signer(1): 1})
    built = build_release(s.session(), ds)
    assert built.manifest.doc["items"] == []
    (excluded,) = built.manifest.doc["exclusions"]
    assert excluded["reason"] == "content-mismatch"
    assert excluded["detail"] == (
        f"the content's sha256 is {hashlib.sha256(data).hexdigest()}, the declared one is {fake.hex()}"
    )


def test_bytes_past_the_declared_size_are_never_read(chain: Chain, tmp_path: Path) -> None:
    s = Story(chain, tmp_path / "store")
    s.curator(1, 1000)
    mallory = s.contributor(6)
    data = b"x" * (3 * 256 * 1024)  # a three-leaf DAG; declared as 5 bytes
    cid = s.store.put_bytes(data).cid
    r = mallory.submit_item(cid, hashlib.sha256(data).digest(), 5, s.lic("CC0-1.0"), ALL)
    item = r.event(ItemSubmitted).item_id
    ds = s.dataset()
    s.decide(ds, [item], {s.signer(1): 1})
    reads: list[int] = []
    store = s.store
    original = store.iter_bytes

    def counting(c, **kw):  # type: ignore[no-untyped-def]
        for chunk in original(c, **kw):
            reads.append(len(chunk))
            yield chunk

    store.iter_bytes = counting  # type: ignore[method-assign]
    built = build_release(s.session(), ds)
    assert built.manifest.doc["exclusions"][0]["detail"] == "the content is larger than its declared 5 bytes"
    assert sum(reads) <= 256 * 1024  # stopped within the first block
