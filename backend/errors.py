"""Backend error hierarchy (all derive from curation.errors.CurationError)."""

from __future__ import annotations

from curation.errors import CurationError

__all__ = [
    "RETRY_AFTER_SECONDS",
    "BackendError",
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "Retryable",
    "StoreError",
]

#: What a client is told to wait before trying a Retryable failure again (the API's Retry-After).
RETRY_AFTER_SECONDS = 5


class BackendError(CurationError):
    """Base of errors raised while talking to the outside world."""


class Retryable(BackendError):
    """Mixed into the failures where waiting and trying again can succeed: a node that did not answer, an
    index that is behind, a chain still reorganising (ponder's retryable split). Nothing was wrong with the
    request; the CLI and the API say to retry (the API with 503/504 and `Retry-After`)."""


class ConfigError(BackendError):
    """Settings, deployment record or keystore are missing or wrong."""


class ChainError(BackendError):
    """The chain could not be reached or answered something unexpected."""


class ContractRevert(ChainError):
    """A contract call reverted; `name` and `args` carry the decoded custom error when known."""

    def __init__(self, message: str, name: str | None = None, args: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.error_name = name
        self.error_args = args


class StoreError(BackendError):
    """Content store (IPFS or embedded block store) failed or returned bad data."""
