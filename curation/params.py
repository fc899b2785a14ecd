"""Operator input rules: dataset parameter bounds (as CurationVoting enforces them), addresses, ETH amounts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from eth_utils.address import is_hex_address, to_checksum_address

from curation.consent import ALL, Consent, format_consent, parse_consent
from curation.errors import InvalidInput

__all__ = [
    "BPS",
    "DEV_GOVERNANCE",
    "GOVERNANCE_BOUNDS",
    "MAX_AMOUNT_CHARS",
    "PARAM_BOUNDS",
    "PUBLIC_GOVERNANCE",
    "GovernanceParams",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidDatasetName",
    "InvalidUse",
    "ParamBound",
    "ParamOutOfRange",
    "check_dataset_name",
    "check_param",
    "check_params",
    "parse_address",
    "parse_dataset_use",
    "parse_wei",
]

#: Basis points in a whole (CurationVoting: quorum 0..10000, approval 1..10000).
BPS: Final = 10_000
_UINT32: Final = 2**32 - 1
_UINT128: Final = 2**128 - 1


class ParamOutOfRange(InvalidInput):
    """A dataset parameter lies outside the range CurationVoting accepts (or its Solidity type holds)."""


class InvalidDatasetName(InvalidInput):
    """A dataset needs a non-empty name (CurationVotingEmptyName)."""


class InvalidUse(InvalidInput):
    """A dataset's use flags do not parse, or declare no use at all."""


class InvalidAddress(InvalidInput):
    """Not a 20-byte hex account address."""


class InvalidAmount(InvalidInput):
    """An ETH amount that does not parse, is not a whole number of wei, or is not positive."""


@dataclass(frozen=True)
class ParamBound:
    """The accepted range of one field of ICurationVoting.DatasetParams, and where the bound comes from."""

    low: int
    high: int
    unit: str
    source: str


#: Every field of DatasetParams (names as backend.chain.voting.DatasetParams) with its inclusive range: the
#: lower bounds are CurationVoting._validate's custom errors, the upper ones its error or the field's type.
PARAM_BOUNDS: Final[Mapping[str, ParamBound]] = {
    "voting_delay": ParamBound(1, _UINT32, "blocks", "CurationVotingVotingDelayTooShort; uint32"),
    "voting_period": ParamBound(1, _UINT32, "blocks", "CurationVotingVotingPeriodTooShort; uint32"),
    "quorum_bps": ParamBound(0, BPS, "basis points", "CurationVotingQuorumOutOfRange"),
    "approval_bps": ParamBound(1, BPS, "basis points", "CurationVotingApprovalOutOfRange"),
    "late_quorum_extension": ParamBound(0, _UINT32, "blocks", "uint32"),
    "proposal_threshold": ParamBound(0, _UINT128, "votes (token units)", "uint128"),
}


def check_param(field: str, value: int) -> int:
    """`value` if it is in the range of dataset parameter `field`, else ParamOutOfRange naming both."""
    bound = PARAM_BOUNDS.get(field)
    if bound is None:
        raise ParamOutOfRange(f"unknown dataset parameter {field!r}; known: {', '.join(PARAM_BOUNDS)}")
    if isinstance(value, bool) or not isinstance(value, int) or not bound.low <= value <= bound.high:
        raise ParamOutOfRange(
            f"{field} = {value!r} is out of range: it must be an integer from {bound.low} to {bound.high} "
            f"({bound.unit})"
        )
    return value


def check_params(values: Mapping[str, int]) -> dict[str, int]:
    """Every given dataset parameter checked by check_param (the first one out of range raises)."""
    return {field: check_param(field, value) for field, value in values.items()}


#: The commons Governor's settings (OpenZeppelin GovernorSettings, GovernorVotesQuorumFraction) and its
#: TimelockController's minimum delay, with the range each accepts here (the Solidity type or a sane limit).
GOVERNANCE_BOUNDS: Final[Mapping[str, ParamBound]] = {
    "voting_delay": ParamBound(0, 2**48 - 1, "blocks", "GovernorSettings; uint48"),
    "voting_period": ParamBound(1, _UINT32, "blocks", "GovernorInvalidVotingPeriod; uint32"),
    "proposal_threshold": ParamBound(0, 2**208 - 1, "votes (token units)", "ERC20Votes supply cap"),
    "quorum_percent": ParamBound(0, 100, "percent of supply", "GovernorInvalidQuorumFraction"),
    "min_delay": ParamBound(0, 30 * 24 * 3600, "seconds", "TimelockController; at most 30 days here"),
}


@dataclass(frozen=True)
class GovernanceParams:
    """How the commons governs itself: a proposal waits `voting_delay` blocks, is voted `voting_period`
    blocks, needs `quorum_percent` of the supply voting For or Abstain, and waits `min_delay` seconds in the
    timelock before anyone may execute it."""

    voting_delay: int
    voting_period: int
    proposal_threshold: int
    quorum_percent: int
    min_delay: int

    def __post_init__(self) -> None:
        for field, bound in GOVERNANCE_BOUNDS.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not bound.low <= value <= bound.high:
                raise ParamOutOfRange(
                    f"governance {field} = {value!r} is out of range: it must be an integer from {bound.low} "
                    f"to {bound.high} ({bound.unit})"
                )


#: A development chain: proposals open next block, vote for 20 blocks and wait 1 second in the timelock.
DEV_GOVERNANCE: Final = GovernanceParams(
    voting_delay=1, voting_period=20, proposal_threshold=0, quorum_percent=4, min_delay=1
)
#: A public network (12 s blocks): a day's delay, a week's vote, two days in the timelock.
PUBLIC_GOVERNANCE: Final = GovernanceParams(
    voting_delay=7_200, voting_period=50_400, proposal_threshold=0, quorum_percent=4, min_delay=2 * 24 * 3600
)


def check_dataset_name(name: str) -> str:
    """The name, if it is not empty (the contract refuses an empty one)."""
    if not name:
        raise InvalidDatasetName("dataset name = '' is empty: a dataset needs a name of at least 1 character")
    return name


def parse_dataset_use(text: str) -> Consent:
    """A dataset's use flags (curation.consent.parse_consent syntax); at least one flag.

    The contract stores any uint16, but a use of 0 would admit every item whatever its consent, and bits
    outside curation.consent.ALL mean nothing to the consent gate: both are refused.
    """
    try:
        use = parse_consent(text)
    except InvalidInput as exc:
        raise InvalidUse(f"use = {text!r}: {exc}") from None
    if not use:
        raise InvalidUse(
            f"use = {text!r} declares no use: give at least one of {format_consent(ALL)} "
            "(items must consent to every flag of their dataset's use)"
        )
    return use


def parse_address(text: str, what: str = "address") -> str:
    """The checksummed form of a 0x-prefixed 20-byte hex address (any letter case)."""
    s = text.strip()
    if not (s.startswith(("0x", "0X")) and is_hex_address(s)):
        raise InvalidAddress(f"{what} = {text!r} is not an account address: expected 0x and 40 hex digits")
    return str(to_checksum_address(s))


#: Longest amount text read: more digits than any uint256 of wei has, in ether or in wei.
MAX_AMOUNT_CHARS: Final = 100
_AMOUNT = re.compile(
    r"^\s*(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?\s*(?P<unit>wei|eth|ether)?\s*$", re.IGNORECASE
)


def parse_wei(text: str) -> int:
    """An ETH amount in wei: `1.5` or `1.5eth` (ether), `1500000000000000000wei`; positive and whole in wei.

    Exact integer arithmetic (no Decimal context to round a long amount), on at most MAX_AMOUNT_CHARS.
    """
    m = _AMOUNT.match(text) if len(text) <= MAX_AMOUNT_CHARS else None
    if m is None:
        raise InvalidAmount(
            f"amount = {text[:MAX_AMOUNT_CHARS]!r} does not parse: give ether (`1.5`, `1.5eth`) or wei "
            f"(`1500000000000000000wei`), at most {MAX_AMOUNT_CHARS} characters"
        )
    decimals = 0 if (m["unit"] or "ether").lower() == "wei" else 18
    frac = (m["frac"] or "").rstrip("0")
    if len(frac) > decimals:
        raise InvalidAmount(f"amount = {text!r} is not a whole number of wei (1 ether = 10^18 wei)")
    value: int = int(m["whole"]) * 10**decimals + (int(frac.ljust(decimals, "0")) if frac else 0)
    if value <= 0:
        raise InvalidAmount(f"amount = {text!r} must be more than 0 wei")
    return value
