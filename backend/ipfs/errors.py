"""Errors of the content stores, all StoreError subclasses with messages that say what to do."""

from __future__ import annotations

from backend.errors import Retryable, StoreError

__all__ = ["ContentNotFound", "ContentTooLarge", "StoreTimeout", "StoreUnavailable", "UnexpectedResponse"]


class ContentNotFound(StoreError):
    """The store does not have the CID (embedded store), or the path given does not exist."""


class StoreTimeout(StoreError, Retryable):
    """The IPFS node did not answer in time (for a read this usually means no peer has the CID)."""


class StoreUnavailable(StoreError, Retryable):
    """The IPFS node or gateway cannot be reached (after retries)."""


class UnexpectedResponse(StoreError):
    """The IPFS node or gateway answered something that is not what its API promises."""


class ContentTooLarge(StoreError):
    """A read was refused because the file is larger than the reader's limit (`max_bytes`).

    A resource limit of the reader, not a fault of the content: another reader with a higher limit reads the
    same file. `limit` is the limit in bytes; `declared` the size the file's UnixFS root declares (None if
    unknown). The read stops before any byte past the limit is yielded or written; when the root declares
    too much, right after the root block. `setting` names what raises the limit (a setting or a flag).
    """

    def __init__(
        self,
        cid: str,
        limit: int,
        declared: int | None = None,
        *,
        what: str = "file",
        setting: str | None = None,
    ) -> None:
        size = "" if declared is None else f" {declared} bytes (as its UnixFS root declares),"
        hint = f"; if it is legitimate, raise {setting}" if setting else ""
        super().__init__(
            f"{what} {cid} is{size} over the limit of {limit} bytes for this read: refused before reading "
            f"past the limit{hint}"
        )
        self.cid = cid
        self.limit = limit
        self.declared = declared
        self.what = what
        self.setting = setting
