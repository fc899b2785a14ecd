"""backend.chain.rpc: batched calls and retries, the range-halving policy, transports and endpoints."""

from __future__ import annotations

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
