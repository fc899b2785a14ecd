"""Block verification: the bytes of every block read from any store must hash to its CID."""

from __future__ import annotations

import hmac
from typing import Final

from curation.cid import CID, DAG_PB, RAW, cid_v0
from curation.errors import CurationError, InvalidInput
from curation.multiformats import SHA2_256, multihash_digest

__all__ = [
    "MAX_BLOCK_SIZE",
    "BlockMismatch",
    "BlockTooLarge",
    "block_cid",
    "check_block_size",
    "verify_block",
]

#: Format limit: the largest block any IPFS implementation stores or transfers (bitswap refuses bigger ones;
#: Kubo's `block/put` needs --allow-big-block past 1 MiB). Our importer writes blocks of at most 256 KiB.
MAX_BLOCK_SIZE: Final = 2 * 1024 * 1024


class BlockMismatch(CurationError):
    """A block's bytes do not hash to the CID they were requested by (tampered or corrupted in transit)."""

    def __init__(self, cid: CID, actual: bytes) -> None:
        super().__init__(
            f"block {cid} failed verification: its bytes hash to {actual.hex()[:16]}..., "
            f"not {cid.digest.hex()[:16]}... (tampered or corrupted content)"
        )
        self.cid = cid


class BlockTooLarge(InvalidInput):
    """A block (or a leaf a parent declares) is larger than MAX_BLOCK_SIZE: invalid content on every node."""

    def __init__(self, cid: CID, size: int, *, declared: bool = False) -> None:
        how = "is declared by its parent as" if declared else "is"
        super().__init__(
            f"block {cid} {how} {size} bytes, over the {MAX_BLOCK_SIZE}-byte limit of an IPFS block "
            "(no IPFS node stores or transfers such a block): the content is invalid"
        )
        self.cid = cid
        self.size = size


def check_block_size(cid: CID, size: int) -> None:
    """Raise BlockTooLarge if a block of `size` bytes breaks the MAX_BLOCK_SIZE format limit."""
    if size > MAX_BLOCK_SIZE:
        raise BlockTooLarge(cid, size)


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
