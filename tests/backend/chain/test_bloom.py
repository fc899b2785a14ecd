"""backend.chain.bloom against the blooms a Hardhat node put in the headers it served (resources/traffic)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.chain.bloom import bloom_mask, filter_in_bloom, in_bloom, log_in_bloom, logs_bloom, parse_bloom
from tests.backend.chain.replay import Case, call_key

ABSENT = "0x" + "ee" * 20


@pytest.fixture(scope="module")
def traffic() -> Case:
    return Case("traffic")


def _header(case: Case, number: int) -> dict[str, Any]:
    (answer,) = case.answers[call_key("eth_getBlockByNumber", [hex(number), False])]
    header: dict[str, Any] = answer["result"]
    return header


def _receipts(case: Case, header: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The block's receipts when all were recorded (suspect blocks of the receipts check), else None."""
    found = [case.answers.get(call_key("eth_getTransactionReceipt", [tx])) for tx in header["transactions"]]
    return [answers[0]["result"] for answers in found if answers] if all(found) else None


def test_the_bloom_of_a_blocks_receipt_logs_is_the_headers(traffic: Case) -> None:
    checked = 0
    for number in range(traffic.meta["from_block"], traffic.meta["to_block"] + 1):
        header = _header(traffic, number)
        receipts = _receipts(traffic, header)
        if receipts is None:
            continue
        logs = [(log["address"], log["topics"]) for receipt in receipts for log in receipt["logs"]]
        assert logs_bloom(logs) == parse_bloom(header["logsBloom"]), number
        assert all(log_in_bloom(parse_bloom(header["logsBloom"]), a, t) for a, t in logs)
        checked += 1
    assert checked > 10


def test_our_filter_is_in_the_bloom_of_every_block_with_our_logs_and_in_no_empty_one(traffic: Case) -> None:
    ours = traffic.addresses
    with_logs = {log.block_number for log in traffic.expected}
    empty = 0
    for number in range(traffic.meta["from_block"], traffic.meta["to_block"] + 1):
        bloom = parse_bloom(_header(traffic, number)["logsBloom"])
        if number in with_logs:
            assert filter_in_bloom(bloom, ours)
        if bloom == 0:
            empty += 1
            assert not filter_in_bloom(bloom, ours)
    assert empty >= 3  # the traffic mines empty blocks


def test_a_topic_filter_narrows_what_a_bloom_may_hold(traffic: Case) -> None:
    (submitted,) = traffic.meta["topics"]
    item_blocks = {log["block_number"] for log in traffic.meta["item_submitted_logs"]}
    registry = traffic.meta["item_submitted_logs"][0]["address"]
    hits = set()
    for number in range(traffic.meta["from_block"], traffic.meta["to_block"] + 1):
        bloom = parse_bloom(_header(traffic, number)["logsBloom"])
        if filter_in_bloom(bloom, [registry], [submitted]):
            hits.add(number)
        assert filter_in_bloom(bloom, [registry], [None]) == filter_in_bloom(bloom, [registry])
    assert item_blocks <= hits  # no false negatives; false positives are possible, and rechecked
    assert len(hits) < len(item_blocks) + 3


def test_bloom_bits_and_forms() -> None:
    mask = bloom_mask(ABSENT)
    assert bin(mask).count("1") in (1, 2, 3)  # three bits, which may coincide
    assert in_bloom(mask, ABSENT)
    assert not in_bloom(0, ABSENT)
    assert not filter_in_bloom(mask, [ABSENT], [["0x" + "00" * 32]])
    assert (
        parse_bloom("0x" + "00" * 255 + "01") == parse_bloom(b"\x00" * 255 + b"\x01") == parse_bloom(1) == 1
    )
    with pytest.raises(ValueError, match="expected a logsBloom"):
        parse_bloom(None)
