"""JSON-RPC to one node: transports, batched calls, retries, timeouts and the one range-halving policy.

The pieces, bottom up: a `Transport` sends one JSON-RPC payload and hands back the parsed answers
(`HttpTransport` over HTTP(S), `ProviderTransport` through an in-process web3 provider); `RpcClient` sends
batches over it, retried with backoff within the caller's `RpcLimits`; `RangeHalving` reads a block range
through a caller's function, halving the range while the node refuses it and growing it back after successes.
`backend.chain.logs` builds the log fetcher on these, and `ContractClient.event_logs` uses that fetcher.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import orjson

from backend.errors import ChainError, ConfigError, Retryable
from curation.safejson import DEFAULT_MAX_DEPTH, JsonRejected, loads

if TYPE_CHECKING:  # web3 is needed only to read an existing connection's provider
    from web3 import Web3

    from backend.settings import Settings

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "AnswerRejected",
    "AnswerTooLarge",
    "Endpoint",
    "FetchStats",
    "HttpTransport",
    "InconsistentAnswerError",
    "MethodUnsupported",
    "ProviderTransport",
    "RangeHalving",
    "RangeRefused",
    "RpcClient",
    "RpcFaultError",
    "RpcLimits",
    "Transport",
    "TransportFault",
    "hex_text",
    "parse_answer",
    "quantity",
    "shown_url",
    "web3_endpoint",
]

T = TypeVar("T")

#: How providers say "ask for less": block-range caps and result-size caps (Alchemy, Infura, QuickNode,
#: geth/erigon/reth, Hardhat, Anvil phrase it differently; -32005 is the EIP-1474 "limit exceeded" code).
_RANGE_ERROR = re.compile(
    r"block range|range (is )?too (large|wide|big)|range limit|blocks? (range )?(limit|exceed)"
    r"|more than \d+ (results|logs|blocks)|query returned more than|too many (results|logs|blocks)"
    r"|limit exceeded|response (size|is too big)|result (set )?(is )?too large|exceeds? (the )?(max|limit)",
    re.IGNORECASE,
)
_UNSUPPORTED_CODES = (-32601, -32004)
#: The methods whose too-large answers mean "ask for a smaller range" rather than a fault.
_RANGED = "eth_getLogs"

#: The largest JSON-RPC answer read from a node (settings.rpc_max_answer_bytes). Generous: an eth_getLogs
#: answer of about 200,000 logs, or 100 headers of full mainnet blocks many times over. A bigger eth_getLogs
#: answer makes the range halve; any other is an error. The body is parsed by `parse_answer` (orjson, then
#: curation.safejson for what orjson cannot take as it is), so a hostile node's JSON (nested a million levels
#: deep, say) is refused instead of crashing the process.
DEFAULT_MAX_ANSWER_BYTES = 128 * 2**20
_READ_CHUNK = 1 << 20
#: Socket reads of a chunked answer (what arrives; nodes write a few KiB at a time) and the longest chunk
#: size line taken (http.client allows 64 KiB per header line; a size line is a hex number).
_RAW_READ = 1 << 16
_MAX_CHUNK_LINE = 1 << 12


def _chunk_size(line: bytearray) -> int:
    """The size in a chunk's size line (hex, optional `;extensions`); TransportFault for anything else."""
    text = bytes(line).split(b";", 1)[0].strip()
    if not text or len(text) > 16 or text.strip(b"0123456789abcdefABCDEF"):
        raise TransportFault(f"malformed chunked answer (chunk size line {bytes(line[:40])!r})")
    return int(text, 16)


#: A path segment this long, with a digit in it, is taken for an API key (Infura, Alchemy, QuickNode...).
_KEY_LIKE = re.compile(r"(?=[^/]*\d)[A-Za-z0-9_\-]{20,}|[A-Za-z0-9_\-]{32,}")


def shown_url(url: str) -> str:
    """`url` fit for messages and logs: user, password and query hidden, and path segments that look like keys.

    `https://user:secret@eth.example/v2/0123456789abcdefghij?key=x` -> `https://***@eth.example/v2/***?***`.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "<an unparseable URL>"
    if not parts.scheme or not host:
        return url if re.fullmatch(r"[\w.-]+", url) else "<a URL that is not shown>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if "@" in parts.netloc:
        netloc = "***@" + netloc
    path = "/".join("***" if _KEY_LIKE.fullmatch(seg) else seg for seg in parts.path.split("/"))
    return f"{parts.scheme}://{netloc}{path}{'?***' if parts.query else ''}"


@dataclass(frozen=True)
class RpcLimits:
    """How long and how much the project waits for a JSON-RPC node (the settings' `rpc_*` fields).

    `connect_timeout`: seconds to open a connection (TCP and TLS). `timeout`: seconds to wait for each part
    of an answer (the node is silent that long: give up on this attempt). `retry_time`: the most seconds one
    call may take, every retry, pause and slowly trickling answer included. `max_answer_bytes`: the largest
    answer read.
    """

    connect_timeout: float = 5.0
    timeout: float = 10.0
    retry_time: float = 60.0
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "timeout", "retry_time", "max_answer_bytes"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"the RPC limit {name} must be > 0, got {value!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RpcLimits:
        """The limits set by CURATION_RPC_CONNECT_TIMEOUT, _RPC_TIMEOUT, _RPC_RETRY_TIME, _RPC_MAX_ANSWER_BYTES."""
        return cls(
            connect_timeout=settings.rpc_connect_timeout,
            timeout=settings.rpc_timeout,
            retry_time=settings.rpc_retry_time,
            max_answer_bytes=settings.rpc_max_answer_bytes,
        )


# --- errors -------------------------------------------------------------------------------------------------


class RpcFaultError(ChainError):
    """The node kept failing (errors, timeouts, dropped connections, broken answers) until retries ran out."""


class InconsistentAnswerError(ChainError):
    """The node's answers kept contradicting each other (missing logs, logs outside the range, forks)."""


# What one attempt ran into. These never reach a user: RpcClient and RangeHalving retry them, ask for
# less, or turn them into RpcFaultError / InconsistentAnswerError with the whole story.


class TransportFault(ChainError, Retryable):
    """A transient failure worth retrying (transport, HTTP status, malformed or error answer)."""


class AnswerTooLarge(ChainError):
    """The answer is bigger than max_answer_bytes (not retried as it is: it would be as big again)."""


class RangeRefused(ChainError):
    """The node asks for a smaller eth_getLogs range (or returned a result it says is too large)."""


class MethodUnsupported(ChainError):
    """The node does not implement a method."""


class AnswerRejected(ChainError):
    """An answer that fails the caller's checks (truncated, outside the range, inconsistent with headers)."""


@dataclass
class FetchStats:
    """What a client went through: requests, retried faults, range halvings, rejected answers."""

    requests: int = 0
    faults: int = 0
    halvings: int = 0
    rejected_answers: int = 0
    receipts_checked: int = 0
    unlinked: int = 0  # blocks whose parentHash does not name the block before, hashes unchanged on re-read
    last_fault: str = ""
    kinds: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, detail: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.last_fault = detail


# --- transports ---------------------------------------------------------------------------------------------


class Transport(Protocol):
    """Sends one JSON-RPC payload (a list of calls) and returns the answers, parsed, in any order.

    Raises TransportFault for what is worth retrying and AnswerTooLarge for an answer over the limit.
    `block_hash_filters` says whether the node takes eth_getLogs filters by block hash (EIP-234).
    """

    block_hash_filters: bool

    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]: ...

    def close(self) -> None: ...


def _plain(doc: Any, max_depth: int) -> bool:
    """True when `doc` nests at most `max_depth` arrays/objects deep and holds no float (orjson's output).

    Level by level, without recursion. A float is a fraction or exponent, or an integer past 64 bits that
    orjson rounded: either way curation.safejson must see the text (it keeps big integers exact and bounds
    number literals).
    """
    level = [doc] if type(doc) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return False
        below: list[Any] = []
        for node in level:
            for value in node.values() if type(node) is dict else node:
                kind = type(value)
                if kind is str:  # nearly every value of an answer: decided with one test
                    continue
                if kind is dict or kind is list:
                    below.append(value)
                elif kind is float:
                    return False
        level = below
    return True


_CONTAINERS = frozenset((dict, list))


def parse_answer(data: bytes, limit: int) -> Any:
    """A JSON-RPC answer body parsed within limits; TransportFault says why it is refused.

    What it accepts and returns is what curation.safejson.loads accepts and returns, byte for byte of input.
    orjson parses first (its parser does not recurse on the C stack and stops at 1,024 levels by itself);
    an answer it refuses, or one nested deeper than safejson allows or holding a number orjson cannot keep
    exact (a float, an integer past 64 bits), is parsed again by safejson, which then refuses it or returns
    the same objects it always did, with the same message either way. JSON-RPC answers are hex strings in a
    few levels of objects, so a node's honest answers take the fast path.
    """
    if len(data) <= limit:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            if _plain(doc, DEFAULT_MAX_DEPTH):
                return doc
    try:
        return loads(data, max_bytes=limit, what="answer")
    except JsonRejected as exc:
        why = str(exc)
        if "is not JSON" in why or "is empty" in why or "do not balance" in why:
            raise TransportFault(f"answer is not complete JSON ({len(data)} bytes, truncated?)") from None
        raise TransportFault(why) from None


class HttpTransport:
    """JSON-RPC over HTTP(S) with the standard library: one keep-alive connection, a JSON array per batch.

    http.client rather than httpx here: nodes stream big eth_getLogs answers in many small chunks, and
    reading those costs httpx (h11) twice the time of the whole node round trip. Every wait is bounded:
    connecting by `connect_timeout`, each read by `timeout`, a whole answer by the caller's deadline.
    """

    block_hash_filters = True

    def __init__(self, url: str, limits: RpcLimits) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"RPC URL {shown_url(url)} is not an http(s) URL")
        self.url = url
        self.limits = limits
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.limits.connect_timeout)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise TransportFault(
                f"no connection within {self.limits.connect_timeout} s (connect timeout)"
            ) from None
        except OSError as exc:
            conn.close()
            raise TransportFault(f"cannot connect ({type(exc).__name__}: {exc})") from None
        if conn.sock is not None:
            conn.sock.settimeout(self.limits.timeout)
        self._conn = conn
        return conn

    def _read(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        limit = self.limits.max_answer_bytes
        declared = response.getheader("Content-Length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise AnswerTooLarge(int(declared))
        if response.chunked:
            return self._read_chunked(response, deadline)
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_READ_CHUNK):  # what has arrived: a trickle cannot outlast the deadline
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(size)
            self._check_deadline(deadline, size)
        return b"".join(chunks)

    @staticmethod
    def _check_deadline(deadline: float, size: int) -> None:
        if time.monotonic() > deadline:
            raise TransportFault(
                f"the answer was still arriving when the time for this call ran out ({size} bytes)"
            )

    def _read_chunked(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        """The body of a chunked answer, decoded here from what arrives, a socket read at a time.

        Nodes send big answers in chunks of a few hundred bytes (Hardhat: one per log), and http.client
        spends a dozen Python calls on each; this decodes every chunk that has arrived in one pass. The
        bounds are those of the plain read: the answer's size, each read's timeout, the call's deadline.
        """
        limit = self.limits.max_answer_bytes
        fp = response.fp
        raw = bytearray()  # framed bytes not decoded yet
        body = bytearray()
        while True:
            data = fp.read1(_RAW_READ)
            if not data:
                raise TransportFault(f"the answer ended in the middle of a chunk ({len(body)} bytes read)")
            raw += data
            pos = 0
            while (eol := raw.find(b"\r\n", pos)) >= 0:
                size = _chunk_size(raw[pos:eol])
                if size == 0:  # the last chunk: then trailer lines, if any, and an empty line
                    end = raw.find(b"\r\n\r\n", eol)
                    if end < 0:
                        break
                    if len(body) > limit:
                        raise AnswerTooLarge(len(body))
                    if end + 4 != len(raw):  # bytes after the answer: this connection cannot be reused
                        response.will_close = True
                    response.close()  # the answer is read: the connection takes the next request
                    return bytes(body)
                start = eol + 2
                if len(raw) < start + size + 2:
                    break
                if raw[start + size : start + size + 2] != b"\r\n":
                    raise TransportFault(
                        "malformed chunked answer (a chunk does not end where its size says)"
                    )
                body += raw[start : start + size]
                pos = start + size + 2
            else:
                if len(raw) - pos > _MAX_CHUNK_LINE:
                    raise TransportFault("malformed chunked answer (a chunk size line is too long)")
            del raw[:pos]
            if len(body) > limit or len(body) + len(raw) > limit + _MAX_CHUNK_LINE:
                raise AnswerTooLarge(len(body) + len(raw))
            self._check_deadline(deadline, len(body) + len(raw))

    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]:
        body = json.dumps(payload if len(payload) > 1 else payload[0], separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        reused = self._conn is not None
        while True:
            try:
                conn = self._conn or self._connect()
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                data = self._read(response, deadline)
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused:  # the node closed an idle keep-alive connection: reconnect once, silently
                    reused = False
                    continue
                raise TransportFault(f"connection dropped ({type(exc).__name__})") from None
            except TimeoutError:
                self.close()
                raise TransportFault(f"no answer within {self.limits.timeout} s (read timeout)") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise TransportFault(f"transport failed ({type(exc).__name__}: {exc})") from None
            except (TransportFault, AnswerTooLarge):
                self.close()
                raise
        if response.will_close:
            self.close()
        if response.status != 200:
            raise TransportFault(f"HTTP {response.status}: {data[:200]!r}")
        answer = parse_answer(data, self.limits.max_answer_bytes)
        return answer if isinstance(answer, list) else [answer]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ProviderTransport:
    """JSON-RPC through web3's request manager (the embedded py-evm chain, which needs web3's formatters).

    Results come back formatted (ints, bytes); `hex_text` and `quantity` accept both forms. The embedded
    chain takes eth_getLogs filters by block number only.
    """

    block_hash_filters = False

    def __init__(self, request: Callable[[str, Any], Any]) -> None:
        self._request = request

    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]:
        out = []
        for call in payload:
            try:
                answer: dict[str, Any] = {"result": self._request(call["method"], call["params"])}
            except Exception as exc:  # the in-process chain raises its own types
                answer = {"error": {"code": -32603, "message": f"{type(exc).__name__}: {exc}"}}
            answer["id"] = call["id"]
            out.append(answer)
        return out

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Endpoint:
    """Where an existing web3 connection sends its requests and how long it waits; `transport` None: HTTP."""

    url: str
    limits: RpcLimits
    transport: Transport | None = None


def web3_endpoint(w3: Web3) -> Endpoint:
    """The node behind `w3` (HTTP URL or the embedded chain), waited on as long as the connection waits.

    That is the `RpcLimits` backend.chain.connection.connect gave the provider, else the provider's request
    timeout (a number or a (connect, read) pair) with the default limits for the rest.
    """
    from web3.types import RPCEndpoint

    provider: Any = w3.provider
    url = getattr(provider, "endpoint_uri", None)
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        limits = getattr(provider, "rpc_limits", None)
        if isinstance(limits, RpcLimits):
            return Endpoint(url, limits)
        timeout = provider.get_request_kwargs().get("timeout", 10.0)
        if isinstance(timeout, tuple | list):
            return Endpoint(url, RpcLimits(connect_timeout=float(timeout[0]), timeout=float(timeout[1])))
        return Endpoint(url, RpcLimits(timeout=float(timeout)))
    transport = ProviderTransport(lambda m, p: w3.manager.request_blocking(RPCEndpoint(m), p))
    return Endpoint("embedded", RpcLimits(), transport)


# --- answers ------------------------------------------------------------------------------------------------


def hex_text(value: Any) -> str:
    """A hash/address/data value (0x str or bytes) as lowercase 0x hex; ValueError for anything else."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return value.lower()
    raise ValueError(f"expected 0x hex, got {value!r}")


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (0x hex str, or an int from web3's formatters); ValueError for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise ValueError(f"expected a hex quantity, got {value!r}")


# --- the client ---------------------------------------------------------------------------------------------


class RpcClient:
    """Batched JSON-RPC calls to one node, retried with exponential backoff within `limits`.

    Transient faults (errors, timeouts, dropped connections, truncated bodies) are retried at most `retries`
    times and within `limits.retry_time` seconds per call, then reported as RpcFaultError naming the method,
    the node (without secrets) and the settings that bound the wait. eth_getLogs range refusals and
    unsupported methods pass up as RangeRefused and MethodUnsupported. Safe to use from one thread.
    """

    def __init__(
        self,
        url: str,
        limits: RpcLimits | None = None,
        *,
        retries: int = 6,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        seed: int | None = None,
        transport: Transport | None = None,
    ) -> None:
        if retries < 0:
            raise ConfigError("retries must be >= 0")
        self.url = url
        self.shown = shown_url(url)
        self.limits = limits or RpcLimits()
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = FetchStats()
        self.transport: Transport = transport or HttpTransport(url, self.limits)
        self._rng = random.Random(seed)  # noqa: S311 - backoff jitter, not secrets
        self._next_id = 0

    def close(self) -> None:
        self.transport.close()

    def pause(self, attempt: int, started: float) -> bool:
        """Wait before retry `attempt + 1` of a call begun at `started` (monotonic); False when the retries or
        the call's time (`retry_time`) are spent, so that the caller stops instead."""
        if attempt >= self.retries:
            return False
        delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + self._rng.random() / 2)
        if time.monotonic() + delay >= started + self.limits.retry_time:
            return False
        time.sleep(delay)
        return True

    def gave_up(self, what: str, attempts: int, started: float, last: object) -> RpcFaultError:
        """The error for `what` failing `attempts` times since `started`, `last` being the last failure."""
        elapsed = time.monotonic() - started
        return RpcFaultError(
            f"{what} to {self.shown} failed {attempts} times; last error: {last} (gave up after "
            f"{elapsed:.1f} s). Check that the node at that address is running, reachable and not overloaded; "
            "how long to wait is set by CURATION_RPC_TIMEOUT, CURATION_RPC_CONNECT_TIMEOUT and "
            "CURATION_RPC_RETRY_TIME"
        )

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results of `calls` in order, retried as a whole on faults; range and unsupported errors pass up."""
        if not calls:
            return []
        what = calls[0][0] if len(calls) == 1 else f"{len(calls)} batched {calls[0][0]} calls"
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._send_once(calls, started + self.limits.retry_time)
            except AnswerTooLarge as exc:
                limit = self.limits.max_answer_bytes
                if calls[0][0] == _RANGED:
                    raise RangeRefused(f"the answer has more than {limit} bytes") from None
                raise RpcFaultError(
                    f"{what} to {self.shown}: the answer has {exc} bytes or more, over the limit of {limit} "
                    "(CURATION_RPC_MAX_ANSWER_BYTES); lower --max-range or raise the limit"
                ) from None
            except TransportFault as exc:
                self.stats.faults += 1
                self.stats.note("fault", f"{what}: {exc}")
                if not self.pause(attempt, started):
                    raise self.gave_up(what, attempt + 1, started, exc) from None
                attempt += 1

    def _send_once(self, calls: Sequence[tuple[str, list[Any]]], deadline: float) -> list[Any]:
        payload = []
        for method, params in calls:
            self._next_id += 1
            payload.append({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        self.stats.requests += 1
        answers = self.transport.send(payload, deadline)
        by_id: dict[Any, Any] = {}
        for answer in answers:
            if not isinstance(answer, dict) or "id" not in answer:
                raise TransportFault(f"malformed JSON-RPC answer {str(answer)[:120]!r}")
            by_id[answer["id"]] = answer
        results = []
        for call in payload:
            answer = by_id.get(call["id"])
            if answer is None:
                raise TransportFault(f"no answer to request {call['id']} ({call['method']})")
            error = answer.get("error")
            if error is not None:
                code = error.get("code") if isinstance(error, dict) else None
                message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
                if call["method"] == _RANGED and (code == -32005 or _RANGE_ERROR.search(message)):
                    raise RangeRefused(message)
                if code in _UNSUPPORTED_CODES and call["method"] == "eth_getBlockReceipts":
                    raise MethodUnsupported(message)
                raise TransportFault(f"{call['method']} answered error {code}: {message[:200]}")
            if "result" not in answer:
                raise TransportFault(f"{call['method']} answer has neither result nor error")
            results.append(answer["result"])
        return results

    def call(self, method: str, params: list[Any]) -> Any:
        """The result of one call (see `batch`)."""
        return self.batch([(method, params)])[0]

    def quantity(self, method: str, params: list[Any]) -> int:
        """The number one call answers; an answer that is not one is a fault, retried like the others."""
        started = time.monotonic()
        attempt = 0
        while True:
            value = self.call(method, params)
            try:
                return quantity(value)
            except ValueError:
                self.stats.faults += 1
                self.stats.note("fault", f"{method} answered {value!r}")
                if not self.pause(attempt, started):
                    raise self.gave_up(
                        method, attempt + 1, started, f"answered {str(value)[:80]!r}, which is not a number"
                    ) from None
                attempt += 1

    def chain_id(self) -> int:
        """The node's chain id."""
        return self.quantity("eth_chainId", [])

    def head(self) -> int:
        """The number of the node's latest block."""
        return self.quantity("eth_blockNumber", [])


# --- the range-halving policy -------------------------------------------------------------------------------


class RangeHalving:
    """The one range-halving policy for reading block ranges from a node (eth_getLogs and what checks it).

    A read asks for the whole range first, or for the span learnt from earlier reads. A range the node
    refuses (RangeRefused: a block-range or result-size cap) is halved at once; an answer that fails the
    caller's checks (AnswerRejected: a silent result cap looks like a truncated answer) is halved after a
    pause, within the client's retries and retry time. After four answers in a row the span doubles again.
    The span learnt is kept for the next reads.
    """

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self.span: int | None = None  # current span in blocks, learnt from the node
        self._streak = 0

    def read(self, from_block: int, to_block: int, read: Callable[[int, int], T]) -> T:
        """`read(from_block, end)` for the widest `end <= to_block` the node answers (at least `from_block`).

        RpcFaultError when the node refuses even one block; InconsistentAnswerError when its answers keep
        failing the checks.
        """
        if from_block < 0 or to_block < from_block:
            raise ConfigError(f"invalid block range {from_block}..{to_block}")
        stats = self.rpc.stats
        wanted = to_block - from_block + 1
        span = min(self.span or wanted, wanted)
        rejected = 0
        started = time.monotonic()
        while True:
            end = from_block + span - 1
            try:
                result = read(from_block, end)
            except RangeRefused as exc:
                if span == 1:
                    raise RpcFaultError(
                        f"{self.rpc.shown} refuses eth_getLogs even for the single block {from_block}: {exc}"
                    ) from None
                span = self._shrink(span, f"range {from_block}..{end} refused: {exc}")
                continue
            except AnswerRejected as exc:
                rejected += 1
                stats.rejected_answers += 1
                stats.note("rejected", f"range {from_block}..{end}: {exc}")
                # A truncated answer is what a silent result cap looks like: ask for less, after a pause.
                if not self.rpc.pause(rejected - 1, started):
                    raise InconsistentAnswerError(
                        f"{self.rpc.shown} answered blocks {from_block}..{end} inconsistently {rejected} times "
                        f"in {time.monotonic() - started:.1f} s (last: {exc}); is the node behind a broken "
                        "proxy or still syncing?"
                    ) from None
                span = self._shrink(span, str(exc)) if span > 1 else span
                continue
            self._streak += 1
            if self._streak >= 4 and span < wanted:
                self.span = min(wanted, span * 2)
                self._streak = 0
            return result

    def _shrink(self, span: int, why: str) -> int:
        self.rpc.stats.halvings += 1
        self.rpc.stats.note("halving", why)
        self._streak = 0
        self.span = max(1, span // 2)
        return self.span
