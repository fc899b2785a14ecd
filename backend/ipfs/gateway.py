"""Read-only access through an HTTP gateway (trustless raw-block requests), verifying every block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from backend.ipfs._http import read_block_body
from backend.ipfs.base import CidLike, read_file, verified_block, write_atomically
from backend.ipfs.errors import ContentNotFound, StoreTimeout, StoreUnavailable, UnexpectedResponse
from curation.cid import CID
from curation.errors import InvalidInput

__all__ = ["GatewayReader"]


class GatewayReader:
    """Fetch blocks from `GET {gateway}/ipfs/{cid}?format=raw` (application/vnd.ipld.raw).

    The gateway is not trusted: each block is hashed against its CID before any of its bytes are used,
    and a file is rebuilt from its DAG, so a gateway can only withhold content, never alter it.
    """

    def __init__(
        self, url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"gateway URL {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            headers={"Accept": "application/vnd.ipld.raw"},
            follow_redirects=True,
        )

    def describe(self) -> str:
        return f"gateway {self.url}"

    def close(self) -> None:
        self._client.close()

    def _block_raw(self, cid: CID) -> bytes:
        try:
            request = self._client.build_request("GET", f"{self.url}/ipfs/{cid}", params={"format": "raw"})
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise StoreTimeout(f"the {self.describe()} did not deliver block {cid} in time") from None
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"cannot reach the {self.describe()}: {exc}") from None
        if response.status_code == 404:
            response.close()
            raise ContentNotFound(f"the {self.describe()} does not have block {cid}")
        if response.status_code != 200:
            response.close()
            raise UnexpectedResponse(
                f"the {self.describe()} answered HTTP {response.status_code} for block {cid} "
                "(it may not support trustless raw-block requests)"
            )
        return read_block_body(response, cid, f"the {self.describe()}")

    def get_block(self, cid: CidLike) -> bytes:
        """One block, verified against its CID."""
        return verified_block(cid, self._block_raw)

    def iter_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> Iterator[bytes | memoryview]:
        """The file's bytes, every block verified before use (limits as ContentStore.iter_bytes)."""
        return read_file(CID.parse(cid), self._block_raw, max_bytes=max_bytes)

    def get_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> bytes:
        """The whole (small) file in memory, verified; ContentTooLarge past `max_bytes`."""
        return b"".join(self.iter_bytes(cid, max_bytes=max_bytes))

    def get_file(self, cid: CidLike, dest: Path, *, max_bytes: int | None = None) -> int:
        """Write the verified file to `dest` atomically; return its size (ContentTooLarge past `max_bytes`)."""
        return write_atomically(self.iter_bytes(cid, max_bytes=max_bytes), Path(dest))

    def __enter__(self) -> GatewayReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
