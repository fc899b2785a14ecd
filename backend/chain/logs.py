"""Fetch raw logs over JSON-RPC: ranged eth_getLogs that halves on limits, retries faults, checks answers."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

from eth_utils.crypto import keccak

from backend.errors import ChainError, ConfigError
from curation.safejson import JsonRejected, loads

if TYPE_CHECKING:  # web3 is needed only to read an existing connection's provider
    from web3 import Web3

    from backend.settings import Settings

__all__ = [
    "BlockRef",
    "FetchStats",
    "InconsistentAnswerError",
    "LogBatch",
    "RawLog",
    "RpcFaultError",
    "RpcLimits",
    "RpcLogFetcher",
    "Verify",
    "shown_url",
]

#: How a range's eth_getLogs answer is checked before it is handed to the indexer (see docs/indexer.md):
#: "bloom" (default) checks every block's logsBloom and re-reads, block by block, each block whose bloom
#: names our contracts but got no logs, and the last block with logs (where a silent result cap cuts);
#: "receipts" compares every block whose bloom names our contracts with its receipts (exact, costly);
#: "none" trusts the node (still checks ranges, addresses and block hashes).
Verify = Literal["receipts", "bloom", "none"]

_HEADER_BATCH = 100
_RECEIPT_BATCH = 200
#: How providers say "ask for less": block-range caps and result-size caps (Alchemy, Infura, QuickNode,
#: geth/erigon/reth, Hardhat, Anvil phrase it differently; -32005 is the EIP-1474 "limit exceeded" code).
_RANGE_ERROR = re.compile(
    r"block range|range (is )?too (large|wide|big)|range limit|blocks? (range )?(limit|exceed)"
    r"|more than \d+ (results|logs|blocks)|query returned more than|too many (results|logs|blocks)"
    r"|limit exceeded|response (size|is too big)|result (set )?(is )?too large|exceeds? (the )?(max|limit)",
    re.IGNORECASE,
)
_UNSUPPORTED_CODES = (-32601, -32004)

#: The largest JSON-RPC answer read from a node (settings.rpc_max_answer_bytes). Generous: an eth_getLogs
#: answer of about 200,000 logs, or 100 headers of full mainnet blocks many times over. A bigger eth_getLogs
#: answer makes the range halve; any other is an error. The body is parsed by curation.safejson, so a hostile
#: node's JSON (nested a million levels deep, say) is refused instead of crashing the process.
DEFAULT_MAX_ANSWER_BYTES = 128 * 2**20
_READ_CHUNK = 1 << 20
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


class RpcFaultError(ChainError):
    """The node kept failing (errors, timeouts, dropped connections, broken answers) until retries ran out."""


class InconsistentAnswerError(ChainError):
    """The node's answers kept contradicting each other (missing logs, logs outside the range, forks)."""


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as the indexer remembers it: number, hash and parent hash (lowercase 0x hex)."""

    number: int
    hash: str
    parent_hash: str


@dataclass(frozen=True, slots=True)
class RawLog:
    """One undecoded log: where it is (block, transaction, index) and what it says (address, topics, data)."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True, slots=True)
class LogBatch:
    """All logs of blocks `from_block..to_block`, ordered, with the headers the indexer keeps."""

    from_block: int
    to_block: int
    logs: tuple[RawLog, ...]
    first: BlockRef
    last: BlockRef
    blocks: tuple[BlockRef, ...]  # every block that holds one of `logs`, ascending


@dataclass
class FetchStats:
    """What the fetcher went through: requests, retried faults, range halvings, rejected answers."""

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


class _RangeTooLarge(Exception):
    """The node asks for a smaller eth_getLogs range (or returned a result it says is too large)."""


class _Unsupported(Exception):
    """The node does not implement a method."""


class _Fault(Exception):
    """A transient failure worth retrying (transport, HTTP status, malformed or error answer)."""


class _TooLarge(Exception):
    """The answer is bigger than max_answer_bytes (not retried as it is: it would be as big again)."""


class _Rejected(Exception):
    """An answer that fails verification (truncated, outside the range, inconsistent with headers)."""


class _Transport(Protocol):
    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]: ...

    def close(self) -> None: ...


def _parse_answer(data: bytes, limit: int) -> Any:
    """A JSON-RPC answer body parsed within limits (curation.safejson); _Fault says why it is refused."""
    try:
        return loads(data, max_bytes=limit, what="answer")
    except JsonRejected as exc:
        why = str(exc)
        if "is not JSON" in why or "is empty" in why or "do not balance" in why:
            raise _Fault(f"answer is not complete JSON ({len(data)} bytes, truncated?)") from None
        raise _Fault(why) from None


class _HttpTransport:
    """JSON-RPC over HTTP(S) with the standard library: one keep-alive connection, a JSON array per batch.

    http.client rather than httpx here: nodes stream big eth_getLogs answers in many small chunks, and
    reading those costs httpx (h11) twice the time of the whole node round trip. Every wait is bounded:
    connecting by `connect_timeout`, each read by `timeout`, a whole answer by the caller's deadline.
    """

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
            raise _Fault(f"no connection within {self.limits.connect_timeout} s (connect timeout)") from None
        except OSError as exc:
            conn.close()
            raise _Fault(f"cannot connect ({type(exc).__name__}: {exc})") from None
        if conn.sock is not None:
            conn.sock.settimeout(self.limits.timeout)
        self._conn = conn
        return conn

    def _read(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        limit = self.limits.max_answer_bytes
        declared = response.getheader("Content-Length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge(int(declared))
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_READ_CHUNK):  # what has arrived: a trickle cannot outlast the deadline
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _TooLarge(size)
            if time.monotonic() > deadline:
                raise _Fault(
                    f"the answer was still arriving when the time for this call ran out ({size} bytes)"
                )
        return b"".join(chunks)

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
                raise _Fault(f"connection dropped ({type(exc).__name__})") from None
            except TimeoutError:
                self.close()
                raise _Fault(f"no answer within {self.limits.timeout} s (read timeout)") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise _Fault(f"transport failed ({type(exc).__name__}: {exc})") from None
            except (_Fault, _TooLarge):
                self.close()
                raise
        if response.will_close:
            self.close()
        if response.status != 200:
            raise _Fault(f"HTTP {response.status}: {data[:200]!r}")
        answer = _parse_answer(data, self.limits.max_answer_bytes)
        return answer if isinstance(answer, list) else [answer]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _ProviderTransport:
    """JSON-RPC through web3's request manager (the embedded py-evm chain, which needs web3's formatters).

    Results come back formatted (ints, bytes); the parsers below accept both forms.
    """

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


def _hex(value: Any) -> str:
    """Normalise a hash/address/data value (str or bytes) to lowercase 0x hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return value.lower()
    raise ValueError(f"expected 0x hex, got {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise ValueError(f"expected a hex quantity, got {value!r}")


@lru_cache(maxsize=65536)
def _bloom_mask(item: str) -> int:
    """The logsBloom bits (yellow paper, section 4.3.1) of an address or topic given as 0x hex."""
    digest = keccak(bytes.fromhex(item[2:]))
    return sum(1 << (int.from_bytes(digest[i : i + 2], "big") & 2047) for i in (0, 2, 4))


def _in_bloom(bloom: int, mask: int) -> bool:
    return bloom & mask == mask


class RpcLogFetcher:
    """Reads the logs of a set of contract addresses from one JSON-RPC node, robustly.

    Ranges shrink by halving when the node refuses them (range or result-size limits) or answers them
    incompletely, and grow back after successes; transient faults (errors, timeouts, dropped
    connections, truncated bodies) are retried with exponential backoff, at most `retries` times and
    within `retry_time` seconds per call; every answer is checked against the block headers and blooms
    (or receipts) before it is returned. Safe to use from one thread.
    """

    def __init__(
        self,
        url: str,
        addresses: Iterable[str],
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retry_time: float = 60.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        retries: int = 6,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        verify: Verify = "bloom",
        seed: int | None = None,
        transport: _Transport | None = None,
    ) -> None:
        self.url = url
        self.shown = shown_url(url)
        self.addresses = tuple(sorted({_hex(a) for a in addresses}))
        if not self.addresses:
            raise ConfigError("the log fetcher needs at least one contract address")
        if verify not in ("receipts", "bloom", "none"):
            raise ConfigError(f"verify must be 'receipts', 'bloom' or 'none', not {verify!r}")
        if retries < 0 or timeout <= 0:
            raise ConfigError("retries must be >= 0 and timeout > 0")
        self.limits = RpcLimits(connect_timeout, timeout, retry_time, max_answer_bytes)
        self.verify: Verify = verify
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = FetchStats()
        self._transport: _Transport = transport or _HttpTransport(url, self.limits)
        self._rng = random.Random(seed)  # noqa: S311 - backoff jitter, not secrets
        self._next_id = 0
        self._span: int | None = None  # current eth_getLogs span in blocks, learnt from the node
        self._streak = 0
        self._block_receipts: bool | None = None  # eth_getBlockReceipts support, learnt on first use
        self._address_masks = [_bloom_mask(a) for a in self.addresses]

    @classmethod
    def from_web3(cls, w3: Web3, addresses: Iterable[str], **kwargs: Any) -> RpcLogFetcher:
        """A fetcher on the node behind an existing connection (HTTP URL or the embedded chain).

        It waits as long as the connection does: the `RpcLimits` that backend.chain.connection.connect
        gave the provider, else the provider's request timeout (a number or a (connect, read) pair).
        """
        from web3.types import RPCEndpoint

        provider: Any = w3.provider
        url = getattr(provider, "endpoint_uri", None)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            limits = getattr(provider, "rpc_limits", None)
            if isinstance(limits, RpcLimits):
                kwargs.setdefault("timeout", limits.timeout)
                kwargs.setdefault("connect_timeout", limits.connect_timeout)
                kwargs.setdefault("retry_time", limits.retry_time)
                kwargs.setdefault("max_answer_bytes", limits.max_answer_bytes)
            else:
                timeout = provider.get_request_kwargs().get("timeout", 10.0)
                if isinstance(timeout, tuple | list):
                    kwargs.setdefault("connect_timeout", float(timeout[0]))
                    timeout = timeout[1]
                kwargs.setdefault("timeout", float(timeout))
            return cls(url, addresses, **kwargs)
        return cls(
            "embedded",
            addresses,
            transport=_ProviderTransport(lambda m, p: w3.manager.request_blocking(RPCEndpoint(m), p)),
            **kwargs,
        )

    def close(self) -> None:
        self._transport.close()

    # --- JSON-RPC with retries ------------------------------------------------------------------------------
    def _pause(self, attempt: int, started: float) -> bool:
        """Wait before retry `attempt + 1` of a call begun at `started` (monotonic); False when the retries or
        the call's time (`retry_time`) are spent, so that the caller stops instead."""
        if attempt >= self.retries:
            return False
        delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + self._rng.random() / 2)
        if time.monotonic() + delay >= started + self.limits.retry_time:
            return False
        time.sleep(delay)
        return True

    def _gave_up(self, what: str, attempts: int, started: float, last: object) -> RpcFaultError:
        elapsed = time.monotonic() - started
        return RpcFaultError(
            f"{what} to {self.shown} failed {attempts} times; last error: {last} (gave up after "
            f"{elapsed:.1f} s). Check that the node at that address is running, reachable and not overloaded; "
            "how long to wait is set by CURATION_RPC_TIMEOUT, CURATION_RPC_CONNECT_TIMEOUT and "
            "CURATION_RPC_RETRY_TIME"
        )

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results of `calls` in order, retried as a whole on faults; range and unsupported errors pass up."""
        if not calls:
            return []
        what = calls[0][0] if len(calls) == 1 else f"{len(calls)} batched {calls[0][0]} calls"
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._send_once(calls, started + self.limits.retry_time)
            except _TooLarge as exc:
                limit = self.limits.max_answer_bytes
                if calls[0][0] == "eth_getLogs":
                    raise _RangeTooLarge(f"the answer has more than {limit} bytes") from None
                raise RpcFaultError(
                    f"{what} to {self.shown}: the answer has {exc} bytes or more, over the limit of {limit} "
                    "(CURATION_RPC_MAX_ANSWER_BYTES); lower --max-range or raise the limit"
                ) from None
            except _Fault as exc:
                self.stats.faults += 1
                self.stats.note("fault", f"{what}: {exc}")
                if not self._pause(attempt, started):
                    raise self._gave_up(what, attempt + 1, started, exc) from None
                attempt += 1

    def _send_once(self, calls: Sequence[tuple[str, list[Any]]], deadline: float) -> list[Any]:
        payload = []
        for method, params in calls:
            self._next_id += 1
            payload.append({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        self.stats.requests += 1
        answers = self._transport.send(payload, deadline)
        by_id: dict[Any, Any] = {}
        for answer in answers:
            if not isinstance(answer, dict) or "id" not in answer:
                raise _Fault(f"malformed JSON-RPC answer {str(answer)[:120]!r}")
            by_id[answer["id"]] = answer
        results = []
        for call in payload:
            answer = by_id.get(call["id"])
            if answer is None:
                raise _Fault(f"no answer to request {call['id']} ({call['method']})")
            error = answer.get("error")
            if error is not None:
                code = error.get("code") if isinstance(error, dict) else None
                message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
                if call["method"] == "eth_getLogs" and (code == -32005 or _RANGE_ERROR.search(message)):
                    raise _RangeTooLarge(message)
                if call["method"] == "eth_getBlockReceipts" and code in _UNSUPPORTED_CODES:
                    raise _Unsupported(message)
                raise _Fault(f"{call['method']} answered error {code}: {message[:200]}")
            if "result" not in answer:
                raise _Fault(f"{call['method']} answer has neither result nor error")
            results.append(answer["result"])
        return results

    def _call(self, method: str, params: list[Any]) -> Any:
        return self._batch([(method, params)])[0]

    # --- simple reads ---------------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The node's chain id."""
        return self._quantity("eth_chainId", [])

    def head(self) -> int:
        """The number of the node's latest block."""
        return self._quantity("eth_blockNumber", [])

    def _quantity(self, method: str, params: list[Any]) -> int:
        started = time.monotonic()
        attempt = 0
        while True:
            value = self._call(method, params)
            try:
                return _int(value)
            except ValueError:
                self.stats.faults += 1
                self.stats.note("fault", f"{method} answered {value!r}")
                if not self._pause(attempt, started):
                    raise self._gave_up(
                        method, attempt + 1, started, f"answered {str(value)[:80]!r}, which is not a number"
                    ) from None
                attempt += 1

    def block(self, number: int) -> BlockRef | None:
        """The node's block at `number`, or None when it has none (the chain is shorter)."""
        started = time.monotonic()
        attempt = 0
        while True:
            raw = self._call("eth_getBlockByNumber", [hex(number), False])
            if raw is None:
                return None
            try:
                ref, _, _ = self._parse_header(raw, number)
                return ref
            except _Rejected as exc:
                self.stats.note("rejected", str(exc))
                self.stats.rejected_answers += 1
                if not self._pause(attempt, started):
                    raise InconsistentAnswerError(
                        f"eth_getBlockByNumber({number}) at {self.shown}: {exc}"
                    ) from None
                attempt += 1

    # --- ranged log fetching --------------------------------------------------------------------------------
    def fetch(self, from_block: int, to_block: int) -> LogBatch:
        """All logs of our addresses in blocks from_block..to_block; the batch may end early (halving).

        The returned batch always starts at `from_block` and covers at least one block.
        """
        if from_block < 0 or to_block < from_block:
            raise ConfigError(f"invalid block range {from_block}..{to_block}")
        wanted = to_block - from_block + 1
        span = min(self._span or wanted, wanted)
        rejected = 0
        started = time.monotonic()
        while True:
            end = from_block + span - 1
            try:
                batch = self._fetch_exact(from_block, end)
            except _RangeTooLarge as exc:
                if span == 1:
                    raise RpcFaultError(
                        f"{self.shown} refuses eth_getLogs even for the single block {from_block}: {exc}"
                    ) from None
                span = self._shrink(span, f"range {from_block}..{end} refused: {exc}")
                continue
            except _Rejected as exc:
                rejected += 1
                self.stats.rejected_answers += 1
                self.stats.note("rejected", f"range {from_block}..{end}: {exc}")
                # A truncated answer is what a silent result cap looks like: ask for less, after a pause.
                if not self._pause(rejected - 1, started):
                    raise InconsistentAnswerError(
                        f"{self.shown} answered blocks {from_block}..{end} inconsistently {rejected} times "
                        f"in {time.monotonic() - started:.1f} s (last: {exc}); is the node behind a broken "
                        "proxy or still syncing?"
                    ) from None
                span = self._shrink(span, str(exc)) if span > 1 else span
                continue
            self._streak += 1
            if self._streak >= 4 and span < wanted:
                self._span = min(wanted, span * 2)
                self._streak = 0
            return batch

    def _shrink(self, span: int, why: str) -> int:
        self.stats.halvings += 1
        self.stats.note("halving", why)
        self._streak = 0
        self._span = max(1, span // 2)
        return self._span

    def _fetch_exact(self, a: int, b: int) -> LogBatch:
        raw_logs = self._call(
            "eth_getLogs", [{"fromBlock": hex(a), "toBlock": hex(b), "address": list(self.addresses)}]
        )
        if not isinstance(raw_logs, list | tuple):
            raise _Rejected(f"eth_getLogs answered {type(raw_logs).__name__}, not a list")
        logs = self._parse_logs(raw_logs, a, b)
        with_logs = sorted({log.block_number for log in logs})
        # Without verification only the headers the indexer keeps are needed; with it, every block's.
        numbers = sorted({a, b, *with_logs}) if self.verify == "none" else list(range(a, b + 1))
        headers = self._headers(numbers)
        by_number = {ref.number: ref for ref, _, _ in headers}
        if self.verify != "none":
            unlinked = [
                (prev[0], cur[0])
                for prev, cur in itertools.pairwise(headers)
                if cur[0].parent_hash != prev[0].hash
            ]
            if unlinked:
                self._confirm_unlinked(unlinked, a, b)
        for log in logs:
            if by_number[log.block_number].hash != log.block_hash:
                raise _Rejected(f"log {log.log_index} of block {log.block_number} names another block hash")
        if self.verify != "none":
            self._check_blooms(headers, logs)
        return LogBatch(
            from_block=a,
            to_block=b,
            logs=tuple(logs),
            first=by_number[a],
            last=by_number[b],
            blocks=tuple(by_number[n] for n in with_logs),
        )

    def _confirm_unlinked(self, pairs: list[tuple[BlockRef, BlockRef]], a: int, b: int) -> None:
        """Accept headers that do not chain by parentHash only if the node still says the same hashes.

        A break in the chain of parent hashes inside one range is either a reorg while the range was read
        (a hash then differs when read again) or a node whose parentHash field does not link: Hardhat's
        `hardhat_mine` reports a zero parentHash for most blocks it mines in one go, while their hashes stay
        the same whenever they are read. Only the first is a reason to read the range again.
        """
        first_read = {ref.number: ref for pair in pairs for ref in pair}
        again = {ref.number: ref for ref, _, _ in self._headers(sorted(first_read))}
        for number, ref in sorted(first_read.items()):
            if again[number].hash != ref.hash:
                raise _Rejected(
                    f"block {number} changed from {ref.hash} to {again[number].hash} while blocks {a}..{b} "
                    "were read (reorg?)"
                )
        self.stats.unlinked += len(pairs)

    def _parse_logs(self, raw_logs: Sequence[Any], a: int, b: int) -> list[RawLog]:
        logs: list[RawLog] = []
        seen: set[tuple[int, int]] = set()
        allowed = set(self.addresses)
        for raw in raw_logs:
            try:
                if raw.get("removed"):
                    raise _Rejected("eth_getLogs returned a removed log")
                topics = tuple(_hex(t) for t in raw["topics"])
                log = RawLog(
                    block_number=_int(raw["blockNumber"]),
                    block_hash=_hex(raw["blockHash"]),
                    tx_hash=_hex(raw["transactionHash"]),
                    tx_index=_int(raw["transactionIndex"]),
                    log_index=_int(raw["logIndex"]),
                    address=_hex(raw["address"]),
                    topics=topics,
                    data=_hex(raw["data"]),
                )
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise _Rejected(f"malformed log {str(raw)[:160]!r} ({exc})") from None
            if not a <= log.block_number <= b:
                raise _Rejected(f"eth_getLogs for blocks {a}..{b} returned a log of block {log.block_number}")
            if log.address not in allowed:
                raise _Rejected(f"eth_getLogs returned a log of {log.address}, which was not asked for")
            if len(topics) > 4:
                raise _Rejected(f"log {log.log_index} of block {log.block_number} has {len(topics)} topics")
            key = (log.block_number, log.log_index)
            if key in seen:
                raise _Rejected(f"log {log.log_index} of block {log.block_number} appears twice")
            seen.add(key)
            logs.append(log)
        logs.sort(key=lambda log: (log.block_number, log.log_index))
        return logs

    def _parse_header(self, raw: Any, number: int) -> tuple[BlockRef, int, list[str]]:
        try:
            ref = BlockRef(_int(raw["number"]), _hex(raw["hash"]), _hex(raw["parentHash"]))
            bloom_raw = raw["logsBloom"]
            if isinstance(bloom_raw, bytes):
                bloom = int.from_bytes(bloom_raw)
            else:  # hex from a node; eth-tester's formatters hand an int
                bloom = bloom_raw if isinstance(bloom_raw, int) else int(bloom_raw, 16)
            txs = [_hex(t if isinstance(t, str) else t["hash"]) for t in raw.get("transactions", [])]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _Rejected(f"malformed header for block {number} ({exc})") from None
        if ref.number != number:
            raise _Rejected(f"asked for block {number}, got block {ref.number}")
        return ref, bloom, txs

    def _headers(self, numbers: list[int]) -> list[tuple[BlockRef, int, list[str]]]:
        out = []
        for i in range(0, len(numbers), _HEADER_BATCH):
            chunk = numbers[i : i + _HEADER_BATCH]
            results = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for n, raw in zip(chunk, results, strict=True):
                if raw is None:
                    raise _Rejected(f"the node has no block {n} though it answered for the range")
                out.append(self._parse_header(raw, n))
        return out

    def _check_blooms(self, headers: list[tuple[BlockRef, int, list[str]]], logs: list[RawLog]) -> None:
        per_block: dict[int, list[RawLog]] = {}
        for log in logs:
            per_block.setdefault(log.block_number, []).append(log)
        suspects: list[tuple[BlockRef, list[str]]] = []
        for ref, bloom, txs in headers:
            mine = per_block.get(ref.number, [])
            for log in mine:
                mask = _bloom_mask(log.address)
                for topic in log.topics:
                    mask |= _bloom_mask(topic)
                if not _in_bloom(bloom, mask):
                    raise _Rejected(f"log {log.log_index} of block {ref.number} is not in the block's bloom")
            if mine or any(_in_bloom(bloom, mask) for mask in self._address_masks):
                suspects.append((ref, txs))
        if self.verify == "receipts":
            self._check_receipts(suspects, per_block)
            return
        # Bloom hits without logs are false positives or left-out blocks, and the last block with logs is
        # where a silent result cap cuts: ask for those blocks one by one and compare. By block hash
        # (EIP-234) where the node takes it; the embedded chain only takes numbers.
        recheck = [ref for ref, _ in suspects if ref.number not in per_block]
        if per_block:
            recheck.append(next(ref for ref, _ in reversed(suspects) if ref.number in per_block))
        addresses = list(self.addresses)
        if isinstance(self._transport, _ProviderTransport):
            filters = [
                {"fromBlock": hex(r.number), "toBlock": hex(r.number), "address": addresses} for r in recheck
            ]
        else:
            filters = [{"blockHash": r.hash, "address": addresses} for r in recheck]
        calls = [("eth_getLogs", [f]) for f in filters]
        for ref, found in zip(recheck, self._batch(calls), strict=True):
            if not isinstance(found, list | tuple):
                raise _Rejected(f"eth_getLogs for block {ref.number} answered {type(found).__name__}")
            again = self._parse_logs(found, ref.number, ref.number)
            if again != per_block.get(ref.number, []):
                raise _Rejected(
                    f"block {ref.number}: the range answer holds {len(per_block.get(ref.number, []))} logs, "
                    f"the block alone {len(again)}"
                )

    def _check_receipts(
        self, suspects: list[tuple[BlockRef, list[str]]], per_block: dict[int, list[RawLog]]
    ) -> None:
        """Compare each suspect block's logs with the logs of our addresses in its receipts (exact)."""
        allowed = set(self.addresses)
        for ref, receipts in self._receipts(suspects):
            expected: list[tuple[int, str, tuple[str, ...], str]] = []
            try:
                for receipt in receipts:
                    if _hex(receipt["blockHash"]) != ref.hash:
                        raise _Rejected(f"a receipt of block {ref.number} belongs to another block (reorg?)")
                    for raw in receipt["logs"]:
                        if _hex(raw["address"]) in allowed:
                            topics = tuple(_hex(t) for t in raw["topics"])
                            expected.append(
                                (_int(raw["logIndex"]), _hex(raw["address"]), topics, _hex(raw["data"]))
                            )
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise _Rejected(f"malformed receipt in block {ref.number} ({exc})") from None
            got = [
                (log.log_index, log.address, log.topics, log.data) for log in per_block.get(ref.number, [])
            ]
            self.stats.receipts_checked += len(receipts)
            if sorted(expected) != got:
                raise _Rejected(
                    f"block {ref.number}: eth_getLogs gave {len(got)} logs, its receipts hold {len(expected)}"
                )

    def _receipts(self, suspects: list[tuple[BlockRef, list[str]]]) -> list[tuple[BlockRef, list[Any]]]:
        if not suspects:
            return []
        if self._block_receipts is not False:
            try:
                results = self._batch([("eth_getBlockReceipts", [ref.hash]) for ref, _ in suspects])
            except _Unsupported:
                self._block_receipts = False
            else:
                self._block_receipts = True
                out = []
                for (ref, txs), receipts in zip(suspects, results, strict=True):
                    if not isinstance(receipts, list) or len(receipts) != len(txs):
                        raise _Rejected(f"eth_getBlockReceipts of block {ref.number} is incomplete")
                    out.append((ref, receipts))
                return out
        calls = [(ref, tx) for ref, txs in suspects for tx in txs]
        fetched: list[Any] = []
        for i in range(0, len(calls), _RECEIPT_BATCH):
            chunk = calls[i : i + _RECEIPT_BATCH]
            fetched += self._batch([("eth_getTransactionReceipt", [tx]) for _, tx in chunk])
        grouped: dict[int, list[Any]] = {ref.number: [] for ref, _ in suspects}
        for (ref, tx), receipt in zip(calls, fetched, strict=True):
            if receipt is None:
                raise _Rejected(f"the node has no receipt for {tx} of block {ref.number}")
            grouped[ref.number].append(receipt)
        return [(ref, grouped[ref.number]) for ref, _ in suspects]
