"""backend.chain.rpc: batched calls and retries, the range-halving policy, transports and endpoints."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from web3 import HTTPProvider, Web3

from backend.chain.connection import LimitedHTTPProvider, connect
from backend.chain.rpc import (
    AnswerRejected,
    HttpTransport,
    InconsistentAnswerError,
    MethodUnsupported,
    ProviderTransport,
    RangeHalving,
    RangeRefused,
    RpcClient,
    RpcFaultError,
    RpcLimits,
    TransportFault,
    hex_text,
    parse_answer,
    quantity,
    web3_endpoint,
)
from backend.errors import ConfigError
from tests.backend.chain.replay import replaying

Answer = Callable[[dict[str, Any]], dict[str, Any]]


class _Scripted:
    """A transport whose node is a function from one call to its answer (`result` or `error`)."""

    block_hash_filters = False

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.payloads: list[list[dict[str, Any]]] = []

    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]:
        self.payloads.append(payload)
        return [{"jsonrpc": "2.0", "id": call["id"], **self.answer(call)} for call in reversed(payload)]

    def close(self) -> None:
        pass


def _client(answer: Answer, retries: int = 2) -> tuple[RpcClient, _Scripted]:
    transport = _Scripted(answer)
    return RpcClient(
        "http://node.example/v3/0123456789abcdefghij", retries=retries, backoff=0.001, transport=transport
    ), transport


# --- the client ---------------------------------------------------------------------------------------------


def test_a_batch_is_one_request_and_answers_are_matched_by_id() -> None:
    client, transport = _client(lambda call: {"result": call["params"][0]})
    assert client.batch([("echo", [n]) for n in range(5)]) == [0, 1, 2, 3, 4]  # answered in reverse order
    assert client.stats.requests == 1
    assert len(transport.payloads[0]) == 5
    assert client.batch([]) == []


def test_recorded_headers_come_back_in_the_order_asked() -> None:
    with replaying("traffic") as node:
        a = node.case.meta["from_block"]
        client = RpcClient(node.url)
        headers = client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(a + 5, a - 1, -1)])
        client.close()
    assert [quantity(h["number"]) for h in headers] == list(range(a + 5, a - 1, -1))
    assert client.stats.requests == 1


def test_faults_are_retried_then_reported_with_the_node_hidden_and_the_settings_named() -> None:
    client, transport = _client(lambda call: {"error": {"code": -32000, "message": "header not found"}})
    with pytest.raises(RpcFaultError) as caught:
        client.call("eth_getBlockByNumber", ["0x1", False])
    message = str(caught.value)
    assert message.startswith(
        "eth_getBlockByNumber to http://node.example/v3/*** failed 3 times; last error: "
    )
    assert "answered error -32000: header not found" in message
    assert "CURATION_RPC_RETRY_TIME" in message
    assert (len(transport.payloads), client.stats.faults) == (3, 3)


def test_range_refusals_and_unsupported_methods_pass_up_untried() -> None:
    client, transport = _client(lambda call: {"error": {"code": -32005, "message": "limit exceeded"}})
    with pytest.raises(RangeRefused, match="limit exceeded"):
        client.call("eth_getLogs", [{}])
    worded, _ = _client(lambda call: {"error": {"code": -32000, "message": "block range is too wide"}})
    with pytest.raises(RangeRefused):
        worded.call("eth_getLogs", [{}])
    missing, _ = _client(lambda call: {"error": {"code": -32601, "message": "the method does not exist"}})
    with pytest.raises(MethodUnsupported):
        missing.call("eth_getBlockReceipts", ["0x00"])
    assert len(transport.payloads) == 1


def test_a_number_that_is_not_one_is_a_fault() -> None:
    client, _ = _client(lambda call: {"result": "soon"}, retries=1)
    with pytest.raises(RpcFaultError, match=r"answered 'soon', which is not a number"):
        client.head()
    good, _ = _client(lambda call: {"result": "0x7a69"})
    assert good.chain_id() == 31337


def test_answers_without_an_id_or_a_result_are_faults() -> None:
    client, _ = _client(lambda call: {"nothing": True}, retries=0)
    with pytest.raises(RpcFaultError, match="answer has neither result nor error"):
        client.call("eth_chainId", [])
    with pytest.raises(ConfigError):
        RpcClient("http://node.example", retries=-1)


# --- the range-halving policy -------------------------------------------------------------------------------


def _capped(cap: int, seen: list[tuple[int, int]]) -> Callable[[int, int], tuple[int, int]]:
    def read(a: int, b: int) -> tuple[int, int]:
        seen.append((a, b))
        if b - a + 1 > cap:
            raise RangeRefused(f"more than {cap} blocks")
        return a, b

    return read


def test_a_refused_range_halves_and_the_span_learnt_grows_back_after_four_answers() -> None:
    client, _ = _client(lambda call: {"result": None})
    ranges = RangeHalving(client)
    seen: list[tuple[int, int]] = []
    assert ranges.read(0, 99, _capped(20, seen)) == (0, 11)  # 100 -> 50 -> 25 -> 12
    assert [b - a + 1 for a, b in seen] == [100, 50, 25, 12]
    assert client.stats.halvings == 3
    for start in (12, 24, 36):  # three more answers: four in a row, so the span doubles
        assert ranges.read(start, 99, _capped(20, seen)) == (start, start + 11)
    assert ranges.read(48, 99, _capped(30, seen)) == (48, 71)
    assert ranges.read(72, 72, _capped(30, seen)) == (72, 72)  # never more than asked for
    assert client.stats.halvings == 3


def test_a_node_that_refuses_one_block_is_an_error() -> None:
    client, _ = _client(lambda call: {"result": None})
    with pytest.raises(RpcFaultError, match="refuses eth_getLogs even for the single block 7: more than 0"):
        RangeHalving(client).read(7, 9, _capped(0, []))
    with pytest.raises(ConfigError, match=r"invalid block range 9\.\.7"):
        RangeHalving(client).read(9, 7, _capped(5, []))


def test_answers_that_keep_failing_the_checks_end_in_inconsistent_answer_error() -> None:
    client, _ = _client(lambda call: {"result": None}, retries=3)
    spans: list[int] = []

    def read(a: int, b: int) -> None:
        spans.append(b - a + 1)
        raise AnswerRejected("a log outside the range")

    with pytest.raises(InconsistentAnswerError, match=r"inconsistently 4 times .*a log outside the range"):
        RangeHalving(client).read(0, 15, read)
    assert spans == [16, 8, 4, 2]  # each rejection asks for less, after a pause
    assert client.stats.rejected_answers == 4


# --- transports and answers ---------------------------------------------------------------------------------


def test_answers_are_parsed_within_limits() -> None:
    assert parse_answer(b'{"id": 1, "result": "0x1"}', 100) == {"id": 1, "result": "0x1"}
    with pytest.raises(TransportFault, match=r"not complete JSON \(12 bytes, truncated\?\)"):
        parse_answer(b'{"id": 1, "r', 100)
    with pytest.raises(TransportFault):
        parse_answer(b"[" * 5000 + b"]" * 5000, 100_000)  # nested too deep for any JSON-RPC answer


def test_hex_values_and_quantities_take_the_node_and_the_web3_forms() -> None:
    assert hex_text("0xABcd") == hex_text(b"\xab\xcd") == "0xabcd"
    assert quantity("0x10") == quantity(16) == 16
    for bad in ("10", True, None):
        with pytest.raises(ValueError, match="expected a hex quantity"):
            quantity(bad)
    with pytest.raises(ValueError, match="expected 0x hex"):
        hex_text("abcd")


def test_the_endpoint_of_a_connection_says_how_to_reach_it_and_how_long_to_wait() -> None:
    embedded = web3_endpoint(connect(None))
    assert embedded.url == "embedded"
    assert isinstance(embedded.transport, ProviderTransport)
    assert not embedded.transport.block_hash_filters  # py-evm takes eth_getLogs by block number only
    limits = RpcLimits(connect_timeout=1, timeout=2, retry_time=3, max_answer_bytes=4)
    limited = web3_endpoint(Web3(LimitedHTTPProvider("http://127.0.0.1:9", limits)))
    assert (limited.url, limited.limits, limited.transport) == ("http://127.0.0.1:9", limits, None)
    plain = web3_endpoint(Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": (3, 7)})))
    assert (plain.limits.connect_timeout, plain.limits.timeout) == (3, 7)
    assert HttpTransport("http://127.0.0.1:9", limits).block_hash_filters
    with pytest.raises(ConfigError, match="is not an http"):
        HttpTransport("ws://127.0.0.1:9", limits)


# --- parse_answer: orjson first, curation.safejson for what orjson cannot take as it is ----------------------

#: Bodies on both sides of every limit and every difference between orjson and the standard parser.
_HOSTILE_ANSWERS: dict[str, bytes] = {
    "plain": b'{"jsonrpc":"2.0","id":7,"result":["0x1",{"a":null,"b":true,"c":[]}]}',
    "depth 64": b"[" * 64 + b"]" * 64,
    "depth 65": b"[" * 65 + b"]" * 65,
    "objects 65 deep": b'{"a":' * 65 + b"1" + b"}" * 65,
    "depth 1025 (over orjson's own limit)": b"[" * 1025 + b"]" * 1025,
    "unbalanced": b"[" * 100,
    "lone high surrogate": b'{"id":1,"result":"\\ud800"}',
    "lone low surrogate": b'{"id":1,"result":"\\udc00x"}',
    "surrogate pair": b'{"id":1,"result":"\\ud83d\\ude00"}',
    "surrogate as UTF-8 bytes": b'{"id":1,"result":"\xed\xa0\x80"}',
    "integer past 64 bits": b'{"id":18446744073709551616,"result":123456789012345678901234567890}',
    "negative integer past 64 bits": b'{"id":-9223372036854775809,"result":"0x0"}',
    "largest u64": b'{"id":18446744073709551615,"result":"0x0"}',
    "integer of 5000 digits": b'{"id":1,"result":' + b"9" * 5000 + b"}",
    "float": b'{"id":1,"result":1.5}',
    "float literal too long": b'{"id":1,"result":0.' + b"1" * 120 + b"}",
    "float past double": b'{"id":1,"result":1e400}',
    "NaN": b'{"id":1,"result":NaN}',
    "Infinity": b'{"id":1,"result":-Infinity}',
    "BOM": b'\xef\xbb\xbf{"id":1}',
    "invalid UTF-8": b'{"id":1,"result":"\xff"}',
    "control character": b'{"id":1,"result":"a\tb"}',
    "escaped NUL": b'{"id":1,"result":"\\u0000"}',
    "duplicate keys": b'{"id":1,"id":2,"result":"0x1"}',
    "trailing comma": b'{"id":1,"result":[1,]}',
    "trailing data": b'{"id":1} x',
    "empty": b"",
    "blank": b" \n\t ",
    "truncated": b'{"id": 1, "r',
    "scalar": b"17",
}


def _via_safejson(data: bytes, limit: int) -> Any:
    """What parse_answer returned before orjson: curation.safejson alone, refusals as TransportFault."""
    from curation.safejson import JsonRejected, loads

    try:
        return loads(data, max_bytes=limit, what="answer")
    except JsonRejected as exc:
        why = str(exc)
        if "is not JSON" in why or "is empty" in why or "do not balance" in why:
            return TransportFault(f"answer is not complete JSON ({len(data)} bytes, truncated?)")
        return TransportFault(why)


def _outcome(data: bytes, limit: int) -> Any:
    try:
        return parse_answer(data, limit)
    except TransportFault as exc:
        return exc


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, Exception):
        return type(got) is type(want) and str(got) == str(want)
    return type(got) is type(want) and repr(got) == repr(want)  # repr: 1 and 1.0 and True differ


@pytest.mark.parametrize("name", sorted(_HOSTILE_ANSWERS))
def test_an_answer_is_parsed_or_refused_exactly_as_safejson_does(name: str) -> None:
    data = _HOSTILE_ANSWERS[name]
    for limit in (len(data) - 1, len(data), 10_000_000):
        if limit >= 0:
            assert _same(_outcome(data, limit), _via_safejson(data, limit)), (name, limit)


def test_numbers_orjson_would_round_stay_exact() -> None:
    answer = parse_answer(_HOSTILE_ANSWERS["integer past 64 bits"], 1000)
    assert answer == {"id": 2**64, "result": 123456789012345678901234567890}
    assert type(answer["result"]) is int
    assert parse_answer(_HOSTILE_ANSWERS["lone high surrogate"], 1000) == {"id": 1, "result": "\ud800"}
    with pytest.raises(TransportFault, match="deeper than 64 levels"):
        parse_answer(_HOSTILE_ANSWERS["depth 65"], 1000)
    with pytest.raises(TransportFault, match="a number has 122 characters"):
        parse_answer(_HOSTILE_ANSWERS["float literal too long"], 1000)


def test_a_seeded_stream_of_mangled_answers_is_parsed_exactly_as_safejson_does() -> None:
    import random

    rng = random.Random(14)
    base = (
        b'{"jsonrpc":"2.0","id":3,"result":[{"address":"0xab","topics":["0x01","0x02"],"data":"0x",'
        b'"blockNumber":"0x1a","logIndex":"0x0","removed":false,"n":12,"f":[1.5,-2e3,null]}]}'
    )
    alphabet = b'[]{}",:0123456789.eE-+\\u truefalsenul\x00\xff\xed'
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.4:
                data[at] = rng.choice(alphabet)
            elif roll < 0.7:
                del data[at]
            else:
                data[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        body = bytes(data)
        assert _same(_outcome(body, 10_000), _via_safejson(body, 10_000)), body


def test_honest_answers_take_the_orjson_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node's ordinary answer never reaches the slower safejson parser (it would cost the backfill 3x)."""
    import backend.chain.rpc as rpc

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("safejson was asked")

    monkeypatch.setattr(rpc, "loads", refuse)
    logs = [
        {"address": "0x" + "ab" * 20, "topics": ["0x" + "01" * 32], "data": "0x", "blockNumber": hex(n)}
        for n in range(2000)
    ]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": logs}).encode()
    assert parse_answer(body, len(body)) == {"jsonrpc": "2.0", "id": 1, "result": logs}
    with pytest.raises(AssertionError, match="safejson was asked"):
        parse_answer(b'{"id":1,"result":1.5}', 100)  # what orjson cannot keep exact goes to safejson


# --- HttpTransport: chunked answers decoded as they arrive ---------------------------------------------------


class _RawNode:
    """A TCP server on 127.0.0.1 that answers each HTTP request with the raw bytes `respond` gives, written in
    pieces of `piece` bytes (`<pause>` waits 0.3 s, `<close>` drops the connection); it counts connections
    (keep-alive reuse) and requests."""

    def __init__(self, respond: Callable[[int], list[bytes]], piece: int = 1 << 16) -> None:
        import socket
        import threading

        self.respond = respond
        self.piece = piece
        self.connections = 0
        self.requests = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import time as _time

        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            with conn, contextlib.suppress(OSError):  # the client hung up
                buf = b""
                while True:
                    head_end = buf.find(b"\r\n\r\n")
                    if head_end < 0:
                        data = conn.recv(65536)
                        if not data:
                            break
                        buf += data
                        continue
                    head = buf[:head_end].decode()
                    length = int(
                        next(
                            line.split(":")[1]
                            for line in head.split("\r\n")
                            if line.lower().startswith("content-length")
                        )
                    )
                    while len(buf) < head_end + 4 + length:
                        buf += conn.recv(65536)
                    buf = buf[head_end + 4 + length :]
                    self.requests += 1
                    try:
                        for part in self.respond(self.requests):
                            if part == b"<pause>":
                                _time.sleep(0.3)
                                continue
                            if part == b"<close>":
                                raise OSError("closing, as asked")
                            for i in range(0, len(part), self.piece):
                                conn.sendall(part[i : i + self.piece])
                    except OSError:
                        break

    def close(self) -> None:
        self._server.close()


def _chunked(body: bytes, size: int, *, extension: bytes = b"", trailer: bytes = b"") -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"".join(
        b"%x%s\r\n%s\r\n" % (len(body[i : i + size]), extension, body[i : i + size])
        for i in range(0, len(body), size)
    )
    return head + chunks + b"0\r\n" + trailer + b"\r\n"


def _answer(n: int) -> bytes:
    logs = [{"logIndex": hex(i), "data": "0x" + f"{i:064x}"} for i in range(n)]
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": logs}).encode()


def _send(url: str, limits: RpcLimits | None = None) -> list[Any]:
    transport = HttpTransport(url, limits or RpcLimits(timeout=5, retry_time=10))
    try:
        return transport.send([{"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": []}], 1e18)
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("size", "piece", "extension", "trailer"),
    [
        (1, 7, b"", b""),  # one byte a chunk
        (300, 1, b"", b""),  # one byte a socket write: every boundary split
        (4096, 1000, b";name=value", b"X-Trailer: 1\r\nX-Other: 2\r\n"),
        (1 << 20, 1 << 16, b"", b""),  # one chunk for the whole answer
    ],
)
def test_a_chunked_answer_is_decoded_however_it_is_cut(
    size: int, piece: int, extension: bytes, trailer: bytes
) -> None:
    body = _answer(40)
    node = _RawNode(lambda _n: [_chunked(body, size, extension=extension, trailer=trailer)], piece)
    try:
        assert _send(node.url) == [json.loads(body)]
    finally:
        node.close()


def test_a_chunked_answer_leaves_the_connection_ready_for_the_next_request() -> None:
    bodies = [_answer(5), _answer(9)]
    node = _RawNode(lambda n: [_chunked(bodies[(n - 1) % 2], 64)])
    transport = HttpTransport(node.url, RpcLimits(timeout=5))
    try:
        call = [{"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": []}]
        answers = [transport.send(call, 1e18) for _ in range(4)]
    finally:
        transport.close()
        node.close()
    assert answers == [[json.loads(bodies[i % 2])] for i in range(4)]
    assert (node.connections, node.requests) == (1, 4)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("cut in a chunk", _chunked(_answer(20), 100)[:-200], "ended in the middle of a chunk"),
        ("cut before the last chunk", _chunked(_answer(20), 100)[:-5], "ended in the middle of a chunk"),
        (
            "size not hex",
            _chunked(_answer(3), 50).replace(b"\r\n32\r\n", b"\r\nzz\r\n", 1),
            "chunk size line",
        ),
        ("size line too long", _chunked(b"", 1)[:-5] + b"1" * 10_000, "size line is too long"),
        ("size past 16 digits", _chunked(b"", 1)[:-5] + b"1" * 17 + b"\r\n", "chunk size line"),
        ("chunk longer than its size", _chunked(b"[1]", 3).replace(b"3\r\n[1]", b"2\r\n[1]"), "does not end"),
    ],
)
def test_a_broken_chunked_answer_is_a_fault_to_retry(name: str, raw: bytes, message: str) -> None:
    node = _RawNode(lambda _n: [raw, b"<close>"])
    try:
        with pytest.raises(TransportFault, match=message):
            _send(node.url)
    finally:
        node.close()


def test_a_chunked_answer_over_the_limit_is_too_large_before_it_is_all_read() -> None:
    from backend.chain.rpc import AnswerTooLarge

    node = _RawNode(lambda _n: [_chunked(_answer(2000), 512)])
    try:
        with pytest.raises(AnswerTooLarge):
            _send(node.url, RpcLimits(timeout=5, max_answer_bytes=10_000))
    finally:
        node.close()


@pytest.mark.parametrize("over", [1, 100, 5000])
def test_a_chunked_answer_just_over_the_limit_is_too_large_not_a_fault(over: int) -> None:
    """Too large (an eth_getLogs range then halves), never a retried fault, however little it is over."""
    from backend.chain.rpc import AnswerTooLarge

    body = _answer(200)
    node = _RawNode(lambda _n: [_chunked(body, 1000)])
    try:
        with pytest.raises(AnswerTooLarge):
            _send(node.url, RpcLimits(timeout=5, max_answer_bytes=len(body) - over))
        assert _send(node.url, RpcLimits(timeout=5, max_answer_bytes=len(body))) == [json.loads(body)]
    finally:
        node.close()


def test_a_chunked_answer_that_trickles_past_the_deadline_is_cut_off() -> None:
    body = _chunked(_answer(3), 10)
    parts: list[bytes] = []
    for i in range(0, len(body), 40):
        parts += [body[i : i + 40], b"<pause>"]
    node = _RawNode(lambda _n: parts)
    transport = HttpTransport(node.url, RpcLimits(timeout=5))
    try:
        call = [{"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": []}]
        with pytest.raises(TransportFault, match="still arriving when the time for this call ran out"):
            transport.send(call, time.monotonic() + 0.5)
    finally:
        transport.close()
        node.close()
