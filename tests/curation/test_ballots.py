"""curation.ballots: EIP-712 ballot digest and the ballot file format (Support parsing: test_governance)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from curation.ballots import (
    BALLOT_FILE_FORMAT,
    BALLOT_TYPEHASH,
    Ballot,
    SignedBallot,
    SkipReason,
    dump_ballots,
    load_ballots,
)
from curation.errors import InvalidInput
from curation.governance import Support

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
VOTER = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"


def _ballot(**changes: object) -> Ballot:
    data: dict[str, object] = {
        "chain_id": 31337,
        "contract": CONTRACT,
        "proposal_id": 7,
        "support": Support.FOR,
        "voter": VOTER,
    }
    return Ballot(**{**data, **changes})


def test_typehash_is_the_solidity_ballot_type() -> None:
    from eth_hash.auto import keccak

    assert keccak(b"Ballot(uint256 proposalId,uint8 support,address voter)") == BALLOT_TYPEHASH


def test_digest_matches_eth_account_for_every_field_and_differs_when_any_changes() -> None:
    base = _ballot()
    acct = Account.create()
    ballot = _ballot(voter=acct.address)
    signed = acct.sign_message(encode_typed_data(full_message=ballot.typed_data()))
    assert bytes(signed.message_hash) == ballot.digest()
    variants = [
        _ballot(chain_id=1),
        _ballot(contract="0x" + "12" * 20),
        _ballot(proposal_id=8),
        _ballot(support=Support.AGAINST),
        _ballot(voter="0x" + "34" * 20),
    ]
    digests = {v.digest() for v in variants} | {base.digest()}
    assert len(digests) == len(variants) + 1


def test_known_vector() -> None:
    # Computed independently with eth-account's encode_typed_data for this exact ballot.
    ballot = _ballot()
    expected = encode_typed_data(full_message=ballot.typed_data())
    from eth_hash.auto import keccak

    assert keccak(b"\x19\x01" + expected.header + expected.body) == ballot.digest()


def test_skip_reasons_match_the_contract_enum_and_explain_themselves() -> None:
    assert [r.value for r in SkipReason] == list(range(7))
    assert "already voted" in SkipReason.ALREADY_VOTED.explanation


def test_ballot_file_round_trips_and_is_stable() -> None:
    signed = SignedBallot(**_ballot().model_dump(), signature=b"\x01" * 65)
    text = dump_ballots([signed, signed.model_copy(update={"proposal_id": 9})])
    doc = json.loads(text)
    assert doc["format"] == BALLOT_FILE_FORMAT
    assert doc["ballots"][0] == {
        "chainId": 31337,
        "contract": CONTRACT,
        "proposalId": 7,
        "support": "for",
        "voter": VOTER,
        "signature": "0x" + "01" * 65,
    }
    loaded = load_ballots(text)
    assert loaded[0] == signed
    assert loaded[1].proposal_id == 9
    assert dump_ballots(loaded) == text


def test_addresses_are_checksummed_on_load() -> None:
    ballot = _ballot(voter=VOTER.lower())
    assert ballot.voter == VOTER


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"voter": "0x1234"}, r"ballot 0 is malformed: voter: .*20-byte hex address"),
        ({"support": "maybe"}, r"support: .*not one of"),
        ({"proposalId": 0}, r"proposalId: .*greater than 0"),
        ({"signature": "zz"}, r"signature: .*0x-prefixed hex"),
        ({"signature": "0x"}, r"signature: .*empty"),
        ({"extra": 1}, r"extra: .*not permitted"),
    ],
)
def test_malformed_ballots_are_rejected_with_the_field_named(change: dict[str, object], message: str) -> None:
    good = json.loads(dump_ballots([SignedBallot(**_ballot().model_dump(), signature=b"\x01" * 65)]))
    good["ballots"][0].update(change)
    with pytest.raises(InvalidInput, match=message):
        load_ballots(json.dumps(good))


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"format": "other", "ballots": []}', '{"format": "curation-commons/ballots-v1"}'],
)
def test_files_that_are_not_ballot_files_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInput):
        load_ballots(text)


def test_from_json_reports_the_wrong_field() -> None:
    with pytest.raises(InvalidInput, match="malformed ballot: chainId"):
        SignedBallot.from_json(
            {
                "chainId": -1,
                "contract": CONTRACT,
                "proposalId": 1,
                "support": 1,
                "voter": VOTER,
                "signature": "0x01",
            }
        )
