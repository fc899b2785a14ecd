"""A tampering HTTP proxy for tests: forwards to an IPFS RPC API and flips one byte of `cat`/`block/get` bodies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

__all__ = ["ByteFlipProxy", "byteflip_proxy"]

_TAMPERED = ("/api/v0/cat", "/api/v0/block/get")


class ByteFlipProxy:
    """Listens on 127.0.0.1 (a free port); `url` is its base URL. Only requests whose `arg` is in `targets`
    are tampered with (every cat/block/get when `targets` is None); `flipped` counts tampered answers."""

    def __init__(self, upstream: str, targets: set[str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.targets = targets
        self.flipped = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                with httpx.Client(timeout=60) as client:
                    answer = client.post(proxy.upstream + self.path, content=body, headers=headers)
                data = answer.content
                split = urlsplit(self.path)
                arg = (parse_qs(split.query).get("arg") or [""])[0]
                if (
                    answer.status_code == 200
                    and split.path in _TAMPERED
                    and data
                    and (proxy.targets is None or arg in proxy.targets)
                ):
                    middle = len(data) // 2
                    data = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
                    with proxy._lock:
                        proxy.flipped += 1
                self.send_response(answer.status_code)
                ctype = answer.headers.get("content-type")
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ByteFlipProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def byteflip_proxy(upstream: str, targets: set[str] | None = None) -> Iterator[ByteFlipProxy]:
    proxy = ByteFlipProxy(upstream, targets).start()
    try:
        yield proxy
    finally:
        proxy.stop()
