"""Attack: put bytes that are not UTF-8 into a `string` event field with a permissionless call.

Solidity does not check that a `string` is UTF-8. Anyone can `register` or `updateProfile` with such a
profile URI, and anyone, even with no voting power, can `castVoteWithReason` with such a reason. Before the
fix, decoding those logs raised, so every later fold, release build, verification and API start failed for
every dataset, for good.

Promise: no log a permissionless call can emit stops the fold. Strings decode losslessly (ChainText: display
text with U+FFFD for invalid bytes, the exact bytes in `.raw`) in the indexer's decoder, in ContractClient's
event lookups and in decoded receipts; releases build, publish and verify, and the API read model serves the
display text.

The transactions are real: web3 will not send bytes for a `string` argument, so the calldata is encoded with
eth_abi using `bytes` in place of `string` (the same ABI encoding) and sent as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from backend.api.chain_readmodel import ChainReadModel
from backend.chain.accounts import Signer
from backend.chain.decode import UndecodableLog
from backend.chainstate import fold_index
from backend.index import open_indexer
from backend.release import build_release, publish_release, verify_release
from curation.events import (
    ChainText,
    ContributorRegistered,
    ProfileUpdated,
    ProposalCreated,
    VoteCast,
    raw_text,
)
from curation.governance import ProposalKind
from tests.backend.release.release_helpers import Story, governed
from tests.conftest import Chain

BAD_PROFILE = b"ipfs://\xff\xfe\xc3(profile"
BAD_REGISTER = b"\x80\x81 \xed\xa0\x80 not text"  # a lone continuation byte and an encoded surrogate
BAD_REASON = b"because \xc0\xaf\xf8"
#: Valid UTF-8 but hostile to a terminal: controls, a bidi override, and 100 kB of it.
LOUD_REASON = ("\x1b[2J\r\x00\u202e" * 20_000).encode() + b"\xff"


def _send(chain: Chain, sender: Signer, to: str, signature: str, *args: Any) -> Any:
    """Send `signature(args)` with every `string` argument encoded from bytes; returns the receipt."""
    types = signature[signature.index("(") + 1 : -1].split(",")
    wire = ["bytes" if t == "string" else t for t in types]
    data = keccak(text=signature)[:4] + abi_encode(wire, list(args))
    w3 = chain.w3
    tx = w3.eth.send_transaction({"from": sender.address, "to": to, "data": data, "gas": 6_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1, f"{signature} reverted"
    return receipt


def _attack(s: Story, ds: int, item: int) -> dict[str, Any]:
    """The hostile strings, from a newcomer, a registered contributor and voters with and without power."""
    chain = s.chain
    registry, voting = s.registry.address, s.voting.address
    newcomer, alice, nobody, big = s.signer(7), s.signer(4), s.signer(8), s.signer(1)
    _send(chain, newcomer, registry, "register(string)", BAD_REGISTER)
    _send(chain, alice, registry, "updateProfile(string)", BAD_PROFILE)
    pid = s.voting.propose(ds, ProposalKind.INCLUDE, [item]).event(ProposalCreated).proposal_id
    chain.w3.testing.mine(s.voting.get_proposal(pid).snapshot - s.block + 1)
    zero = _send(chain, nobody, voting, "castVoteWithReason(uint256,uint8,string)", pid, 1, BAD_REASON)
    _send(chain, big, voting, "castVoteWithReason(uint256,uint8,string)", pid, 1, LOUD_REASON)
    chain.w3.testing.mine(s.voting.get_proposal(pid).deadline + 1 - s.block)
    s.voting.finalize(pid)
    return {"pid": pid, "newcomer": newcomer, "alice": alice, "nobody": nobody, "zero_receipt": zero}


def test_releases_build_publish_and_verify_after_strings_that_are_not_utf8(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    env = s.session()
    before = build_release(env, ids["ds"], parent=None)
    i5 = s.item(s.registry.with_signer(s.signer(5)), b"epsilon " * 40)
    hit = _attack(s, ids["ds"], i5)

    built = build_release(env, ids["ds"])  # raised UndecodableLog before the fix
    shown = {a["contributor"]: a["profile_uri"] for a in built.manifest.doc["attribution"]}
    alice = hit["alice"].address.lower()
    assert shown[alice] == BAD_PROFILE.decode("utf-8", "replace") == "ipfs://\ufffd\ufffd\ufffd(profile"
    assert "\ufffd".encode() in built.manifest_bytes
    assert str(i5) in {it["item_id"] for it in built.manifest.items}  # the hostile votes' proposal counted
    assert before.manifest.doc["attribution"] != built.manifest.doc["attribution"]
    published = publish_release(env, built, chain.admin)
    result = verify_release(env, ids["ds"], published.number)
    assert result.equal, result.differences

    # the fold keeps the exact bytes behind the display text
    indexer = open_indexer(env)
    try:
        indexer.sync()
        state = fold_index(env, indexer, s.block)
    finally:
        indexer.close()
    kept = state.contributors[alice].profile_uri
    assert isinstance(kept, ChainText)
    assert kept.raw == BAD_PROFILE
    assert not kept.is_utf8
    newcomer = state.contributors[hit["newcomer"].address.lower()].profile_uri
    assert isinstance(newcomer, ChainText)
    assert newcomer.raw == BAD_REGISTER


def test_event_lookups_and_receipts_decode_strings_that_are_not_utf8(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    start = s.block
    hit = _attack(s, ids["ds"], ids["i4"])

    profiles = s.registry.event_logs(ProfileUpdated, start)  # web3's own decoding raised before the fix
    assert [(e.contributor, raw_text(e.profile_uri)) for e in profiles] == [
        (hit["alice"].address.lower(), BAD_PROFILE)
    ]
    joined = s.registry.event_logs(
        ContributorRegistered, start, filters={"contributor": hit["newcomer"].address}
    )
    assert [raw_text(e.profile_uri) for e in joined] == [BAD_REGISTER]
    votes = s.voting.event_logs(VoteCast, start, filters={"proposal_id": hit["pid"]})
    assert [(v.weight, raw_text(v.reason)) for v in votes] == [(0, BAD_REASON), (600, LOUD_REASON)]
    assert votes[0].reason == BAD_REASON.decode("utf-8", "replace")

    receipt = s.voting.decode_receipt(hit["zero_receipt"])  # what every ContractClient transaction returns
    counted = receipt.event(VoteCast)
    assert isinstance(counted.reason, ChainText)
    assert raw_text(counted.reason) == BAD_REASON
    assert counted == votes[0]  # the same object the event lookup (and the indexer) decodes


def _tampered(mined: Any, **change: Any) -> dict[str, Any]:
    """`mined` (a receipt) with its one log changed as `change` says."""
    (log,) = mined["logs"]
    return {**dict(mined), "logs": [{**dict(log), **change}]}


def test_a_receipt_log_that_does_not_decode_raises_a_typed_error_naming_event_and_transaction(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    mined = _attack(s, ids["ds"], ids["i4"])["zero_receipt"]
    (log,) = mined["logs"]
    tx = "0x" + bytes(mined["transactionHash"]).hex()
    data = bytes(log["data"])
    huge_offset = data[:64] + (2**255).to_bytes(32, "big") + data[96:]  # reason's offset: past the end
    not_decoding = [
        ("expected 3 topics, got 2", _tampered(mined, topics=log["topics"][:2])),
        ("expected 3 topics, got 4", _tampered(mined, topics=[*log["topics"], log["topics"][1]])),
        ("cannot decode (InsufficientDataBytes", _tampered(mined, data=data[:40])),
        ("cannot decode (", _tampered(mined, data=huge_offset)),
        ("cannot decode (ValueError", _tampered(mined, data="0xnot-hex")),
    ]
    for message, receipt in not_decoding:
        with pytest.raises(UndecodableLog) as caught:
            s.voting.decode_receipt(receipt)
        shown = str(caught.value)
        assert shown.startswith(f"CurationVoting.VoteCast at block {mined['blockNumber']} log ")
        assert f"in transaction {tx}: {message}" in shown
    with pytest.raises(UndecodableLog, match=rf"CurationVoting log in transaction {tx}: malformed log"):
        s.voting.decode_receipt(_tampered(mined, data=None))
    assert s.voting.decode_receipt(mined).event(VoteCast).weight == 0  # the untouched receipt decodes


def test_the_api_read_model_starts_and_serves_the_display_text(chain: Chain, tmp_path: Path) -> None:
    s, ids = governed(chain, tmp_path / "store")
    hit = _attack(s, ids["ds"], ids["i4"])
    model = ChainReadModel(s.session(), ttl=60, clock=lambda: 0.0)
    model.refresh()  # raised UndecodableLog before the fix
    alice = model.contributor(hit["alice"].address)
    assert alice.profile_uri == BAD_PROFILE.decode("utf-8", "replace")
    assert model.contributor(hit["newcomer"].address).profile_uri == BAD_REGISTER.decode("utf-8", "replace")
    proposal = model.proposal(hit["pid"])  # the proposal the hostile reasons were cast on, counted
    assert (proposal.status, proposal.voters) == ("accepted", 2)
    assert alice.model_dump_json()  # JSON-encodable as served
