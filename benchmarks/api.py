"""API benchmark: manifest and part throughput, p50/p99 latency on loopback, beside a bare Starlette route.

One uvicorn process serves the real app (create_app over a read model holding one release with one manifest
part) and, mounted beside it, a bare Starlette route returning the same manifest bytes: the ceiling. Every
target is measured in the same run and printed with its ratio of req/s to that ceiling (issue 14: >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx
import rfc8785

from curation.unixfs import compute_cid


def _manifest(items: int, schema: str = "curation-commons/manifest/v1") -> bytes:
    """A manifest-shaped (or part-shaped) canonical JSON document with `items` entries (real CIDs)."""
    rows = []
    for i in range(1, items + 1):
        data = f"item {i}\n".encode()
        rows.append(
            {
                "item_id": i,
                "cid": str(compute_cid(data).cid),
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "license": "CC-BY-4.0",
                "contributor": f"0x{i:040x}",
                "weight": str(10**18 // items),
            }
        )
    doc: Any = {"schema": schema, "items": rows}
    return bytes(rfc8785.dumps(doc))


def _serve(port: int, items: int, home: str, fast_path: bool, profile: str | None) -> None:
    """Child process: the API app plus bare reference routes, under one uvicorn (cProfile'd into `profile`)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from backend.api.app import create_app
    from backend.api.models import Dataset, DatasetParamsOut
    from backend.api.readmodel import InMemoryReadModel
    from backend.api.routes.releases import ImmutableFastPath
    from backend.ipfs import EmbeddedStore
    from backend.settings import Settings

    manifest = _manifest(items)
    model = InMemoryReadModel()
    params = DatasetParamsOut(
        voting_delay=1,
        voting_period=10,
        quorum_bps=400,
        approval_bps=5000,
        late_quorum_extension=0,
        proposal_threshold="0",
    )
    model.add_dataset(
        Dataset(
            id=1,
            name="bench",
            description_cid=None,
            use=1,
            use_names="train",
            params=params,
            release_count=0,
            latest_release=None,
        )
    )
    part = _manifest(items, schema="curation-commons/manifest-part/v1")
    release = model.add_release(
        1, manifest, state_block=1, scheme_id="commons-v1", item_count=items, parts=[part]
    )
    settings = Settings.model_validate(
        {"home": home, "api_chain_id": 31337, "api_rate_limit": 10**9, "api_rate_window": 1.0}
    )
    api = create_app(settings, model, EmbeddedStore(Path(home) / "blocks"))
    if fast_path and not any(m.cls is ImmutableFastPath for m in api.user_middleware):
        api.user_middleware.append(Middleware(ImmutableFastPath))  # innermost: inside the rate limit
    etag = f'"{release.manifest_sha256}"'
    head = manifest[: 64 * 1024]

    async def reference(request: Request) -> Response:
        return Response(manifest, media_type="application/json", headers={"ETag": etag})

    async def reference_64k(request: Request) -> Response:
        return Response(head, media_type="application/json", headers={"ETag": etag})

    routes = [Route("/ref/manifest", reference), Route("/ref/64k", reference_64k), Mount("/", app=api)]
    app = Starlette(routes=routes)
    if profile is None:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    import cProfile
    import signal

    # uvicorn re-raises the SIGTERM that stopped it once it has shut down: let that be a no-op, so the profile
    # is written before the process ends.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    with cProfile.Profile() as prof:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    prof.dump_stats(profile)


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, int]:
    """One GET on a keep-alive connection; returns (status, body bytes). Minimal HTTP/1.1 on purpose:
    a full client (httpx) costs more CPU per request than the server does and would measure itself."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status, length


async def _load(
    port: int, path: str, requests: int, concurrency: int, max_seconds: float, headers: dict[str, str]
) -> dict[str, Any]:
    """`requests` GETs over `concurrency` keep-alive connections, stopping early after `max_seconds`."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    received = 0
    remaining = requests
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    for reader, writer in conns:  # warm-up: every connection once, code paths hot
        await _get(reader, writer, request)
    start = time.perf_counter()
    deadline = start + max_seconds

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal remaining, received
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            t0 = time.perf_counter()
            status, size = await _get(reader, writer, request)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            received += size

    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - start
    for _, writer in conns:
        writer.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 3),
        "p99_ms": round(q[98] * 1000, 3),
        "mb_per_s": round(received / elapsed / 1e6, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: BaseProcess, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.is_alive():
            raise SystemExit("the benchmark server exited during start-up")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("the benchmark server did not start in time")


def _targets(etag: str) -> dict[str, tuple[str, dict[str, str]]]:
    """What each target requests: path and headers (`etag`: the manifest's, as the server gave it)."""
    manifest = "/datasets/1/releases/1/manifest"
    return {
        "reference_starlette": ("/ref/manifest", {}),
        "api_manifest": (manifest, {}),
        "api_manifest_304": (manifest, {"If-None-Match": etag}),
        "reference_64k": ("/ref/64k", {}),
        "api_range_64k": (manifest, {"Range": "bytes=0-65535"}),
        "api_part": ("/datasets/1/releases/1/parts/0", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    parser.add_argument("--items", type=int, default=1000, help="items in the manifest (default 1000)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per target (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time bound per target (default 20)")
    parser.add_argument(
        "--fast-path",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve through ImmutableFastPath if create_app does not install it already (default on)",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the server process into FILE (pstats)")
    args = parser.parse_args()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as home:
        proc = ctx.Process(
            target=_serve, args=(port, args.items, home, args.fast_path, args.profile), daemon=True
        )
        proc.start()
        try:
            _wait_ready(f"{base}/health", proc)
            release = httpx.get(f"{base}/datasets/1/releases/1").json()
            etag = f'"{release["manifest_sha256"]}"'
            results: dict[str, Any] = {}
            for name, (path, headers) in _targets(etag).items():
                results[name] = asyncio.run(
                    _load(port, path, args.requests, args.concurrency, args.max_seconds, headers)
                )
        finally:
            proc.terminate()
            proc.join(timeout=60)

    manifest_bytes = len(_manifest(args.items))
    print(
        f"GET manifest, {manifest_bytes} bytes ({args.items} items), concurrency {args.concurrency}, loopback, "
        f"fast path {'on' if args.fast_path else 'off'}"
    )
    ref_rps = results["reference_starlette"]["rps"]
    print(
        f"{'target':<20} {'requests':>8} {'req/s':>9} {'x bare':>7} {'p50 ms':>9} {'p99 ms':>9} {'MB/s':>7}  "
        "statuses"
    )
    for name, r in results.items():
        r["vs_reference"] = round(r["rps"] / ref_rps, 3)
        print(
            f"{name:<20} {r['requests']:>8} {r['rps']:>9} {r['vs_reference']:>7} {r['p50_ms']:>9} "
            f"{r['p99_ms']:>9} {r['mb_per_s']:>7}  {r['statuses']}"
        )
    ratio = results["api_manifest"]["vs_reference"]
    print(f"api / reference throughput: {ratio} (issue 14 target: >= 0.5)")
    if args.profile:
        print(f"server profile: {args.profile} (python -m pstats {args.profile})")
    if args.json:
        summary = {
            "benchmark": "api",
            "manifest_bytes": manifest_bytes,
            "items": args.items,
            "concurrency": args.concurrency,
            "fast_path": args.fast_path,
            "api_vs_reference_rps": ratio,
            **results,
        }
        print(json.dumps(summary, sort_keys=True, separators=(",", ":")))


if __name__ == "__main__":
    main()
