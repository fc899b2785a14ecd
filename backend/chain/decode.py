"""Decode raw logs of a deployment's contracts into curation.events dataclasses, with the artifact ABIs.

Solidity `string` values are not checked for UTF-8, so anyone can emit a log whose string field does not
decode as text (`register`, `updateProfile`, `castVoteWithReason` are permissionless). Such a log must never
stop a fold: every `string` is read as `bytes` (the ABI encoding is identical) and becomes a ChainText,
display text with U+FFFD for invalid sequences plus the exact bytes. `decode_values` is the one place that
does this: EventDecoder reads logs with it (through `decode_args`), ContractClient reads revert payloads.

EventDecoder is the only mapping from logs to curation.events: the indexer decodes what it stored with it,
ContractClient.event_logs asks the node for one event type through `event_query` and decodes with it too, and
ContractClient's receipts (backend.chain.contract.Receipt) are the logs of a mined transaction decoded by it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Generic, TypeGuard, TypeVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.grammar import ABIType, TupleType, parse
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from backend.chain.artifacts import abi_type, load_artifact
from backend.chain.logs import RawLog
from backend.errors import ChainError
from curation.events import EVENT_TYPES, ChainEvent, ChainText, LogPosition

__all__ = [
    "EventDecoder",
    "EventQuery",
    "UndecodableLog",
    "decode_args",
    "decode_values",
    "event_query",
    "wire_type",
]

E = TypeVar("E", bound=ChainEvent)

_STRING_TYPE = re.compile(r"\bstring\b")


@cache
def wire_type(abi_t: str) -> str:
    """The type to hand eth_abi for `abi_t`: every `string` in it read as `bytes` (same encoding, no UTF-8)."""
    return _STRING_TYPE.sub("bytes", abi_t)


@cache
def _parsed(abi_t: str) -> ABIType:
    parsed: ABIType = parse(abi_t)
    return parsed


def _restore(t: ABIType, value: Any) -> Any:
    """Turn the bytes eth_abi returned for `string` parts of `t` into ChainText; everything else as is."""
    if t.is_array:
        return tuple(_restore(t.item_type, v) for v in value)
    if isinstance(t, TupleType):
        return tuple(_restore(c, v) for c, v in zip(t.components, value, strict=True))
    if getattr(t, "base", None) == "string":
        return ChainText(value)
    return value


def decode_values(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """eth_abi's decoding of `data` as `types`, except that strings come back as ChainText, never failing
    on bytes that are not UTF-8 (eth_abi still raises for data that is not ABI-encoded at all)."""
    if not types:
        return ()
    raw = abi_decode([wire_type(t) for t in types], data)
    return tuple(_restore(_parsed(t), v) for t, v in zip(types, raw, strict=True))


def decode_args(inputs: Sequence[tuple[str, bool]], topics: Sequence[bytes], data: bytes) -> list[Any]:
    """Values of an event's `inputs` ((ABI type, indexed), in ABI order) from a log's topics after topic 0
    and its data. An indexed dynamic value (string, bytes, array, tuple) is only its keccak hash on chain:
    it comes back as those 32 bytes. Raises whatever eth_abi raises for a malformed log, and ValueError when
    the topic count is wrong."""
    indexed = [t for t, ix in inputs if ix]
    if len(topics) != len(indexed):
        raise ValueError(f"expected {len(indexed)} indexed topics, got {len(topics)}")
    topic_values = [
        bytes(topic) if _parsed(t).is_dynamic else decode_values([t], bytes(topic))[0]
        for t, topic in zip(indexed, topics, strict=True)
    ]
    data_values = list(decode_values([t for t, ix in inputs if not ix], data))
    return [topic_values.pop(0) if ix else data_values.pop(0) for _, ix in inputs]


class UndecodableLog(ChainError):
    """A log of one of our contracts matched a known event but its topics or data do not decode."""


@dataclasses.dataclass(frozen=True)
class _Spec:
    cls: type[ChainEvent]
    name: str
    inputs: tuple[tuple[str, bool], ...]  # (ABI type, indexed)


@cache
def _specs(contract: str) -> dict[bytes, _Spec]:
    out: dict[bytes, _Spec] = {}
    for entry in load_artifact(contract).abi:
        if entry.get("type") != "event" or entry.get("anonymous"):
            continue
        cls = EVENT_TYPES.get((contract, entry["name"]))
        if cls is None:
            continue
        inputs = tuple((abi_type(i), bool(i.get("indexed"))) for i in entry["inputs"])
        if len(inputs) != len(dataclasses.fields(cls)) - 1:
            raise ChainError(f"{cls.__name__} does not match the {contract} ABI of {entry['name']}")
        sig = f"{entry['name']}({','.join(t for t, _ in inputs)})"
        out[bytes(keccak(text=sig))] = _Spec(cls, entry["name"], inputs)
    return out


def _plain(abi_t: str, value: Any) -> Any:
    if abi_t == "address":
        return str(value).lower()
    if abi_t.endswith("[]"):
        return tuple(_plain(abi_t[:-2], v) for v in value)
    if abi_t == "bytes" or abi_t.startswith("bytes"):
        return bytes(value)
    if abi_t == "bool":
        return bool(value)
    if abi_t.startswith(("uint", "int")):
        return int(value)
    return value


def _hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class EventDecoder:
    """Decodes the logs of the contracts in `contracts` (artifact name -> address)."""

    def __init__(self, contracts: Mapping[str, str]) -> None:
        self._by_address = {addr.lower(): name for name, addr in contracts.items()}

    @property
    def addresses(self) -> tuple[str, ...]:
        """Lowercase addresses of every contract whose logs this decoder reads, sorted."""
        return tuple(sorted(self._by_address))

    def decode(self, log: RawLog) -> ChainEvent | None:
        """The event of `log`, or None for a contract or event the domain does not use (e.g. Approval)."""
        contract = self._by_address.get(log.address.lower())
        if contract is None or not log.topics:
            return None
        try:
            spec = _specs(contract).get(_hex_bytes(log.topics[0]))
        except ValueError:
            raise UndecodableLog(
                f"{contract} log {log.log_index} at block {log.block_number} in transaction {log.tx_hash}: "
                f"topic 0 {log.topics[0]!r} is not hex"
            ) from None
        if spec is None:
            return None
        where = (
            f"{contract}.{spec.name} at block {log.block_number} log {log.log_index} "
            f"in transaction {log.tx_hash}"
        )
        indexed = sum(1 for _, ix in spec.inputs if ix)
        if len(log.topics) != 1 + indexed:
            raise UndecodableLog(f"{where}: expected {1 + indexed} topics, got {len(log.topics)}")
        try:
            decoded = decode_args(spec.inputs, [_hex_bytes(t) for t in log.topics[1:]], _hex_bytes(log.data))
        except Exception as exc:  # eth_abi raises several types for malformed payloads
            raise UndecodableLog(f"{where}: cannot decode ({type(exc).__name__}: {exc})") from None
        values = [_plain(abi_t, v) for (abi_t, _), v in zip(spec.inputs, decoded, strict=True)]
        at = LogPosition(log.block_number, log.log_index, log.tx_hash.lower(), log.address.lower())
        return spec.cls(at, *values)

    def decode_all(self, logs: Iterable[RawLog]) -> list[ChainEvent]:
        """Decoded events of `logs`, in (block, log index) order, unknown ones left out."""
        events = [ev for ev in (self.decode(log) for log in logs) if ev is not None]
        events.sort(key=lambda ev: ev.at.key)
        return events


# --- event lookups ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EventQuery(Generic[E]):
    """One event type of one contract as an eth_getLogs topic filter, plus the values wanted in its data.

    `topics`: topic 0 (the event's signature), then per indexed field None (any) or the allowed topics.
    `wanted`: (field, allowed values) for the fields that are not indexed: the node cannot filter on data.
    """

    contract: str
    name: str
    event: type[E]
    topics: tuple[tuple[str, ...] | None, ...]
    wanted: tuple[tuple[str, tuple[object, ...]], ...]

    def keeps(self, event: ChainEvent) -> TypeGuard[E]:
        """True for a decoded event of this type whose fields hold the wanted values."""
        return isinstance(event, self.event) and all(
            _norm(getattr(event, name)) in allowed for name, allowed in self.wanted
        )


def event_query(event: type[E], filters: Mapping[str, object] | None = None) -> EventQuery[E]:
    """The query for `event` logs whose fields (curation.events names) have the values `filters` gives.

    A filter value is one value or a list/tuple/set of alternatives; None leaves the field free. Addresses
    match in any case. ChainError names an event type no contract emits or a field the event does not have.
    """
    contract, topic0, spec = _spec_of(event)
    names = [f.name for f in dataclasses.fields(event)][1:]  # after `at`, in ABI order
    unknown = sorted(set(filters or {}) - set(names))
    if unknown:
        raise ChainError(
            f"{contract}.{spec.name} has no field {', '.join(unknown)} to filter on (it has {', '.join(names)})"
        )
    wanted = {name: _alternatives(value) for name, value in (filters or {}).items() if value is not None}
    topics: list[tuple[str, ...] | None] = [("0x" + topic0.hex(),)]
    data: list[tuple[str, tuple[object, ...]]] = []
    for name, (abi_t, indexed) in zip(names, spec.inputs, strict=True):
        allowed = wanted.get(name)
        if indexed:
            where = f"{contract}.{spec.name}({name})"
            topics.append(
                None if allowed is None else tuple("0x" + _topic(abi_t, v, where).hex() for v in allowed)
            )
        elif allowed is not None:
            data.append((name, tuple(_norm(v) for v in allowed)))
    while topics[-1] is None:
        topics.pop()
    return EventQuery(contract, spec.name, event, tuple(topics), tuple(data))


def _spec_of(event: type[ChainEvent]) -> tuple[str, bytes, _Spec]:
    found = _specs_by_type().get(event)
    if found is None:
        raise ChainError(f"{event.__name__} is not an event of the deployment's contracts (curation.events)")
    return found


@cache
def _specs_by_type() -> dict[type[ChainEvent], tuple[str, bytes, _Spec]]:
    """Event class -> (contract, topic 0, spec), for every class of curation.events.EVENT_TYPES."""
    return {
        spec.cls: (contract, topic0, spec)
        for contract in sorted({contract for contract, _ in EVENT_TYPES})
        for topic0, spec in _specs(contract).items()
    }


def _alternatives(wanted: object) -> list[object]:
    return list(wanted) if isinstance(wanted, list | tuple | set | frozenset) else [wanted]


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value


def _topic(abi_t: str, value: object, where: str) -> bytes:
    """The topic of an indexed value: its ABI word, or the keccak of a dynamic value's bytes."""
    try:
        if abi_t in ("string", "bytes"):
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]
            return bytes(keccak(raw))
        if abi_t == "address":
            value = to_checksum_address(str(value))
        return abi_encode([abi_t], [value])
    except Exception as exc:  # eth_abi and eth_utils raise several types for a wrong value
        raise ChainError(f"{where}: cannot filter {abi_t} on {value!r} ({exc})") from None
