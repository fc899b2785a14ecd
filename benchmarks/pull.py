"""Pull benchmark: trainer pull (parallel, CID-verified) against a plain streaming `cat`, same js-ipfs daemon."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200, help="number of items")
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per item")
    parser.add_argument("--large", type=int, default=0, help="also run with this many 4 MiB items")
    parser.add_argument("--workers", type=int, default=4, help="parallel fetches of the trainer pull")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always printed)")
    args = parser.parse_args()
    results = {"small": run(args.items, args.size, args.workers)}
    if args.large:
        results["large"] = run(args.large, 4 * MB, args.workers)
    print(f"{'case':<6} {'metric':<26} value")
    for case, values in results.items():
        for key, value in values.items():
            print(f"{case:<6} {key:<26} {value}")
    print(json.dumps({"benchmark": "pull", **results}, sort_keys=True))


if __name__ == "__main__":
    main()
