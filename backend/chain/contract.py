"""Typed contract wrappers: send with explicit gas, wait for the receipt, turn reverts into clear errors."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, ContractPanicError, TimeExhausted, Web3RPCError

from backend.chain.accounts import Signer
from backend.chain.artifacts import abi_type, error_index, load_artifact
from backend.chain.decode import EventDecoder, UndecodableLog, decode_values, event_query
from backend.chain.logs import RawLog, RpcLogFetcher, Verify
from backend.chain.rpc import hex_text
from backend.errors import ChainError, ContractRevert
from curation.events import ChainEvent, ChainText

try:  # the embedded chain raises its own exception type for reverted transactions
    from eth_tester.exceptions import TransactionFailed as _TESTER_FAILED
except ImportError:  # pragma: no cover - eth-tester is a dependency, but keep RPC-only installs working
    _TESTER_FAILED = ChainError

__all__ = [
    "DEFAULT_GAS",
    "REVERTS",
    "Call",
    "ContractClient",
    "Receipt",
    "Relay",
    "decode_revert",
    "deploy_contract",
]

#: What a reverted eth_call raises, on a node (ContractLogicError) or on the embedded chain.
REVERTS: tuple[type[Exception], ...] = (ContractLogicError, _TESTER_FAILED)

#: Gas limit sent with every transaction unless a call says otherwise: explicit gas avoids a slow
#: eth_estimateGas round trip; only gas used is charged.
DEFAULT_GAS = 8_000_000

E = TypeVar("E", bound=ChainEvent)


@dataclass(frozen=True)
class Call:
    """One contract call not yet sent: what a governance proposal, a timelock batch or a forwarded request
    carries. `contract` and `function` name it for people (backend.chain.governance.describe_call decodes
    the arguments from `data`)."""

    target: str
    data: bytes
    value: int = 0
    contract: str = ""
    function: str = ""


@dataclass(frozen=True)
class Receipt:
    """What a mined transaction left: hash, block, gas and the called contract's events (curation.events).

    The events are what backend.chain.decode.EventDecoder makes of the receipt's logs, exactly the objects
    the indexer folds: `receipt.event(DatasetCreated).dataset_id`, `receipt.all(VoteCast)`.
    """

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...]

    def event(self, kind: type[E]) -> E:
        """The first `kind` event of the transaction (ChainError when it emitted none)."""
        for ev in self.events:
            if isinstance(ev, kind):
                return ev
        raise ChainError(f"transaction {self.tx_hash} emitted no {kind.__name__} event")

    def all(self, kind: type[E]) -> list[E]:
        """Every `kind` event of the transaction, in log order."""
        return [ev for ev in self.events if isinstance(ev, kind)]


def _innermost(value: Any) -> Any:
    """Hardhat nests revert data: {"data": {"data": "0x..."}}."""
    while isinstance(value, dict):
        value = value.get("data")
    return value


def _revert_data(exc: BaseException) -> bytes | None:
    # eth-tester re-raises TransactionFailed with the raw revert bytes only on the exception it wraps.
    seen: BaseException | None = exc.__context__
    while seen is not None:
        first = seen.args[0] if seen.args else None
        if isinstance(first, BaseException) and first.args:
            first = first.args[0]
        if isinstance(first, bytes | bytearray):
            return bytes(first)
        if isinstance(first, str) and first[:2] in ("b'", 'b"'):  # eth-tester stringifies the bytes
            try:
                raw = ast.literal_eval(first)
            except (ValueError, SyntaxError):
                raw = None
            if isinstance(raw, bytes):
                return raw
        seen = seen.__context__
    data = _innermost(getattr(exc, "data", None))
    response = getattr(exc, "rpc_response", None)  # web3's Web3RPCError keeps the JSON-RPC error here
    if data is None and isinstance(response, dict):
        data = _innermost(response.get("error"))
    if data is None:  # some providers put the payload in the exception's arguments
        data = next((a for a in map(_innermost, exc.args) if isinstance(a, str) and a.startswith("0x")), None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes(HexBytes(data))
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def decode_revert(exc: BaseException, where: str) -> ContractRevert:
    """Map a web3 revert to ContractRevert whose message names the custom error, its values and meaning."""
    data = _revert_data(exc)
    if data and len(data) >= 4:
        spec = error_index().get(data[:4])
        if spec is not None:
            types = [abi_type(p) for p in spec.inputs]
            try:
                values = decode_values(types, data[4:])
            except Exception:  # malformed payload: still name the error
                values = ()
            shown = ", ".join(
                f"{p['name'] or '_'}={_fmt(v)}" for p, v in zip(spec.inputs, values, strict=False)
            )
            why = f": {spec.notice}" if spec.notice else ""
            return ContractRevert(
                f"{where} reverted with {spec.name}({shown}){why}", spec.name, tuple(values)
            )
        if data[:4] == bytes.fromhex("08c379a0"):
            try:  # Error(string): any bytes, like every Solidity string
                (reason,) = decode_values(["string"], data[4:])
            except Exception:  # malformed payload: say so rather than fail while reporting a failure
                shown = f"(a malformed Error(string) payload 0x{data[4:].hex()})"
                return ContractRevert(f"{where} reverted: {shown}", "Error", (ChainText(b""),))
            return ContractRevert(f"{where} reverted: {reason}", "Error", (reason,))
    if isinstance(exc, ContractPanicError):
        return ContractRevert(f"{where} panicked: {exc}", "Panic")
    message = getattr(exc, "message", None) or str(exc)
    return ContractRevert(f"{where} reverted: {message}")


@contextmanager
def _guard(where: str) -> Iterator[None]:
    try:
        yield
    except ContractLogicError as exc:
        raise decode_revert(exc, where) from None
    except Web3RPCError as exc:
        if _revert_data(exc):
            raise decode_revert(exc, where) from None
        raise ChainError(f"{where}: the node refused the call: {exc}") from None
    except _TESTER_FAILED as exc:
        raise decode_revert(exc, where) from None
    except TimeExhausted:
        raise ChainError(f"{where}: no receipt in time; the transaction may still be pending") from None
    except (ConnectionError, OSError) as exc:
        raise ChainError(f"{where}: the node does not answer ({exc})") from None


def _send(w3: Web3, signer: Signer, tx: dict[str, Any], where: str) -> Any:
    """Send `tx` (already carrying `to`/`data`) from `signer` and return the receipt."""
    tx = {**tx, "from": signer.address}
    tx.setdefault("gas", DEFAULT_GAS)
    with _guard(where):
        if signer.local is None:
            tx_hash = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        else:
            tx.setdefault(
                "nonce", w3.eth.get_transaction_count(to_checksum_address(signer.address), "pending")
            )
            tx.setdefault("chainId", w3.eth.chain_id)
            if "gasPrice" not in tx and "maxFeePerGas" not in tx:
                tx["gasPrice"] = w3.eth.gas_price
            signed = signer.local.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1:
        # Mined but failed: replay as a call to learn why. At the block it was mined in, the state is the
        # one it saw apart from the sender's nonce and balance (automining nodes put one tx in a block), and
        # block-number checks (voting windows) see the same number.
        replay = {k: v for k, v in tx.items() if k in ("from", "to", "data", "value", "gas")}
        with _guard(where):
            w3.eth.call(replay, receipt["blockNumber"])  # type: ignore[arg-type]
        raise ContractRevert(f"{where} failed in block {receipt['blockNumber']} (status 0)")
    return receipt


def deploy_contract(w3: Web3, signer: Signer, name: str, *args: Any, gas: int = DEFAULT_GAS) -> Contract:
    """Deploy the shipped artifact `name` with constructor `args`; returns the bound contract."""
    art = load_artifact(name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    where = f"deploy {name}"
    with _guard(where):
        tx = factory.constructor(*args).build_transaction({"from": signer.address, "gas": gas, "nonce": 0})
    tx.pop("nonce")
    tx.pop("to", None)
    receipt = _send(w3, signer, dict(tx), where)
    deployed: Contract = w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)
    return deployed


#: Sends one of a client's calls some other way than a transaction from its signer: the gasless path, where
#: the signer signs an ERC-2771 request and a relayer pays (backend.relay.gasless_relay builds one). Given the
#: client, the function name and its arguments, it returns the decoded receipt, as a transaction would.
Relay = Callable[["ContractClient", str, tuple[Any, ...]], "Receipt"]


class ContractClient:
    """Base of the typed wrappers: one deployed contract, one default signer (and, gasless, a relay)."""

    artifact: str = ""
    relay: Relay | None = None

    def __init__(self, w3: Web3, address: str, signer: Signer | None = None) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact(self.artifact).abi)
        self.signer = signer
        self._decoder = EventDecoder({self.artifact: self.address})

    def with_signer(self, signer: Signer) -> Self:
        """A copy of this wrapper that sends from `signer`."""
        clone = copy.copy(self)
        clone.signer = signer
        return clone

    def via(self, relay: Relay | None) -> Self:
        """A copy of this wrapper whose transactions go through `relay` (None: sent by the signer)."""
        clone = copy.copy(self)
        clone.relay = relay
        return clone

    def _call(self, fn: str, *args: Any, block: int | str = "latest") -> Any:
        with _guard(f"{self.artifact}.{fn}"):
            return getattr(self.contract.functions, fn)(*args).call(block_identifier=block)

    def event_logs(
        self,
        event: type[E],
        from_block: int,
        to_block: int | str = "latest",
        filters: Mapping[str, object] | None = None,
        *,
        max_range: int = 10_000,
        verify: Verify = "bloom",
    ) -> list[E]:
        """This contract's `event` logs in the block range, as curation.events objects, oldest first.

        `filters` match the event's fields by name (one value or a list of alternatives): indexed ones go to
        the node as topics, the others are matched after decoding. The logs are read the way the indexer
        reads them: backend.chain.logs.RpcLogFetcher (at most `max_range` blocks per eth_getLogs, halved while
        the node refuses, every answer checked as `verify` says), decoded by backend.chain.decode.EventDecoder.
        """
        query = event_query(event, filters)
        where = f"{self.artifact}.{query.name} logs {from_block}..{to_block}"
        if query.contract != self.artifact:
            raise ChainError(f"{where}: {query.name} is an event of {query.contract}, not of {self.artifact}")
        fetcher = RpcLogFetcher.from_web3(self.w3, [self.address], topics=query.topics, verify=verify)
        out: list[E] = []
        try:
            end = fetcher.head() if to_block == "latest" else int(to_block)
            start = from_block
            while start <= end:
                batch = fetcher.fetch(start, min(end, start + max(1, max_range) - 1))
                out += [ev for ev in self._decoder.decode_all(batch.logs) if query.keeps(ev)]
                start = batch.to_block + 1
        except ChainError as exc:  # RpcFaultError, InconsistentAnswerError, UndecodableLog: say what was read
            raise type(exc)(f"reading {where} failed: {exc}") from None
        finally:
            fetcher.close()
        return out

    def encode(self, fn: str, *args: Any) -> Call:
        """The call of `fn(*args)` on this contract, encoded and not sent (ChainError for bad arguments)."""
        where = f"{self.artifact}.{fn}"
        with _guard(where):
            try:
                data = self.contract.encode_abi(fn, args=list(args))
            except (TypeError, ValueError) as exc:
                raise ChainError(f"{where}: the arguments do not fit the ABI ({exc})") from None
        return Call(self.address, bytes(HexBytes(data)), 0, self.artifact, fn)

    def _transact(self, fn: str, *args: Any, gas: int | None = None, signer: Signer | None = None) -> Receipt:
        if self.relay is not None and signer is None:
            return self.relay(self, fn, args)
        who = signer or self.signer
        if who is None:
            raise ChainError(f"{self.artifact}.{fn} needs a signer: pass one or use with_signer()")
        where = f"{self.artifact}.{fn}"
        with _guard(where):
            data = self.contract.encode_abi(fn, args=list(args))
        receipt = _send(self.w3, who, {"to": self.address, "data": data, "gas": gas or DEFAULT_GAS}, where)
        return self.decode_receipt(receipt)

    def decode_receipt(self, receipt: Any) -> Receipt:
        """A mined transaction's receipt (as web3 gives it) with this contract's logs decoded.

        Logs of other contracts are left out, and so are events curation.events does not define (Approval);
        a log of this contract that does not decode raises UndecodableLog naming the event and transaction.
        """
        tx_hash = hex_text(receipt["transactionHash"])
        where = f"{self.artifact} log in transaction {tx_hash}"
        logs = [_raw_log(log, where) for log in receipt["logs"]]
        events = self._decoder.decode_all(log for log in logs if log.address == self.address.lower())
        return Receipt(
            tx_hash=tx_hash,
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=tuple(events),
        )


def _raw_log(log: Any, where: str) -> RawLog:
    """A receipt's log (web3's AttributeDict: HexBytes and ints, or JSON-RPC hex) as the decoder's RawLog."""
    try:
        return RawLog.from_rpc(log)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UndecodableLog(f"{where}: malformed log {str(log)[:160]!r} ({exc})") from None
