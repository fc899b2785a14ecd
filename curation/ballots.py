"""Signed ballots for CurationVoting: EIP-712 typed data, digest, and a JSON file format to relay later."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils.address import is_hex_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from curation import safejson
from curation.errors import InvalidInput
from curation.governance import Support

__all__ = [
    "BALLOT_FILE_FORMAT",
    "BALLOT_TYPE",
    "BALLOT_TYPEHASH",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "EIP712_DOMAIN_FIELDS",
    "MAX_BALLOT_FILE_BYTES",
    "Ballot",
    "SignedBallot",
    "SkipReason",
    "dump_ballots",
    "load_ballots",
]

DOMAIN_NAME = "CurationVoting"
DOMAIN_VERSION = "1"
BALLOT_TYPE = "Ballot(uint256 proposalId,uint8 support,address voter)"
BALLOT_TYPEHASH = keccak(BALLOT_TYPE.encode())
_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
#: The EIP712Domain fields of every typed document we sign (ballots, forward requests), as
#: eth_signTypedData_v4 lists them.
EIP712_DOMAIN_FIELDS: Final = (
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
)
_DOMAIN_TYPEHASH = keccak(_DOMAIN_TYPE.encode())
#: `format` field of a ballot file.
BALLOT_FILE_FORMAT = "curation-commons/ballots-v1"
#: Largest ballot file `load_ballots` parses: a ballot takes about 450 bytes as written by `dump_ballots`,
#: so about 35,000 ballots (a relay sends at most 50 per transaction).
MAX_BALLOT_FILE_BYTES: Final = 16 * 1024 * 1024
#: A ballot file nests 3 levels (file object, ballots list, ballot object).
_MAX_DEPTH: Final = 8
_UINT256 = 2**256


class SkipReason(IntEnum):
    """Why `relayBallots` skipped a ballot (the code in its BallotSkipped event)."""

    NONE = 0
    INVALID_SUPPORT = 1
    UNKNOWN_PROPOSAL = 2
    NOT_STARTED = 3
    CLOSED = 4
    BAD_SIGNATURE = 5
    ALREADY_VOTED = 6

    @property
    def explanation(self) -> str:
        return _SKIP_TEXT[self]


_SKIP_TEXT = {
    SkipReason.NONE: "counted",
    SkipReason.INVALID_SUPPORT: "support is not 0 (against), 1 (for) or 2 (abstain)",
    SkipReason.UNKNOWN_PROPOSAL: "no proposal has this id",
    SkipReason.NOT_STARTED: "voting has not started (it opens in the block after the snapshot)",
    SkipReason.CLOSED: "voting closed at the deadline block",
    SkipReason.BAD_SIGNATURE: "not the voter's signature of this ballot on this chain and contract",
    SkipReason.ALREADY_VOTED: "the voter has already voted on this proposal",
}


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(f"{what} {value!r} is not a 0x-prefixed 20-byte hex address")
    return str(to_checksum_address(value))


class Ballot(BaseModel):
    """One vote as the voter signs it: the EIP-712 domain (chain id, contract) and the Ballot struct."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    chain_id: int = Field(alias="chainId", gt=0, lt=_UINT256)
    contract: str
    proposal_id: int = Field(alias="proposalId", gt=0, lt=_UINT256)
    support: Support
    voter: str

    @field_validator("contract", "voter", mode="before")
    @classmethod
    def _check_address(cls, value: Any) -> str:
        return _address(value, "address")

    @field_validator("support", mode="before")
    @classmethod
    def _check_support(cls, value: Any) -> Support:
        if isinstance(value, Support):
            return value
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                return Support.parse(value)
            except InvalidInput as exc:
                raise ValueError(str(exc)) from None
        raise ValueError(f"support {value!r} is not one of: for, against, abstain")

    @field_serializer("support")
    def _dump_support(self, value: Support) -> str:
        return value.name.lower()

    def typed_data(self) -> dict[str, Any]:
        """The full EIP-712 message (for eth_signTypedData_v4 wallets and eth-account's encode_typed_data)."""
        return {
            "types": {
                "EIP712Domain": list(EIP712_DOMAIN_FIELDS),
                "Ballot": [
                    {"name": "proposalId", "type": "uint256"},
                    {"name": "support", "type": "uint8"},
                    {"name": "voter", "type": "address"},
                ],
            },
            "primaryType": "Ballot",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": self.chain_id,
                "verifyingContract": self.contract,
            },
            "message": {"proposalId": self.proposal_id, "support": int(self.support), "voter": self.voter},
        }

    def domain_separator(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    _DOMAIN_TYPEHASH,
                    keccak(DOMAIN_NAME.encode()),
                    keccak(DOMAIN_VERSION.encode()),
                    self.chain_id,
                    self.contract,
                ],
            )
        )

    def struct_hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "uint256", "uint8", "address"],
                [BALLOT_TYPEHASH, self.proposal_id, int(self.support), self.voter],
            )
        )

    def digest(self) -> bytes:
        """The 32 bytes the voter signs: keccak256(0x1901 ‖ domainSeparator ‖ structHash)."""
        return keccak(b"\x19\x01" + self.domain_separator() + self.struct_hash())


class SignedBallot(Ballot):
    """A ballot with the voter's signature (65-byte ECDSA, or whatever an ERC-1271 wallet accepts)."""

    signature: bytes

    @field_validator("signature", mode="before")
    @classmethod
    def _check_signature(cls, value: Any) -> bytes:
        if isinstance(value, bytes | bytearray):
            raw = bytes(value)
        elif isinstance(value, str) and value.startswith("0x"):
            try:
                raw = bytes.fromhex(value[2:])
            except ValueError:
                raise ValueError(f"signature {value[:20]!r}... is not 0x-prefixed hex") from None
        else:
            raise ValueError("signature must be 0x-prefixed hex")
        if not raw:
            raise ValueError("signature is empty")
        return raw

    @field_serializer("signature")
    def _dump_signature(self, value: bytes) -> str:
        return "0x" + value.hex()

    @property
    def ballot(self) -> Ballot:
        return Ballot(
            chain_id=self.chain_id,
            contract=self.contract,
            proposal_id=self.proposal_id,
            support=self.support,
            voter=self.voter,
        )

    def to_json(self) -> dict[str, Any]:
        """The ballot as a JSON object (camelCase keys, support as a word, signature as 0x hex)."""
        data: dict[str, Any] = self.model_dump(by_alias=True)
        return data

    @classmethod
    def from_json(cls, data: Any) -> SignedBallot:
        """Parse one ballot object; InvalidInput says which field is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInput(f"malformed ballot: {_errors(exc)}") from None


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'ballot'}: {e['msg']}" for e in exc.errors())


def dump_ballots(ballots: list[SignedBallot]) -> str:
    """A ballot file: `{"format": ..., "ballots": [...]}` as sorted, indented JSON with a final newline."""
    doc = {"format": BALLOT_FILE_FORMAT, "ballots": [b.to_json() for b in ballots]}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def load_ballots(text: str | bytes) -> list[SignedBallot]:
    """Parse a ballot file written by `dump_ballots`; InvalidInput names the ballot and the wrong field.

    The file may come from anyone: over MAX_BALLOT_FILE_BYTES, not UTF-8, nested too deep or not JSON, it
    is refused with `safejson.JsonRejected` (an InvalidInput) before the parser runs.
    """
    doc = safejson.loads(text, max_bytes=MAX_BALLOT_FILE_BYTES, max_depth=_MAX_DEPTH, what="ballot file")
    if not isinstance(doc, dict) or doc.get("format") != BALLOT_FILE_FORMAT:
        raise InvalidInput(f"not a ballot file: expected an object with format {BALLOT_FILE_FORMAT!r}")
    items = doc.get("ballots")
    if not isinstance(items, list):
        raise InvalidInput("ballot file has no `ballots` list")
    out: list[SignedBallot] = []
    for index, item in enumerate(items):
        try:
            out.append(SignedBallot.model_validate(item))
        except ValidationError as exc:
            raise InvalidInput(f"ballot {index} is malformed: {_errors(exc)}") from None
    return out
