"""Benchmark: the indexer's backfill beside its ceiling (raw eth_getLogs, httpx + orjson) and naive web3.py."""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from eth_utils.crypto import keccak

from benchmarks._util import peak_rss_mb, print_report

if TYPE_CHECKING:
    from backend.chain.logs import Verify

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


def _ranges(start: int, end: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(end, a + chunk - 1)) for a in range(start, end + 1, chunk)]


def _get_logs(contracts: dict[str, str], a: int, b: int) -> bytes:
    import orjson

    addresses = sorted(x.lower() for x in contracts.values())
    call = {"jsonrpc": "2.0", "id": a, "method": "eth_getLogs"}
    return orjson.dumps({**call, "params": [{"address": addresses, "fromBlock": hex(a), "toBlock": hex(b)}]})


def _ceiling(
    url: str, contracts: dict[str, str], start: int, end: int, chunk: int, client: httpx.Client
) -> int:
    """The ceiling the issue names: raw eth_getLogs of the same addresses and blocks (chunks of `chunk`
    blocks, as the indexer asks) with plain httpx, each answer parsed by orjson into Python objects.

    `client` is made before the clock starts: building its TLS context costs a quarter of a second of CPU
    that has nothing to do with fetching logs."""
    import orjson

    count = 0
    with client:
        for a, b in _ranges(start, end, chunk):
            response = client.post(url, content=_get_logs(contracts, a, b), headers=_JSON_HEADERS)
            count += len(orjson.loads(response.content)["result"])
    return count


def _ceiling_stdlib(url: str, contracts: dict[str, str], start: int, end: int, chunk: int) -> int:
    """The same fetch with the standard library's http.client: a tighter ceiling, since httpx's pure-Python
    HTTP parser is slow on the many small chunks a node streams its answer in."""
    import http.client
    from urllib.parse import urlsplit

    import orjson

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    count = 0
    try:
        for a, b in _ranges(start, end, chunk):
            conn.request("POST", parts.path or "/", _get_logs(contracts, a, b), _JSON_HEADERS)
            count += len(orjson.loads(conn.getresponse().read())["result"])
    finally:
        conn.close()
    return count


def _indexer(url: str, contracts: dict[str, str], start: int, db_url: str, verify: Verify, chunk: int) -> int:
    """The indexer's backfill into a new database, through open_indexer as release and verify build it."""
    from backend.index.opener import IndexParts, open_indexer

    parts = IndexParts(rpc=url, addresses=sorted(contracts.values()), start_block=start, db_url=db_url)
    indexer = open_indexer(parts, verify=verify, max_range=chunk)
    try:
        return indexer.sync().logs_added
    finally:
        indexer.close()


_JSON_HEADERS = {"Content-Type": "application/json"}
_METHODS: dict[str, Callable[..., int]] = {
    "ceiling": _ceiling,
    "ceiling_stdlib": _ceiling_stdlib,
    "indexer": _indexer,
    "naive": _naive,
}
_WARM = {
    "ceiling": ("orjson",),
    "ceiling_stdlib": ("orjson", "http.client"),
    "indexer": ("backend.index.opener", "sqlalchemy.dialects.sqlite"),
    "naive": ("web3", "backend.chain.artifacts"),
}


def _measured(method: str, *args: Any) -> tuple[float, float, int, float]:
    """In a fresh process: (seconds, CPU seconds, events, peak RSS in MiB) of one run, imports done first."""
    import importlib

    for module in _WARM[method]:
        importlib.import_module(module)
    if method == "ceiling":
        args = (*args, httpx.Client(timeout=120))
    start, cpu = time.perf_counter(), time.process_time()
    count = _METHODS[method](*args)
    return time.perf_counter() - start, time.process_time() - cpu, count, peak_rss_mb()


def _run(method: str, *args: Any) -> tuple[float, float, int, float]:
    """`_measured` in a spawned interpreter: each run has its own peak RSS and no state left by another."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_measured, method, *args).result()


def _profile(path: Path, url: str, contracts: dict[str, str], start: int, db_url: str, chunk: int) -> None:
    """cProfile one bloom backfill in this process; the stats go to `path`, the top entries to stdout."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(_indexer, url, contracts, start, db_url, "bloom", chunk)
    profiler.dump_stats(path)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on a private Hardhat node; print a table and, last, one JSON object."""
    from backend.chain.accounts import dev_signers
    from backend.chain.connection import connect
    from backend.chain.deployment import deploy_all
    from backend.index.opener import DEFAULT_MAX_RANGE, indexed_contracts
    from tests.integration.hardhat import start_hardhat, stop

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=150, help="blocks of traffic")
    parser.add_argument("--txs-per-block", type=int, default=40)
    parser.add_argument("--max-range", type=int, default=DEFAULT_MAX_RANGE, help="blocks per eth_getLogs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method; the best counts")
    parser.add_argument("--profile", type=Path, help="also cProfile one bloom backfill, stats to this file")
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
            traffic.close()
            head = w3.eth.block_number
            # What the release build indexes: the deployment's decoded contracts (the token among them).
            contracts = indexed_contracts(deployment)
            first = deployment.deploy_block

            runs: dict[str, list[tuple[float, float, int, float]]] = {}
            # Best of N runs each, interleaved: the machine is shared, the minimum is the honest cost.
            for run in range(args.repeat):
                fetch = (node.url, contracts, first, head, args.max_range)
                plan: list[tuple[str, str, tuple[Any, ...]]] = [
                    ("ceiling", "ceiling", fetch),
                    ("ceiling_stdlib", "ceiling_stdlib", fetch),
                ]
                for verify in _MODES:
                    db = f"sqlite:///{tmp}/index-{verify}-{run}.sqlite"
                    plan.append(
                        (
                            f"indexer_{verify}",
                            "indexer",
                            (node.url, contracts, first, db, verify, args.max_range),
                        )
                    )
                plan.append(("naive_web3", "naive", (node.url, contracts, first, head)))
                for label, method, method_args in plan:
                    runs.setdefault(label, []).append(_run(method, *method_args))
            if args.profile is not None:
                _profile(
                    args.profile,
                    node.url,
                    contracts,
                    first,
                    f"sqlite:///{tmp}/profiled.sqlite",
                    args.max_range,
                )
        finally:
            stop(node)

    counts = {label: {count for _, _, count, _ in results} for label, results in runs.items()}
    events = runs["ceiling"][0][2]
    if any(found != {events} for found in counts.values()):
        raise SystemExit(f"event counts disagree: {counts}")
    best = {label: min(s for s, _, _, _ in results) for label, results in runs.items()}
    rate = {label: events / seconds for label, seconds in best.items()}
    report: dict[str, Any] = {
        "benchmark": "index",
        "python": platform.python_version(),
        "node": "hardhat (JSON-RPC on 127.0.0.1)",
        "blocks": head - first + 1,
        "max_range": args.max_range,
        "repeat": args.repeat,
        "default_verify": "bloom",
        "events": events,
        "generate_s": round(gen_s, 2),
    }
    for label in runs:
        report[f"{label}_s"] = round(best[label], 3)
    for label, results in runs.items():  # CPU of the best run: what the machine's other load cannot inflate
        report[f"{label}_cpu_s"] = round(min(results)[1], 3)
    for label in runs:
        report[f"{label}_events_per_s"] = round(rate[label])
    for label in runs:
        if not label.startswith("ceiling"):
            report[f"{label}_vs_ceiling"] = round(rate[label] / rate["ceiling"], 2)
            report[f"{label}_vs_ceiling_stdlib"] = round(rate[label] / rate["ceiling_stdlib"], 2)
    for label in _MODES:
        report[f"speedup_{label}"] = round(rate[f"indexer_{label}"] / rate["naive_web3"], 2)
    for label, results in runs.items():
        report[f"{label}_peak_rss_mb"] = round(max(rss for _, _, _, rss in results), 1)
    print_report(report)
    return 0


_MODES: tuple[Verify, ...] = ("bloom", "none", "receipts")  # the default first

if __name__ == "__main__":
    raise SystemExit(main())
