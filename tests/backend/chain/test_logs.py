"""backend.chain.logs on answers recorded from a Hardhat node (resources/, see record_answers.py), over HTTP."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from backend.chain.logs import RawLog, RpcLogFetcher, Verify
from backend.chain.rpc import InconsistentAnswerError, RpcFaultError, hex_text, quantity
from tests.backend.chain.replay import Case, fetch_all, log_from_json, replaying


def _logs(fetcher: RpcLogFetcher, case: Case) -> list[RawLog]:
    batches = fetch_all(fetcher, case.meta["from_block"], case.meta["to_block"])
    for before, after in itertools.pairwise(batches):
        assert after.from_block == before.to_block + 1  # contiguous, nothing skipped or read twice
    return [log for batch in batches for log in batch.logs]


@pytest.mark.parametrize("verify", ["receipts", "bloom", "none"])
def test_a_clean_range_gives_exactly_the_nodes_logs(verify: Verify) -> None:
    with replaying("traffic") as node:
        fetcher = node.case.fetcher(node.url, verify=verify)
        logs = _logs(fetcher, node.case)
    assert logs == node.case.expected
    assert len(logs) > 20
    assert (fetcher.stats.rejected_answers, fetcher.stats.halvings, fetcher.stats.faults) == (0, 0, 0)
    if verify == "receipts":  # Hardhat has no eth_getBlockReceipts: receipts come one by one
        assert any(method == "eth_getTransactionReceipt" for method, _ in node.asked)
        assert fetcher.stats.receipts_checked > 0
    if verify == "bloom":  # suspect blocks are asked for again by hash (EIP-234), the node takes that
        assert any(m == "eth_getLogs" and "blockHash" in p[0] for m, p in node.asked)


@pytest.mark.parametrize("verify", ["receipts", "bloom"])
def test_a_topic_filter_gives_only_matching_logs_and_is_verified_with_it(verify: Verify) -> None:
    with replaying("traffic") as node:
        case = node.case
        registry = case.meta["item_submitted_logs"][0]["address"]
        fetcher = RpcLogFetcher(node.url, [registry], topics=case.meta["topics"], verify=verify)
        logs = _logs(fetcher, case)
    assert logs == [log_from_json(d) for d in case.meta["item_submitted_logs"]]
    assert len(logs) == 3
    assert fetcher.stats.rejected_answers == 0


def test_the_simple_reads_parse_what_the_node_says() -> None:
    with replaying("traffic") as node:
        fetcher = node.case.fetcher(node.url)
        head, a = node.case.meta["to_block"], node.case.meta["from_block"]
        assert (fetcher.chain_id(), fetcher.head()) == (31337, head)
        refs = [fetcher.block(n) for n in range(a, head + 1)]
        assert fetcher.block(head + 1000) is None
    known = [ref for ref in refs if ref is not None]
    assert [ref.number for ref in known] == list(range(a, head + 1))
    for before, after in itertools.pairwise(known):
        assert after.parent_hash == before.hash


def test_a_range_the_node_refuses_is_halved_until_it_answers() -> None:
    with replaying("range_refused") as node:
        fetcher = node.case.fetcher(node.url)
        logs = _logs(fetcher, node.case)
    assert logs == node.case.expected
    assert fetcher.stats.halvings > 0
    spans = [
        int(p[0]["toBlock"], 16) - int(p[0]["fromBlock"], 16) + 1
        for m, p in node.asked
        if m == "eth_getLogs" and "fromBlock" in p[0]
    ]
    whole = node.case.meta["to_block"] - node.case.meta["from_block"] + 1
    assert spans[0] == whole  # the whole range first
    assert max(spans[1:]) <= whole // 2
    answered = [s for s in spans if s <= node.case.meta["refused_span"]]
    assert sum(answered) >= whole


def test_an_oversized_answer_makes_the_range_halve() -> None:
    with replaying("oversized") as node:
        fetcher = node.case.fetcher(node.url)
        logs = _logs(fetcher, node.case)
    assert logs == node.case.expected
    assert fetcher.stats.halvings > 0
    assert "the answer has more than" in fetcher.stats.last_fault


def test_an_oversized_answer_to_another_method_is_an_error_naming_the_setting() -> None:
    with replaying("traffic") as node:
        fetcher = node.case.fetcher(node.url, max_answer_bytes=500)  # a header is bigger
        with pytest.raises(RpcFaultError) as caught:
            fetcher.block(node.case.meta["from_block"])
    message = str(caught.value)
    assert "eth_getBlockByNumber to http://127.0.0.1:" in message
    assert "over the limit of 500 (CURATION_RPC_MAX_ANSWER_BYTES)" in message


def test_a_block_whose_bloom_does_not_hold_its_logs_is_refused() -> None:
    with replaying("bloom_mismatch") as node:
        case = node.case
        fetcher = case.fetcher(node.url)
        block = case.meta["tampered_block"]
        with pytest.raises(
            InconsistentAnswerError,
            match=rf"answered blocks {block}\.\.{block} inconsistently 3 times .*\(last: log 0 of block {block} "
            r"is not in the block's bloom\); is the node behind a broken proxy",
        ):
            _logs(fetcher, case)
        trusting = case.fetcher(node.url, verify="none")  # "none" trusts the node: the same answers pass
        assert _logs(trusting, case) == case.expected


def test_a_reorg_while_a_range_is_read_is_read_again_from_the_new_fork() -> None:
    with replaying("reorg") as node:
        case = node.case
        fetcher = case.fetcher(node.url)
        logs = _logs(fetcher, case)
    assert logs == case.expected
    assert logs != [log_from_json(d) for d in case.meta["replaced_logs"]]
    assert fetcher.stats.rejected_answers == 1
    assert f"block {case.meta['fork_block'] + 1} changed from" in fetcher.stats.last_fault
    assert fetcher.stats.last_fault.endswith("(reorg?)")


def test_a_node_that_keeps_answering_from_a_dead_fork_is_refused() -> None:
    with replaying("reorg_unsettled") as node:
        fetcher = node.case.fetcher(node.url)
        with pytest.raises(InconsistentAnswerError, match=r"names another block hash.*still syncing\?"):
            _logs(fetcher, node.case)


def test_a_silent_node_is_reported_with_the_wait_that_ran_out() -> None:
    with replaying("traffic", delay={"eth_blockNumber": 1.0}) as node:
        fetcher = node.case.fetcher(node.url, timeout=0.2, retry_time=1.0, backoff=0.01)
        with pytest.raises(RpcFaultError) as caught:
            fetcher.head()
    message = str(caught.value)
    assert message.startswith(f"eth_blockNumber to {node.url} failed ")
    assert "last error: no answer within 0.2 s (read timeout)" in message
    assert "CURATION_RPC_TIMEOUT" in message
    assert fetcher.stats.faults >= 2  # retried before giving up


# --- RawLog.from_rpc: the fast path for a node's JSON and the general one agree ------------------------------


def _reference(raw: Any) -> RawLog:
    """RawLog.from_rpc as it was before its fast path: every field through hex_text and quantity."""
    return RawLog(
        block_number=quantity(raw["blockNumber"]),
        block_hash=hex_text(raw["blockHash"]),
        tx_hash=hex_text(raw["transactionHash"]),
        tx_index=quantity(raw["transactionIndex"]),
        log_index=quantity(raw["logIndex"]),
        address=hex_text(raw["address"]),
        topics=tuple(hex_text(t) for t in raw["topics"]),
        data=hex_text(raw["data"]),
    )


def _result(build: Any, raw: Any) -> Any:
    try:
        return build(raw)
    except Exception as exc:  # the comparison is of the type and message
        return (type(exc), str(exc))


_NODE_LOG: dict[str, Any] = {
    "address": "0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    "topics": ["0xDDF252AD" + "1" * 56, "0x" + "0" * 64],
    "data": "0x" + "Ab" * 32,
    "blockNumber": "0x1f",
    "blockHash": "0x" + "C" * 64,
    "transactionHash": "0X" + "d" * 64,
    "transactionIndex": "0x0",
    "logIndex": "0xA",
    "removed": False,
}


def _variants() -> list[Any]:
    out: list[Any] = [_NODE_LOG, {**_NODE_LOG, "topics": []}]
    odd: list[tuple[str, Any]] = [
        ("blockNumber", 31),  # web3's formatters give ints
        ("logIndex", 10),
        ("blockHash", bytes(32)),  # and bytes
        ("topics", [bytes(32), "0x01"]),
        ("topics", ("0x01",)),  # a tuple is not what a node sends, but it is iterable
        ("topics", "0x01"),  # a string is iterable too: each character is refused
        ("topics", ["0x01", 5]),
        ("topics", ["0x01", "01"]),
        ("data", "Ab"),
        ("data", None),
        ("address", 5),
        ("blockNumber", "0X1f"),  # quantity takes only 0x
        ("blockNumber", "1f"),
        ("blockNumber", "0xzz"),
        ("transactionIndex", "0x"),
        ("logIndex", True),
        ("logIndex", 1.5),
        ("blockHash", "0x"),
        ("transactionHash", ["0x00"]),
    ]
    out += [{**_NODE_LOG, key: value} for key, value in odd]
    # Prefixes spread over fields of one and three characters: each field must start 0x on its own.
    out.append({**_NODE_LOG, "blockHash": "0", "transactionHash": "x0X", "address": "x0", "data": "x0x"})
    out.append({**_NODE_LOG, "blockHash": "0x", "transactionHash": "0", "address": "x0x", "data": "0x"})
    out += [{k: v for k, v in _NODE_LOG.items() if k != key} for key in _NODE_LOG if key != "removed"]
    out += [None, [], "0x00", {"blockNumber": "0x1"}]
    return out


@pytest.mark.parametrize("raw", _variants())
def test_a_log_is_read_from_any_answer_exactly_as_hex_text_and_quantity_read_it(raw: Any) -> None:
    assert _result(RawLog.from_rpc, raw) == _result(_reference, raw)


def test_a_nodes_log_is_normalised_to_lowercase_hex() -> None:
    log = RawLog.from_rpc(_NODE_LOG)
    assert (log.block_number, log.log_index, log.tx_index) == (31, 10, 0)
    assert log.address == "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
    assert log.topics == ("0xddf252ad" + "1" * 56, "0x" + "0" * 64)
    assert (log.block_hash, log.tx_hash, log.data) == ("0x" + "c" * 64, "0x" + "d" * 64, "0x" + "ab" * 32)
