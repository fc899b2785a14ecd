"""Immutable documents over HTTP: verified bytes, their bounded LRU cache, and ETag/Range/If-Range/HEAD answers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from backend.api.errors import error_response
from backend.errors import ConfigError

__all__ = [
    "CACHE_CONTROL",
    "DEFAULT_CACHE_BYTES",
    "MAX_CONDITION_HEADER",
    "MAX_RANGE_HEADER",
    "UNSATISFIABLE",
    "ImmutableCache",
    "VerifiedBytes",
    "etag_matches",
    "immutable_response",
    "parse_range",
]

#: What a response of bytes that can never change tells every cache: keep them for a year, never revalidate.
CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
#: Default byte budget of an ImmutableCache (the API's verified manifests and parts).
DEFAULT_CACHE_BYTES: Final = 256 * 1024 * 1024
#: Longest Range header read (422 past it): one range of two 19-digit numbers takes 45 characters.
MAX_RANGE_HEADER: Final = 256
#: Longest If-None-Match or If-Range header read (422 past it), as for the API's other conditional headers.
MAX_CONDITION_HEADER: Final = 4096
#: Digits of a range position read as a number; a longer one is past the end of any document held in memory.
_MAX_DIGITS: Final = 18
_HUGE: Final = 10**_MAX_DIGITS


@dataclass(frozen=True, slots=True)
class VerifiedBytes:
    """Bytes checked against the sha256 the chain (or an anchored manifest) lists for them; never changed after.

    `etag` is the quoted sha256 hex; `cid_etag` the quoted CID, the ETag served before, still accepted.
    """

    data: bytes
    sha256: str
    cid: str
    etag: str = field(init=False)
    cid_etag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", f'"{self.sha256}"')
        object.__setattr__(self, "cid_etag", f'"{self.cid}"')


class ImmutableCache:
    """Verified bytes by key, least recently used evicted past `budget` bytes (thread-safe).

    Only what a caller verified goes in (`put`), and a document never changes once anchored, so an entry is
    never stale. A document larger than the whole budget is returned by `put` but not kept.
    """

    def __init__(self, budget: int = DEFAULT_CACHE_BYTES) -> None:
        if budget < 0:
            raise ConfigError(f"the immutable document cache budget must be >= 0 bytes, got {budget}")
        self.budget = budget
        self._entries: OrderedDict[Hashable, VerifiedBytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> VerifiedBytes | None:
        """The entry under `key` (now the most recently used), or None; never blocks on I/O."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: Hashable, value: VerifiedBytes) -> VerifiedBytes:
        """Keep `value` under `key` (evicting the least recently used past the budget); returns `value`."""
        size = len(value.data)
        if size > self.budget:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.data)
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.budget:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.data)
        return value

    @property
    def size(self) -> int:
        """Bytes held now (at most `budget`)."""
        return self._bytes

    def keys(self) -> list[Hashable]:
        """Keys held, least recently used first."""
        with self._lock:
            return list(self._entries)


def etag_matches(header: str | None, doc: VerifiedBytes, *, weak: bool) -> bool:
    """Whether an If-None-Match (`weak`: W/ tags count, `*` matches) or If-Range header names `doc`.

    Both the sha256 ETag and the older CID ETag name the same bytes, so either matches.
    """
    if header is None:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if weak:
            if tag == "*":
                return True
            tag = tag.removeprefix("W/")
        if tag == doc.etag or tag == doc.cid_etag:
            return True
    return False


class _Unsatisfiable:
    def __repr__(self) -> str:
        return "UNSATISFIABLE"


#: What `parse_range` returns for a well-formed range that selects no byte of the document (answer 416).
UNSATISFIABLE: Final = _Unsatisfiable()


def _position(digits: str) -> int | None:
    """A range position: ASCII digits only; more than _MAX_DIGITS of them read as _HUGE (no big int())."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits) if len(digits) <= _MAX_DIGITS else _HUGE


def parse_range(header: str | None, length: int) -> tuple[int, int] | _Unsatisfiable | None:
    """The one byte range (first, last inclusive) a Range header selects from `length` bytes (RFC 9110 14.2).

    None means "serve the whole document": no header, a unit other than `bytes`, a malformed range or more
    than one range (a server may ignore any Range header; multipart answers are not offered). UNSATISFIABLE
    means a well-formed range that starts past the end (or a zero-length suffix): answer 416.
    """
    if header is None or len(header) > MAX_RANGE_HEADER:
        return None
    unit, eq, spec = header.strip().partition("=")
    if not eq or unit.strip().lower() != "bytes" or "," in spec:
        return None
    start, dash, end = spec.strip().partition("-")
    if not dash:
        return None
    if not start:  # bytes=-n: the last n bytes
        n = _position(end)
        if n is None:
            return None
        if n == 0 or length == 0:
            return UNSATISFIABLE
        return max(0, length - n), length - 1
    first = _position(start)
    last = _position(end) if end else _HUGE  # bytes=first-: to the end
    if first is None or last is None or last < first:
        return None
    if first >= length:
        return UNSATISFIABLE
    return first, min(last, length - 1)


def immutable_response(
    request: Request,
    doc: VerifiedBytes,
    media_type: str,
    *,
    if_none_match: str | None = None,
    range_header: str | None = None,
    if_range: str | None = None,
) -> Response:
    """The answer to a GET or HEAD of `doc`: 304, 206 with one range, 416, or 200 with the whole bytes.

    If-None-Match is checked first (304 for either ETag); a Range is honoured unless If-Range names other
    bytes (or is a date: these documents carry no Last-Modified). HEAD gets the headers GET would, no body.
    """
    headers = {"ETag": doc.etag, "Cache-Control": CACHE_CONTROL, "Accept-Ranges": "bytes"}
    if etag_matches(if_none_match, doc, weak=True):
        return Response(status_code=304, headers=headers)
    data = doc.data
    length = len(data)
    selected = None
    if range_header is not None and (if_range is None or etag_matches(if_range, doc, weak=False)):
        selected = parse_range(range_header, length)
    if isinstance(selected, _Unsatisfiable):
        detail = f"the range {range_header!r} selects no byte of this {length}-byte document"
        return error_response(
            request, 416, detail, "range-not-satisfiable", headers={"Content-Range": f"bytes */{length}"}
        )
    status, first, last = 200, 0, length - 1
    if selected is not None:
        first, last = selected
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{length}"
        length = last + 1 - first
    if request.method == "HEAD":  # what GET would send, without the body (Starlette would send it whole)
        headers["Content-Length"] = str(length)
        return Response(status_code=status, headers=headers, media_type=media_type)
    body = data[first : last + 1] if status == 206 else data  # ASGI bodies are bytes: the range is copied
    return Response(content=body, status_code=status, headers=headers, media_type=media_type)
