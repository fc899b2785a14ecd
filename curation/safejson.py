"""Bounded JSON parsing of untrusted bytes: size, UTF-8, nesting depth and number length checked first.

Python's C JSON parser recurses once per nested array or object and relies on the interpreter's recursion
limit to stop. A dependency loaded through web3 raises that limit to 100,000, so a body of 65,536 `[` bytes
overflows the C stack and the process dies with SIGSEGV. Every parse of JSON from outside (HTTP bodies, batch
manifests, fetched manifests, RPC answers) goes through `loads`, which measures the nesting depth with
string operations that do not recurse before the parser sees a byte.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Final

from curation.errors import InvalidInput

__all__ = ["DEFAULT_MAX_DEPTH", "MAX_NUMBER_CHARS", "JsonRejected", "load_path", "loads"]

#: Deepest nesting of arrays and objects accepted unless a caller asks otherwise. Every document the project
#: writes (manifests, parts, batch manifests, reports, Croissant) stays under 10.
DEFAULT_MAX_DEPTH: Final = 64
#: Longest fractional/exponent number literal accepted. Integers use Python's own limit on digit strings
#: (`sys.get_int_max_str_digits()`, 4,300 by default), which keeps their parse linear and fast; where that
#: limit is switched off (0), integers longer than `_MAX_INT_DIGITS` are refused here instead.
MAX_NUMBER_CHARS: Final = 100
_MAX_INT_DIGITS: Final = 4300

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonRejected(InvalidInput):
    """Untrusted JSON was refused: too large, not UTF-8, nested too deep, a number too long, or not JSON."""


def _depth_exceeds(text: str, max_depth: int) -> str | None:
    """Why `text` nests deeper than `max_depth` (or has unbalanced brackets), None when it does not."""
    if text.count("[") + text.count("{") <= max_depth:
        return None  # cannot nest deeper than the number of openers
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    skeleton = skeleton.replace("{", "[").replace("}", "]")
    depth = 0
    while skeleton:
        stripped = skeleton.replace("[]", "")
        if len(stripped) == len(skeleton):
            return "its brackets do not balance"
        skeleton, depth = stripped, depth + 1
        if depth > max_depth:
            return f"it nests arrays/objects deeper than {max_depth} levels"
    return None


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise JsonRejected(f"a number has {len(literal)} characters, over the limit of {MAX_NUMBER_CHARS}")
    return float(literal)


def _int(literal: str) -> int:
    if len(literal.lstrip("-")) > _MAX_INT_DIGITS:
        raise JsonRejected(f"an integer has more than {_MAX_INT_DIGITS} digits")
    return int(literal)


def _constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a JSON number")


def loads(
    data: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    what: str = "JSON document",
) -> Any:
    """Parse untrusted JSON within limits; JsonRejected (an InvalidInput) names `what` and the broken rule."""
    if isinstance(data, str):
        if len(data) > max_bytes:  # every character takes at least one byte: refuse before encoding
            raise JsonRejected(f"{what} is {len(data)} characters, over the limit of {max_bytes} bytes")
        # A lone surrogate (from surrogateescape, say) counts as the 3 bytes it would take; it is refused
        # below as JSON, never here as an encoding error.
        size = len(data.encode("utf-8", "surrogatepass"))
    else:
        size = len(data)
    if size > max_bytes:
        raise JsonRejected(f"{what} is {size} bytes, over the limit of {max_bytes} bytes")
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRejected(f"{what} is not UTF-8: invalid byte at offset {exc.start}") from None
    if not text.strip():
        raise JsonRejected(f"{what} is empty")
    why = _depth_exceeds(text, max_depth)
    if why is not None:
        raise JsonRejected(f"{what} is refused: {why}")
    try:
        return json.loads(
            text,
            parse_float=_float,
            parse_int=_int if sys.get_int_max_str_digits() == 0 else None,
            parse_constant=_constant,
        )
    except JsonRejected as exc:
        raise JsonRejected(f"{what} is refused: {exc}") from None
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"{what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError:  # int() refuses digit strings over sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        raise JsonRejected(f"{what} is refused: an integer has more than {limit} digits") from None


def load_path(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    what: str = "JSON file",
) -> Any:
    """`loads` of a file's bytes, reading at most `max_bytes + 1` of them (a FIFO or a huge file cannot take
    the memory). OSError (missing, unreadable) propagates for the caller to word; JsonRejected otherwise."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise JsonRejected(f"{what} is over the limit of {max_bytes} bytes")
    return loads(data, max_bytes=max_bytes, max_depth=max_depth, what=what)
