"""The gasless relay (issue 13, item 3): take a signed forward request, check it, simulate it, pay for it.

Server side, `Relayer.relay` (behind `POST /relay`) checks in this order and refuses with a typed error,
sending nothing:
1. the request reads (every field present, integers as decimal strings, calldata at most
   `relay_max_data_bytes`): ForwardRequestRejected;
2. it calls one of the allowed actions (`RELAYED`) on this deployment's registry, token or voting contract,
   with no ETH attached and at most `relay_max_request_gas` gas: NotRelayable;
3. the forwarder would accept it: this chain and forwarder, deadline not passed, the wallet's current nonce,
   a signature by `from`: ForwardRequestRejected;
4. the wallet's quota (`relay_max_requests` requests and `relay_max_gas` gas per rolling `relay_window`
   seconds): QuotaExhausted. Revocations (`revokeConsent`, `revokeLeafConsent`) are never refused for quota:
   withdrawing consent is a right, not a privilege; they are still checked and simulated like any request;
5. the relayer can pay for it: RelayerUnfunded;
6. simulated, it would not revert: WouldRevert, whose message names the contract's custom error.
Then it sends `execute` from the relayer's key and reports the transaction, the gas and the quota left.

Requests of one wallet are handled one at a time (so two cannot both pass with the same nonce); requests of
different wallets never wait for each other, except for the instant the relayer's own transaction nonce is
taken. Quotas live in a SQL table (`relay_usage`, a SQLite file by default), so a restart does not reset them.

Client side, `send_gasless` builds, signs and posts a request to a relay and reads the result from its own node.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx
from eth_utils.address import is_hex_address, to_checksum_address
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from backend.chain.accounts import Signer, dev_signers, load_keystore
from backend.chain.contract import ContractClient, Receipt, Relay
from backend.chain.deployment import Deployment
from backend.chain.forwarder import (
    ForwarderClient,
    PreparedCall,
    SignedForwardRequest,
    execute_gas,
    function_selectors,
    sign_request_as,
)
from backend.db import open_engine
from backend.errors import BackendError, ChainError, ConfigError, ContractRevert, Retryable
from backend.settings import Settings
from curation import safejson
from curation.errors import InvalidInput

__all__ = [
    "MIN_LIFETIME",
    "RELAYED",
    "REVOCATIONS",
    "GaslessResult",
    "NotRelayable",
    "QuotaExhausted",
    "QuotaLedger",
    "QuotaStatus",
    "RelayError",
    "RelayLimits",
    "RelayRefused",
    "RelayUnavailable",
    "Relayed",
    "Relayer",
    "RelayerNotConfigured",
    "RelayerUnfunded",
    "RequestTooLarge",
    "WouldRevert",
    "gasless_relay",
    "open_relayer",
    "send_gasless",
]

#: The actions a relay pays for, by contract: what contributors and curators do (register, submit, narrow,
#: revoke, delegate, propose). Everything else (admin functions, token transfers, votes: ballots have their
#: own relay) is refused.
RELAYED: Final[Mapping[str, frozenset[str]]] = {
    "ContentRegistry": frozenset(
        {
            "register",
            "updateProfile",
            "submitItem",
            "submitBatch",
            "narrowConsent",
            "revokeConsent",
            "narrowLeafConsent",
            "revokeLeafConsent",
        }
    ),
    "CurationToken": frozenset({"delegate"}),
    "CurationVoting": frozenset({"propose"}),
}
#: Relayed whatever the wallet's quota says (still signature-checked and simulated).
REVOCATIONS: Final = frozenset({"revokeConsent", "revokeLeafConsent"})
#: Seconds a request must still be valid after the latest block, so that it is mined before its deadline.
MIN_LIFETIME: Final = 30
#: Largest answer `send_gasless` reads from a relay.
MAX_RESPONSE_BYTES: Final = 64 * 1024


# --- errors -------------------------------------------------------------------------------------------------


class RelayRefused(InvalidInput):
    """The relay will not send this request; the message says why. Nothing was sent."""


class NotRelayable(RelayRefused):
    """The request calls a contract or function the relay does not pay for, attaches ETH, or asks too much gas."""


class RequestTooLarge(NotRelayable):
    """The request's calldata is longer than the relay takes (CURATION_RELAY_MAX_DATA_BYTES)."""


class WouldRevert(RelayRefused):
    """Simulated, the request reverts; `error_name` is the contract's custom error (the message explains it)."""

    def __init__(self, message: str, error_name: str | None = None) -> None:
        super().__init__(message)
        self.error_name = error_name


class QuotaExhausted(RelayRefused):
    """The wallet has used its relayed requests or gas for the window; `retry_after` seconds until it frees."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RelayerNotConfigured(ConfigError):
    """This server has no relayer key (CURATION_RELAYER_KEYSTORE, or CURATION_RELAYER_DEV_ACCOUNT on a dev chain)."""


class RelayerUnfunded(ChainError, Retryable):
    """The relayer's account holds too little ETH to pay for the request; the operator must fund it."""


class RelayError(BackendError):
    """A relay (`send_gasless`'s other end) refused the request or answered something unreadable."""


class RelayUnavailable(RelayError, Retryable):
    """The relay could not be reached, timed out, or is busy or out of funds (429, 503, 504): try again later."""


# --- limits and the quota ledger ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayLimits:
    """Per-wallet quota over a rolling window, and the bounds of one request (see backend.settings)."""

    max_requests: int = 50
    max_gas: int = 10_000_000
    window: float = 86_400.0
    max_request_gas: int = 2_000_000
    max_data_bytes: int = 16_384

    @classmethod
    def from_settings(cls, settings: Settings) -> RelayLimits:
        return cls(
            max_requests=settings.relay_max_requests,
            max_gas=settings.relay_max_gas,
            window=settings.relay_window,
            max_request_gas=settings.relay_max_request_gas,
            max_data_bytes=settings.relay_max_data_bytes,
        )


@dataclass(frozen=True)
class QuotaStatus:
    """What a wallet has used of its quota in the current window, and when the oldest use leaves it."""

    address: str
    window_seconds: float
    requests_limit: int
    requests_used: int
    gas_limit: int
    gas_used: int
    resets_at: int | None

    @property
    def requests_left(self) -> int:
        return max(0, self.requests_limit - self.requests_used)

    @property
    def gas_left(self) -> int:
        return max(0, self.gas_limit - self.gas_used)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "window_seconds": self.window_seconds,
            "requests_limit": self.requests_limit,
            "requests_used": self.requests_used,
            "requests_left": self.requests_left,
            "gas_limit": self.gas_limit,
            "gas_used": self.gas_used,
            "gas_left": self.gas_left,
            "resets_at": self.resets_at,
            "revocations_always_relayed": True,
        }


_metadata = MetaData()
#: One row per relayed (or reserved) request of the window; rows older than the window are deleted.
_usage = Table(
    "relay_usage",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("wallet", String(42), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("gas", BigInteger, nullable=False),
    Column("revocation", Boolean, nullable=False),
    Column("tx_hash", String(66), nullable=True),
    Index("ix_relay_usage_wallet_at", "wallet", "at_ms"),
)


class QuotaLedger:
    """Per-wallet use of the relay in SQL (any SQLAlchemy URL; a SQLite file by default), kept over restarts.

    A request reserves the most gas it may cost before it is sent (`reserve`), and the reservation becomes the
    gas actually used once it is mined (`settle`) or is dropped if nothing was sent (`release`), so that
    requests in flight count and a failure halfway leaves no use recorded for a request never sent.
    Revocations are recorded but never count against the quota.
    """

    def __init__(self, db_url: str, limits: RelayLimits, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._engine = open_engine(db_url)
        self._shown = self._engine.url.render_as_string(hide_password=True)
        with self._tx() as conn:
            _metadata.create_all(conn)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"the relay's quota ledger ({self._shown}) failed: {exc.__class__.__name__}"
            ) from None

    def _status(self, conn: Any, wallet: str, now_ms: int) -> QuotaStatus:
        since = now_ms - int(self.limits.window * 1000)
        conn.execute(delete(_usage).where(_usage.c.wallet == wallet, _usage.c.at_ms <= since))
        rows = conn.execute(
            select(_usage.c.at_ms, _usage.c.gas).where(
                _usage.c.wallet == wallet, _usage.c.revocation.is_(False)
            )
        ).all()
        oldest = min((int(r.at_ms) for r in rows), default=None)
        return QuotaStatus(
            address=wallet,
            window_seconds=self.limits.window,
            requests_limit=self.limits.max_requests,
            requests_used=len(rows),
            gas_limit=self.limits.max_gas,
            gas_used=sum(int(r.gas) for r in rows),
            resets_at=None if oldest is None else -(-(oldest + int(self.limits.window * 1000)) // 1000),
        )

    def status(self, wallet: str) -> QuotaStatus:
        """The wallet's use in the window ending now."""
        with self._tx() as conn:
            return self._status(conn, wallet, int(self._clock() * 1000))

    def reserve(self, wallet: str, gas: int, *, revocation: bool) -> int:
        """Record a request of `wallet` that may cost `gas`; its row id. QuotaExhausted (nothing recorded)
        when it would pass the wallet's requests or gas for the window, unless it is a revocation."""
        now_ms = int(self._clock() * 1000)
        with self._tx() as conn:
            if not revocation:
                if gas > self.limits.max_gas:
                    raise QuotaExhausted(
                        f"this request may cost {gas:,} gas, more than a wallet's whole quota of "
                        f"{self.limits.max_gas:,} per {self.limits.window:g} s: give it less gas",
                        int(self.limits.window),
                    )
                st = self._status(conn, wallet, now_ms)
                wait = max(1, (st.resets_at or 0) - now_ms // 1000)
                if st.requests_used >= st.requests_limit:
                    raise QuotaExhausted(
                        f"{wallet} has used its {st.requests_limit} relayed requests of the last "
                        f"{st.window_seconds:g} s; the next frees in {wait} s (revocations are always relayed)",
                        wait,
                    )
                if st.gas_used + gas > st.gas_limit:
                    raise QuotaExhausted(
                        f"{wallet} has {st.gas_left:,} of its {st.gas_limit:,} relayed gas left for the last "
                        f"{st.window_seconds:g} s, and this request may cost {gas:,}; gas frees from {wait} s "
                        "on (revocations are always relayed)",
                        wait,
                    )
            result = conn.execute(
                insert(_usage).values(
                    wallet=wallet, at_ms=now_ms, gas=gas, revocation=revocation, tx_hash=None
                )
            )
            return int(result.inserted_primary_key[0])

    def settle(self, row: int, gas_used: int, tx_hash: str | None) -> None:
        """The reserved request was sent: record the gas it used (or keep the reservation when unknown)."""
        with self._tx() as conn:
            conn.execute(update(_usage).where(_usage.c.id == row).values(gas=gas_used, tx_hash=tx_hash))

    def release(self, row: int) -> None:
        """The reserved request was not sent: forget it."""
        with self._tx() as conn:
            conn.execute(delete(_usage).where(_usage.c.id == row))


# --- the relayer --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relayed:
    """A relayed request: the relayer's transaction, what it cost, and the wallet's quota after it."""

    sender: str
    function: str
    nonce: int
    receipt: Receipt
    quota: QuotaStatus

    def to_json(self) -> dict[str, Any]:
        return {
            "tx_hash": self.receipt.tx_hash,
            "block_number": self.receipt.block_number,
            "gas_used": self.receipt.gas_used,
            "from": self.sender,
            "function": self.function,
            "nonce": str(self.nonce),
            "events": [type(ev).__name__ for ev in self.receipt.events],
            "quota": self.quota.to_json(),
        }


class _WalletLock:
    """A lock per wallet, dropped when nobody holds or waits for it (weakly referenced)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class Relayer:
    """Checks, simulates and pays for signed forward requests of one deployment (see the module doc)."""

    def __init__(
        self,
        w3: Any,
        deployment: Deployment,
        signer: Signer,
        ledger: QuotaLedger,
        *,
        min_lifetime: int = MIN_LIFETIME,
    ) -> None:
        self.deployment = deployment
        self.signer = signer
        self.ledger = ledger
        self.limits = ledger.limits
        self.min_lifetime = min_lifetime
        self.forwarder = ForwarderClient(w3, deployment.address("CommonsForwarder"))
        self._targets = {deployment.address(name).lower(): name for name in RELAYED}
        self._locks: weakref.WeakValueDictionary[str, _WalletLock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()

    @property
    def address(self) -> str:
        return self.signer.address

    def quota(self, wallet: str) -> QuotaStatus:
        """The quota `wallet` has used and has left."""
        return self.ledger.status(_checksum(wallet))

    def parse(self, doc: Mapping[str, object]) -> SignedForwardRequest:
        """A request's JSON form, read within this relay's size limit (RequestTooLarge, ForwardRequestRejected)."""
        data = doc.get("data")
        limit = self.limits.max_data_bytes
        if isinstance(data, str) and len(data) > 2 + 2 * limit:
            raise RequestTooLarge(
                f"the calldata is {(len(data) - 2) // 2} bytes; this relay takes at most {limit}"
            )
        return SignedForwardRequest.from_json(doc, max_data_bytes=self.limits.max_data_bytes)

    def allowed(self, signed: SignedForwardRequest) -> tuple[str, str]:
        """(contract, function) of an action this relay pays for; NotRelayable otherwise."""
        r = signed.request
        contract = self._targets.get(r.to.lower())
        if contract is None:
            names = ", ".join(f"{n} {self.deployment.address(n)}" for n in RELAYED)
            raise NotRelayable(f"{r.to} is not a contract this relay pays calls to ({names})")
        function = function_selectors(contract).get(r.selector)
        if function is None or function not in RELAYED[contract]:
            what = f"{contract}.{function}" if function else f"selector 0x{r.selector.hex()} of {contract}"
            allowed = ", ".join(sorted(RELAYED[contract]))
            raise NotRelayable(f"{what} is not relayed; on {contract} the relay pays for: {allowed}")
        if r.value != 0:
            raise NotRelayable(f"the request attaches {r.value} wei; the relay pays gas, never ETH")
        if r.gas > self.limits.max_request_gas:
            raise NotRelayable(
                f"the request gives its call {r.gas:,} gas; at most {self.limits.max_request_gas:,}"
            )
        if len(r.data) > self.limits.max_data_bytes:
            raise RequestTooLarge(
                f"the calldata is {len(r.data)} bytes; at most {self.limits.max_data_bytes}"
            )
        return contract, function

    @contextmanager
    def _one_at_a_time(self, wallet: str) -> Iterator[None]:
        with self._locks_guard:
            holder = self._locks.get(wallet)
            if holder is None:
                holder = _WalletLock()
                self._locks[wallet] = holder
        with holder.lock:
            yield

    def relay(self, request: SignedForwardRequest | Mapping[str, object]) -> Relayed:
        """Check, simulate and send one request (see the module doc for the order and the errors)."""
        signed = request if isinstance(request, SignedForwardRequest) else self.parse(request)
        contract, function = self.allowed(signed)
        r = signed.request
        label = f"{contract}.{function}"
        cost = execute_gas(r.gas, len(r.data))
        with self._one_at_a_time(r.sender):
            self.forwarder.check(signed, min_lifetime=self.min_lifetime)
            row = self.ledger.reserve(r.sender, cost, revocation=function in REVOCATIONS)
            sent = False
            try:
                self._check_funds(cost)
                try:
                    self.forwarder.simulate(signed, self.signer.address, label)
                except ContractRevert as exc:
                    raise WouldRevert(f"not sent: {exc}", exc.error_name) from None
                sent = True
                receipt = self.forwarder.execute(signed, self.signer, contract)
            except BaseException:
                if not sent:
                    self.ledger.release(row)
                raise  # sent and failed: the reservation stays, the relayer may have paid for it
            self.ledger.settle(row, receipt.gas_used, receipt.tx_hash)
            return Relayed(r.sender, label, r.nonce, receipt, self.ledger.status(r.sender))

    def _check_funds(self, gas: int) -> None:
        need = gas * self.forwarder.gas_price()
        have = self.forwarder.balance(self.signer.address)
        if have < need:
            raise RelayerUnfunded(
                f"the relayer {self.signer.address} holds {have} wei, less than the {need} wei this request may "
                "cost: the operator must fund it"
            )


def open_relayer(
    settings: Settings, w3: Any, deployment: Deployment, *, clock: Callable[[], float] = time.time
) -> Relayer | None:
    """The relayer the settings configure (None when they configure none): the key of
    `relayer_keystore` (password `relayer_password`), else the node's unlocked account `relayer_dev_account`,
    with the quota ledger at `relay_db` (default a SQLite file in the data directory)."""
    if settings.relayer_keystore is not None:
        if settings.relayer_password is None:
            raise ConfigError("CURATION_RELAYER_KEYSTORE is set but CURATION_RELAYER_PASSWORD is not")
        signer = load_keystore(settings.relayer_keystore, settings.relayer_password.get_secret_value())
    elif settings.relayer_dev_account is not None:
        signers = dev_signers(w3)
        if settings.relayer_dev_account >= len(signers):
            raise ConfigError(
                f"CURATION_RELAYER_DEV_ACCOUNT {settings.relayer_dev_account} is out of range: the node has "
                f"{len(signers)} unlocked accounts"
            )
        signer = signers[settings.relayer_dev_account]
    else:
        return None
    db = settings.relay_db or f"sqlite:///{settings.home / 'relay.sqlite'}"
    ledger = QuotaLedger(db, RelayLimits.from_settings(settings), clock)
    return Relayer(w3, deployment, signer, ledger)


def _checksum(address: str) -> str:
    if len(address) != 42 or not is_hex_address(address):
        raise InvalidInput(f"{address[:50]!r} is not a 0x address of 40 hex digits")
    return str(to_checksum_address(address))


# --- the client ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaslessResult:
    """A call made through a relay: its receipt (read from the caller's own node), and what the relay said."""

    receipt: Receipt
    relay: Mapping[str, Any]

    @property
    def quota(self) -> Mapping[str, Any]:
        quota = self.relay.get("quota")
        return quota if isinstance(quota, Mapping) else {}


def send_gasless(
    w3: Any,
    signer: Signer,
    deployment: Deployment,
    relay_url: str,
    call: PreparedCall,
    *,
    ttl: int = 600,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> GaslessResult:
    """Make `call` as `signer` without ETH: sign a forward request and have the relay at `relay_url` send it.

    The call is simulated here first (a revert raises ContractRevert naming the contract's error, before
    anything is signed); the request gets the wallet's forwarder nonce and a deadline `ttl` seconds past the
    latest block. The relay's answer is read within MAX_RESPONSE_BYTES and `timeout` seconds; the receipt is
    then read from `w3` (not taken from the relay) and must show the request executed. A refusal raises
    RelayError with the relay's reason (RelayUnavailable when trying later may help).
    """
    forwarder = ForwarderClient(w3, deployment.address("CommonsForwarder"))
    request = forwarder.build(call, signer.address, ttl=ttl)
    signed = sign_request_as(w3, signer, request, deployment.chain_id, forwarder.address)
    answer = _post(relay_url.rstrip("/") + "/relay", signed.to_json(), timeout, transport)
    tx_hash = answer.get("tx_hash")
    if not isinstance(tx_hash, str):
        raise RelayError("the relay's answer carries no tx_hash")
    receipt = forwarder.relayed_receipt(tx_hash, signed, call.contract, timeout=max(timeout, 30.0))
    return GaslessResult(receipt, answer)


def _post(
    url: str, body: dict[str, str], timeout: float, transport: httpx.BaseTransport | None
) -> Mapping[str, Any]:
    where = f"the relay at {httpx.URL(url).copy_with(query=None, fragment=None, userinfo=b'')}"
    limits = httpx.Timeout(timeout, connect=min(10.0, timeout))
    try:
        with (
            httpx.Client(timeout=limits, transport=transport, follow_redirects=False) as client,
            client.stream("POST", url, json=body) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise RelayError(f"{where} answered more than {MAX_RESPONSE_BYTES} bytes")
                chunks.append(chunk)
            status = response.status_code
    except httpx.TimeoutException:
        raise RelayUnavailable(f"{where} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise RelayUnavailable(f"{where} cannot be reached ({type(exc).__name__})") from None
    try:
        doc = safejson.loads(b"".join(chunks), max_bytes=MAX_RESPONSE_BYTES, what=f"the answer of {where}")
    except safejson.JsonRejected as exc:
        raise RelayError(f"{where} answered {status} with something that is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RelayError(f"{where} answered {status} with JSON that is not an object")
    if status >= 400:
        detail = str(doc.get("detail", ""))[:2000]
        code = str(doc.get("code", ""))[:64]
        cls = RelayUnavailable if status in (429, 502, 503, 504) else RelayError
        raise cls(f"{where} refused the request ({status} {code}): {detail}")
    if status != 200:
        raise RelayError(f"{where} answered {status}, not 200")
    return doc


def gasless_relay(
    w3: Any,
    signer: Signer,
    deployment: Deployment,
    relay_url: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> Relay:
    """A backend.chain.contract.Relay that makes each call of a client through the relay at `relay_url`
    (send_gasless): what `--gasless` installs on a session, so the use cases run unchanged without ETH."""

    def relay(client: ContractClient, function: str, args: tuple[Any, ...]) -> Receipt:
        call = PreparedCall.encode(client, function, *args)
        return send_gasless(w3, signer, deployment, relay_url, call, transport=transport).receipt

    return relay
