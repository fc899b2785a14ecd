"""A pull through a proxy that flips one byte of js-ipfs's `cat`/`block/get` answers is refused, and nothing
tampered reaches the output directory; the same pull straight from the daemon then resumes and succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.ipfs import KuboStore
from backend.trainer import TrainerClient, TrainerError, pull
from curation.blocks import BlockMismatch
from curation.unixfs import compute_cid
from tests.backend.trainer.test_pull import CONTENT, make_story
from tests.conftest import Chain
from tests.integration.byteflip_proxy import byteflip_proxy

pytestmark = pytest.mark.integration


def test_tampered_bytes_are_refused_and_a_clean_pull_resumes(
    chain: Chain,
    jsipfs_api: str,
    tmp_path: Path,
) -> None:
    story = make_story(chain, tmp_path / "story")  # content and manifest in the embedded store
    with KuboStore(jsipfs_api, timeout=20) as node:
        for data in CONTENT:  # the same content on the daemon
            node.put_bytes(data)
        info = story.client.releases.latest_release(story.dataset_id)
        node.put_bytes(story.store.get_bytes(info.manifest_cid))
    out = tmp_path / "out"
    victim = str(compute_cid(CONTENT[1]).cid)

    # Everything tampered: the manifest itself fails its CID check; nothing is written.
    with byteflip_proxy(jsipfs_api) as proxy, KuboStore(proxy.url, timeout=20) as store:
        client = TrainerClient(chain.w3, chain.deployment, store)
        with pytest.raises(BlockMismatch, match="failed verification"):
            pull(client, story.dataset_id, out)
        assert proxy.flipped >= 1
    assert not (out / "manifest.json").exists()

    # Only one item tampered: the others are fetched, that one is refused and never written.
    with byteflip_proxy(jsipfs_api, targets={victim}) as proxy, KuboStore(proxy.url, timeout=20) as store:
        client = TrainerClient(chain.w3, chain.deployment, store)
        with pytest.raises(
            TrainerError, match=rf"1 of 4 items could not be fetched.*{victim}.*failed verification"
        ):
            pull(client, story.dataset_id, out, workers=2)
        assert proxy.flipped >= 1
    assert not (out / "items" / victim).exists()
    assert not list(out.rglob("*.part"))
    assert not (out / "manifest.json").exists(), "an unfinished pull writes no manifest or report"

    # Straight from the daemon: the three verified items are kept, the fourth is fetched.
    with KuboStore(jsipfs_api, timeout=20) as store:
        result = pull(TrainerClient(chain.w3, chain.deployment, store), story.dataset_id, out)
    assert (result.fetched, result.already_present) == (1, 3)
    assert (out / "items" / victim).read_bytes() == CONTENT[1]
