"""Attack: a license manager widens an SPDX id's classes after items use it.

An item submitted under a non-commercial license became eligible for a commercial dataset once the license
manager set the commercial class on that SPDX id. Promised: a class can be narrowed for everyone, but never
widens for items already submitted: an item's classes are those of its license when it was submitted,
narrowed by every later change. Items submitted after the change get the new classes.
"""

from __future__ import annotations

from pathlib import Path

from backend.release import build_release
from curation.licenses import LicenseClass
from tests.backend.release.release_helpers import Story
from tests.conftest import Chain


def test_widening_a_license_class_does_not_reach_items_already_submitted(
    chain: Chain, tmp_path: Path
) -> None:
    s = Story(chain, tmp_path / "store")
    yes = s.curator(1, 1000)
    alice = s.contributor(4)
    nc = s.item(alice, b"non-commercial essay " * 8, spdx="CC-BY-NC-4.0")
    ds = s.dataset()  # declares commercial use
    s.decide(ds, [nc], {yes: 1})
    reasons = {e["item_id"]: e["reason"] for e in build_release(s.session(), ds).manifest.doc["exclusions"]}
    assert reasons == {str(nc): "license-not-allowed"}
    lic = s.registry.license(s.lic("CC-BY-NC-4.0"))
    s.registry.set_license("CC-BY-NC-4.0", int(lic.classes) | int(LicenseClass.COMMERCIAL_USE), True)
    later = s.item(alice, b"submitted after the change " * 8, spdx="CC-BY-NC-4.0")
    pid = s.decide(ds, [later], {yes: 1})
    built = build_release(s.session(), ds)
    assert {e["item_id"]: e["reason"] for e in built.manifest.doc["exclusions"]} == {
        str(nc): "license-not-allowed"
    }
    assert [(row["item_id"], row["source"]) for row in built.manifest.items] == [(str(later), pid)]
