"""POST /relay: a gasless call, signed by its wallet and paid by the server's relayer; GET /relay/quota/{address}.

The relayer (backend.relay.Relayer) is built by `curation serve` from the settings and kept on
`app.state.relayer` (`install_relayer`); without one, both routes answer 503 `relay-not-configured`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from backend.api.bodies import BODY_ERRORS, SafeJsonRoute
from backend.api.errors import domain_error_response
from backend.api.models import ErrorBody, error_responses
from backend.api.routes.items import AddressParam
from backend.relay import QuotaExhausted, Relayer, RelayerNotConfigured

__all__ = ["RelayIn", "RelayOut", "RelayQuotaOut", "install_relayer", "router"]

router = APIRouter(tags=["relay"], route_class=SafeJsonRoute)

_UINT = r"^[0-9]{1,78}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
#: Calldata is bounded by the relay's own limit (CURATION_RELAY_MAX_DATA_BYTES, 413 past it); this only keeps
#: the field within the 64 KiB JSON body.
_MAX_DATA_CHARS = 2 + 2 * 32 * 1024

_EXAMPLE: dict[str, JsonValue] = {
    "from": "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf",
    "to": "0xDe09E74d4888Bc4e65F589e8c13Bce9F71DdF4c7",
    "value": "0",
    "gas": "76793",
    "nonce": "0",
    "deadline": "1767226356",
    "data": "0xf2c298be0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000000f697066733a2f2f7a65726f2d6574680000"
    "00000000000000000000000000000000",
    "signature": "0x" + "ab" * 65,
    "chain_id": "31337",
    "forwarder": "0xF2E246BB76DF876Cef8b38ae84130F4F55De395b",
}


class RelayIn(BaseModel):
    """An OpenZeppelin ERC2771Forwarder request and its EIP-712 signature; every integer a decimal string."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [_EXAMPLE]}
    )

    sender: str = Field(alias="from", pattern=_ADDRESS, description="the wallet acting (signs; pays nothing)")
    to: str = Field(pattern=_ADDRESS, description="ContentRegistry, CurationToken or CurationVoting")
    value: str = Field(pattern=_UINT, description="wei attached: must be 0")
    gas: str = Field(
        pattern=_UINT, description="gas given to the call (at most CURATION_RELAY_MAX_REQUEST_GAS)"
    )
    nonce: str = Field(pattern=_UINT, description="the forwarder's nonces(from) the request is signed with")
    deadline: str = Field(
        pattern=_UINT, description="unix seconds (uint48) after which it may not be executed"
    )
    data: str = Field(
        max_length=_MAX_DATA_CHARS, description="calldata, 0x hex: the function and its arguments"
    )
    signature: str = Field(
        max_length=2 + 2 * 65, description="EIP-712 signature of ForwardRequest, 0x + 65 bytes"
    )
    chain_id: str = Field(pattern=_UINT, description="the chain id of the signature's domain")
    forwarder: str = Field(pattern=_ADDRESS, description="the CommonsForwarder of the signature's domain")


class RelayQuotaOut(BaseModel):
    """A wallet's quota in the rolling window: requests and gas used and left (revocations never count)."""

    address: str
    window_seconds: float
    requests_limit: int
    requests_used: int
    requests_left: int
    gas_limit: int
    gas_used: int
    gas_left: int
    resets_at: int | None = Field(description="unix seconds when the oldest counted use leaves the window")
    revocations_always_relayed: bool


class RelayOut(BaseModel):
    """The relayer's transaction: hash, block and gas; the action; the events; the wallet's quota after it."""

    model_config = ConfigDict(populate_by_name=True)

    tx_hash: str
    block_number: int
    gas_used: int = Field(description="gas of the relayer's transaction (paid by the relayer)")
    sender: str = Field(alias="from", serialization_alias="from")
    function: str = Field(description="Contract.function relayed")
    nonce: str
    events: list[str] = Field(description="events the target contract emitted, by name")
    quota: RelayQuotaOut


def install_relayer(app: FastAPI, relayer: Relayer | None) -> None:
    """Serve `relayer` at POST /relay (None: the relay routes answer 503)."""
    app.state.relayer = relayer


def _relayer(request: Request) -> Relayer:
    relayer: Relayer | None = getattr(request.app.state, "relayer", None)
    if relayer is None:
        raise RelayerNotConfigured(
            "this server relays no requests: its operator has set no relayer key (CURATION_RELAYER_KEYSTORE "
            "and CURATION_RELAYER_PASSWORD, or CURATION_RELAYER_DEV_ACCOUNT on a development chain)"
        )
    return relayer


_403: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "A contract, function, value or gas this relay does not pay for"}
}


@router.post(
    "/relay",
    response_model=RelayOut,
    response_model_by_alias=True,
    responses={**error_responses(*BODY_ERRORS, 429, 502, 503), **_403},
)
def relay(request: Request, body: RelayIn) -> Any:
    """Relay a signed forward request: the relayer pays the gas and the contract sees the signer as sender.

    Checked in order, each refusal a typed error and nothing sent: the request reads and its calldata is within
    the limit (422 `invalid-request`, 413); it calls an allowed action (register, updateProfile, submitItem,
    submitBatch, narrowConsent, narrowLeafConsent, revokeConsent, revokeLeafConsent, delegate, propose) with no
    ETH and bounded gas (403 `not-relayable`); the forwarder would accept it: chain, forwarder, deadline,
    nonce, signature (422 `invalid-request`); the wallet's quota (429 `quota-exhausted` with Retry-After;
    revocations are never refused for quota); simulated, it would not revert (422 `would-revert`, naming the
    contract's error); the relayer can pay (503 `relayer-unfunded`).
    """
    relayer = _relayer(request)
    try:
        done = relayer.relay(body.model_dump(by_alias=True))
    except QuotaExhausted as exc:
        response = domain_error_response(request, exc)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return RelayOut.model_validate(done.to_json())


@router.get(
    "/relay/quota/{address}",
    response_model=RelayQuotaOut,
    responses=error_responses(422, 503),
)
def relay_quota(request: Request, address: AddressParam) -> RelayQuotaOut:
    """What `address` has used of its relay quota in the current window, and what it has left."""
    return RelayQuotaOut.model_validate(_relayer(request).quota(address).to_json())
