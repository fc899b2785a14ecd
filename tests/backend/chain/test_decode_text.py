"""Event strings decode losslessly: ChainText, the shared decoder, and web3-compatible event lookups."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

import backend.chain.decode as decode_module
from backend.chain.contract import decode_revert
from backend.chain.decode import EventDecoder, decode_values
from backend.chain.logs import RawLog
from backend.errors import ChainError
from backend.release import build_release
from curation.events import EVENT_TYPES, ChainEvent, ChainText, ProposalCreated, VoteCast, raw_text
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain

VOTING = "0x" + "ab" * 20
VOTE_CAST = "VoteCast(address,uint256,uint8,uint256,string)"


def test_chain_text_is_the_replaced_display_text_and_keeps_the_bytes() -> None:
    bad = ChainText(b"a\xffb\xe2\x82")
    assert bad == "a\ufffdb\ufffd"
    assert isinstance(bad, str)
    assert (bad.raw, bad.is_utf8) == (b"a\xffb\xe2\x82", False)
    good = ChainText("caf\u00e9 \u2713".encode())
    assert (good, good.is_utf8, raw_text(good)) == ("caf\u00e9 \u2713", True, "caf\u00e9 \u2713".encode())
    genuine = ChainText("\ufffd".encode())  # a real U+FFFD is valid UTF-8, not a replacement
    assert genuine.is_utf8
    assert ChainText("x\ud800").raw == b"x\xed\xa0\x80"  # a lone surrogate: its bytes, shown replaced
    assert raw_text("plain") == b"plain"
    for copied in (pickle.loads(pickle.dumps(bad)), copy.deepcopy(bad), copy.copy(bad)):
        assert isinstance(copied, ChainText)
        assert (copied, copied.raw) == (bad, bad.raw)


def test_decode_values_reads_strings_at_any_depth_without_utf8() -> None:
    types = ["string", "string[]", "(string,uint256)[2]", "bytes", "uint8"]
    values = [b"\xff", [b"ok", b"\xc3("], [(b"\x80", 1), (b"x", 2)], b"\xff", 7]
    wire = ["bytes", "bytes[]", "(bytes,uint256)[2]", "bytes", "uint8"]
    text, texts, pairs, raw, small = decode_values(types, abi_encode(wire, values))
    assert (type(text), text.raw, text) == (ChainText, b"\xff", "\ufffd")
    assert [t.raw for t in texts] == [b"ok", b"\xc3("]
    assert [(p[0].raw, p[1]) for p in pairs] == [(b"\x80", 1), (b"x", 2)]
    assert (type(raw), raw, small) == (bytes, b"\xff", 7)


def _vote_log(reason: bytes) -> RawLog:
    voter = "0x" + "00" * 12 + "11" * 20
    topics = ("0x" + keccak(text=VOTE_CAST).hex(), voter, "0x" + abi_encode(["uint256"], [5]).hex())
    data = abi_encode(["uint8", "uint256", "bytes"], [1, 0, reason])
    return RawLog(7, "0x" + "00" * 32, "0x" + "cd" * 32, 0, 3, VOTING, topics, "0x" + data.hex())


def test_event_decoder_turns_a_reason_that_is_not_utf8_into_chain_text() -> None:
    decoder = EventDecoder({"CurationVoting": VOTING})
    event = decoder.decode(_vote_log(b"\xfe\xff why"))
    assert isinstance(event, VoteCast)
    assert (event.voter, event.proposal_id, event.support, event.weight) == ("0x" + "11" * 20, 5, 1, 0)
    assert isinstance(event.reason, ChainText)
    assert (event.reason, event.reason.raw) == ("\ufffd\ufffd why", b"\xfe\xff why")
    assert pickle.loads(pickle.dumps(event)) == event  # events cross process boundaries in partitioned builds


def test_error_string_reverts_that_are_not_utf8_are_reported() -> None:
    class Reverted(Exception):
        data = "0x08c379a0" + abi_encode(["bytes"], [b"no \xff"]).hex()

    err = decode_revert(Reverted(), "X.f")
    assert str(err) == "X.f reverted: no \ufffd"
    assert err.error_args[0].raw == b"no \xff"  # type: ignore[attr-defined]


def _plain(value: Any) -> Any:
    """web3's form of a decoded value in curation.events' form: lowercase addresses, tuples for lists."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


def _web3_events(client: Any, name: str, start: int) -> list[tuple[Any, ...]]:
    """web3's own decoding of `name` logs: (block, log index, arguments in ABI order)."""
    (abi,) = [e for e in client.contract.abi if e.get("type") == "event" and e.get("name") == name]
    found = getattr(client.contract.events, name)().get_logs(from_block=start)
    return [
        (int(e["blockNumber"]), int(e["logIndex"]), *(_plain(e["args"][i["name"]]) for i in abi["inputs"]))
        for e in found
    ]


def _fields(event: ChainEvent) -> tuple[Any, ...]:
    return (event.at.block_number, event.at.log_index, *(getattr(event, f.name) for f in fields(event)[1:]))


def test_event_logs_give_what_web3_gives_for_every_event(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    s.registry.with_signer(s.signer(4)).update_profile("ipfs://caf\u00e9/\u2713")
    pid = s.voting.propose(ids["ds"], 0, [ids["i4"]]).event(ProposalCreated).proposal_id
    chain.w3.testing.mine(2)
    s.voting.with_signer(s.signer(2)).cast_vote(pid, 1, "na\u00efve \U0001f600")
    seen = 0
    for client in (s.registry, s.voting, s.releases, s.token):
        for (contract, name), cls in EVENT_TYPES.items():
            if contract == client.artifact:
                mine = client.event_logs(cls, 0)
                assert all(isinstance(e, cls) for e in mine)
                assert [_fields(e) for e in mine] == _web3_events(client, name, 0), name
                seen += len(mine)
    assert seen > 30
    votes = s.voting.event_logs(VoteCast, 0, filters={"proposal_id": [ids["p1"], pid]})
    assert [v.proposal_id for v in votes] == [ids["p1"], ids["p1"], pid]
    assert raw_text(votes[-1].reason) == "na\u00efve \U0001f600".encode()
    assert [v.voter for v in s.voting.event_logs(VoteCast, 0, filters={"support": 0})] == [
        s.signer(2).address.lower()
    ]  # a non-indexed field is matched after decoding
    with pytest.raises(ChainError, match="VoteCast has no field colour to filter on"):
        s.voting.event_logs(VoteCast, 0, filters={"colour": 1})

    @dataclass(frozen=True, slots=True)
    class Nope(ChainEvent):
        value: int

    with pytest.raises(ChainError, match="Nope is not an event of the deployment's contracts"):
        s.voting.event_logs(Nope, 0)


def test_manifest_bytes_for_utf8_text_are_those_of_plain_strings(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    s.registry.with_signer(s.signer(5)).update_profile(
        "https://example.org/\u00e9\u00e8 \u2713 \U0001f600\t\x01"
    )
    env = s.session()
    lossless = build_release(env, ids["ds"], parent=None)
    monkeypatch.setattr(decode_module, "wire_type", lambda t: t)  # strings decoded by eth_abi as before
    monkeypatch.setattr(decode_module, "_restore", lambda _t, v: v)
    plain = build_release(env, ids["ds"], parent=None)
    assert any("\U0001f600\t\x01" in a["profile_uri"] for a in plain.manifest.doc["attribution"])
    assert lossless.manifest_bytes == plain.manifest_bytes
    assert lossless.sha256 == plain.sha256


def test_malformed_error_string_reverts_are_named_not_raised() -> None:
    class Reverted(Exception):
        data = "0x08c379a0" + "00" * 5

    assert (
        str(decode_revert(Reverted(), "X.f"))
        == "X.f reverted: (a malformed Error(string) payload 0x0000000000)"
    )
