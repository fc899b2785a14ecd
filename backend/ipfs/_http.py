"""Reading one block from an HTTP answer without trusting its size (Kubo RPC `block/get`, gateways)."""

from __future__ import annotations

import httpx

from backend.ipfs.errors import StoreTimeout, StoreUnavailable, UnexpectedResponse
from curation.blocks import MAX_BLOCK_SIZE
from curation.cid import CID

__all__ = ["read_block_body"]


def read_block_body(response: httpx.Response, cid: CID, source: str) -> bytes:
    """The body of a streaming `response` carrying block `cid`, read to at most MAX_BLOCK_SIZE bytes.

    An answer longer than any IPFS block is cut off (never held in memory) and refused as UnexpectedResponse:
    a store error, since the bytes were not verified and the node, not the content, may be at fault. The
    response is closed in every case.
    """
    try:
        length = response.headers.get("Content-Length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_BLOCK_SIZE:
            raise _too_long(cid, source)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BLOCK_SIZE:
                raise _too_long(cid, source)
        return bytes(body)
    except httpx.TimeoutException:
        raise StoreTimeout(f"{source} timed out sending block {cid}") from None
    except httpx.HTTPError as exc:
        raise StoreUnavailable(f"{source} broke off sending block {cid}: {exc}") from None
    finally:
        response.close()


def _too_long(cid: CID, source: str) -> UnexpectedResponse:
    return UnexpectedResponse(
        f"{source} sent more than {MAX_BLOCK_SIZE} bytes for block {cid}, more than any IPFS block holds: "
        "the node is faulty or hostile; fetch the content from another node"
    )
