"""Backend error hierarchy (all derive from curation.errors.CurationError)."""

from __future__ import annotations

from curation.errors import CurationError

__all__ = ["BackendError", "ChainError", "ConfigError", "ContractRevert", "StoreError"]


class BackendError(CurationError):
    """Base of errors raised while talking to the outside world."""


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
