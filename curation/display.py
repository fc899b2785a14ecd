"""Untrusted text made safe to show: Markdown table cells and headings, YAML strings.

Text from the chain (dataset names, profile URIs, reasons) may hold any character: control characters and
bidirectional overrides can hide or reorder what a reader sees, `|` and newlines break a table, `<` starts
HTML that a renderer may run. What the manifest records stays exact; only rendered documents use these.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["markdown_text", "yaml_string"]

#: Unicode categories never shown as is: controls, format characters (bidi overrides, zero-width joiners),
#: private use, unpaired surrogates, line and paragraph separators.
_HIDDEN: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
_MARKDOWN: Final = str.maketrans({"|": "\\|", "<": "&lt;", ">": "&gt;", "`": "\\`"})


def _visible(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) in _HIDDEN:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def markdown_text(text: object) -> str:
    """One line of Markdown showing `text` literally (no table break, no HTML, no hidden characters)."""
    return _visible(str(text)).translate(_MARKDOWN)


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar holding `text`, hidden characters escaped as \\uXXXX."""
    out: list[str] = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\t\n\r" or unicodedata.category(ch) in _HIDDEN:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
