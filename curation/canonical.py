"""Canonical JSON (RFC 8785, JCS) and its sha256: the bytes a manifest's digest is taken over."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import rfc8785

from curation import safejson
from curation.errors import InvalidInput

__all__ = ["MAX_CANONICAL_BYTES", "MAX_SAFE_INT", "canonical_bytes", "parse_canonical", "sha256_hex"]

#: Largest integer RFC 8785 can write as a number (2**53 - 1); larger amounts go into decimal strings.
MAX_SAFE_INT = 2**53 - 1
#: Default size limit of `parse_canonical` when the caller names none (callers with a better bound, such as
#: the manifest loaders, pass their own).
MAX_CANONICAL_BYTES: Final = 64 * 1024 * 1024


class _Scan:
    """What one walk over a document found: the first problem, and whether the fast writer is exact."""

    __slots__ = ("fast",)

    def __init__(self) -> None:
        self.fast = True


def _problem(obj: Any, path: str, scan: _Scan | None = None) -> str | None:
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return None
    if isinstance(obj, int):
        return None if -MAX_SAFE_INT <= obj <= MAX_SAFE_INT else f"{path} = {obj} is beyond 2**53 - 1"
    if isinstance(obj, float):
        return f"{path} is a float ({obj!r}); manifests hold integers and decimal strings only"
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                return f"{path} has a non-string key {key!r}"
            if scan is not None and not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                scan.fast = False  # code-point order differs from RFC 8785's UTF-16 order here
            found = _problem(value, f"{path}.{key}", scan)
            if found:
                return found
        return None
    if isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            found = _problem(value, f"{path}[{i}]", scan)
            if found:
                return found
        return None
    return f"{path} has type {type(obj).__name__}, which JSON cannot hold"


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 bytes of `obj` (dicts with str keys, lists, str, int within +-(2**53-1), bool, None).

    Floats are refused: nothing that feeds a digest may depend on floating point.
    """
    scan = _Scan()
    problem = _problem(obj, "$", scan)
    if problem:
        raise InvalidInput(f"cannot canonicalise: {problem}")
    if scan.fast:
        # For integers, and object keys within the Basic Multilingual Plane, the standard library's sorted,
        # compact, non-ASCII-escaping output is byte for byte RFC 8785 (same escapes: \b \t \n \f \r, \u00xx
        # for other controls); tests/curation/test_canonical.py holds it to rfc8785 on generated documents.
        try:
            return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the reference implementation decide
            pass
    return bytes(rfc8785.dumps(obj))


def sha256_hex(data: bytes) -> str:
    """Lowercase hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def parse_canonical(
    data: bytes,
    what: str = "document",
    *,
    max_bytes: int = MAX_CANONICAL_BYTES,
    max_depth: int = safejson.DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse untrusted JSON bytes and check they are exactly canonical (InvalidInput otherwise).

    The bytes go through `safejson.loads` first: over `max_bytes`, not UTF-8, nested deeper than `max_depth`
    or holding an over-long number, they are refused with `safejson.JsonRejected` (an InvalidInput) before
    the parser runs, so no input can exhaust the stack.
    """
    obj = safejson.loads(data, max_bytes=max_bytes, max_depth=max_depth, what=what)
    if _problem(obj, "$") is not None or canonical_bytes(obj) != data:
        raise InvalidInput(f"{what} is JSON but not in canonical form (RFC 8785)")
    return obj
