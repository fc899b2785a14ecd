"""Human-readable differences between two JSON documents (what `curation verify` prints on a mismatch)."""

from __future__ import annotations

from typing import Any

__all__ = ["diff_documents"]


def diff_documents(expected: Any, actual: Any, limit: int = 20, path: str = "$") -> list[str]:
    """Human-readable differences between two JSON documents (at most `limit` lines)."""
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a:
                    out.append(f"{where}.{key}: unexpected (rebuilt manifest has no such field)")
                elif key not in b:
                    out.append(f"{where}.{key}: missing")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
                if len(out) >= limit:
                    return
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                out.append(f"{where}: {len(b)} entries, rebuilt has {len(a)}")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{where}[{i}]")
                if len(out) >= limit:
                    return
        elif a != b or type(a) is not type(b):
            out.append(f"{where}: {_short(b)}, rebuilt {_short(a)}")

    walk(expected, actual, path)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
