"""ReleaseRegistry: the publisher role anchors numbered releases of CurationVoting's datasets."""

from __future__ import annotations

import hashlib

import pytest

from backend.chain.releases import ReleaseClient
from backend.errors import ContractRevert
from curation.cid import cid_v1_raw
from curation.errors import InvalidInput
from curation.events import PublisherSet, ReleasePublished
from tests.conftest import Chain
from tests.contracts.voting_helpers import World

MANIFEST = b'{"schema":"curation-commons/manifest-v1"}'
DIGEST = hashlib.sha256(MANIFEST).digest()
CID = cid_v1_raw(DIGEST)


@pytest.fixture
def world(chain: Chain) -> World:
    return World(chain)


def _releases(world: World) -> ReleaseClient:
    return ReleaseClient(world.w3, world.chain.deployment.address("ReleaseRegistry"), world.chain.admin)


def test_deployment_wires_voting_and_makes_the_admin_a_publisher(world: World) -> None:
    rel = _releases(world)
    assert rel.voting() == world.voting.address
    assert rel.admin() == world.chain.admin.address
    assert rel.is_publisher(world.chain.admin.address)


def test_releases_are_numbered_per_dataset_and_readable_by_anyone(world: World) -> None:
    rel = _releases(world)
    first, second = world.dataset(name="a"), world.dataset(name="b")
    state = world.block
    r = rel.publish_release(first, CID, DIGEST, state, "commons-v1")
    published = r.event(ReleasePublished)
    assert published == ReleasePublished(
        published.at,
        dataset_id=first,
        release_number=1,
        publisher=world.chain.admin.address.lower(),
        manifest_cid=CID.to_bytes(),
        manifest_sha256=DIGEST,
        state_block=state,
        scheme_id="commons-v1",
    )
    r2 = rel.publish_release(first, str(CID), "0x" + DIGEST.hex(), r.block_number, "commons-v1")
    assert r2.event(ReleasePublished).release_number == 2
    other = rel.publish_release(second, CID, DIGEST, state, "commons-v1")
    assert other.event(ReleasePublished).release_number == 1
    reader = ReleaseClient(world.w3, rel.address)  # no signer: reads only
    got = reader.get_release(first, 1)
    assert (got.manifest_cid, got.manifest_sha256, got.state_block, got.published_block, got.scheme_id) == (
        str(CID),
        DIGEST,
        state,
        r.block_number,
        "commons-v1",
    )
    latest = reader.latest_release(first)
    assert (latest.number, latest.state_block) == (2, r.block_number)
    assert (reader.release_count(first), reader.release_count(second), reader.release_count(99)) == (2, 1, 0)


def test_publishing_without_the_role_reverts_until_granted(world: World) -> None:
    rel = _releases(world)
    ds = world.dataset()
    bob = world.chain.signers[4]
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryNotPublisher\(caller=0x\w+\).*publisher role"):
        rel.with_signer(bob).publish_release(ds, CID, DIGEST, 1, "commons-v1")
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryNotAdmin\(caller=0x\w+\)"):
        rel.with_signer(bob).set_publisher(bob.address, True)
    appointed = rel.set_publisher(bob.address, True).event(PublisherSet)
    assert appointed == PublisherSet(appointed.at, account=bob.address.lower(), allowed=True)
    by_bob = rel.with_signer(bob).publish_release(ds, CID, DIGEST, 1, "commons-v1")
    assert by_bob.event(ReleasePublished).publisher == bob.address.lower()
    rel.set_publisher(bob.address, False)
    with pytest.raises(ContractRevert, match="ReleaseRegistryNotPublisher"):
        rel.with_signer(bob).publish_release(ds, CID, DIGEST, 1, "commons-v1")


def test_unknown_datasets_are_rejected(world: World) -> None:
    rel = _releases(world)
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryUnknownDataset\(datasetId=1, datasetCount=0\)"):
        rel.publish_release(1, CID, DIGEST, 1, "commons-v1")
    world.dataset()
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryUnknownDataset\(datasetId=0, datasetCount=1\)"):
        rel.publish_release(0, CID, DIGEST, 1, "commons-v1")


def test_a_state_block_that_is_not_in_the_past_is_rejected(world: World) -> None:
    rel = _releases(world)
    ds = world.dataset()
    with pytest.raises(InvalidInput, match=r"state block \d+ is not in the past: the chain is at block \d+"):
        rel.publish_release(ds, CID, DIGEST, world.block + 5, "commons-v1")
    with pytest.raises(
        ContractRevert, match=r"ReleaseRegistryStateBlockInFuture\(stateBlock=\d+, currentBlock=\d+\)"
    ):
        rel._transact(
            "publishRelease", ds, CID.to_bytes(), DIGEST, world.block + 5, "commons-v1", gas=300_000
        )
    # the block that would hold the publishing transaction is not final either (simulated at the next block)
    with pytest.raises(ContractRevert, match="ReleaseRegistryStateBlockInFuture"):
        rel._call(
            "publishRelease", ds, CID.to_bytes(), DIGEST, world.block + 1, "commons-v1", block="pending"
        )


def test_empty_fields_are_rejected(world: World) -> None:
    rel = _releases(world)
    ds = world.dataset()
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryEmptyManifestCid\(\)"):
        rel._transact("publishRelease", ds, b"", DIGEST, 1, "commons-v1", gas=300_000)
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryEmptyManifestDigest\(\)"):
        rel.publish_release(ds, CID, bytes(32), 1, "commons-v1")
    with pytest.raises(ContractRevert, match=r"ReleaseRegistryEmptySchemeId\(\)"):
        rel.publish_release(ds, CID, DIGEST, 1, "")
    with pytest.raises(InvalidInput, match="32 bytes"):
        rel.publish_release(ds, CID, b"\x01", 1, "commons-v1")


def test_reading_a_missing_release_reverts(world: World) -> None:
    rel = _releases(world)
    ds = world.dataset()
    with pytest.raises(
        ContractRevert, match=r"ReleaseRegistryUnknownRelease\(datasetId=1, releaseNumber=0\)"
    ):
        rel.latest_release(ds)
    rel.publish_release(ds, CID, DIGEST, 1, "commons-v1")
    with pytest.raises(
        ContractRevert, match=r"ReleaseRegistryUnknownRelease\(datasetId=1, releaseNumber=2\)"
    ):
        rel.get_release(ds, 2)
