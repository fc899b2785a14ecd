"""Block verification: the bytes of every block read from any store must hash to its CID."""

from __future__ import annotations

import hmac

from curation.cid import CID, DAG_PB, RAW, cid_v0
from curation.errors import CurationError, InvalidInput
from curation.multiformats import SHA2_256, multihash_digest

__all__ = ["BlockMismatch", "block_cid", "verify_block"]


class BlockMismatch(CurationError):
    """A block's bytes do not hash to the CID they were requested by (tampered or corrupted in transit)."""

    def __init__(self, cid: CID, actual: bytes) -> None:
        super().__init__(
            f"block {cid} failed verification: its bytes hash to {actual.hex()[:16]}..., "
            f"not {cid.digest.hex()[:16]}... (tampered or corrupted content)"
        )
        self.cid = cid


def verify_block(cid: CID, data: bytes | memoryview) -> None:
    """Raise BlockMismatch unless `data` hashes to the multihash inside `cid`."""
    actual = multihash_digest(cid.hash_code, data)
    if not hmac.compare_digest(actual, cid.digest):
        raise BlockMismatch(cid, actual)


def block_cid(data: bytes | memoryview, codec: int = RAW, version: int = 1) -> CID:
    """The sha2-256 CID of a block of the given codec (raw or dag-pb) and CID version."""
    digest = multihash_digest(SHA2_256, data)
    if version == 0:
        if codec != DAG_PB:
            raise InvalidInput("a CIDv0 can only name a dag-pb block")
        return cid_v0(digest)
    return CID(1, codec, SHA2_256, digest)
