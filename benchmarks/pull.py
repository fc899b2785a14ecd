"""Pull benchmark: trainer pull (parallel, CID-verified) against a plain streaming `cat`, same js-ipfs daemon;
the numpy weighted sampler at 1M and 10M items against the pure-Python one it replaced (at 1M)."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from backend.ipfs import KuboStore
from backend.trainer.pull import fetch_items
from curation.manifest_read import ManifestItem
from curation.unixfs import compute_cid

MB = 1024 * 1024


def _items(node: KuboStore, count: int, size: int) -> tuple[list[ManifestItem], list[bytes]]:
    rng = random.Random(count * 7919 + size)
    items, blobs = [], []
    for i in range(count):
        data = rng.randbytes(size)
        cid = str(node.put_bytes(data).cid)
        items.append(
            ManifestItem(
                i + 1, cid, hashlib.sha256(data).hexdigest(), size, "CC0-1.0", "0x" + "00" * 20, 1, 0, 1, 0
            )
        )
        blobs.append(data)
    return items, blobs


def _plain_cat(api: str, items: list[ManifestItem]) -> int:
    """The baseline: stream every item with `cat`, no verification, one request at a time."""
    total = 0
    with httpx.Client(base_url=api, timeout=120) as client:
        for item in items:
            with client.stream("POST", "/api/v0/cat", params={"arg": item.cid}) as r:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    total += len(chunk)
    return total


def run(count: int, size: int, workers: int) -> dict[str, Any]:
    from tests.integration.jsipfs import jsipfs_daemon

    with tempfile.TemporaryDirectory() as tmp, jsipfs_daemon(Path(tmp)) as daemon:
        with KuboStore(daemon.api, timeout=120) as node:
            items, _ = _items(node, count, size)
        total_mb = count * size / MB
        start = time.perf_counter()
        assert _plain_cat(daemon.api, items) == count * size
        t_cat = time.perf_counter() - start
        out: dict[str, Any] = {"items": count, "item_bytes": size, "total_MB": round(total_mb, 2)}
        out["cat_items_per_s"] = round(count / t_cat, 1)
        out["cat_MBps"] = round(total_mb / t_cat, 1)
        for w in sorted({1, workers}):
            dest = Path(tmp) / f"pull-{w}"
            with KuboStore(daemon.api, timeout=120) as store:
                start = time.perf_counter()
                outcome = fetch_items(store, items, dest, workers=w)
                t_pull = time.perf_counter() - start
            assert not outcome.failures, outcome.failures
            out[f"pull_w{w}_items_per_s"] = round(count / t_pull, 1)
            out[f"pull_w{w}_MBps"] = round(total_mb / t_pull, 1)
            out[f"pull_w{w}_vs_cat"] = round(t_cat / t_pull, 3)
            # A resumed pull re-verifies what is there and fetches nothing.
            with KuboStore(daemon.api, timeout=120) as store:
                start = time.perf_counter()
                again = fetch_items(store, items, dest, workers=w)
                out[f"resume_w{w}_MBps"] = round(total_mb / (time.perf_counter() - start), 1)
            assert set(again.status.values()) == {"already_present"}
        assert compute_cid((Path(tmp) / f"pull-{workers}" / "items" / items[0].cid).read_bytes()).cid
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _synthetic(n: int) -> tuple[Any, Any, Any]:
    """n items, ascending ids (a third of them batch leaves past 2**64), random weights summing to 10**18."""
    import numpy as np

    from curation.sampler import WAD

    rng = np.random.default_rng(n)
    raw = rng.integers(1, 2**20, n, dtype=np.int64)
    weights = raw * (WAD // int(raw.sum()))
    weights[-1] += WAD - int(weights.sum())
    lo = np.arange(1, n + 1, dtype=np.uint64)
    hi = np.zeros(n, dtype=np.uint64)
    hi[2 * n // 3 :] = 1  # leaf ids: 2**64 + ...
    return hi, lo, weights


def sampler_child(n: int, kind: str, samples: int) -> dict[str, Any]:
    """One measurement in this process (run as a child, so that peak RSS is its own)."""
    import numpy as np

    from curation.sampler import WeightedSampler, WeightTable

    digest = hashlib.sha256(b"bench").digest()
    base = _rss_mb()  # the interpreter with numpy: what every item adds comes on top of this
    hi, lo, weights = _synthetic(n)
    if kind == "numpy":
        start = time.perf_counter()
        table = WeightTable(hi, lo, weights)
        built = time.perf_counter() - start
        del hi, lo, weights
        sampler = WeightedSampler(table, digest, seed=1, count=samples)
        start = time.perf_counter()
        drawn = sum(1 for _ in sampler)
        took = time.perf_counter() - start
        held = table.nbytes
    else:  # the pure-Python sampler before numpy: lists of ids and cumulative weights, bisect per draw
        from tests.curation.test_sampler import reference_items

        pairs = [((int(h) << 64) | int(x), int(w)) for h, x, w in zip(hi, lo, weights, strict=True)]
        del hi, lo, weights  # the (id, weight) pairs the old sampler was given, as LocalManifest.weights
        start = time.perf_counter()
        reference_items(pairs, digest, 1, range(0))
        built = time.perf_counter() - start
        start = time.perf_counter()
        drawn = len(reference_items(pairs, digest, 1, range(samples)))
        took = time.perf_counter() - start - built
        held = 0
    peak = _rss_mb()
    assert drawn == samples
    assert np is not None
    return {
        "sampler": kind,
        "items": n,
        "build_s": round(built, 3),
        "samples_per_s": round(samples / took),
        "peak_rss_MB": round(peak, 1),
        "rss_over_baseline_MB": round(peak - base, 1),
        "table_bytes_per_item": held // n if held else None,
        "rss_bytes_per_item": round((peak - base) * 1024 * 1024 / n, 1),
    }


def run_samplers(sizes: list[int], samples: int) -> list[dict[str, Any]]:
    """Each (kind, size) in a fresh interpreter; the pure-Python reference at 1M only."""
    cases = [("python", 1_000_000)] + [("numpy", n) for n in sizes]
    out = []
    for kind, n in cases:
        cmd = [sys.executable, "-m", "benchmarks.pull", "--sampler-child", str(n), kind, str(samples)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200, help="number of items")
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per item")
    parser.add_argument("--large", type=int, default=0, help="also run with this many 4 MiB items")
    parser.add_argument("--workers", type=int, default=4, help="parallel fetches of the trainer pull")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always printed)")
    parser.add_argument("--sampler-items", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--samples", type=int, default=200_000, help="draws timed per sampler")
    parser.add_argument("--sampler-only", action="store_true", help="skip the pull (no js-ipfs daemon)")
    parser.add_argument("--sampler-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sampler_child:
        n, kind, samples = args.sampler_child
        print(json.dumps(sampler_child(int(n), kind, int(samples))))
        return
    samplers = run_samplers(args.sampler_items, args.samples)
    print(f"{'sampler':<8} {'items':>10} {'build s':>8} {'samples/s':>10} {'peak MB':>8} {'B/item':>7}")
    for row in samplers:
        print(
            f"{row['sampler']:<8} {row['items']:>10} {row['build_s']:>8} {row['samples_per_s']:>10} "
            f"{row['peak_rss_MB']:>8} {row['rss_bytes_per_item']:>7}"
        )
    if args.sampler_only:
        print(json.dumps({"benchmark": "pull", "samplers": samplers}, sort_keys=True))
        return
    results: dict[str, Any] = {"small": run(args.items, args.size, args.workers)}
    if args.large:
        results["large"] = run(args.large, 4 * MB, args.workers)
    print(f"{'case':<6} {'metric':<26} value")
    for case, values in results.items():
        for key, value in values.items():
            print(f"{case:<6} {key:<26} {value}")
    print(json.dumps({"benchmark": "pull", **results, "samplers": samplers}, sort_keys=True))


if __name__ == "__main__":
    main()
