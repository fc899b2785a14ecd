"""Benchmark: a release built through the real path (chain logs in the index, batch manifests and item bytes in
the store), at growing sizes, in this process, on local processes and on a Dask LocalCluster.

Each size runs in a fresh interpreter. The setup deploys on the embedded chain, registers contributors,
submits batches of `--leaves` leaves (their bytes and manifests in an embedded block store), and has the
curators accept `--sources` INCLUDE proposals over them. Then `build_release` runs (index sync, fold, batch
admission, content checks, weights, manifest, report, exports) while a thread samples the RSS, once per way of
running the partitions. Printed per size, one JSON line: items, seconds of each way, the peak RSS over the
pre-build baseline and bytes per item, and whether every way gave the same manifest sha256.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

__all__ = ["main", "measure"]

_USE = 0x3  # train + commercial
_TOKEN = 10**18


class _PeakRss:
    """The largest RSS of this process (and its children) seen while the block runs, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _sample() -> int:
        proc = psutil.Process()
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> _PeakRss:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _setup(work: Path, batches: int, leaves: int, sources: int) -> tuple[Any, Any, Any, int]:
    from backend.chain.accounts import dev_signers
    from backend.chain.connection import connect
    from backend.chain.deployment import deploy_all
    from backend.chain.registry import RegistryClient
    from backend.chain.token import TokenClient
    from backend.chain.voting import DatasetParams, VotingClient
    from backend.contribute import store_batch_manifest
    from backend.ipfs import EmbeddedStore
    from curation.batches import leaf_for_bytes
    from curation.events import DatasetCreated, ProposalCreated
    from curation.governance import ProposalKind

    w3 = connect(None)
    signers = dev_signers(w3)
    admin = signers[0]
    deployment = deploy_all(w3, admin)
    store = EmbeddedStore(work / "blocks")
    registry = RegistryClient(w3, deployment.address("ContentRegistry"), admin)
    token = TokenClient(w3, deployment.address("CurationToken"), admin)
    voting = VotingClient(w3, deployment.address("CurationVoting"), admin)
    curator = signers[1]
    token.mint(curator.address, 1_000 * _TOKEN)
    token.with_signer(curator).delegate(curator.address)
    lic = registry.license_id_of("CC-BY-4.0")
    contributors = [registry.with_signer(s) for s in signers[2:6]]
    for i, reg in enumerate(contributors):
        reg.register(f"https://example.org/contributor/{i}")
    batch_ids = []
    for b in range(batches):
        contents = [f"release-scale item {b}.{i}\n".encode() for i in range(leaves)]
        batch_leaves = [leaf_for_bytes(i, c, lic, 0x3F) for i, c in enumerate(contents)]
        for content in contents:
            store.put_bytes(content, pin=False)
        stored = store_batch_manifest(store, batch_leaves)
        receipt = contributors[b % len(contributors)].submit_batch(batch_leaves, stored.cid)
        batch_ids.append(RegistryClient.submitted_id(receipt))
    params = DatasetParams(voting_delay=1, voting_period=4, quorum_bps=400, approval_bps=5000)
    dataset = voting.create_dataset("scale", "bafkqaaa", _USE, params).event(DatasetCreated).dataset_id
    per = -(-len(batch_ids) // sources)
    curating = voting.with_signer(curator)
    for start in range(0, len(batch_ids), per):
        receipt = voting.propose(dataset, ProposalKind.INCLUDE, [], batch_ids[start : start + per])
        pid = receipt.event(ProposalCreated).proposal_id
        w3.testing.mine(1)
        curating.cast_vote(pid, 1)
        w3.testing.mine(5)
        voting.finalize(pid)
    return w3, deployment, store, dataset


def measure(items: int, leaves: int, sources: int, ways: list[str]) -> dict[str, Any]:
    """One size, in this interpreter: setup, then one build per way; the figures as a dict."""
    from distributed import LocalCluster

    from backend.release import build_release
    from backend.session import Session
    from backend.settings import Settings

    batches = max(1, items // leaves)
    with tempfile.TemporaryDirectory(prefix="release-scale-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        w3, deployment, store, dataset = _setup(work, batches, leaves, sources)
        setup_s = time.perf_counter() - t0
        out: dict[str, Any] = {
            "items": batches * leaves,
            "batches": batches,
            "leaves_per_batch": leaves,
            "sources": min(sources, batches),
            "setup_s": round(setup_s, 1),
        }
        digests = {}
        cluster = None
        for way in ways:
            settings: dict[str, Any] = {"home": work / "home", "db": "sqlite://"}
            if way == "this-process":
                settings["build_workers"] = 1
            elif way == "dask":
                cluster = cluster or LocalCluster(
                    n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
                )
                settings["dask_scheduler"] = cluster.scheduler_address
            session = Session(w3, deployment, Settings.model_validate(settings), store=store)
            baseline = _PeakRss()._sample()  # this process and its children (a Dask cluster's workers)
            t0 = time.perf_counter()
            with _PeakRss() as rss:
                built = build_release(session, dataset)
            seconds = time.perf_counter() - t0
            digests[way] = built.sha256
            peak_over = max(0, rss.peak - baseline)
            out[way] = {
                "seconds": round(seconds, 2),
                "items_per_s": round(out["items"] / seconds),
                "peak_rss_mb": round(rss.peak / 2**20, 1),
                "peak_over_baseline_mb": round(peak_over / 2**20, 1),
                "bytes_per_item": round(peak_over / out["items"]),
            }
            del built
        if cluster is not None:
            cluster.close()
        out["same_manifest"] = len(set(digests.values())) == 1
        out["manifest_sha256"] = next(iter(digests.values()))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[2_000, 10_000, 30_000])
    parser.add_argument("--leaves", type=int, default=1_000, help="leaves per batch")
    parser.add_argument("--sources", type=int, default=10, help="accepted INCLUDE proposals")
    parser.add_argument(
        "--ways", nargs="+", default=["this-process", "local-processes", "dask"], help="how partitions run"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.items[0], args.leaves, args.sources, args.ways)))
        return 0
    for n in args.items:
        cmd = [sys.executable, "-m", "benchmarks.release_scale", "--one", "--items", str(n)]
        cmd += ["--leaves", str(min(args.leaves, n)), "--sources", str(args.sources), "--ways", *args.ways]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return done.returncode
        print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
