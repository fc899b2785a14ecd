"""Sign-in state: single-use expiring nonces (in memory) and HMAC-signed expiring session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from backend.api.errors import RateLimited, SignInFailed, Unauthenticated
from backend.api.siwe import SignatureCheck, SiweMessage, parse_time, verify_message

__all__ = ["Authenticator", "NonceStore", "Session", "SessionTokens"]

Clock = Callable[[], float]
_TOKEN = re.compile(r"cc1\.(0x[0-9a-fA-F]{40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


class NonceStore:
    """Nonces issued by this process; each is accepted once, before it expires.

    Bounded: at most `max_outstanding` unexpired nonces, so a flood of nonce requests cannot exhaust memory.
    The store is per process: with several replicas, route sign-in to one (or share the store).
    """

    def __init__(self, ttl: int, max_outstanding: int, clock: Clock) -> None:
        self._ttl = ttl
        self._max = max_outstanding
        self._clock = clock
        self._live: OrderedDict[str, float] = OrderedDict()  # insertion order is expiry order
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        while self._live:
            nonce, expires = next(iter(self._live.items()))
            if expires > now:
                break
            del self._live[nonce]

    def issue(self) -> tuple[str, float]:
        """A fresh nonce (32 hex digits) and its expiry in unix seconds."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            if len(self._live) >= self._max:
                raise RateLimited(self._ttl, "sign-in nonces")
            nonce = secrets.token_hex(16)
            expires = now + self._ttl
            self._live[nonce] = expires
        return nonce, expires

    def consume(self, nonce: str) -> None:
        """Accept `nonce` once; SignInFailed when it is unknown, used already or expired."""
        now = self._clock()
        with self._lock:
            expires = self._live.pop(nonce, None)
        if expires is None or expires <= now:
            raise SignInFailed("nonce is unknown, already used or expired: request a new one")

    def __len__(self) -> int:
        return len(self._live)


@dataclass(frozen=True)
class Session:
    """A signed-in wallet: its checksum address and when the session ends (unix seconds)."""

    address: str
    expires_at: int


class SessionTokens:
    """Bearer tokens `cc1.<address>.<expiry>.<HMAC-SHA256(secret, address|expiry)>`: stateless, expiring.

    Any process holding the same secret accepts them; they cannot be revoked before expiry (keep the TTL short,
    rotate the secret to end every session).
    """

    def __init__(self, secret: bytes, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    def _mac(self, address: str, expires_at: int) -> str:
        digest = hmac.new(self._secret, f"cc1|{address}|{expires_at}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, address: str, expires_at: int) -> str:
        return f"cc1.{address}.{expires_at}.{self._mac(address, expires_at)}"

    def check(self, token: str) -> Session:
        """The session a token stands for; Unauthenticated when malformed, forged or expired."""
        m = _TOKEN.fullmatch(token)
        if m is None:
            raise Unauthenticated("bearer token is malformed: sign in again")
        address, expires_text, mac = m.groups()
        expires_at = int(expires_text)
        if not hmac.compare_digest(mac, self._mac(address, expires_at)):
            raise Unauthenticated("bearer token signature is not valid: sign in again")
        if expires_at <= self._clock():
            raise Unauthenticated("session has expired: sign in again")
        return Session(address, expires_at)


class Authenticator:
    """Sign-in with Ethereum: nonces out, signed messages in, session tokens out."""

    def __init__(
        self,
        *,
        domain: str,
        uri: str,
        statement: str | None,
        chain_ids: Collection[int],
        secret: bytes,
        session_ttl: int,
        nonce_ttl: int,
        max_nonces: int,
        skew: int,
        clock: Clock,
        contract_check: SignatureCheck | None = None,
    ) -> None:
        self.domain = domain
        self.uri = uri
        self.statement = statement
        self.chain_ids = frozenset(chain_ids)
        self.nonces = NonceStore(nonce_ttl, max_nonces, clock)
        self.tokens = SessionTokens(secret, clock)
        self._session_ttl = session_ttl
        self._skew = skew
        self._clock = clock
        self._contract_check = contract_check

    def sign_in(self, text: str, signature: str) -> tuple[SiweMessage, Session, str]:
        """Verify a signed EIP-4361 message, spend its nonce, and start a session.

        Every check runs before the nonce is spent, so a forged attempt cannot burn a real user's nonce. The
        session ends after the session TTL, or at the message's expiration time if that is sooner.
        """
        now = self._clock()
        msg = verify_message(
            text,
            signature,
            domain=self.domain,
            chain_ids=self.chain_ids,
            now=now,
            skew=self._skew,
            contract_check=self._contract_check,
        )
        self.nonces.consume(msg.nonce)
        expires_at = int(now) + self._session_ttl
        if msg.expiration_time is not None:
            expires_at = min(expires_at, int(parse_time(msg.expiration_time, "expiration time").timestamp()))
        session = Session(msg.address, expires_at)
        return msg, session, self.tokens.issue(msg.address, expires_at)
