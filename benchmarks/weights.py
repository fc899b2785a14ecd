"""Benchmark: commons-v1 weights for 1,000,000 items in 10,000 sources, beside a plain-Python reference."""

from __future__ import annotations

import argparse
import gc
import platform
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from benchmarks._util import print_report
from curation.consent import Consent
from curation.licenses import LicenseClass
from curation.weights import ItemFacts, SourceFacts, WeightInputs, WeightResult, compute_weights

USE = int(Consent.TRAIN | Consent.COMMERCIAL)
STATE_TIMESTAMP = 1_750_000_000
SUPPLY = 10**26  # 100M tokens with 18 decimals


def build_inputs(n_items: int, n_sources: int, n_contributors: int, seed: int = 42) -> WeightInputs:
    """Deterministic synthetic dataset: equal sources, ~2% of items also in a later source, ~4% gated."""
    rng = random.Random(seed)
    owners = [f"0x{rng.getrandbits(160):040x}" for _ in range(n_contributors)]
    items: dict[int, ItemFacts] = {}
    for iid in range(1, n_items + 1):
        roll = rng.random()
        items[iid] = ItemFacts(
            item_id=iid,
            size=rng.randint(1, 2_000_000),
            license_classes=int(LicenseClass.ATTRIBUTION if roll < 0.01 else LicenseClass.COMMERCIAL_USE),
            license_allowed=roll >= 0.005,
            contributor=owners[rng.randrange(n_contributors)],
            consent=int(Consent.TRAIN) if 0.01 <= roll < 0.02 else 0x3F,
            consent_expiry=STATE_TIMESTAMP - 1 if 0.02 <= roll < 0.025 else 0,
            revoked=0.025 <= roll < 0.035,
        )
    per = n_items // n_sources
    sources = []
    for j in range(n_sources):
        ids = list(range(j * per + 1, (j + 1) * per + 1))
        if j:
            ids += [rng.randint(1, j * per) for _ in range(per // 50)]  # re-included earlier items
        f = rng.randrange(4 * 10**24, 2 * 10**25)
        a = rng.randrange(0, f)
        sources.append(
            SourceFacts(j + 1, f, a, rng.randrange(0, 10**24), (1000 + j, j % 7), tuple(ids), SUPPLY)
        )
    removed = frozenset(rng.sample(range(1, n_items + 1), n_items // 200))
    return WeightInputs(USE, STATE_TIMESTAMP, tuple(sources), removed, items)


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of fn() (CPU time is robust when other jobs share the cores), and its result."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


def _reference(inputs: WeightInputs) -> int:
    """What plain Python costs for a pass over the items: sort by (size, id) and sum the sizes."""
    facts = list(inputs.items.values())
    facts.sort(key=lambda f: (f.size, f.item_id))
    return sum(f.size for f in facts)


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and, last, one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--contributors", type=int, default=50_000)
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always printed last)")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also measure peak Python allocation of one compute (slow)"
    )
    args = parser.parse_args(argv)

    build_s, _, inputs = _timed(lambda: build_inputs(args.items, args.sources, args.contributors))
    rss_inputs = _peak_rss_mb()
    ref_s, ref_cpu, _ = _timed(lambda: _reference(inputs))
    default_s, default_cpu, res = _timed(lambda: compute_weights("commons-v1", inputs))
    result: WeightResult = res
    # budget about 2 epochs of the data on average, capped at 3; a contributor at most 2.5x the mean share
    caps = {
        "budget_bytes": 2 * 10**6 * args.items,
        "max_epochs": "3",
        "contributor_cap": str(Decimal(5) / (2 * args.contributors)),
    }
    caps_s, caps_cpu, res_caps = _timed(lambda: compute_weights("commons-v1", inputs, caps))
    rss_peak = _peak_rss_mb()
    traced_mb = None
    if args.tracemalloc:
        gc.collect()
        tracemalloc.start()
        compute_weights("commons-v1", inputs, caps)
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    report = {
        "benchmark": "weights",
        "python": platform.python_version(),
        "items": args.items,
        "sources": args.sources,
        "contributors": args.contributors,
        "eligible_items": len(result.items),
        "excluded_items": len(result.exclusions),
        "build_inputs_s": round(build_s, 3),
        "reference_sort_sum_s": round(ref_s, 3),
        "weights_default_s": round(default_s, 3),
        "weights_with_caps_s": round(caps_s, 3),
        "reference_cpu_s": round(ref_cpu, 3),
        "weights_default_cpu_s": round(default_cpu, 3),
        "weights_with_caps_cpu_s": round(caps_cpu, 3),
        "ratio_default_to_reference": round(default_s / ref_s, 2) if ref_s else None,
        "rss_after_inputs_mb": round(rss_inputs, 1),
        "peak_rss_mb": round(rss_peak, 1),
        "weights_peak_traced_mb": None if traced_mb is None else round(traced_mb, 1),
        "sum_default": str(sum(result.items.values())),
        "sum_with_caps": str(sum(res_caps.items.values())),
    }
    print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
