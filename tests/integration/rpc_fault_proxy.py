"""A JSON-RPC proxy for tests: forwards to a real node and, on a seeded schedule, breaks the answers."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["FaultPlan", "FaultProxy", "start_proxy"]


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities (per HTTP request) of each fault, and the limits the proxy enforces like a provider.

    Transport faults: `error` (a JSON-RPC error answer), `http_error` (HTTP 502), `hang` (answer only after
    `hang_seconds`, past the client's timeout), `truncate` (JSON body cut short), `disconnect` (close without
    answering). eth_getLogs faults: `drop_logs` (some logs removed, sometimes the tail, sometimes at random),
    `lie_range` (a log moved outside the asked range). Limits: `max_range` blocks and `max_results` logs per
    eth_getLogs, refused with the messages real providers use. The first `healthy_requests` pass untouched.
    """

    seed: int = 0
    error: float = 0.0
    http_error: float = 0.0
    hang: float = 0.0
    truncate: float = 0.0
    disconnect: float = 0.0
    drop_logs: float = 0.0
    lie_range: float = 0.0
    max_range: int | None = None
    max_results: int | None = None
    drop_style: str = "mixed"  # "tail" (a silent result cap), "random" (logs anywhere), or "mixed"
    hang_seconds: float = 1.0
    healthy_requests: int = 0


@dataclass
class FaultProxy:
    """A running proxy: point the client at `url`; `injected` counts the faults it served by kind."""

    url: str
    plan: FaultPlan
    server: ThreadingHTTPServer
    injected: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is the point of a hang, not news


def _error(req: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req.get("id"), "error": {"code": code, "message": message}}


def start_proxy(upstream: str, plan: FaultPlan) -> FaultProxy:
    """Start the proxy on a free 127.0.0.1 port in a background thread."""
    rng = random.Random(plan.seed)
    lock = threading.Lock()
    client = httpx.Client(timeout=30)
    state = {"requests": 0}

    def roll(p: float) -> bool:
        return p > 0 and rng.random() < p

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms each.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = json.loads(raw)
            calls = request if isinstance(request, list) else [request]
            with lock:
                state["requests"] += 1
                healthy = state["requests"] <= plan.healthy_requests
                for call in calls:
                    proxy.methods[call.get("method", "?")] += 1
                fault = None
                if not healthy:
                    for kind in ("disconnect", "hang", "http_error", "truncate", "error"):
                        if roll(getattr(plan, kind)):
                            fault = kind
                            break
                seed = rng.getrandbits(32)
            if fault is not None:
                proxy.injected[fault] += 1
            if fault == "disconnect":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault == "hang":
                time.sleep(plan.hang_seconds)
            if fault == "http_error":
                self._send(502, b"bad gateway")
                return
            if fault == "error":
                answers: Any = [_error(c, -32603, "injected internal error") for c in calls]
            else:
                answers = [self._forward(c, healthy, random.Random(seed)) for c in calls]
            body = json.dumps(answers if isinstance(request, list) else answers[0]).encode()
            if fault == "truncate":
                cut = body[: max(1, len(body) // 2)]
                self._send(200, cut)
                return
            self._send(200, body)

        def _forward(self, call: dict[str, Any], healthy: bool, local: random.Random) -> dict[str, Any]:
            params = call.get("params") or []
            is_range = call.get("method") == "eth_getLogs" and params and "fromBlock" in params[0]
            if is_range and plan.max_range is not None:
                span = int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) + 1
                if span > plan.max_range:
                    proxy.injected["range_limit"] += 1
                    return _error(call, -32600, f"block range too large: {span} > {plan.max_range} blocks")
            answer: dict[str, Any] = client.post(upstream, json=call).json()
            result = answer.get("result")
            if not is_range or not isinstance(result, list):
                return answer
            if plan.max_results is not None and len(result) > plan.max_results:
                proxy.injected["result_limit"] += 1
                return _error(call, -32005, f"query returned more than {plan.max_results} results")
            if healthy or not result:
                return answer
            if local.random() < plan.drop_logs:
                proxy.injected["drop_logs"] += 1
                tail = plan.drop_style == "tail" or (plan.drop_style == "mixed" and local.random() < 0.5)
                if tail:
                    result = result[: local.randrange(len(result))]  # a silent cap: the tail is gone
                else:
                    gone = set(local.sample(range(len(result)), local.randint(1, len(result))))
                    result = [log for i, log in enumerate(result) if i not in gone]
            elif local.random() < plan.lie_range:
                proxy.injected["lie_range"] += 1
                result = [dict(result[0], blockNumber=hex(int(params[0]["toBlock"], 16) + 1)), *result[1:]]
            return {**answer, "result": result}

    server = _QuietServer(("127.0.0.1", 0), Handler)
    proxy = FaultProxy(f"http://127.0.0.1:{server.server_address[1]}", plan, server)
    threading.Thread(target=server.serve_forever, name="rpc-fault-proxy", daemon=True).start()
    return proxy
