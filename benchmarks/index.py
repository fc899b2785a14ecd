"""Benchmark: raw-log backfill by the indexer beside naive web3.py (get_logs per event type, decoded)."""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from eth_utils.crypto import keccak

from benchmarks._util import print_report

__all__ = ["TokenTraffic", "main"]

_GAS = hex(250_000)


def _word(value: int | str) -> str:
    return (value[2:].lower() if isinstance(value, str) else f"{value:x}").rjust(64, "0")


def _calldata(signature: str, *args: int | str) -> str:
    return "0x" + keccak(text=signature)[:4].hex() + "".join(_word(a) for a in args)


class TokenTraffic:
    """Sends CurationToken mints, transfers and delegations to a Hardhat node, many per block.

    Raw JSON-RPC batches (no web3, no receipts awaited) with explicit gas: thousands of events in seconds.
    `minter` must hold the token's minter role; `holders` are unlocked node accounts.
    """

    def __init__(self, url: str, token: str, minter: str, holders: list[str]) -> None:
        self.url = url
        self.token = token
        self.minter = minter
        self.holders = holders
        self._client = httpx.Client(timeout=60)
        self._id = 0

    def close(self) -> None:
        self._client.close()

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return self.batch([(method, params or [])])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        payload = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answers = {a["id"]: a for a in self._client.post(self.url, json=payload).json()}
        out = []
        for call in payload:
            answer = answers[call["id"]]
            if "error" in answer:
                raise RuntimeError(f"{call['method']} failed: {answer['error']}")
            out.append(answer.get("result"))
        return out

    def _tx(self, sender: str, data: str) -> tuple[str, list[Any]]:
        return ("eth_sendTransaction", [{"from": sender, "to": self.token, "data": data, "gas": _GAS}])

    def mint_tx(self, to: str, amount: int) -> tuple[str, list[Any]]:
        return self._tx(self.minter, _calldata("mint(address,uint256)", to, amount))

    def random_tx(self, rng: random.Random) -> tuple[str, list[Any]]:
        """A mint (1 log, 2 once delegated), a delegation (1-2 logs) or a transfer (1-3 logs)."""
        who = rng.choice(self.holders)
        roll = rng.random()
        if roll < 0.4:
            return self._tx(self.minter, _calldata("mint(address,uint256)", who, rng.randrange(1, 10**18)))
        if roll < 0.6:
            return self._tx(who, _calldata("delegate(address)", rng.choice(self.holders)))
        to = rng.choice(self.holders)
        return self._tx(who, _calldata("transfer(address,uint256)", to, rng.randrange(1, 1000)))

    def fund(self, amount: int = 10**24) -> None:
        """Give every holder tokens (one block), so random transfers do not revert."""
        mints = [self._tx(self.minter, _calldata("mint(address,uint256)", h, amount)) for h in self.holders]
        self.mine(mints)

    def mine(self, txs: list[tuple[str, list[Any]]]) -> None:
        """Mine exactly one block holding `txs` (an empty block when there are none)."""
        if not txs:
            self.rpc("evm_mine")
            return
        self.rpc("evm_setAutomine", [False])
        try:
            self.batch(txs)
            self.rpc("evm_mine")
        finally:
            self.rpc("evm_setAutomine", [True])

    def blocks(self, rng: random.Random, count: int, max_txs: int) -> None:
        """Mine `count` blocks of 0..max_txs random transactions each."""
        for _ in range(count):
            self.mine([self.random_tx(rng) for _ in range(rng.randint(0, max_txs))])


def _naive(url: str, contracts: dict[str, str], start: int, end: int) -> int:
    """What a first script does: web3 contract objects, get_logs per event type, every log decoded."""
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from backend.chain.artifacts import load_artifact

    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 120}))
    count = 0
    for name, address in sorted(contracts.items()):
        abi: list[dict[str, Any]] = load_artifact(name).abi
        contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
        for entry in abi:
            if entry.get("type") != "event":
                continue
            events = contract.events[entry["name"]]().get_logs(from_block=start, to_block=end)
            count += len(events)
    return count


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on a private Hardhat node; print a table and, last, one JSON object."""
    from backend.chain.accounts import dev_signers
    from backend.chain.connection import connect
    from backend.chain.deployment import deploy_all
    from backend.chain.logs import RpcLogFetcher, Verify
    from backend.index import Indexer
    from tests.integration.hardhat import start_hardhat, stop

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=60, help="blocks of traffic")
    parser.add_argument("--txs-per-block", type=int, default=40)
    parser.add_argument("--max-range", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method; the best counts")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always printed last)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        node = start_hardhat(Path(tmp) / "hardhat.log")
        try:
            w3 = connect(node.url, timeout=60)
            signers = dev_signers(w3)
            deployment = deploy_all(w3, signers[0])
            holders = [s.address for s in signers[1:11]]
            traffic = TokenTraffic(node.url, deployment.address("CurationToken"), signers[0].address, holders)
            rng = random.Random(args.seed)
            gen_start = time.perf_counter()
            traffic.fund()
            for _ in range(args.blocks):
                traffic.mine([traffic.random_tx(rng) for _ in range(args.txs_per_block)])
            gen_s = time.perf_counter() - gen_start
            head = w3.eth.block_number
            addresses = list(deployment.contracts.values())

            timings: dict[str, float] = {}
            counts: dict[str, int] = {}
            naive_s = float("inf")
            naive_count = 0
            # Best of N runs each, interleaved: the machine is shared, the minimum is the honest cost.
            modes: tuple[Verify, ...] = ("bloom", "receipts", "none")
            for run in range(args.repeat):
                for verify in modes:
                    fetcher = RpcLogFetcher(node.url, addresses, verify=verify, timeout=120)
                    db = f"sqlite:///{tmp}/index-{verify}-{run}.sqlite"
                    start = time.perf_counter()
                    indexer = Indexer(
                        db, fetcher, addresses, deployment.deploy_block, max_range=args.max_range
                    )
                    result = indexer.sync()
                    elapsed = time.perf_counter() - start
                    timings[verify] = min(timings.get(verify, elapsed), elapsed)
                    counts[verify] = result.logs_added
                    indexer.close()
                    fetcher.close()
                start = time.perf_counter()
                naive_count = _naive(node.url, deployment.contracts, deployment.deploy_block, head)
                naive_s = min(naive_s, time.perf_counter() - start)
            traffic.close()
        finally:
            stop(node)

    events = counts["bloom"]
    if len(set(counts.values())) != 1 or naive_count != events:
        raise SystemExit(f"event counts disagree: indexer {counts}, naive {naive_count}")
    rate = {k: events / v for k, v in timings.items()}
    naive_rate = naive_count / naive_s
    report = {
        "benchmark": "index",
        "python": platform.python_version(),
        "blocks": head - deployment.deploy_block + 1,
        "repeat": args.repeat,
        "default_verify": "bloom",
        "events": events,
        "generate_s": round(gen_s, 2),
        "indexer_bloom_s": round(timings["bloom"], 3),
        "indexer_receipts_s": round(timings["receipts"], 3),
        "indexer_none_s": round(timings["none"], 3),
        "naive_web3_s": round(naive_s, 3),
        "indexer_bloom_events_per_s": round(rate["bloom"]),
        "indexer_receipts_events_per_s": round(rate["receipts"]),
        "indexer_none_events_per_s": round(rate["none"]),
        "naive_web3_events_per_s": round(naive_rate),
        "speedup_bloom": round(rate["bloom"] / naive_rate, 2),
        "speedup_receipts": round(rate["receipts"] / naive_rate, 2),
        "speedup_none": round(rate["none"] / naive_rate, 2),
    }
    print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
