"""Fetch raw logs: ranged eth_getLogs on backend.chain.rpc, every answer checked against headers and blooms."""

from __future__ import annotations

import itertools
import operator
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from backend.chain.bloom import bloom_mask, filter_in_bloom, log_in_bloom, parse_bloom
from backend.chain.rpc import (
    DEFAULT_MAX_ANSWER_BYTES,
    AnswerRejected,
    FetchStats,
    InconsistentAnswerError,
    MethodUnsupported,
    RangeHalving,
    RpcClient,
    RpcLimits,
    Transport,
    hex_text,
    quantity,
    web3_endpoint,
)
from backend.errors import ConfigError

if TYPE_CHECKING:  # web3 is needed only to read an existing connection's provider
    from web3 import Web3

__all__ = ["BlockRef", "LogBatch", "RawLog", "RpcLogFetcher", "Topics", "Verify"]

#: How a range's eth_getLogs answer is checked before it is handed to the indexer (see docs/indexer.md):
#: "bloom" (default) checks every block's logsBloom and re-reads, block by block, each block whose bloom
#: names our contracts but got no logs, and the last block with logs (where a silent result cap cuts);
#: "receipts" compares every block whose bloom names our contracts with its receipts (exact, costly);
#: "none" trusts the node (still checks ranges, addresses and block hashes).
Verify = Literal["receipts", "bloom", "none"]

#: An eth_getLogs topic filter: per position from topic 0, None (any topic) or the topics allowed there.
Topics = tuple[tuple[str, ...] | None, ...]

_HEADER_BATCH = 100
_POSITION = operator.attrgetter("block_number", "log_index")
_RECEIPT_BATCH = 200


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

    @classmethod
    def from_rpc(cls, raw: Any) -> RawLog:
        """A log as eth_getLogs or a receipt gives it (JSON-RPC hex, or web3's HexBytes and ints).

        Raises KeyError, TypeError, ValueError or AttributeError for a malformed one: each caller says which
        answer it was (a rejected eth_getLogs answer, an undecodable receipt log).
        """
        # The fast path takes a node's JSON as it comes (0x text everywhere) with the checks hex_text and
        # quantity make; anything else (web3's bytes and ints, malformed values) takes the general path,
        # which returns the same log or raises the same error. A backfill parses every log here.
        number, block_hash, tx_hash = raw["blockNumber"], raw["blockHash"], raw["transactionHash"]
        tx_index, index, address = raw["transactionIndex"], raw["logIndex"], raw["address"]
        topics, data = raw["topics"], raw["data"]
        try:
            if (
                type(number) is str
                and type(tx_index) is str
                and type(index) is str
                and number[:2] == tx_index[:2] == index[:2] == "0x"
                and type(topics) is list
                and block_hash[:2] + tx_hash[:2] + address[:2] + data[:2] in _FOUR_PREFIXES
                and all(map(_HEX_START, topics))
            ):
                return cls(
                    int(number, 16),
                    block_hash.lower(),
                    tx_hash.lower(),
                    int(tx_index, 16),
                    int(index, 16),
                    address.lower(),
                    tuple(map(str.lower, topics)),
                    data.lower(),
                )
        except (AttributeError, TypeError):  # bytes or numbers where text was expected: see below
            pass
        return cls(
            block_number=quantity(number),
            block_hash=hex_text(block_hash),
            tx_hash=hex_text(tx_hash),
            tx_index=quantity(tx_index),
            log_index=quantity(index),
            address=hex_text(address),
            topics=tuple(hex_text(t) for t in topics),
            data=hex_text(data),
        )


#: True for text that starts 0x or 0X (as hex_text takes it); TypeError or AttributeError for what is not text.
_HEX_START = operator.methodcaller("startswith", ("0x", "0X"))
#: Four 0x/0X prefixes one after the other: eight characters only if each of the four slices has two.
_FOUR_PREFIXES = frozenset(
    a + b + c + d for a in ("0x", "0X") for b in ("0x", "0X") for c in ("0x", "0X") for d in ("0x", "0X")
)


@dataclass(frozen=True, slots=True)
class LogBatch:
    """All logs of blocks `from_block..to_block`, ordered, with the headers the indexer keeps."""

    from_block: int
    to_block: int
    logs: tuple[RawLog, ...]
    first: BlockRef
    last: BlockRef
    blocks: tuple[BlockRef, ...]  # every block that holds one of `logs`, ascending


def _topic_filter(topics: Iterable[Iterable[str] | None]) -> Topics:
    out = [None if choices is None else tuple(sorted({hex_text(t) for t in choices})) for choices in topics]
    while out and out[-1] is None:
        out.pop()
    if len(out) > 4:
        raise ConfigError(f"a log has at most 4 topics; the filter names {len(out)} positions")
    return tuple(out)


def _matches(topics: Topics, log_topics: Sequence[str]) -> bool:
    """True when a log with `log_topics` passes the eth_getLogs topic filter `topics` (as geth matches)."""
    return len(log_topics) >= len(topics) and all(
        choices is None or topic in choices for choices, topic in zip(topics, log_topics, strict=False)
    )


class RpcLogFetcher:
    """Reads the logs of a set of contract addresses (optionally filtered by topics) from one node, robustly.

    Ranges follow backend.chain.rpc.RangeHalving (halved when the node refuses them or answers them
    incompletely, grown back after successes); transient faults are retried by backend.chain.rpc.RpcClient
    within `retries` and `retry_time`; every answer is checked against the block headers and blooms (or
    receipts) before it is returned. Safe to use from one thread.
    """

    def __init__(
        self,
        url: str,
        addresses: Iterable[str],
        *,
        topics: Iterable[Iterable[str] | None] = (),
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retry_time: float = 60.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        retries: int = 6,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        verify: Verify = "bloom",
        seed: int | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.addresses = tuple(sorted({hex_text(a) for a in addresses}))
        if not self.addresses:
            raise ConfigError("the log fetcher needs at least one contract address")
        if verify not in ("receipts", "bloom", "none"):
            raise ConfigError(f"verify must be 'receipts', 'bloom' or 'none', not {verify!r}")
        self.topics = _topic_filter(topics)
        self.verify: Verify = verify
        limits = RpcLimits(connect_timeout, timeout, retry_time, max_answer_bytes)
        self.rpc = RpcClient(
            url,
            limits,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            seed=seed,
            transport=transport,
        )
        self.url = url
        self.shown = self.rpc.shown
        self.limits = limits
        self.stats: FetchStats = self.rpc.stats
        self._ranges = RangeHalving(self.rpc)
        self._block_receipts: bool | None = None  # eth_getBlockReceipts support, learnt on first use

    @classmethod
    def from_web3(
        cls,
        w3: Web3,
        addresses: Iterable[str],
        *,
        topics: Iterable[Iterable[str] | None] = (),
        verify: Verify = "bloom",
    ) -> RpcLogFetcher:
        """A fetcher on the node behind an existing connection (HTTP URL or the embedded chain).

        It waits as long as the connection does (backend.chain.rpc.web3_endpoint).
        """
        endpoint = web3_endpoint(w3)
        return cls(
            endpoint.url,
            addresses,
            topics=topics,
            verify=verify,
            transport=endpoint.transport,
            **asdict(endpoint.limits),
        )

    def close(self) -> None:
        self.rpc.close()

    # --- simple reads ---------------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The node's chain id."""
        return self.rpc.chain_id()

    def head(self) -> int:
        """The number of the node's latest block."""
        return self.rpc.head()

    def block(self, number: int) -> BlockRef | None:
        """The node's block at `number`, or None when it has none (the chain is shorter)."""
        started = time.monotonic()
        attempt = 0
        while True:
            raw = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
            if raw is None:
                return None
            try:
                ref, _, _ = self._parse_header(raw, number)
                return ref
            except AnswerRejected as exc:
                self.stats.note("rejected", str(exc))
                self.stats.rejected_answers += 1
                if not self.rpc.pause(attempt, started):
                    raise InconsistentAnswerError(
                        f"eth_getBlockByNumber({number}) at {self.shown}: {exc}"
                    ) from None
                attempt += 1

    # --- ranged log fetching --------------------------------------------------------------------------------
    def fetch(self, from_block: int, to_block: int) -> LogBatch:
        """All logs of our addresses (and topics) in blocks from_block..to_block; the batch may end early.

        The returned batch always starts at `from_block` and covers at least one block.
        """
        return self._ranges.read(from_block, to_block, self._fetch_exact)

    def _filter(self, **where: Any) -> dict[str, Any]:
        """An eth_getLogs filter for our addresses and topics, in the blocks `where` names."""
        out: dict[str, Any] = {**where, "address": list(self.addresses)}
        if self.topics:
            out["topics"] = [None if c is None else list(c) for c in self.topics]
        return out

    def _fetch_exact(self, a: int, b: int) -> LogBatch:
        raw_logs = self.rpc.call("eth_getLogs", [self._filter(fromBlock=hex(a), toBlock=hex(b))])
        if not isinstance(raw_logs, list | tuple):
            raise AnswerRejected(f"eth_getLogs answered {type(raw_logs).__name__}, not a list")
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
                raise AnswerRejected(
                    f"log {log.log_index} of block {log.block_number} names another block hash"
                )
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
                raise AnswerRejected(
                    f"block {number} changed from {ref.hash} to {again[number].hash} while blocks {a}..{b} "
                    "were read (reorg?)"
                )
        self.stats.unlinked += len(pairs)

    def _parse_logs(self, raw_logs: Sequence[Any], a: int, b: int) -> list[RawLog]:
        logs: list[RawLog] = []
        seen: set[tuple[int, int]] = set()
        allowed = set(self.addresses)
        wanted = self.topics
        for raw in raw_logs:
            try:
                if raw.get("removed"):
                    raise AnswerRejected("eth_getLogs returned a removed log")
                log = RawLog.from_rpc(raw)
                topics = log.topics
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise AnswerRejected(f"malformed log {str(raw)[:160]!r} ({exc})") from None
            if not a <= log.block_number <= b:
                raise AnswerRejected(
                    f"eth_getLogs for blocks {a}..{b} returned a log of block {log.block_number}"
                )
            if log.address not in allowed:
                raise AnswerRejected(f"eth_getLogs returned a log of {log.address}, which was not asked for")
            if len(topics) > 4:
                raise AnswerRejected(
                    f"log {log.log_index} of block {log.block_number} has {len(topics)} topics"
                )
            if wanted and not _matches(wanted, topics):  # no filter: every log matches
                raise AnswerRejected(
                    f"eth_getLogs returned log {log.log_index} of block {log.block_number}, whose topics were "
                    "not asked for"
                )
            key = (log.block_number, log.log_index)
            if key in seen:
                raise AnswerRejected(f"log {log.log_index} of block {log.block_number} appears twice")
            seen.add(key)
            logs.append(log)
        logs.sort(key=_POSITION)
        return logs

    def _parse_header(self, raw: Any, number: int) -> tuple[BlockRef, int, list[str]]:
        try:
            ref = BlockRef(quantity(raw["number"]), hex_text(raw["hash"]), hex_text(raw["parentHash"]))
            bloom = parse_bloom(raw["logsBloom"])
            txs = [hex_text(t if isinstance(t, str) else t["hash"]) for t in raw.get("transactions", [])]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise AnswerRejected(f"malformed header for block {number} ({exc})") from None
        if ref.number != number:
            raise AnswerRejected(f"asked for block {number}, got block {ref.number}")
        return ref, bloom, txs

    def _headers(self, numbers: list[int]) -> list[tuple[BlockRef, int, list[str]]]:
        out = []
        for i in range(0, len(numbers), _HEADER_BATCH):
            chunk = numbers[i : i + _HEADER_BATCH]
            results = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for n, raw in zip(chunk, results, strict=True):
                if raw is None:
                    raise AnswerRejected(f"the node has no block {n} though it answered for the range")
                out.append(self._parse_header(raw, n))
        return out

    def _check_blooms(self, headers: list[tuple[BlockRef, int, list[str]]], logs: list[RawLog]) -> None:
        per_block: dict[int, list[RawLog]] = {}
        for log in logs:
            per_block.setdefault(log.block_number, []).append(log)
        suspects: list[tuple[BlockRef, list[str]]] = []
        masks = bloom_mask
        for ref, bloom, txs in headers:
            mine = per_block.get(ref.number, [])
            # Every bit of every log's address and topics must be set: one mask for the whole block, and
            # the log to blame looked for only when it fails.
            mask = 0
            for log in mine:
                mask |= masks(log.address)
                for topic in log.topics:
                    mask |= masks(topic)
            if bloom & mask != mask:
                for log in mine:
                    if not log_in_bloom(bloom, log.address, log.topics):
                        raise AnswerRejected(
                            f"log {log.log_index} of block {ref.number} is not in the block's bloom"
                        )
            if mine or filter_in_bloom(bloom, self.addresses, self.topics):
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
        if self.rpc.transport.block_hash_filters:
            filters = [self._filter(blockHash=r.hash) for r in recheck]
        else:
            filters = [self._filter(fromBlock=hex(r.number), toBlock=hex(r.number)) for r in recheck]
        calls = [("eth_getLogs", [f]) for f in filters]
        for ref, found in zip(recheck, self.rpc.batch(calls), strict=True):
            if not isinstance(found, list | tuple):
                raise AnswerRejected(f"eth_getLogs for block {ref.number} answered {type(found).__name__}")
            again = self._parse_logs(found, ref.number, ref.number)
            if again != per_block.get(ref.number, []):
                raise AnswerRejected(
                    f"block {ref.number}: the range answer holds {len(per_block.get(ref.number, []))} logs, "
                    f"the block alone {len(again)}"
                )

    def _check_receipts(
        self, suspects: list[tuple[BlockRef, list[str]]], per_block: dict[int, list[RawLog]]
    ) -> None:
        """Compare each suspect block's logs with the logs of our addresses (and topics) in its receipts."""
        allowed = set(self.addresses)
        for ref, receipts in self._receipts(suspects):
            expected: list[tuple[int, str, tuple[str, ...], str]] = []
            try:
                for receipt in receipts:
                    if hex_text(receipt["blockHash"]) != ref.hash:
                        raise AnswerRejected(
                            f"a receipt of block {ref.number} belongs to another block (reorg?)"
                        )
                    for raw in receipt["logs"]:
                        address, topics = hex_text(raw["address"]), tuple(hex_text(t) for t in raw["topics"])
                        if address in allowed and _matches(self.topics, topics):
                            expected.append(
                                (quantity(raw["logIndex"]), address, topics, hex_text(raw["data"]))
                            )
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise AnswerRejected(f"malformed receipt in block {ref.number} ({exc})") from None
            got = [
                (log.log_index, log.address, log.topics, log.data) for log in per_block.get(ref.number, [])
            ]
            self.stats.receipts_checked += len(receipts)
            if sorted(expected) != got:
                raise AnswerRejected(
                    f"block {ref.number}: eth_getLogs gave {len(got)} logs, its receipts hold {len(expected)}"
                )

    def _receipts(self, suspects: list[tuple[BlockRef, list[str]]]) -> list[tuple[BlockRef, list[Any]]]:
        if not suspects:
            return []
        if self._block_receipts is not False:
            try:
                results = self.rpc.batch([("eth_getBlockReceipts", [ref.hash]) for ref, _ in suspects])
            except MethodUnsupported:
                self._block_receipts = False
            else:
                self._block_receipts = True
                out = []
                for (ref, txs), receipts in zip(suspects, results, strict=True):
                    if not isinstance(receipts, list) or len(receipts) != len(txs):
                        raise AnswerRejected(f"eth_getBlockReceipts of block {ref.number} is incomplete")
                    out.append((ref, receipts))
                return out
        calls = [(ref, tx) for ref, txs in suspects for tx in txs]
        fetched: list[Any] = []
        for i in range(0, len(calls), _RECEIPT_BATCH):
            chunk = calls[i : i + _RECEIPT_BATCH]
            fetched += self.rpc.batch([("eth_getTransactionReceipt", [tx]) for _, tx in chunk])
        grouped: dict[int, list[Any]] = {ref.number: [] for ref, _ in suspects}
        for (ref, tx), receipt in zip(calls, fetched, strict=True):
            if receipt is None:
                raise AnswerRejected(f"the node has no receipt for {tx} of block {ref.number}")
            grouped[ref.number].append(receipt)
        return [(ref, grouped[ref.number]) for ref, _ in suspects]
