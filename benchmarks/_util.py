"""What the benchmark scripts share: printing their figures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["print_report", "print_table"]


def print_table(report: Mapping[str, Any]) -> None:
    """One `key  value` line a figure, the keys padded to one column."""
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")


def print_report(report: Mapping[str, Any], *, json_line: bool = True) -> None:
    """The table, then (with `json_line`) the whole report as one JSON line, keys sorted, for scripts."""
    print_table(report)
    if json_line:
        print(json.dumps(report, sort_keys=True))
