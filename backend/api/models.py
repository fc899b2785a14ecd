"""Response models of the API: what the read model returns and what the OpenAPI document describes."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from backend.api.siwe import MAX_SIGNATURE_BYTES
from curation.jsonnum import BigInt

__all__ = [
    "Contributor",
    "ContributorWeight",
    "Dataset",
    "DatasetParamsOut",
    "ErrorBody",
    "Health",
    "Item",
    "ItemWeight",
    "License",
    "NonceOut",
    "Page",
    "ParameterChange",
    "ParameterChangeProposal",
    "Proposal",
    "ProposalTurnout",
    "Release",
    "ReleaseDiff",
    "SessionOut",
    "SignInIn",
    "SignInOut",
    "SourceWeightOut",
    "Tallies",
    "TransparencyReport",
    "UnsignedTxOut",
    "UploadOut",
    "VotingConcentration",
    "Weights",
    "error_responses",
]

T = TypeVar("T")

# Integers that may pass 2**53 (token amounts, weights, item ids, sizes, expiries) are `BigInt`: decimal
# strings on the wire (curation.jsonnum, the one rule; docs/api.md "Numbers and names").
Address = str
Cid = str
#: A sha256 digest: 64 lowercase hex digits, no `0x` (as in manifests, reports and the pull report).
Hex32 = Annotated[
    str,
    Field(
        pattern="^[0-9a-f]{64}$",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorBody(_Model):
    """Every error response: a sentence saying what was wrong, a stable code, and the id of its log line.

    The detail never carries URL credentials or API keys, local file paths or stack traces; the server log
    has the full detail under `request_id` (also sent as the `X-Request-ID` header).
    """

    detail: str
    code: str
    request_id: str = Field(description="id of the server log line with the full detail")


class Health(_Model):
    status: Literal["ok"] = "ok"
    chain_id: int
    registry: Address | None


class Page(_Model, Generic[T]):
    """A slice of a longer list: `items[offset : offset + limit]` of `total`."""

    items: list[T]
    total: int
    offset: int
    limit: int


class License(_Model):
    """An allowlist entry (curation.licenses.LicenseClass flags spelled out)."""

    id: int
    spdx: str
    commercial_use: bool
    share_alike: bool
    attribution: bool
    allowed: bool


class DatasetParamsOut(_Model):
    """Response model: a dataset's voting parameters as the API shows them.

    The dataset's parameters themselves are `backend.chain.voting.DatasetParams` (what a transaction sends) and
    `curation.events.DatasetParamsSet` (what the fold reads); this is only their JSON form, with the token
    threshold as a decimal string; the names are the manifest's (`dataset.voting_params`).
    """

    voting_delay: int
    voting_period: int
    quorum_bps: int
    approval_bps: int
    late_quorum_extension: int
    proposal_threshold: BigInt


class Dataset(_Model):
    id: int
    name: str
    description_cid: Cid | None
    use: int = Field(description="curation.consent.Consent flags the dataset is for")
    use_names: str = Field(description="the same flags as names, e.g. `train,commercial`")
    params: DatasetParamsOut
    release_count: int
    latest_release: int | None


class Release(_Model):
    dataset_id: int
    number: int
    manifest_cid: Cid
    manifest_sha256: Hex32
    state_block: int
    scheme_id: str
    parent: int | None
    item_count: int | None = Field(description="items in the manifest; null when it cannot be read now")
    published_block: int | None = None
    manifest_problem: str | None = Field(
        default=None,
        description="why the manifest cannot be read now (not in the store, not what the chain anchors); "
        "null when it was read and checked",
    )


class ItemWeight(_Model):
    item_id: BigInt
    weight: BigInt = Field(description="share of 10**18")
    source: int = Field(description="proposal that counts the item")


class SourceWeightOut(_Model):
    proposal_id: int
    score: str
    eligible_items: int
    eligible_bytes: BigInt
    weight: BigInt


class ContributorWeight(_Model):
    address: Address
    weight: BigInt


class Weights(_Model):
    dataset_id: int
    release: int
    scheme_id: str
    params: dict[str, str | None]
    total: BigInt
    sources: list[SourceWeightOut]
    contributors: list[ContributorWeight]
    items: Page[ItemWeight]
    exclusions: dict[str, str] = Field(description="item id -> reason code")


class Item(_Model):
    id: BigInt = Field(description="item id; a batch leaf's is 2**64 + batch * 2**32 + leaf")
    ref: str = Field(description="`item:N` or `batch:B:L`")
    cid: Cid
    sha256: Hex32
    size: BigInt
    license_id: int
    license: str
    contributor: Address
    consent: int
    consent_names: str
    expiry: BigInt = Field(description="unix seconds; 0 = no expiry")
    revoked: bool
    block: int


class Contributor(_Model):
    id: int
    address: Address
    profile_uri: str
    item_count: int
    total_bytes: BigInt


class Tallies(_Model):
    for_votes: BigInt
    against_votes: BigInt
    abstain_votes: BigInt


class Proposal(_Model):
    id: int
    dataset_id: int
    kind: Literal["include", "remove"]
    item_ids: list[BigInt]
    batch_ids: list[int]
    description_cid: Cid | None
    proposer: Address
    snapshot_block: int
    deadline_block: int
    status: Literal["pending", "active", "succeeded", "defeated", "accepted", "rejected"]
    tallies: Tallies
    voters: int
    total_supply: BigInt | None = Field(description="past total supply at the snapshot, once known")
    quorum_reached: bool | None


class ReleaseDiff(_Model):
    added_items: list[BigInt]
    removed_items: dict[str, str] = Field(description="item id -> reason it left (removed, revoked, ...)")
    changed_weights: int


class ProposalTurnout(_Model):
    proposal_id: int
    votes_cast: BigInt
    total_supply: BigInt
    turnout_bps: int
    voters: int


class VotingConcentration(_Model):
    voters: int
    top1_share_bps: int
    top10_share_bps: int
    nakamoto: int = Field(description="fewest voters holding more than half of the votes cast")


class ParameterChangeProposal(_Model):
    """The Governor proposal whose execution set a dataset's parameters."""

    id: BigInt = Field(description="the Governor proposal id (a uint256 hash, so a decimal string)")
    title: str = Field(description="the first line of the proposal's description, at most 200 characters")


class ParameterChange(_Model):
    """One setting of a dataset's voting parameters (a `DatasetParamsSet` event) and who made it."""

    block: int = Field(description="the block the parameters were set in; they hold from then on")
    params: DatasetParamsOut = Field(description="the parameters set (all of them, changed or not)")
    proposal: ParameterChangeProposal | None = Field(
        description="the Governor proposal that made the change; null when no proposal did: the dataset's "
        "creation, or a dataset manager setting them directly (a direct deployment)"
    )


class TransparencyReport(_Model):
    dataset_id: int
    release: int
    parent: int | None
    state_block: int
    manifest_cid: Cid
    item_count: int
    contributor_count: int
    diff: ReleaseDiff
    turnout: list[ProposalTurnout]
    concentration: VotingConcentration
    revocations: list[BigInt] = Field(description="items revoked since the parent release")
    parameter_changes: list[ParameterChange] = Field(
        default_factory=list,
        description="settings of the dataset's voting parameters after the parent release's state block (every "
        "one, from the dataset's creation on, for a first release), oldest first, each with the proposal "
        "that made it",
    )


class NonceOut(_Model):
    """What a wallet needs to write the sign-in message."""

    nonce: str
    expires_at: int
    domain: str
    uri: str
    chain_id: int
    statement: str | None
    version: Literal["1"] = "1"


_SIGN_IN_EXAMPLE: dict[str, JsonValue] = {
    "message": "curation.example.org wants you to sign in with your Ethereum account:\n"
    "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf\n\n"
    "Sign in to Curation Commons to upload content.\n\n"
    "URI: https://curation.example.org/login\nVersion: 1\nChain ID: 31337\n"
    "Nonce: 5b2c8f0e9a7d4c1b\nIssued At: 2026-01-01T00:00:00Z\nExpiration Time: 2026-01-01T00:10:00Z",
    "signature": "0x" + "ab" * 65,
}


class SignInIn(_Model):
    """A signed EIP-4361 message: the text the wallet signed and its signature."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [_SIGN_IN_EXAMPLE]})

    message: str = Field(max_length=4096, description="the EIP-4361 message text, exactly as signed")
    signature: str = Field(
        max_length=2 + 2 * MAX_SIGNATURE_BYTES,
        description="personal_sign signature (0x + 65 bytes hex), or what a contract wallet accepts (ERC-1271)",
    )


class SignInOut(_Model):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name, not a secret
    address: Address
    expires_at: int


class SessionOut(_Model):
    address: Address
    expires_at: int


class UnsignedTxOut(_Model):
    """A transaction for the contributor's wallet to sign and send; the server never signs it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: Address = Field(alias="from", serialization_alias="from")
    to: Address
    data: str
    value: int = Field(description="always 0: submitItem is not payable")
    gas: int
    chain_id: int = Field(alias="chainId", serialization_alias="chainId")


class UploadOut(_Model):
    cid: Cid
    sha256: Hex32
    size: BigInt
    license_id: int
    consent: int
    expiry: BigInt
    transaction: UnsignedTxOut


_ERROR_TEXT = {
    304: "Not modified: the ETag given in If-None-Match is current",
    400: "The request body could not be read (empty, not UTF-8, not JSON, nested too deep, a number too "
    "long), or an upload was cut off",
    401: "Not signed in, or the sign-in was refused",
    403: "The signed-in wallet may not do this (an upload: it is not a registered contributor yet)",
    404: "No such dataset, release, item, contributor or proposal",
    409: "Conflicts with what exists",
    413: "Request body larger than its limit (64 KiB for JSON bodies, the configured limit for uploads)",
    415: "The request body is not sent as JSON (Content-Type: application/json)",
    422: "A parameter or body value is not valid",
    429: "Too many requests; see Retry-After",
    502: "The content store or the chain node failed, or what they gave is not what the chain anchors",
    503: "The content store, the chain node or the deployment is not available",
    504: "The content store did not answer in time",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the ErrorBody schema."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXT[code]} for code in codes}
