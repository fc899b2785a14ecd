"""Decode raw logs of a deployment's contracts into curation.events dataclasses, with the artifact ABIs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from backend.chain.artifacts import abi_type, load_artifact
from backend.chain.logs import RawLog
from backend.errors import ChainError
from curation.events import EVENT_TYPES, ChainEvent, LogPosition

__all__ = ["EventDecoder", "UndecodableLog"]


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
        spec = _specs(contract).get(_hex_bytes(log.topics[0]))
        if spec is None:
            return None
        where = f"{contract}.{spec.name} at block {log.block_number} log {log.log_index}"
        indexed = [t for t, ix in spec.inputs if ix]
        plain = [t for t, ix in spec.inputs if not ix]
        if len(log.topics) != 1 + len(indexed):
            raise UndecodableLog(f"{where}: expected {1 + len(indexed)} topics, got {len(log.topics)}")
        try:
            topic_values = [
                abi_decode([t], _hex_bytes(topic))[0]
                for t, topic in zip(indexed, log.topics[1:], strict=True)
            ]
            data_values = list(abi_decode(plain, _hex_bytes(log.data))) if plain else []
        except Exception as exc:  # eth_abi raises several types for malformed payloads
            raise UndecodableLog(f"{where}: cannot decode ({type(exc).__name__}: {exc})") from None
        values: list[Any] = []
        for abi_t, ix in spec.inputs:
            values.append(_plain(abi_t, topic_values.pop(0) if ix else data_values.pop(0)))
        at = LogPosition(log.block_number, log.log_index, log.tx_hash.lower(), log.address.lower())
        return spec.cls(at, *values)

    def decode_all(self, logs: Iterable[RawLog]) -> list[ChainEvent]:
        """Decoded events of `logs`, in (block, log index) order, unknown ones left out."""
        events = [ev for ev in (self.decode(log) for log in logs) if ev is not None]
        events.sort(key=lambda ev: ev.at.key)
        return events
