"""Errors the API raises and the one table that maps every domain error to an HTTP status."""

from __future__ import annotations

from backend.errors import ChainError, ConfigError, ContractRevert, StoreError
from backend.ipfs.errors import ContentNotFound, StoreTimeout, StoreUnavailable
from curation.errors import CurationError, InvalidInput

__all__ = [
    "ApiError",
    "Conflict",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "SignInFailed",
    "Unauthenticated",
    "UnprocessableInput",
    "UploadIncomplete",
    "error_code",
    "http_status",
]


class ApiError(CurationError):
    """Base of the errors the API layer raises itself (the read model raises NotFound too)."""


class NotFound(ApiError):
    """The dataset, release, item, contributor or proposal asked for does not exist."""


class Conflict(ApiError):
    """The request contradicts what already exists (for example content already submitted)."""


class UnprocessableInput(ApiError, InvalidInput):
    """A well-formed request whose values cannot be acted on (unknown license, expiry in the past)."""


class UploadIncomplete(ApiError):
    """The client stopped sending before the body was complete; nothing was stored."""


class Unauthenticated(ApiError):
    """No bearer token, or one that is malformed, forged or expired."""


class SignInFailed(Unauthenticated):
    """A sign-in message or signature was refused; the message says which check failed."""


class PayloadTooLarge(ApiError):
    """The request body is larger than the configured upload limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"upload exceeds the limit of {limit} bytes")
        self.limit = limit


class ServiceUnavailable(ApiError):
    """A service the request needs (such as the shared sign-in nonce database) is not available now."""


class RateLimited(ApiError):
    """Too many requests from one client in the current window; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(f"rate limit for {scope} exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


# Most specific first: the first class in an error's MRO found here decides the status.
_STATUS: dict[type[BaseException], tuple[int, str]] = {
    NotFound: (404, "not-found"),
    Conflict: (409, "conflict"),
    Unauthenticated: (401, "unauthenticated"),
    PayloadTooLarge: (413, "payload-too-large"),
    UploadIncomplete: (400, "upload-incomplete"),
    RateLimited: (429, "rate-limited"),
    ServiceUnavailable: (503, "unavailable"),
    UnprocessableInput: (422, "invalid-input"),
    ContentNotFound: (404, "content-not-found"),
    InvalidInput: (422, "invalid-input"),
    StoreTimeout: (504, "store-timeout"),
    StoreUnavailable: (503, "store-unavailable"),
    StoreError: (502, "store-error"),
    ConfigError: (503, "not-configured"),
    ContractRevert: (502, "chain-error"),
    ChainError: (503, "chain-unavailable"),
    CurationError: (500, "internal-error"),
}


def _lookup(exc: BaseException) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        found = _STATUS.get(cls)
        if found is not None:
            return found
    return 500, "internal-error"


def http_status(exc: BaseException) -> int:
    """HTTP status for a domain error."""
    return _lookup(exc)[0]


def error_code(exc: BaseException) -> str:
    """Stable machine-readable code for a domain error (`not-found`, `rate-limited`, ...)."""
    return _lookup(exc)[1]
