"""backend.chain.decode: recorded logs to curation.events, and event lookups as eth_getLogs topic filters."""

from __future__ import annotations

import dataclasses
import re

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from backend.chain.artifacts import load_artifact
from backend.chain.decode import EventDecoder, UndecodableLog, event_query
from backend.errors import ChainError
from curation.events import (
    EVENT_TYPES,
    ChainEvent,
    ItemConsentChanged,
    ItemSubmitted,
    LicenseSet,
    LogPosition,
    ProfileUpdated,
    Transfer,
    VoteCast,
)
from tests.backend.chain.replay import Case

ALICE = "0x" + "ab" * 20
SUBMITTED = "ItemSubmitted(uint256,address,bytes,bytes32,uint64,uint16,uint16,uint64)"


@pytest.fixture(scope="module")
def traffic() -> Case:
    return Case("traffic")


def test_recorded_logs_decode_into_the_events_of_the_traffic(traffic: Case) -> None:
    registry = traffic.meta["item_submitted_logs"][0]["address"]
    token = next(log.address for log in traffic.expected if log.address != registry)
    decoder = EventDecoder({"ContentRegistry": registry, "CurationToken": token})
    events = decoder.decode_all(reversed(traffic.expected))
    assert [e.at.key for e in events] == sorted(e.at.key for e in events)
    kinds = {type(e) for e in events}
    assert {LicenseSet, ItemSubmitted, ItemConsentChanged, ProfileUpdated, Transfer} <= kinds
    submitted = [e for e in events if isinstance(e, ItemSubmitted)]
    assert [e.item_id for e in submitted] == [1, 2, 3]
    assert [e.size for e in submitted] == [1000, 2000, 3000]
    assert all(e.at.address == registry for e in submitted)
    (narrowed,) = (e for e in events if isinstance(e, ItemConsentChanged))
    assert (narrowed.item_id, narrowed.consent, narrowed.expiry) == (1, 1, 0)
    assert all(e.contributor == submitted[0].contributor for e in events if isinstance(e, ProfileUpdated))


def test_a_log_with_the_wrong_topic_count_does_not_decode(traffic: Case) -> None:
    log = next(log for log in traffic.expected if log.topics[0] == "0x" + keccak(text=SUBMITTED).hex())
    decoder = EventDecoder({"ContentRegistry": log.address})
    assert isinstance(decoder.decode(log), ItemSubmitted)
    with pytest.raises(
        UndecodableLog,
        match=r"ContentRegistry\.ItemSubmitted at block \d+ log \d+ in transaction 0x[0-9a-f]{64}: expected 3",
    ):
        decoder.decode(dataclasses.replace(log, topics=log.topics[:2]))
    with pytest.raises(UndecodableLog, match="cannot decode"):
        decoder.decode(dataclasses.replace(log, data="0x00"))
    with pytest.raises(
        UndecodableLog, match=r"ContentRegistry log \d+ at block \d+ in transaction 0x.*not hex"
    ):
        decoder.decode(dataclasses.replace(log, topics=("0xzz", *log.topics[1:])))
    assert EventDecoder({"ReleaseRegistry": log.address}).decode(log) is None  # another contract's event


def test_a_query_sends_indexed_fields_as_topics_and_matches_the_others_after_decoding() -> None:
    query = event_query(ItemSubmitted, {"contributor": ALICE.upper().replace("0X", "0x"), "size": [1, 2]})
    assert (query.contract, query.name, query.event) == ("ContentRegistry", "ItemSubmitted", ItemSubmitted)
    word = "0x" + abi_encode(["address"], [ALICE]).hex()
    assert query.topics == (("0x" + keccak(text=SUBMITTED).hex(),), None, (word,))
    assert query.wanted == (("size", (1, 2)),)
    at = LogPosition(1, 0)
    kept = ItemSubmitted(at, 1, ALICE, b"", b"", 2, 1, 1, 0)
    assert query.keeps(kept)
    assert not query.keeps(dataclasses.replace(kept, size=3))
    assert not query.keeps(Transfer(at, ALICE, ALICE, 2))
    assert event_query(ItemSubmitted).topics == (("0x" + keccak(text=SUBMITTED).hex(),),)
    ids = event_query(ItemSubmitted, {"item_id": [1, 2], "contributor": None}).topics[1]
    assert ids == tuple("0x" + abi_encode(["uint256"], [n]).hex() for n in (1, 2))


def test_every_domain_event_has_a_query_and_wrong_ones_are_named() -> None:
    for (contract, name), cls in EVENT_TYPES.items():
        assert (event_query(cls).contract, event_query(cls).name) == (contract, name)
    with pytest.raises(ChainError, match="VoteCast has no field colour to filter on"):
        event_query(VoteCast, {"colour": 1})
    with pytest.raises(ChainError, match=r"cannot filter address on 'nobody'"):
        event_query(VoteCast, {"voter": "nobody"})

    @dataclasses.dataclass(frozen=True, slots=True)
    class Unknown(ChainEvent):
        value: int

    with pytest.raises(ChainError, match="Unknown is not an event of the deployment's contracts"):
        event_query(Unknown)


_RENAMED = {"from": "sender", "to": "recipient", "profileURI": "profile_uri"}


def _snake(name: str) -> str:
    return _RENAMED.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("contract", "event"), sorted(EVENT_TYPES))
def test_event_fields_follow_the_abi_inputs_in_order(contract: str, event: str) -> None:
    (entry,) = [e for e in load_artifact(contract).abi if e.get("type") == "event" and e["name"] == event]
    fields = [f.name for f in dataclasses.fields(EVENT_TYPES[(contract, event)])][1:]
    assert fields == [_snake(i["name"]) for i in entry["inputs"]]
