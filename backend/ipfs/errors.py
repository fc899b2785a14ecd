"""Errors of the content stores, all StoreError subclasses with messages that say what to do."""

from __future__ import annotations

from backend.errors import StoreError

__all__ = ["ContentNotFound", "StoreTimeout", "StoreUnavailable", "UnexpectedResponse"]


class ContentNotFound(StoreError):
    """The store does not have the CID (embedded store), or the path given does not exist."""


class StoreTimeout(StoreError):
    """The IPFS node did not answer in time (for a read this usually means no peer has the CID)."""


class StoreUnavailable(StoreError):
    """The IPFS node or gateway cannot be reached (after retries)."""


class UnexpectedResponse(StoreError):
    """The IPFS node or gateway answered something that is not what its API promises."""
