"""What the benchmark scripts share: printing their figures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["peak_rss_mb", "print_report", "print_table"]


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


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: VmHWM of /proc/self/status, the peak of this program alone (ru_maxrss keeps, across exec, the
    size of the parent a spawned child was forked from). Elsewhere ru_maxrss (KiB on Linux, bytes on macOS).
    """
    import resource
    import sys

    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10
