"""Errors the API raises, the one table that maps every error to an HTTP status, and the handlers that answer.

Every error response, whatever raised it (a domain error, a request that fails validation, an HTTP error of
the framework, a bug), is built here by `error_response`: a JSON body `{detail, code, request_id}` whose
detail has URL credentials, API keys, local filesystem paths and stack traces removed (`redact`), and one log
line under the same request id with the full detail (and, for server errors, the traceback), so an operator
can find what a client saw.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import secrets
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from backend.chain.forwarder import ForwardRequestRejected
from backend.chainstate import StateBlockAhead
from backend.errors import RETRY_AFTER_SECONDS, ChainError, ConfigError, ContractRevert, Retryable, StoreError
from backend.index.errors import (
    ChainUnsettledError,
    IndexDatabaseError,
    IndexEmptyError,
    IndexerError,
    IndexMismatchError,
    ReorgTooDeepError,
)
from backend.ipfs.errors import ContentNotFound, StoreTimeout, StoreUnavailable
from backend.relay import (
    NotRelayable,
    QuotaExhausted,
    RelayerNotConfigured,
    RelayerUnfunded,
    RequestTooLarge,
    WouldRevert,
)
from backend.release.publish import ReleaseRaceError
from curation.errors import CurationError, InvalidInput
from curation.manifest_read import ManifestMismatch

__all__ = [
    "REQUEST_ID_HEADER",
    "ApiError",
    "Conflict",
    "MalformedBody",
    "NotFound",
    "NotRegistered",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "SignInFailed",
    "Unauthenticated",
    "UnprocessableInput",
    "UnsupportedMediaType",
    "UploadIncomplete",
    "domain_error_response",
    "error_code",
    "error_response",
    "http_status",
    "install_error_handlers",
    "redact",
]

_log = logging.getLogger("backend.api")

#: Response header (and `request_id` in the body) naming the log line of an error.
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: Longest detail a response carries; the log keeps the whole text.
MAX_DETAIL_CHARS: Final = 2000


class ApiError(CurationError):
    """Base of the errors the API layer raises itself (the read model raises NotFound too)."""


class NotFound(ApiError):
    """The dataset, release, item, contributor or proposal asked for does not exist."""


class Conflict(ApiError):
    """The request contradicts what already exists (for example content already submitted)."""


class UnprocessableInput(ApiError, InvalidInput):
    """A well-formed request whose values cannot be acted on (unknown license, expiry in the past)."""


class MalformedBody(ApiError):
    """A JSON request body that cannot be read: empty, not UTF-8, not JSON, nested too deep, a number too long."""


class UnsupportedMediaType(ApiError):
    """A request body sent with a Content-Type the route does not read (JSON routes need application/json)."""


class UploadIncomplete(ApiError):
    """The client stopped sending before the body was complete; nothing was stored."""


class NotRegistered(ApiError):
    """The signed-in wallet is not a registered contributor, so the registry would refuse its submission."""


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
    # A wallet that has not registered: its submitItem would revert (ContentRegistryNotRegistered).
    NotRegistered: (403, "not-registered"),
    Unauthenticated: (401, "unauthenticated"),
    PayloadTooLarge: (413, "payload-too-large"),
    MalformedBody: (400, "malformed-body"),
    UnsupportedMediaType: (415, "unsupported-media-type"),
    UploadIncomplete: (400, "upload-incomplete"),
    RateLimited: (429, "rate-limited"),
    ServiceUnavailable: (503, "unavailable"),
    UnprocessableInput: (422, "invalid-input"),
    ContentNotFound: (404, "content-not-found"),
    # Bytes from the store, or a release rebuilt from the chain's logs, that are not what the chain anchors:
    # upstream data failed verification (an InvalidInput of the data, not of the request; docs/api.md).
    ManifestMismatch: (502, "integrity-error"),
    # A block the index does not hold yet (a read-only API whose indexer is behind): retry, nothing was wrong.
    StateBlockAhead: (503, "index-behind"),
    InvalidInput: (422, "invalid-input"),
    StoreTimeout: (504, "store-timeout"),
    StoreUnavailable: (503, "store-unavailable"),
    StoreError: (502, "store-error"),
    # Another release of the dataset was anchored after this one was built: build again on the new parent.
    ReleaseRaceError: (409, "conflict"),
    # The gasless relay (docs/relay.md): what it will not pay for, a request the forwarder would refuse, a spent
    # quota, a call that would revert, and a relayer that is missing or out of ETH.
    RequestTooLarge: (413, "payload-too-large"),
    NotRelayable: (403, "not-relayable"),
    ForwardRequestRejected: (422, "invalid-request"),
    QuotaExhausted: (429, "quota-exhausted"),
    WouldRevert: (422, "would-revert"),
    RelayerNotConfigured: (503, "relay-not-configured"),
    RelayerUnfunded: (503, "relayer-unfunded"),
    # The index's own failures: its database built for another deployment, not synced yet, unreadable, or
    # the chain under it unsettled; anything else (a log source that broke its contract) is bad upstream data.
    IndexMismatchError: (503, "not-configured"),
    IndexEmptyError: (503, "index-behind"),
    ChainUnsettledError: (503, "chain-unavailable"),
    ReorgTooDeepError: (503, "chain-unavailable"),
    IndexDatabaseError: (503, "unavailable"),
    IndexerError: (502, "index-error"),
    ConfigError: (503, "not-configured"),
    ContractRevert: (502, "chain-error"),
    ChainError: (503, "chain-unavailable"),
    CurationError: (500, "internal-error"),
}

#: Codes of the HTTP errors the framework raises itself (unknown route, wrong method, body over a limit).
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
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


# --- redaction ----------------------------------------------------------------------------------------------

_TRACEBACK = re.compile(r"Traceback \(most recent call last\).*", re.DOTALL)
#: A URL with a scheme; what follows the authority (path, query, fragment) and any userinfo are dropped.
_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*)://(?P<rest>[^\s'\"<>`]*)")
#: The request target urllib3 and requests print ("Max retries exceeded with url: /v3/<key>?...").
_BARE_TARGET = re.compile(r"(?i)(\burl:\s*)(/\S*)")
#: Secrets passed as name=value outside a URL.
_KEY_VALUE = re.compile(
    r"(?i)\b(api[_-]?key|apikey|access[_-]?token|token|secret|password|passwd|pwd|auth|key)=([^&\s'\"]+)"
)
#: An absolute POSIX path (not the path of a URL: those are handled first).
_POSIX_PATH = re.compile(r"(?<![\w.~\-/:])/[^\s'\"`<>()\[\]{},;|]+")
_WINDOWS_PATH = re.compile(r"(?<!\w)[A-Za-z]:\\[^\s'\"`<>|]+")
_HOME_PATH = re.compile(r"(?<![\w/])~[\w.\-]*/[^\s'\"`<>()\[\]{},;|]*")
_TRAILING = ".,:;!?)]}'\""
#: Top-level directories that hold local files on common systems, whether or not this machine has them.
_FILE_ROOTS = frozenset(
    "app bin boot data dev etc home lib lib64 media mnt nix opt private proc root run sbin srv sys tmp "  # noqa: SIM905
    "Users usr var Volumes work workspace".split()
)


def _split_trailing(text: str) -> tuple[str, str]:
    core = text.rstrip(_TRAILING)
    return core, text[len(core) :]


def _url(m: re.Match[str]) -> str:
    rest, trailing = _split_trailing(m.group("rest"))
    cut = re.search(r"[/?#]", rest)
    authority = rest[: cut.start()] if cut else rest
    shown = f"{m.group('scheme')}://{authority.rpartition('@')[2]}"
    if cut and rest[cut.start() :] != "/":
        shown += "/…"
    return shown + trailing


@functools.lru_cache(maxsize=512)
def _is_file_root(segment: str) -> bool:
    if segment in _FILE_ROOTS or segment == "..":
        return True
    if len(segment) > 255 or segment == ".":
        return False
    try:
        return os.path.isdir("/" + segment)
    except (OSError, ValueError):
        return False


def _posix_path(m: re.Match[str]) -> str:
    path, trailing = _split_trailing(m.group(0))
    first = path[1:].split("/", 1)[0]
    if first and _is_file_root(first):
        return "<path>" + trailing
    return m.group(0)


def _other_path(m: re.Match[str]) -> str:
    _, trailing = _split_trailing(m.group(0))
    return "<path>" + trailing


def redact(text: str) -> str:
    """`text` without stack traces, URL credentials and paths, API keys, or local filesystem paths.

    A URL keeps only its scheme and host (`https://mainnet.example/…`); an absolute path under a top-level
    directory of a file system (`/home`, `/tmp`, `/var`, ... or any that exists here) becomes `<path>`, as do
    Windows and `~/` paths; `key=value` secrets keep only the name. API paths such as `/auth/verify` stay.
    """
    if len(text) > 8 * MAX_DETAIL_CHARS:  # bound the work; cut at a space, never inside a URL or path
        text = text[: max(text.rfind(" ", 0, 8 * MAX_DETAIL_CHARS), 0)] + " …"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate cannot go out as UTF-8
    text = _TRACEBACK.sub("(see the server log)", text)
    text = _URL.sub(_url, text)
    text = _BARE_TARGET.sub(lambda m: m.group(1) + "…", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}=***", text)
    text = _WINDOWS_PATH.sub(_other_path, text)
    text = _HOME_PATH.sub(_other_path, text)
    text = _POSIX_PATH.sub(_posix_path, text)
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 1] + "…"
    return text


# --- responses ----------------------------------------------------------------------------------------------


def error_response(
    request: Request,
    status: int,
    detail: str,
    code: str,
    *,
    headers: dict[str, str] | None = None,
    exc: BaseException | None = None,
    public: str | None = None,
) -> JSONResponse:
    """The JSON error answer and its log line, under one fresh request id.

    The body carries `public` (default: `detail` through `redact`); the log carries `detail` in full, at INFO
    for a client error and at ERROR with the traceback of `exc` for a server error.
    """
    request_id = secrets.token_hex(8)
    server_error = status >= 500
    _log.log(
        logging.ERROR if server_error else logging.INFO,
        "request %s: %s %r -> %d %s: %r",
        request_id,
        request.method,
        request.url.path,
        status,
        code,
        detail,
        exc_info=exc if exc is not None and server_error else None,
    )
    shown = redact(detail) if public is None else public
    body = {"detail": shown, "code": code, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers={**(headers or {}), REQUEST_ID_HEADER: request_id})


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    return domain_error_response(request, exc)


def domain_error_response(request: Request, exc: Exception) -> JSONResponse:
    """The one place a domain error becomes an HTTP status and a JSON body (with Retry-After, WWW-Authenticate)."""
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Retryable):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    status, code = _lookup(exc)
    if status == 500:  # an unmapped domain error is a bug: the log has it, the client learns only that
        detail = f"{type(exc).__name__}: {exc}"
        return error_response(request, status, detail, code, exc=exc, public="internal error")
    return error_response(request, status, str(exc), code, headers=headers, exc=exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not a user error: the body says nothing internal; the log has the traceback under the id."""
    detail = f"{type(exc).__name__}: {exc}"
    return error_response(request, 500, detail, "internal-error", exc=exc, public="internal error")


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(request, 422, "; ".join(parts) or "invalid request", "invalid-input")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = str(exc.detail)
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if status == 413 and isinstance(limit, int):
        detail = f"request body exceeds the limit of {limit} bytes"
    code = _HTTP_CODES.get(status, f"http-{status}")
    return error_response(request, status, detail, code, headers=dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of `app` through `error_response` (domain, validation, HTTP, unexpected)."""
    app.add_exception_handler(CurationError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
