"""Connect to the embedded chain (py-evm through EthereumTesterProvider) or to any EVM JSON-RPC URL.

Every wait on a node is bounded (backend.chain.rpc.RpcLimits, from the settings' `rpc_*` fields): connecting,
each read, a whole answer and web3's own retries. A failure names the JSON-RPC method and the node's address
without its secrets (user, password, query, key-like path segments), and says what to check.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any
from urllib.parse import urlparse

import requests
import urllib3
from web3 import EthereumTesterProvider, Web3
from web3.providers.rpc import HTTPProvider
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from backend.chain.devchain import embedded_provider
from backend.chain.rpc import RpcLimits, shown_url
from backend.errors import ChainError, ConfigError
from curation.errors import CurationError
from curation.safejson import JsonRejected, loads

__all__ = ["LimitedHTTPProvider", "RpcLimits", "connect", "is_embedded", "mine"]

_METHOD = re.compile(rb'"method"\s*:\s*"([A-Za-z0-9_]{1,64})"')
_WAITS = "CURATION_RPC_CONNECT_TIMEOUT and CURATION_RPC_TIMEOUT set how long to wait"


def _method_of(data: Any) -> str:
    """The JSON-RPC method a request body calls (for messages), "a batch of N calls" for a batch."""
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes | bytearray):
        return "a request"
    found = _METHOD.findall(data[:4096] if data[:1] != b"[" else data)
    if not found:
        return "a request"
    return found[0].decode() if len(found) == 1 else f"a batch of {len(found)} calls"


class _LimitedSession(requests.Session):
    """A requests session that bounds every wait on the node and names what it waited for.

    Connect and read timeouts on every request, the whole answer within `retry_time` seconds and
    `max_answer_bytes`, and the body checked by curation.safejson before web3 parses it (a hostile node's
    deeply nested JSON would otherwise overflow the C stack). Failures are raised again as the same
    requests exception type, so web3 retries what it retried before, with a message that names the method
    and the node without the URL's secrets.
    """

    def __init__(self, limits: RpcLimits, shown: str) -> None:
        super().__init__()
        self.limits = limits
        self.shown = shown

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        limits = self.limits
        kwargs["timeout"] = (limits.connect_timeout, limits.timeout)
        kwargs["stream"] = True
        call = _method_of(kwargs.get("data"))
        where = f"{call} to {self.shown}"
        deadline = time.monotonic() + limits.retry_time
        try:
            response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
            body = self._read(response, deadline, where)
        except requests.ConnectTimeout:
            raise requests.ConnectTimeout(
                f"{where}: no connection within {limits.connect_timeout} s (connect timeout)"
            ) from None
        except requests.ReadTimeout:
            raise requests.ReadTimeout(
                f"{where}: no answer within {limits.timeout} s (read timeout)"
            ) from None
        except requests.ConnectionError as exc:
            raise requests.ConnectionError(
                f"{where}: connection refused or dropped ({type(exc).__name__})"
            ) from None
        response._content = body  # the body is read: web3 takes it from here
        response._content_consumed = True
        if response.status_code == 200:
            try:
                loads(body, max_bytes=limits.max_answer_bytes, what=f"the answer to {where}")
            except JsonRejected as exc:
                raise ChainError(f"{exc}; is that URL a JSON-RPC node?") from None
        return response

    def _read(self, response: requests.Response, deadline: float, where: str) -> bytes:
        """The body, or ChainError (not retried) when it is too big or still arriving at the deadline."""
        limit = self.limits.max_answer_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            try:  # read1: whatever has arrived, so that a trickle cannot hold one read past the deadline
                chunk = response.raw.read1(1 << 16, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError:
                raise requests.ReadTimeout() from None  # worded by request()
            except urllib3.exceptions.HTTPError as exc:
                raise requests.ConnectionError(
                    f"{where}: the answer broke off ({type(exc).__name__})"
                ) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            problem = None
            if size > limit:
                problem = f"the answer is over {limit} bytes (CURATION_RPC_MAX_ANSWER_BYTES)"
            elif time.monotonic() > deadline:
                problem = (
                    f"the answer was still arriving after {self.limits.retry_time} s "
                    f"({size} bytes; CURATION_RPC_RETRY_TIME)"
                )
            if problem is not None:
                response.close()
                raise ChainError(f"{where}: {problem}; is that URL a JSON-RPC node, and a sound one?")
        return b"".join(chunks)


class LimitedHTTPProvider(HTTPProvider):
    """web3's HTTP provider with every wait bounded by `rpc_limits` (read by RpcLogFetcher.from_web3 too)."""

    def __init__(self, url: str, limits: RpcLimits) -> None:
        self.rpc_limits = limits
        self.shown_uri = shown_url(url)
        # web3 retries timeouts of read-only methods; keep all its attempts within retry_time.
        attempts = int(limits.retry_time // (limits.connect_timeout + limits.timeout))
        retry = ExceptionRetryConfiguration(
            errors=(ConnectionError, requests.HTTPError, requests.Timeout),
            retries=max(1, min(5, attempts)),
            backoff_factor=0.125,
        )
        super().__init__(
            url,
            request_kwargs={"timeout": (limits.connect_timeout, limits.timeout)},
            session=_LimitedSession(limits, self.shown_uri),
            exception_retry_configuration=retry,
        )

    def __str__(self) -> str:  # web3 puts this in some of its messages: no secrets there either
        return f"RPC connection {self.shown_uri}"


def _probe_failure(exc: Exception, limits: RpcLimits) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {limits.connect_timeout} s (connect timeout)"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer to eth_chainId within {limits.timeout} s (read timeout)"
    if isinstance(exc, requests.ConnectionError):
        return "eth_chainId failed: connection refused or dropped"
    return f"eth_chainId failed ({type(exc).__name__}: {exc})"


def connect(rpc: str | None = None, timeout: float | None = None, *, limits: RpcLimits | None = None) -> Web3:
    """`rpc=None` gives a fresh in-process chain; a URL must answer `eth_chainId` or ChainError is raised.

    `limits` bound every wait on the node (default: RpcLimits(); `RpcLimits.from_settings` for the
    settings); `timeout`, when given, replaces its read timeout. The eth_chainId probe is tried once, so a
    node that accepts connections and never answers is reported after one read timeout.
    """
    if rpc is None or rpc == "embedded":
        return Web3(embedded_provider())
    limits = limits or RpcLimits()
    if timeout is not None:
        limits = dataclasses.replace(limits, timeout=timeout)
    parsed = urlparse(rpc)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"RPC URL {shown_url(rpc)!r} is not an http(s) URL (for example http://127.0.0.1:8545)"
        )
    provider = LimitedHTTPProvider(rpc, limits)
    w3 = Web3(provider)
    retry = provider.exception_retry_configuration
    provider.exception_retry_configuration = None  # type: ignore[assignment]  # web3 accepts None: no retries
    try:
        w3.eth.chain_id  # noqa: B018 - the probe itself is the point
    except CurationError:
        raise
    except Exception as exc:  # any transport failure means the same thing to the user
        raise ChainError(
            f"RPC URL {provider.shown_uri} does not answer: {_probe_failure(exc, limits)}. Check that a "
            f"JSON-RPC node runs at that address and is reachable from here; {_WAITS}"
        ) from None
    finally:
        provider.exception_retry_configuration = retry
    return w3


def is_embedded(w3: Web3) -> bool:
    return isinstance(w3.provider, EthereumTesterProvider)


def mine(w3: Web3, blocks: int) -> None:
    """Advance a development chain by `blocks` empty blocks (embedded chain or a node with `evm_mine`)."""
    if blocks <= 0:
        return
    if is_embedded(w3):
        w3.testing.mine(blocks)  # type: ignore[attr-defined]
        return
    for _ in range(blocks):
        try:
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        except CurationError:
            raise
        except Exception as exc:
            raise ChainError(
                f"this node cannot mine on demand (evm_mine failed: {exc}); wait for {blocks} blocks instead"
            ) from None
