"""Benchmark: weights + manifest (canonical JSON, sha256, CID-addressed parts) for 1,000,000 items."""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import platform
import pstats
import random
import resource
import sys
import time
from typing import Any

from curation import events as ev
from curation.batches import leaf_item_id
from curation.cid import cid_v1_raw
from curation.consent import ALL, Consent
from curation.content import ContentCheck
from curation.exports import croissant, dataset_card
from curation.governance import ProposalKind, ProposalStatus
from curation.licenses import LicenseClass
from curation.manifest import DEFAULT_SHARD_ITEMS, BuiltManifest, ChainContext, build_manifest
from curation.report import build_report, render_markdown
from curation.state import (
    BatchState,
    ChainState,
    ContributorState,
    DatasetState,
    ItemState,
    LicenseState,
    ProposalRecord,
)

__all__ = ["DATASET_ID", "bench_manifest", "build_state", "context", "main"]

USE = int(Consent.TRAIN | Consent.COMMERCIAL)
DATASET_ID = 1
#: The dataset's quorum and approval (bps) and late-quorum extension, frozen into every proposal.
THRESHOLDS = (400, 5000, 0)
STATE_BLOCK = 5_000_000
STATE_TIMESTAMP = 1_750_000_000
SUPPLY = 10**26  # 100M tokens with 18 decimals
CONTRACTS = {
    "CurationToken": "0x" + "11" * 20,
    "ContentRegistry": "0x" + "22" * 20,
    "CurationVoting": "0x" + "33" * 20,
    "ReleaseRegistry": "0x" + "44" * 20,
}
#: (id, SPDX, classes, allowed): the usual open licenses, one NC (gated for commercial use), one delisted.
LICENSES = (
    (1, "CC0-1.0", int(LicenseClass.COMMERCIAL_USE)),
    (2, "CC-BY-4.0", int(LicenseClass.COMMERCIAL_USE | LicenseClass.ATTRIBUTION)),
    (
        3,
        "CC-BY-SA-4.0",
        int(LicenseClass.COMMERCIAL_USE | LicenseClass.SHARE_ALIKE | LicenseClass.ATTRIBUTION),
    ),
    (4, "MIT", int(LicenseClass.COMMERCIAL_USE | LicenseClass.ATTRIBUTION)),
    (5, "CC-BY-NC-4.0", int(LicenseClass.ATTRIBUTION)),
    (6, "Apache-2.0", int(LicenseClass.COMMERCIAL_USE | LicenseClass.ATTRIBUTION)),
)
DELISTED = 6


def _address(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(160):040x}"


def _pos(block: int, index: int) -> ev.LogPosition:
    return ev.LogPosition(block, index)


def build_state(n_items: int, n_sources: int, seed: int = 0) -> ChainState:
    """A folded chain state with one dataset whose accepted sources hold `n_items` items, deterministically.

    Half the sources name single registry items, half name one batch of leaves each (ids 2^64 + ...).
    About 2% of a source's items are re-included by a later source, 0.5% are removed by accepted REMOVE
    proposals, and about 4% fail a gate (revoked, narrowed consent, expired, NC or delisted license);
    a rejected proposal and a few items never proposed sit beside them, as on a real chain.
    """
    if n_items < n_sources or n_sources < 1:
        raise ValueError(f"need at least one item per source, got {n_items} items in {n_sources} sources")
    rng = random.Random(seed)
    state = ChainState(STATE_BLOCK)
    for lid, spdx, classes in LICENSES:
        state.licenses[lid] = LicenseState(lid, spdx, classes, lid != DELISTED)
    n_contributors = max(1, n_items // 20)
    owners = [_address(rng) for _ in range(n_contributors)]
    for i, addr in enumerate(owners):
        state.contributors[addr] = ContributorState(addr, i + 1, f"ipfs://profile-{i + 1}")
    curator = _address(rng)
    state.datasets[DATASET_ID] = DatasetState(
        DATASET_ID,
        curator,
        "synthetic-commons",
        cid_v1_raw(hashlib.sha256(b"desc").digest()).to_bytes(),
        USE,
        _pos(10, 0),
    )
    state.datasets[DATASET_ID].params = ev.DatasetParamsSet(_pos(10, 1), DATASET_ID, 1, 50, *THRESHOLDS, 0)

    next_item = 1
    next_batch = 1
    block = 100
    per = n_items // n_sources
    extra = n_items - per * n_sources
    all_ids: list[int] = []
    proposals: list[ProposalRecord] = []

    def item(item_id: int, owner: str, batch: int | None, leaf: int | None) -> ItemState:
        digest = hashlib.sha256(item_id.to_bytes(16, "big") + seed.to_bytes(8, "big")).digest()
        roll = rng.random()
        lic = 5 if roll < 0.01 else DELISTED if roll < 0.015 else 1 + rng.randrange(4)
        consent = int(Consent.TRAIN) if 0.015 <= roll < 0.025 else int(ALL)
        expiry = (
            STATE_TIMESTAMP - 1 if 0.025 <= roll < 0.03 else (STATE_TIMESTAMP + 10**6 if roll > 0.9 else 0)
        )
        st = ItemState(
            item_id,
            owner,
            cid_v1_raw(digest).to_bytes(),
            digest,
            rng.randint(1, 2_000_000),
            lic,
            consent,
            expiry,
            _pos(block, 0),
            batch_id=batch,
            leaf_index=leaf,
        )
        if 0.03 <= roll < 0.04:
            st.consent, st.revoked, st.revoked_at = 0, True, _pos(block + 1, 0)
        return st

    for j in range(n_sources):
        count = per + (1 if j < extra else 0)
        owner = owners[rng.randrange(n_contributors)]
        block += 3
        ids: list[int] = []
        if j % 2 == 0:  # single items, each its own submission, a few contributors per source
            item_ids: tuple[int, ...] = ()
            for _ in range(count):
                who = owners[rng.randrange(n_contributors)] if rng.random() < 0.5 else owner
                state.items[next_item] = item(next_item, who, None, None)
                ids.append(next_item)
                next_item += 1
            item_ids = tuple(ids)
            batch_ids: tuple[int, ...] = ()
        else:  # one batch by one contributor, leaves admitted
            b = next_batch
            next_batch += 1
            for leaf in range(count):
                lid = leaf_item_id(b, leaf)
                state.items[lid] = item(lid, owner, b, leaf)
                ids.append(lid)
            state.batches[b] = BatchState(
                b,
                owner,
                hashlib.sha256(b"root%d" % b).digest(),
                count,
                cid_v1_raw(hashlib.sha256(b"batch%d" % b).digest()).to_bytes(),
                0,
                0,
                0,
                _pos(block, 1),
                loaded=True,
                leaf_ids=tuple(ids),
            )
            item_ids, batch_ids = (), (b,)
        if all_ids and per >= 50:  # re-include ~2% of earlier items by id
            item_ids += tuple(rng.choice(all_ids) for _ in range(per // 50))
        all_ids.extend(ids)
        f = rng.randrange(4 * 10**24, 2 * 10**25)
        pid = len(proposals) + 1
        proposals.append(
            ProposalRecord(
                pid,
                DATASET_ID,
                curator,
                ProposalKind.INCLUDE,
                item_ids,
                batch_ids,
                b"",
                block + 1,
                block + 51,
                _pos(block, 2),
                *THRESHOLDS,
                f,
                rng.randrange(0, f),
                rng.randrange(0, 10**24),
                rng.randint(3, 40),
                ProposalStatus.ACCEPTED,
                SUPPLY,
                _pos(block + 52, j % 7),
            )
        )
    for k in range(max(1, n_sources // 100)):  # removals: 0.5% of the items
        block += 3
        removed = tuple(
            sorted(rng.sample(all_ids, min(len(all_ids), max(1, n_items // 200 // max(1, n_sources // 100)))))
        )
        f = rng.randrange(4 * 10**24, 2 * 10**25)
        pid = len(proposals) + 1
        proposals.append(
            ProposalRecord(
                pid,
                DATASET_ID,
                curator,
                ProposalKind.REMOVE,
                removed,
                (),
                b"",
                block + 1,
                block + 51,
                _pos(block, 0),
                *THRESHOLDS,
                f,
                f // 3,
                0,
                12,
                ProposalStatus.ACCEPTED,
                SUPPLY,
                _pos(block + 52, 3 + k % 5),
            )
        )
    # noise a real fold also carries: a rejected proposal, and items nobody proposed
    proposals.append(
        ProposalRecord(
            len(proposals) + 1,
            DATASET_ID,
            curator,
            ProposalKind.INCLUDE,
            tuple(all_ids[:10]),
            (),
            b"",
            block + 1,
            block + 51,
            _pos(block, 5),
            *THRESHOLDS,
            1,
            10**24,
            0,
            2,
            ProposalStatus.REJECTED,
            SUPPLY,
            _pos(block + 52, 0),
        )
    )
    for _ in range(max(1, n_items // 1000)):
        state.items[next_item] = item(next_item, owners[0], None, None)
        next_item += 1
    state.proposals = {p.proposal_id: p for p in proposals}
    # The release path reads every candidate's bytes before building (backend.release.build.check_dataset_content);
    # this benchmark times the build, so every item's bytes count as checked and matching.
    for it in state.items.values():
        state.content[it.item_id] = ContentCheck(it.item_id, None, it.sha256, (it.cid,))
    return state


def context(seed: int = 0) -> ChainContext:
    """The state block header and deployment the synthetic manifest records."""
    block_hash = "0x" + hashlib.sha256(b"block%d" % seed).hexdigest()
    return ChainContext(31337, CONTRACTS, STATE_BLOCK, block_hash, STATE_TIMESTAMP)


def _rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS), in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _current_rss_mb() -> float:
    """Current resident set size (Linux /proc; falls back to the peak elsewhere), in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return _rss_mb()


def bench_manifest(
    n_items: int = 1_000_000, n_sources: int = 10_000, seed: int = 0
) -> tuple[dict[str, float], str]:
    """Build the inputs, then time one `build_manifest` (weights, records, canonical JSON, sha256, parts),
    then what a first release adds (report, Markdown, Croissant, card).

    Returns the figures and the manifest's sha256 (the same inputs give the same digest on any machine).

    Memory is measured with `ru_maxrss` (peak RSS of the process, MiB): `peak_rss_mb` is the whole
    process's peak, `manifest_rss_delta_mb` is that peak minus the resident size just before the build
    (the build's own high-water mark on top of its inputs), not tracemalloc (which slows the build ~2x).
    """
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    state = build_state(n_items, n_sources, seed)
    ctx = context(seed)
    inputs_s, inputs_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    before_mb = _current_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    built: BuiltManifest = build_manifest(state, DATASET_ID, ctx, shard_items=DEFAULT_SHARD_ITEMS)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = _rss_mb()
    part_bytes = sum(len(p.data) for p in built.parts)
    # What a release adds on top (first release, no parent): the transparency report and the exports.
    t0 = time.perf_counter()
    report = build_report(state, built, None)
    render_markdown(report)
    croissant(built.doc, built.items, built.cid, built.sha256, parts=built.parts)
    dataset_card(built.doc, built.cid, built.sha256)
    extras_s = time.perf_counter() - t0
    figures = {
        "items": float(n_items),
        "sources": float(n_sources),
        "eligible_items": float(len(built.items)),
        "excluded_items": float(len(built.doc["exclusions"])),
        "parts": float(len(built.parts)),
        "manifest_bytes": float(len(built.data)),
        "part_bytes": float(part_bytes),
        "inputs_s": round(inputs_s, 3),
        "inputs_cpu_s": round(inputs_cpu, 3),
        "manifest_wall_s": round(wall, 3),
        "manifest_cpu_s": round(cpu, 3),
        "rss_before_manifest_mb": round(before_mb, 1),
        "manifest_rss_delta_mb": round(peak_mb - before_mb, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "report_and_exports_s": round(extras_s, 3),
        "peak_rss_with_report_mb": round(_rss_mb(), 1),
    }
    return figures, built.sha256


def _profile(n_items: int, n_sources: int, seed: int, top: int) -> str:
    """cProfile of one build_manifest: the `top` functions by own time, with their share of the total."""
    state = build_state(n_items, n_sources, seed)
    ctx = context(seed)
    prof = cProfile.Profile()
    prof.enable()
    build_manifest(state, DATASET_ID, ctx)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    rows: list[tuple[float, float, int, str]] = []
    for (path, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, f"{path}:{line}:{name}"))
    rows.sort(reverse=True)
    lines = [f"profile of build_manifest ({total:.1f} s under cProfile), by own time:"]
    for tottime, cumtime, calls, where in rows[:top]:
        lines.append(
            f"  {100 * tottime / total:5.1f}%  own {tottime:7.2f} s  cum {cumtime:7.2f} s  {calls:>9}  {where}"
        )
    stats.sort_stats("cumulative").print_stats(25)
    return "\n".join(lines) + "\n\nby cumulative time:\n" + out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and, last, one JSON object (with --json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N hottest functions")
    args = parser.parse_args(argv)
    if args.profile:
        print(_profile(args.items, args.sources, args.seed, args.profile))
        return 0
    figures, digest = bench_manifest(args.items, args.sources, args.seed)
    report: dict[str, Any] = {"benchmark": "manifest_scale", "python": platform.python_version()}
    for key, value in figures.items():
        report[key] = int(value) if float(value).is_integer() and not key.endswith(("_s", "_mb")) else value
    report["manifest_sha256"] = digest
    report["memory_measure"] = "ru_maxrss"
    report["target_s"], report["target_mb"] = 60, 2048
    report["within_targets"] = figures["manifest_wall_s"] <= 60 and figures["peak_rss_mb"] <= 2048
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
