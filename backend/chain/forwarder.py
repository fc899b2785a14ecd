"""Gasless calls through CommonsForwarder (OpenZeppelin ERC2771Forwarder): build, sign, check, simulate, execute.

A contributor or curator without ETH signs an EIP-712 `ForwardRequest(address from,address to,uint256 value,
uint256 gas,uint256 nonce,uint48 deadline,bytes data)` in the domain ("Curation Commons Forwarder", "1",
chain id, forwarder address); a relayer sends `execute(request)` and pays the gas, and the target (registry,
token, voting contract, which trust the forwarder through ERC2771Context) sees the signer as the sender.

OpenZeppelin's forwarder does not pass the target's revert on: a failed call makes `execute` revert with
`FailedCall()`. So the inner call is simulated on its own, as the forwarder makes it (from the forwarder's
address, with the signer's address appended to the calldata), and its revert is decoded by
`backend.chain.contract.decode_revert`: the reason names the target's custom error (for example
`ContentRegistryNotRegistered`). Then `execute` itself is simulated from the relayer.

A JSON-RPC node runs eth_call and eth_estimateGas without fee fields for any sender, funded or not. The
embedded chain (eth-tester) charges a fee on calls too, so there the simulation runs the same EVM on a
throwaway copy of the latest state in which the caller is given just the fee (`_embedded_call`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_hex_address, to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import RPCEndpoint

from backend.chain.accounts import Signer
from backend.chain.artifacts import abi_type, load_artifact
from backend.chain.blocks import block_header
from backend.chain.connection import is_embedded
from backend.chain.contract import ContractClient, Receipt, _guard, decode_revert
from backend.chain.registry import RegistryClient
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from backend.errors import ChainError, ContractRevert
from curation.ballots import EIP712_DOMAIN_FIELDS
from curation.errors import InvalidInput

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "EXECUTE_OVERHEAD_GAS",
    "FORWARD_REQUEST_TYPE",
    "MAX_UINT48",
    "ForwardRequest",
    "ForwardRequestRejected",
    "ForwarderClient",
    "PreparedCall",
    "SignedForwardRequest",
    "execute_gas",
    "function_selectors",
    "sign_request",
    "sign_request_as",
]

#: The EIP-712 domain of CommonsForwarder (contracts/governance/CommonsForwarder.sol).
DOMAIN_NAME: Final = "Curation Commons Forwarder"
DOMAIN_VERSION: Final = "1"
#: The struct OpenZeppelin's ERC2771Forwarder hashes (FORWARD_REQUEST_TYPEHASH), field by field.
FORWARD_REQUEST_TYPE: Final = (
    ("from", "address"),
    ("to", "address"),
    ("value", "uint256"),
    ("gas", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint48"),
    ("data", "bytes"),
)
MAX_UINT48: Final = 2**48 - 1
_MAX_UINT256: Final = 2**256 - 1
#: Gas `execute` needs besides the forwarded call: calldata, signature recovery, the target's
#: isTrustedForwarder check, the nonce, the event; calldata bytes are added at 16 each (execute_gas).
EXECUTE_OVERHEAD_GAS: Final = 100_000
#: Gas added to a simulated estimate of the forwarded call (nested calls keep 1/64 of theirs back).
_GAS_MARGIN_PERCENT: Final = 25
_GAS_MARGIN_FLAT: Final = 10_000
_TARGETS: Final[dict[str, type[ContractClient]]] = {
    "ContentRegistry": RegistryClient,
    "CurationToken": TokenClient,
    "CurationVoting": VotingClient,
}
_INTRINSIC_GAS: Final = 21_000
_HEX = re.compile(r"0x([0-9a-fA-F]{2})*")
_DIGITS = re.compile(r"[0-9]{1,78}")


class ForwardRequestRejected(InvalidInput):
    """A forward request the forwarder would refuse or that cannot be read: malformed, for another chain or
    forwarder, expired, with a stale nonce, or signed by someone other than its `from`. Nothing was sent."""


def execute_gas(request_gas: int, data_length: int) -> int:
    """The gas limit of the relayer's `execute` transaction for a request giving `request_gas` to its call.

    The forwarder checks after the call that the call was not starved (EIP-150 keeps 1/64 back), so the
    transaction carries the request's gas plus its 64th, the calldata and EXECUTE_OVERHEAD_GAS. Only gas used
    is paid.
    """
    return request_gas + request_gas // 63 + EXECUTE_OVERHEAD_GAS + 16 * (data_length + 32 * 12)


@cache
def function_selectors(artifact: str) -> dict[bytes, str]:
    """4-byte selector -> function name, for every state-changing function of the shipped `artifact`."""
    out: dict[bytes, str] = {}
    for entry in load_artifact(artifact).abi:
        if entry.get("type") == "function" and entry.get("stateMutability") not in ("view", "pure"):
            signature = f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"
            out[keccak(text=signature)[:4]] = str(entry["name"])
    return out


@dataclass(frozen=True)
class ForwardRequest:
    """The fields a signer signs (the nonce is the forwarder's `nonces(from)` when it is relayed)."""

    sender: str
    to: str
    value: int
    gas: int
    nonce: int
    deadline: int
    data: bytes

    @property
    def selector(self) -> bytes:
        return self.data[:4]

    def typed_data(self, chain_id: int, forwarder: str) -> dict[str, Any]:
        """The EIP-712 document (eth_signTypedData_v4's JSON form: data as 0x hex)."""
        return {
            "types": {
                "EIP712Domain": list(EIP712_DOMAIN_FIELDS),
                "ForwardRequest": [{"name": n, "type": t} for n, t in FORWARD_REQUEST_TYPE],
            },
            "primaryType": "ForwardRequest",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": to_checksum_address(forwarder),
            },
            "message": {
                "from": to_checksum_address(self.sender),
                "to": to_checksum_address(self.to),
                "value": self.value,
                "gas": self.gas,
                "nonce": self.nonce,
                "deadline": self.deadline,
                "data": "0x" + self.data.hex(),
            },
        }


@dataclass(frozen=True)
class SignedForwardRequest:
    """A request, its signature, and the chain and forwarder it was signed for.

    Its JSON form (`to_json`, `from_json`) is what `POST /relay` takes: addresses as 0x hex, bytes as 0x hex,
    every integer as a decimal string.
    """

    request: ForwardRequest
    signature: bytes
    chain_id: int
    forwarder: str

    def as_struct(self) -> tuple[str, str, int, int, int, bytes, bytes]:
        """ERC2771Forwarder.ForwardRequestData: (from, to, value, gas, deadline, data, signature)."""
        r = self.request
        return (r.sender, r.to, r.value, r.gas, r.deadline, r.data, self.signature)

    def recover(self) -> str | None:
        """The address whose key made the signature over this request, or None when it is not a signature."""
        signable = encode_typed_data(full_message=self.request.typed_data(self.chain_id, self.forwarder))
        try:
            return str(Account.recover_message(signable, signature=self.signature))
        except Exception:  # eth-keys raises several types for malformed signatures
            return None

    def to_json(self) -> dict[str, str]:
        r = self.request
        return {
            "from": r.sender,
            "to": r.to,
            "value": str(r.value),
            "gas": str(r.gas),
            "nonce": str(r.nonce),
            "deadline": str(r.deadline),
            "data": "0x" + r.data.hex(),
            "signature": "0x" + self.signature.hex(),
            "chain_id": str(self.chain_id),
            "forwarder": self.forwarder,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object], *, max_data_bytes: int) -> SignedForwardRequest:
        """Read the JSON form; ForwardRequestRejected names the first field that is missing or malformed."""
        unknown = sorted(set(doc) - _JSON_FIELDS)
        if unknown:
            raise ForwardRequestRejected(f"unknown fields in the request: {', '.join(unknown[:5])}")
        data = _hex_field(doc, "data", 2 * max_data_bytes + 2)
        if len(data) > max_data_bytes:  # pragma: no cover - the text bound above implies it
            raise ForwardRequestRejected(f"data is {len(data)} bytes; at most {max_data_bytes} are relayed")
        if len(data) < 4:
            raise ForwardRequestRejected("data must start with a 4-byte function selector")
        signature = _hex_field(doc, "signature", 2 + 2 * 65)
        if len(signature) != 65:
            raise ForwardRequestRejected(f"signature must be 65 bytes (r, s, v), got {len(signature)}")
        request = ForwardRequest(
            sender=_address_field(doc, "from"),
            to=_address_field(doc, "to"),
            value=_uint_field(doc, "value", _MAX_UINT256),
            gas=_uint_field(doc, "gas", _MAX_UINT256),
            nonce=_uint_field(doc, "nonce", _MAX_UINT256),
            deadline=_uint_field(doc, "deadline", MAX_UINT48),
            data=data,
        )
        return cls(
            request, signature, _uint_field(doc, "chain_id", _MAX_UINT256), _address_field(doc, "forwarder")
        )


_JSON_FIELDS = frozenset(
    {"from", "to", "value", "gas", "nonce", "deadline", "data", "signature", "chain_id", "forwarder"}
)


def _field(doc: Mapping[str, object], name: str) -> str:
    value = doc.get(name)
    if value is None:
        raise ForwardRequestRejected(f"{name} is missing")
    if not isinstance(value, str):
        raise ForwardRequestRejected(f"{name} must be a string (integers as decimal strings)")
    return value


def _uint_field(doc: Mapping[str, object], name: str, bound: int) -> int:
    text = _field(doc, name)
    if not _DIGITS.fullmatch(text):
        raise ForwardRequestRejected(
            f"{name} must be a decimal string of at most 78 digits, got {text[:40]!r}"
        )
    value = int(text)
    if value > bound:
        raise ForwardRequestRejected(f"{name} {value} does not fit its type (at most {bound})")
    return value


def _address_field(doc: Mapping[str, object], name: str) -> str:
    text = _field(doc, name)
    if len(text) != 42 or not is_hex_address(text):
        raise ForwardRequestRejected(f"{name} must be a 0x address of 40 hex digits, got {text[:50]!r}")
    return to_checksum_address(text)


def _hex_field(doc: Mapping[str, object], name: str, max_chars: int) -> bytes:
    text = _field(doc, name)
    if len(text) > max_chars:
        raise ForwardRequestRejected(
            f"{name} is {(len(text) - 2) // 2} bytes; at most {(max_chars - 2) // 2} are relayed"
        )
    if not _HEX.fullmatch(text):
        raise ForwardRequestRejected(f"{name} must be 0x followed by an even number of hex digits")
    return bytes.fromhex(text[2:])


def sign_request(
    account: LocalAccount, request: ForwardRequest, chain_id: int, forwarder: str
) -> SignedForwardRequest:
    """Sign `request` with a local key, which must be the request's `from`."""
    if account.address != to_checksum_address(request.sender):
        raise InvalidInput(f"the request is from {request.sender}, but the key belongs to {account.address}")
    signed = account.sign_message(encode_typed_data(full_message=request.typed_data(chain_id, forwarder)))
    return SignedForwardRequest(request, bytes(signed.signature), chain_id, to_checksum_address(forwarder))


def sign_request_as(
    w3: Web3, signer: Signer, request: ForwardRequest, chain_id: int, forwarder: str
) -> SignedForwardRequest:
    """Sign as `signer`: a local key (keystore) signs here; an account unlocked on the node is asked through
    eth_signTypedData_v4, and its signature must recover to the request's `from`."""
    if signer.local is not None:
        return sign_request(signer.local, request, chain_id, forwarder)
    if signer.address != to_checksum_address(request.sender):
        raise InvalidInput(
            f"the request is from {request.sender}, but the node would sign as {signer.address}"
        )
    document = json.dumps(request.typed_data(chain_id, forwarder))
    try:
        answer = w3.provider.make_request(RPCEndpoint("eth_signTypedData_v4"), [signer.address, document])
    except Exception as exc:  # a node that cannot be reached, or a transport that raises the refusal
        raise ChainError(f"the node would not sign the forward request ({exc}); use --keystore") from None
    error = answer.get("error")
    result = answer.get("result")
    if error is not None or not isinstance(result, str) or len(result) != 132:
        why = error.get("message", error) if isinstance(error, dict) else error or "no 65-byte signature"
        raise ChainError(f"the node would not sign the forward request ({why}); use --keystore")
    try:
        raw = bytes.fromhex(result.removeprefix("0x"))
    except ValueError:
        raise ChainError("the node answered eth_signTypedData_v4 with a malformed signature") from None
    signed = SignedForwardRequest(request, raw, chain_id, to_checksum_address(forwarder))
    if signed.recover() != signer.address:
        raise ChainError("the node's signature does not recover to the request's sender; use --keystore")
    return signed


@dataclass(frozen=True)
class PreparedCall:
    """A call to make through the forwarder: the target contract (by artifact name), its address, the calldata
    and a short label (`ContentRegistry.register`)."""

    contract: str
    to: str
    data: bytes
    label: str

    @classmethod
    def encode(cls, client: ContractClient, function: str, *args: Any) -> PreparedCall:
        """`function(*args)` of the contract `client` wraps, encoded from the shipped ABI (no transaction)."""
        try:
            call = client.encode(function, *args)
        except ChainError as exc:  # a wrong name, count or type of argument
            raise InvalidInput(f"cannot encode the call: {exc}") from None
        return cls(call.contract, call.target, call.data, f"{call.contract}.{call.function}")


class ForwarderClient(ContractClient):
    """CommonsForwarder: nonces, verify, and the relayer's simulate-then-execute."""

    artifact = "CommonsForwarder"

    def __init__(self, w3: Web3, address: str, signer: Signer | None = None) -> None:
        super().__init__(w3, address, signer)
        self._send_lock = threading.Lock()  # the relayer's own transaction nonces are taken one at a time

    # --- reads ----------------------------------------------------------------------------------------------
    def nonce(self, owner: str) -> int:
        """The nonce the next request of `owner` must be signed with."""
        return int(self._call("nonces", to_checksum_address(owner)))

    def verify(self, signed: SignedForwardRequest) -> bool:
        """The forwarder's own check: the target trusts it, the deadline has not passed, the signer is `from`."""
        return bool(self._call("verify", signed.as_struct()))

    def chain_time(self) -> int:
        """The latest block's timestamp: the clock the forwarder's deadline check reads."""
        return block_header(self.w3).timestamp

    def balance(self, address: str) -> int:
        """ETH (wei) held by `address` (the relayer's gas money)."""
        try:
            return int(self.w3.eth.get_balance(to_checksum_address(address)))
        except (ConnectionError, OSError) as exc:
            raise ChainError(
                f"could not read the balance of {address}: the node does not answer ({exc})"
            ) from None

    def gas_price(self) -> int:
        return int(self.w3.eth.gas_price)

    # --- building a request ---------------------------------------------------------------------------------
    def estimate_call_gas(self, call: PreparedCall, sender: str) -> int:
        """Gas to give `call` made through the forwarder for `sender`: simulated, plus a margin.

        ContractRevert (the target's custom error, decoded) when the call would revert now.
        """
        used = self._call_as_forwarder(call.to, call.data, sender, None, call.label)
        return used + used * _GAS_MARGIN_PERCENT // 100 + _GAS_MARGIN_FLAT

    def build(
        self, call: PreparedCall, sender: str, *, ttl: int = 600, gas: int | None = None
    ) -> ForwardRequest:
        """The request for `call` from `sender`: its current nonce, a deadline `ttl` seconds past the latest
        block, and `gas` (default: simulated, with a margin)."""
        if ttl <= 0:
            raise InvalidInput(f"a request must stay valid for some time; ttl {ttl} s")
        sender = to_checksum_address(sender)
        return ForwardRequest(
            sender=sender,
            to=to_checksum_address(call.to),
            value=0,
            gas=gas if gas is not None else self.estimate_call_gas(call, sender),
            nonce=self.nonce(sender),
            deadline=min(self.chain_time() + ttl, MAX_UINT48),
            data=call.data,
        )

    # --- checks ---------------------------------------------------------------------------------------------
    def rejection(self, signed: SignedForwardRequest, *, min_lifetime: int = 0) -> str | None:
        """Why the forwarder would refuse `signed` now, in words, or None.

        Checked here so that the reason is specific (the forwarder itself only says InvalidSigner): the chain
        and forwarder it was signed for, the deadline against the latest block (it must outlive it by
        `min_lifetime` seconds, the time to get mined), the nonce, the signature; then the forwarder's verify.
        """
        r = signed.request
        chain_id = self.w3.eth.chain_id
        if signed.chain_id != chain_id:
            return f"the request is signed for chain {signed.chain_id}, but this relay's chain is {chain_id}"
        if signed.forwarder != self.address:
            return (
                f"the request is signed for forwarder {signed.forwarder}, this deployment's is {self.address}"
            )
        now = self.chain_time()
        if r.deadline < now + min_lifetime:
            return (
                f"the request expired or is about to: its deadline {r.deadline} is before {now + min_lifetime} "
                f"(the latest block's time {now} plus {min_lifetime} s); sign it again with a later deadline"
            )
        expected = self.nonce(r.sender)
        if r.nonce != expected:
            return (
                f"the request is signed with nonce {r.nonce}, but the forwarder expects nonce {expected} for "
                f"{r.sender} (a request of this wallet was relayed since, or this one already was): sign again"
            )
        recovered = signed.recover()
        if recovered != r.sender:
            who = f"recovers to {recovered}" if recovered else "is not a valid ECDSA signature"
            return f"the signature {who}, not to the request's sender {r.sender}"
        if not self.verify(signed):
            return f"the forwarder refuses the request (does {r.to} trust it as its ERC-2771 forwarder?)"
        return None

    def check(self, signed: SignedForwardRequest, *, min_lifetime: int = 0) -> None:
        """ForwardRequestRejected when `rejection` finds a reason."""
        why = self.rejection(signed, min_lifetime=min_lifetime)
        if why is not None:
            raise ForwardRequestRejected(why)

    def simulate(self, signed: SignedForwardRequest, relayer: str, label: str) -> int:
        """Run the request as it would be relayed, changing nothing; returns the gas its call used.

        First the forwarded call alone, as the forwarder makes it (so a revert names the target's custom
        error, which `execute` does not pass on), then `execute` from `relayer`. ContractRevert says why it
        would fail.
        """
        r = signed.request
        used = self._call_as_forwarder(r.to, r.data, r.sender, r.gas, label)
        tx = self._execute_tx(signed, relayer)
        with _guard(f"CommonsForwarder.execute of {label} for {r.sender}"):
            self.w3.eth.call(tx)  # type: ignore[arg-type]
        return used

    # --- sending --------------------------------------------------------------------------------------------
    def execute(self, signed: SignedForwardRequest, relayer: Signer, target: str) -> Receipt:
        """Send `execute(request)` from `relayer` and wait for it; the receipt carries the events of `target`
        (an artifact name: ContentRegistry, CurationToken or CurationVoting), which name the signer as sender.

        The relayer's transaction nonce is taken and the transaction broadcast under a lock (so two requests
        relayed at once cannot take the same nonce); the wait for the receipt is outside it.
        """
        r = signed.request
        where = f"CommonsForwarder.execute of {target} call for {r.sender}"
        tx = self._execute_tx(signed, relayer.address)
        with _guard(where):
            with self._send_lock:
                if relayer.local is None:
                    tx_hash = self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
                else:
                    tx["nonce"] = self.w3.eth.get_transaction_count(
                        to_checksum_address(relayer.address), "pending"
                    )
                    tx["chainId"] = self.w3.eth.chain_id
                    tx["gasPrice"] = self.w3.eth.gas_price
                    raw = relayer.local.sign_transaction(tx).raw_transaction
                    tx_hash = self.w3.eth.send_raw_transaction(raw)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            replay = {k: v for k, v in tx.items() if k in ("from", "to", "data", "gas")}
            with _guard(where):
                self.w3.eth.call(replay, receipt["blockNumber"])  # type: ignore[arg-type]
            raise ContractRevert(f"{where} failed in block {receipt['blockNumber']} (status 0)")
        cls = _TARGETS.get(target)
        if cls is None:
            raise ChainError(f"{target} is not a contract whose calls are relayed")
        return cls(self.w3, r.to).decode_receipt(receipt)

    def relayed_receipt(
        self, tx_hash: str, signed: SignedForwardRequest, target: str, timeout: float = 120
    ) -> Receipt:
        """The receipt of a relayer's transaction `tx_hash` for `signed`, read from this node, not the relay:
        it must be a successful transaction to this forwarder that used up the request's nonce; the events
        are `target`'s (an artifact name)."""
        r = signed.request
        where = f"relayed transaction {tx_hash}"
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", tx_hash):
            raise ChainError(f"the relay answered {tx_hash[:80]!r}, which is not a transaction hash")
        with _guard(where):
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)  # type: ignore[arg-type]
        to = receipt.get("to")
        if receipt["status"] != 1 or to is None or to_checksum_address(to) != self.address:
            raise ChainError(f"{where} is not a successful call of the forwarder {self.address}")
        if self.nonce(r.sender) <= r.nonce:
            raise ChainError(f"{where} did not execute the request (nonce {r.nonce} of {r.sender} is unused)")
        cls = _TARGETS.get(target)
        if cls is None:
            raise ChainError(f"{target} is not a contract whose calls are relayed")
        return cls(self.w3, r.to).decode_receipt(receipt)

    def _execute_tx(self, signed: SignedForwardRequest, relayer: str) -> dict[str, Any]:
        with _guard("CommonsForwarder.execute"):
            data = self.contract.encode_abi("execute", args=[signed.as_struct()])
        gas = execute_gas(signed.request.gas, len(signed.request.data))
        return {
            "from": to_checksum_address(relayer),
            "to": self.address,
            "data": data,
            "gas": gas,
            "value": 0,
        }

    # --- the forwarded call, simulated ----------------------------------------------------------------------
    def _call_as_forwarder(self, to: str, data: bytes, sender: str, gas: int | None, label: str) -> int:
        """Run `data` on `to` from the forwarder for `sender`; the gas it used, or ContractRevert (decoded)."""
        where = f"{label} for {to_checksum_address(sender)}"
        calldata = data + bytes.fromhex(to_checksum_address(sender)[2:])
        # The call gets `gas` to run; the simulating transaction pays its intrinsic gas from its limit first.
        limit = None if gas is None else gas + _INTRINSIC_GAS + 16 * len(calldata)
        if is_embedded(self.w3):
            ok, used, output = _embedded_call(self.w3, self.address, to, calldata, limit)
            if not ok:
                if output is None:
                    raise ContractRevert(f"{where} runs out of gas with the {gas:,} gas the request gives it")
                raise decode_revert(ContractLogicError("execution reverted", data="0x" + output.hex()), where)
            return used
        tx: dict[str, Any] = {
            "from": self.address,
            "to": to_checksum_address(to),
            "data": "0x" + calldata.hex(),
        }
        if gas is not None:
            tx["gas"] = limit
            with _guard(where):
                self.w3.eth.call(tx)  # type: ignore[arg-type]
            return gas
        with _guard(where):
            return int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]


def _embedded_call(
    w3: Web3, sender: str, to: str, data: bytes, gas: int | None
) -> tuple[bool, int, bytes | None]:
    """eth_call on the embedded chain from `sender` whatever its balance: (success, gas used before refunds,
    return or revert bytes; None when it failed without reverting, such as out of gas).

    The latest state is copied, the sender given just the fee of this call in the copy, the transaction
    applied and the copy dropped; the chain itself never changes.
    """
    from eth.exceptions import Revert
    from eth.vm.spoof import SpoofTransaction

    backend = w3.provider.ethereum_tester.backend  # type: ignore[attr-defined]
    chain = backend.chain
    head = chain.get_canonical_head()
    vm = chain.get_vm(at_header=head)
    state = vm.state
    limit = gas if gas is not None else int(head.gas_limit)
    origin = bytes.fromhex(to_checksum_address(sender)[2:])
    fee = max(int(state.execution_context.base_fee_per_gas), 1)
    snapshot = state.snapshot()
    try:
        state.set_balance(origin, state.get_balance(origin) + limit * fee)
        unsigned = vm.create_unsigned_transaction(
            nonce=state.get_nonce(origin),
            gas_price=fee,
            gas=limit,
            to=bytes.fromhex(to_checksum_address(to)[2:]),
            value=0,
            data=data,
        )
        computation = state.apply_transaction(SpoofTransaction(unsigned, from_=origin))
    except Exception as exc:  # py-evm refuses the transaction itself (not a revert: those are on the result)
        raise ChainError(f"the embedded chain could not run the call ({exc})") from None
    finally:
        state.revert(snapshot)
    used = int(computation.get_gas_used())
    if computation.is_success:
        return True, used, bytes(computation.output)
    error = computation.error
    if isinstance(error, Revert):
        raw = error.args[0] if error.args else b""
        return False, used, bytes(raw) if isinstance(raw, bytes | bytearray) else b""
    return False, used, None
