"""Record the node answers that tests/backend/chain replays (resources/<case>/), from a real Hardhat node.

Run from the repository root whenever a case changes (the answers are committed; the tests need no node):

    .venv/bin/python -m tests.backend.chain.record_answers             # starts `hardhat node` on a free port
    .venv/bin/python -m tests.backend.chain.record_answers --rpc URL   # a Hardhat node on a fresh chain

It deploys the contracts, makes some traffic (contributors, items, a consent change, token mints and
delegation, empty blocks, a contract nobody watches, big profile logs), then runs each case's fetch through a
recording transport and writes every answer the node gave. Some cases change answers on the way, and say so
in the answer's `note`: a refusal in a provider's words (Hardhat caps no range), a zeroed logsBloom, and the
order in which the answers of two forks are served (the forks themselves are real: evm_snapshot/evm_revert).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect, mine
from backend.chain.contract import deploy_contract
from backend.chain.decode import event_query
from backend.chain.deployment import Deployment, deploy_all
from backend.chain.logs import RpcLogFetcher
from backend.chain.registry import RegistryClient
from backend.chain.rpc import AnswerTooLarge, HttpTransport, InconsistentAnswerError, RpcClient, RpcLimits
from backend.chain.token import TokenClient
from curation.cid import cid_v1_raw
from curation.consent import ALL, Consent
from curation.events import ItemSubmitted
from tests.backend.chain.replay import RESOURCES, call_key, fetch_all, log_to_json
from tests.integration.hardhat import start_hardhat, stop

#: (method, params, answer) -> (answer to give and record, note saying how it differs from the node's)
Hook = Callable[[str, Any, dict[str, Any]], tuple[dict[str, Any], str | None]]

#: How Infura words an eth_getLogs it will not serve (EIP-1474 "limit exceeded"); Hardhat refuses nothing.
REFUSAL = {"code": -32005, "message": "query returned more than 10000 results"}
REFUSED_SPAN = 4
ZERO_BLOOM = "0x" + "00" * 256


class Recorder:
    """A Transport that forwards to the node and keeps each call's answers, in order, without repeats."""

    block_hash_filters = True

    def __init__(self, url: str, hook: Hook | None = None, max_answer_bytes: int | None = None) -> None:
        self.inner = HttpTransport(url, RpcLimits(timeout=60))
        self.hook = hook
        self.max_answer_bytes = max_answer_bytes
        self.entries: dict[str, dict[str, Any]] = {}

    def send(self, payload: list[dict[str, Any]], deadline: float) -> list[Any]:
        by_id = {a["id"]: a for a in self.inner.send(payload, deadline)}
        out = []
        for call in payload:
            got = {k: v for k, v in by_id[call["id"]].items() if k in ("result", "error")}
            note = None
            if self.hook is not None:
                got, note = self.hook(call["method"], call["params"], got)
            self.keep(call["method"], call["params"], got, note)
            out.append({"jsonrpc": "2.0", "id": call["id"], **got})
        if self.max_answer_bytes is not None:  # measured as the replay server sends it
            size = len(json.dumps(out if len(payload) > 1 else out[0]).encode())
            if size > self.max_answer_bytes:
                raise AnswerTooLarge(size)
        return out

    def keep(self, method: str, params: Any, answer: dict[str, Any], note: str | None = None) -> None:
        entry = self.entries.setdefault(call_key(method, params), {"method": method, "params": params})
        answers = entry.setdefault("answers", [])
        if not answers or answers[-1] != answer:
            answers.append(answer)
        if note and note not in entry.get("note", ""):
            entry["note"] = f"{entry['note']}; {note}" if "note" in entry else note

    def close(self) -> None:
        self.inner.close()


def write_case(name: str, meta: dict[str, Any], *recorders: Recorder) -> None:
    """resources/<name>/: case.json and one <method>.json per method, answers in the order given."""
    target = RESOURCES / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "case.json").write_text(json.dumps(meta, indent=1) + "\n")
    by_method: dict[str, list[dict[str, Any]]] = {}
    for recorder in recorders:
        for entry in recorder.entries.values():
            row = {k: v for k, v in entry.items() if k != "method"}
            by_method.setdefault(entry["method"], []).append(row)
    for method, rows in sorted(by_method.items()):
        (target / f"{method}.json").write_text(json.dumps(rows, indent=1) + "\n")


def plain_logs(url: str, addresses: list[str], a: int, b: int) -> list[dict[str, Any]]:
    """One eth_getLogs, unchecked, as the oracle (not recorded)."""
    fetcher = RpcLogFetcher(url, addresses, verify="none")
    try:
        return [log_to_json(log) for batch in fetch_all(fetcher, a, b) for log in batch.logs]
    finally:
        fetcher.close()


def _record(
    url: str, addresses: list[str], a: int, b: int, options: dict[str, Any], recorder: Recorder
) -> Exception | None:
    fetcher = RpcLogFetcher(url, addresses, transport=recorder, **options)
    try:
        fetch_all(fetcher, a, b)
    except InconsistentAnswerError as exc:  # what some cases are about
        return exc
    finally:
        fetcher.close()
    return None


def _digest(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def make_traffic(url: str) -> tuple[Deployment, dict[str, int]]:
    """Deploy, then traffic of every kind the fetcher meets; returns the deployment and notable blocks."""
    w3 = connect(url)
    signers = dev_signers(w3)
    deployment = deploy_all(w3, signers[0])
    registry = RegistryClient(w3, deployment.address("ContentRegistry"), signers[0])
    token = TokenClient(w3, deployment.address("CurationToken"), signers[0])
    alice, bob = registry.with_signer(signers[1]), registry.with_signer(signers[2])
    cc_by = registry.license_id_of("CC-BY-4.0")
    alice.register("ipfs://alice")
    bob.register("ipfs://bob")
    first = alice.submitted_id(alice.submit_item(cid_v1_raw(_digest("a1")), _digest("a1"), 1000, cc_by, ALL))
    alice.submit_item(cid_v1_raw(_digest("a2")), _digest("a2"), 2000, cc_by, ALL)
    mine(w3, 3)  # empty blocks: their bloom is zero
    bob.submit_item(cid_v1_raw(_digest("b1")), _digest("b1"), 3000, cc_by, int(Consent.TRAIN))
    alice.narrow_consent(first, int(Consent.TRAIN), 0)
    token.mint(signers[1].address, 10**18)
    token.with_signer(signers[1]).delegate(signers[1].address)
    # Logs of a contract nobody watches, and a transaction without logs: blooms that do not name ours.
    other = TokenClient(
        w3,
        deploy_contract(
            w3, signers[0], "CurationToken", "Other", "OTH", signers[0].address, signers[0].address
        ).address,
        signers[0],
    )
    other.mint(signers[3].address, 5)
    w3.eth.send_transaction({"from": signers[0].address, "to": signers[4].address, "value": 1})
    big_from = w3.eth.block_number + 1
    for i in range(8):  # big logs, one a block: the oversized answers
        alice.update_profile(f"ipfs://{i}/" + "p" * 1000)
    big_to = w3.eth.block_number
    mine(w3, 2)
    marks = {"head": w3.eth.block_number, "big_from": big_from, "big_to": big_to, "first_item": first}
    return deployment, marks


def record_all(url: str) -> None:
    deployment, marks = make_traffic(url)
    addresses = sorted(a.lower() for a in deployment.contracts.values())
    registry = deployment.address("ContentRegistry").lower()
    a, b = deployment.deploy_block, marks["head"]
    base = {
        "node": _hardhat_version(),
        "chain_id": 31337,
        "addresses": addresses,
        "from_block": a,
        "to_block": b,
    }

    # traffic: the whole deployment, every verify mode, a topic filter, and the simple reads.
    rec = Recorder(url)
    for verify in ("receipts", "bloom", "none"):
        _record(url, addresses, a, b, {"verify": verify}, rec)
    topics = event_query(ItemSubmitted).topics
    for verify in ("receipts", "bloom"):
        _record(url, [registry], a, b, {"verify": verify, "topics": topics}, rec)
    simple = RpcLogFetcher(url, addresses, transport=rec)
    simple.head()
    simple.chain_id()
    for n in range(a, b + 1):
        simple.block(n)
    simple.block(b + 1000)  # past the head: no block
    write_case(
        "traffic",
        {
            **base,
            "about": "a deployment and its traffic, read whole in every verify mode, with and without a "
            "topic filter (ItemSubmitted of the registry); the node's answers unchanged",
            "topics": [list(t) if t else None for t in topics],
            "item_submitted_logs": [
                d
                for d in plain_logs(url, [registry], a, b)
                if d["topics"][0] == topics[0][0]  # type: ignore[index]
            ],
            "expected_logs": plain_logs(url, addresses, a, b),
        },
        rec,
    )

    # range_refused: the node refuses every eth_getLogs over REFUSED_SPAN blocks.
    def refuse(method: str, params: Any, answer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        f = params[0] if method == "eth_getLogs" else {}
        if "fromBlock" in f and int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > REFUSED_SPAN:
            return {
                "error": REFUSAL
            }, f"injected: refuses ranges over {REFUSED_SPAN} blocks, in Infura's words"
        return answer, None

    options = {"verify": "bloom", "retries": 2, "backoff": 0.001}
    rec = Recorder(url, refuse)
    _record(url, addresses, a, b, options, rec)
    write_case(
        "range_refused",
        {
            **base,
            "about": f"the node refuses eth_getLogs over {REFUSED_SPAN} blocks (-32005); all else as answered",
            "refused_span": REFUSED_SPAN,
            "fetch": options,
            "expected_logs": plain_logs(url, addresses, a, b),
        },
        rec,
    )

    # oversized: an answer limit between a few big logs and all of them.
    big_a, big_b = marks["big_from"], marks["big_to"]
    probe = Recorder(url)
    _record(url, [registry], big_a, big_b, {"verify": "none"}, probe)
    whole = len(json.dumps(probe.entries[next(iter(probe.entries))]["answers"][0]))
    limit = whole * 2 // 3
    options = {"verify": "none", "max_answer_bytes": limit, "retries": 2, "backoff": 0.001}
    rec = Recorder(url, max_answer_bytes=limit)
    _record(url, [registry], big_a, big_b, options, rec)
    write_case(
        "oversized",
        {
            **base,
            "addresses": [registry],
            "from_block": big_a,
            "to_block": big_b,
            "about": f"eight ~2 kB profile logs; answers over {limit} bytes (about two thirds of the whole "
            "range's) are too large; the node's answers unchanged",
            "fetch": options,
            "expected_logs": plain_logs(url, [registry], big_a, big_b),
        },
        rec,
    )

    # bloom_mismatch: a block whose header bloom does not hold its logs.
    target = next(d["block_number"] for d in plain_logs(url, [registry], a, b) if d["block_number"] > a + 4)
    lo, hi = target - 2, target + 2

    def tamper(method: str, params: Any, answer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        if method == "eth_getBlockByNumber" and params[0] == hex(target) and answer.get("result"):
            return {"result": {**answer["result"], "logsBloom": ZERO_BLOOM}}, "tampered: logsBloom zeroed"
        return answer, None

    options = {"verify": "bloom", "retries": 2, "backoff": 0.001}
    rec = Recorder(url, tamper)
    failure = _record(url, addresses, lo, hi, options, rec)
    assert failure is not None, "the zeroed bloom went unnoticed"
    _record(url, addresses, lo, hi, {"verify": "none"}, rec)
    write_case(
        "bloom_mismatch",
        {
            **base,
            "from_block": lo,
            "to_block": hi,
            "tampered_block": target,
            "about": f"block {target}'s header has a zero logsBloom though the block holds our logs",
            "fetch": options,
            "expected_logs": plain_logs(url, addresses, lo, hi),
        },
        rec,
    )

    record_reorg(url, deployment, addresses)


def record_reorg(url: str, deployment: Deployment, addresses: list[str]) -> None:
    """Two real forks from one snapshot (evm_snapshot / evm_revert); fork A's answers are kept, and the
    cases are recorded on fork B with some of fork A's answers served first, as a node mid-reorg does."""
    w3 = connect(url)
    signers = dev_signers(w3)
    registry = RegistryClient(w3, deployment.address("ContentRegistry"), signers[0])
    cc_by = registry.license_id_of("CC-BY-4.0")
    fork = w3.eth.block_number
    lo, hi = fork - 1, fork + 3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    for tag in ("A1", "A2", "A3"):
        registry.with_signer(signers[1]).submit_item(cid_v1_raw(_digest(tag)), _digest(tag), 1, cc_by, ALL)
    rpc = RpcClient(url)
    whole = {"fromBlock": hex(lo), "toBlock": hex(hi), "address": addresses}
    fork_a_logs = rpc.call("eth_getLogs", [whole])
    fork_a_header = rpc.call("eth_getBlockByNumber", [hex(fork + 1), False])
    replaced = plain_logs(url, addresses, lo, hi)
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert w3.eth.block_number == fork
    for tag in ("B1", "B2"):
        registry.with_signer(signers[2]).submit_item(cid_v1_raw(_digest(tag)), _digest(tag), 2, cc_by, ALL)
    mine(w3, 2)
    surviving = plain_logs(url, addresses, lo, hi)
    assert surviving != replaced
    options = {"verify": "bloom", "retries": 3, "backoff": 0.001}
    base = {
        "node": _hardhat_version(),
        "chain_id": 31337,
        "addresses": addresses,
        "from_block": lo,
        "to_block": hi,
        "fork_block": fork,
        "fetch": options,
        "replaced_logs": replaced,
        "expected_logs": surviving,
    }
    served: set[str] = set()

    def mid_reorg(method: str, params: Any, answer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        # The first eth_getLogs of the range, and the first header after the fork, still come from fork A;
        # the rest of that header batch already from fork B: the reorg reached the node mid-read.
        key = call_key(method, params)
        if key in served:
            return answer, None
        if method == "eth_getLogs" and params == [whole]:
            served.add(key)
            return {
                "result": fork_a_logs
            }, "first answer from fork A (recorded before evm_revert), then fork B"
        if method == "eth_getBlockByNumber" and params[0] == hex(fork + 1):
            served.add(key)
            return {
                "result": fork_a_header
            }, "first answer from fork A (recorded before evm_revert), then fork B"
        return answer, None

    rec = Recorder(url, mid_reorg)
    assert _record(url, addresses, lo, hi, options, rec) is None
    write_case(
        "reorg",
        {**base, "about": "a reorg while a range is read: fork A's logs and first header, then fork B's"},
        rec,
    )

    def unsettled(method: str, params: Any, answer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        f = params[0] if method == "eth_getLogs" else {}
        if "fromBlock" not in f:
            return answer, None
        a, b = int(f["fromBlock"], 16), int(f["toBlock"], 16)
        mine_a = [log for log in fork_a_logs if a <= int(log["blockNumber"], 16) <= b]
        return {"result": mine_a}, "fork A's logs of the range (recorded before evm_revert), never fork B's"

    rec = Recorder(url, unsettled)
    failure = _record(url, addresses, lo, hi, options, rec)
    assert failure is not None, "a node stuck on fork A went unnoticed"
    write_case(
        "reorg_unsettled",
        {**base, "about": "eth_getLogs keeps answering from fork A while the headers are fork B's"},
        rec,
    )


def _hardhat_version() -> str:
    package = Path(__file__).resolve().parents[3] / "node_modules" / "hardhat" / "package.json"
    return f"Hardhat {json.loads(package.read_text())['version']} (npx hardhat node)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", help="a Hardhat node on a fresh chain (default: start one)")
    args = parser.parse_args()
    if args.rpc:
        record_all(args.rpc)
        return
    with tempfile.TemporaryDirectory() as tmp:
        node = start_hardhat(Path(tmp) / "hardhat.log")
        try:
            record_all(node.url)
        finally:
            stop(node)


if __name__ == "__main__":
    main()
