"""Replay JSON-RPC answers recorded from a real node (resources/<case>/), over real HTTP, for the chain tests.

A case directory holds `case.json` (what was recorded, from which node, the addresses, the range, the fetch
options, and the logs a plain eth_getLogs gave) and one `<method>.json` per JSON-RPC method: a list of
`{"params": [...], "answers": [...], "note": "..."}`. Each answer is what the node said to that call (a
`result` or an `error`), in the order it said it; the last one is repeated when asked again. A `note` says
where an answer is not the node's own (an injected refusal, a tampered field): record_answers.py wrote it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from backend.chain.logs import LogBatch, RawLog, RpcLogFetcher

__all__ = [
    "RESOURCES",
    "Case",
    "ReplayNode",
    "call_key",
    "fetch_all",
    "log_from_json",
    "log_to_json",
    "replaying",
]

RESOURCES = Path(__file__).resolve().parent / "resources"


def call_key(method: str, params: Any) -> str:
    """The key of one JSON-RPC call: method and params, canonical JSON."""
    return json.dumps([method, params], sort_keys=True, separators=(",", ":"))


def log_to_json(log: RawLog) -> dict[str, Any]:
    return asdict(log)


def log_from_json(data: dict[str, Any]) -> RawLog:
    return RawLog(**{**data, "topics": tuple(data["topics"])})


def fetch_all(fetcher: RpcLogFetcher, from_block: int, to_block: int) -> list[LogBatch]:
    """Every batch the fetcher gives for from_block..to_block, as the indexer asks (range by range)."""
    batches = []
    start = from_block
    while start <= to_block:
        batch = fetcher.fetch(start, to_block)
        batches.append(batch)
        start = batch.to_block + 1
    return batches


class Case:
    """One recorded case: its `case.json` and its answers by call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = RESOURCES / name
        self.meta: dict[str, Any] = json.loads((self.dir / "case.json").read_text())
        self.answers: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(self.dir.glob("*.json")):
            if path.name == "case.json":
                continue
            for entry in json.loads(path.read_text()):
                self.answers[call_key(path.stem, entry["params"])] = entry["answers"]

    @property
    def addresses(self) -> list[str]:
        return list(self.meta["addresses"])

    @property
    def expected(self) -> list[RawLog]:
        """The logs a plain eth_getLogs over the case's range gave (after a reorg: the surviving chain's)."""
        return [log_from_json(d) for d in self.meta["expected_logs"]]

    def fetcher(self, url: str, **options: Any) -> RpcLogFetcher:
        """The fetcher the case was recorded with (`case.json` "fetch"), on `url`; `options` override."""
        return RpcLogFetcher(url, self.addresses, **{**self.meta.get("fetch", {}), **options})


class ReplayNode:
    """A JSON-RPC server on 127.0.0.1 answering from a recorded case; batches are answered call by call.

    `delay` holds seconds to wait before answering a method (a node that goes silent). A call nobody
    recorded gets a JSON-RPC error naming it, so a test that strays from the recording says where.
    """

    def __init__(self, case: Case, delay: dict[str, float] | None = None) -> None:
        self.case = case
        self.delay = dict(delay or {})
        self.asked: list[tuple[str, Any]] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = json.loads(body)
                calls = request if isinstance(request, list) else [request]
                wait = max((node.delay.get(c["method"], 0.0) for c in calls), default=0.0)
                if wait:
                    time.sleep(wait)
                answers = [node.answer(c) for c in calls]
                data = json.dumps(answers if isinstance(request, list) else answers[0]).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (too large, timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        method, params = call["method"], call.get("params", [])
        key = call_key(method, params)
        with self._lock:
            self.asked.append((method, params))
            recorded = self.case.answers.get(key)
            if recorded is None:
                found: dict[str, Any] = {"error": {"code": -32000, "message": f"not recorded: {key[:300]}"}}
            else:
                served = self._served.get(key, 0)
                self._served[key] = served + 1
                found = recorded[min(served, len(recorded) - 1)]
        return {"jsonrpc": "2.0", "id": call["id"], **found}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def replaying(name: str, delay: dict[str, float] | None = None) -> Iterator[ReplayNode]:
    """A ReplayNode for the recorded case `name`, closed afterwards."""
    node = ReplayNode(Case(name), delay)
    try:
        yield node
    finally:
        node.close()
