"""API benchmark: GET manifest throughput and p50/p99 latency on loopback, beside a bare Starlette route."""

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


def _manifest(items: int) -> bytes:
    """A manifest-shaped canonical JSON document with `items` entries (real CIDs of small payloads)."""
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
    doc: Any = {"schema": "curation-commons/manifest/v1", "items": rows}
    return bytes(rfc8785.dumps(doc))


def _serve(port: int, items: int, home: str) -> None:
    """Child process: the API app plus a bare reference route, under one uvicorn."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from backend.api.app import create_app
    from backend.api.models import Dataset, DatasetParamsOut
    from backend.api.readmodel import InMemoryReadModel
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
    release = model.add_release(1, manifest, state_block=1, scheme_id="commons-v1", item_count=items)
    settings = Settings.model_validate(
        {"home": home, "api_chain_id": 31337, "api_rate_limit": 10**9, "api_rate_window": 1.0}
    )
    api = create_app(settings, model, EmbeddedStore(Path(home) / "blocks"))
    etag = f'"{release.manifest_cid}"'

    async def reference(request: Request) -> Response:
        return Response(manifest, media_type="application/json", headers={"ETag": etag})

    app = Starlette(routes=[Route("/ref/manifest", reference), Mount("/", app=api)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    parser.add_argument("--items", type=int, default=1000, help="items in the manifest (default 1000)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per target (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time bound per target (default 20)")
    args = parser.parse_args()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as home:
        proc = ctx.Process(target=_serve, args=(port, args.items, home), daemon=True)
        proc.start()
        try:
            _wait_ready(f"{base}/health", proc)
            release = httpx.get(f"{base}/datasets/1/releases/1").json()
            etag = f'"{release["manifest_cid"]}"'
            targets: dict[str, tuple[str, dict[str, str]]] = {
                "api_manifest": ("/datasets/1/releases/1/manifest", {}),
                "api_manifest_304": ("/datasets/1/releases/1/manifest", {"If-None-Match": etag}),
                "reference_starlette": ("/ref/manifest", {}),
            }
            results: dict[str, Any] = {}
            for name, (path, headers) in targets.items():
                results[name] = asyncio.run(
                    _load(port, path, args.requests, args.concurrency, args.max_seconds, headers)
                )
        finally:
            proc.terminate()
            proc.join(timeout=20)

    manifest_bytes = len(_manifest(args.items))
    print(
        f"GET manifest, {manifest_bytes} bytes ({args.items} items), concurrency {args.concurrency}, loopback"
    )
    print(f"{'target':<22} {'requests':>8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'MB/s':>7}  statuses")
    for name, r in results.items():
        print(
            f"{name:<22} {r['requests']:>8} {r['rps']:>9} {r['p50_ms']:>9} {r['p99_ms']:>9} {r['mb_per_s']:>7}"
            f"  {r['statuses']}"
        )
    api, ref = results["api_manifest"], results["reference_starlette"]
    ratio = round(api["rps"] / ref["rps"], 3)
    print(f"api / reference throughput: {ratio}")
    if args.json:
        summary = {
            "benchmark": "api",
            "manifest_bytes": manifest_bytes,
            "items": args.items,
            "concurrency": args.concurrency,
            "api_vs_reference_rps": ratio,
            **results,
        }
        print(json.dumps(summary, sort_keys=True, separators=(",", ":")))


if __name__ == "__main__":
    main()
