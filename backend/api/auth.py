"""Sign-in state: single-use expiring nonces (backend.api.nonces) and HMAC-signed expiring session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Collection
from dataclasses import dataclass

from backend.api.errors import Unauthenticated
from backend.api.nonces import Clock, MemoryNonceStore, NonceStore
from backend.api.siwe import SignatureCheck, SiweMessage, parse_time, verify_message

__all__ = ["Authenticator", "SessionTokens", "WalletSession"]

_TOKEN = re.compile(r"cc1\.(0x[0-9a-fA-F]{40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class WalletSession:
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

    def check(self, token: str) -> WalletSession:
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
        return WalletSession(address, expires_at)


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
        nonces: NonceStore | None = None,
        max_nonces_per_client: int | None = None,
    ) -> None:
        self.domain = domain
        self.uri = uri
        self.statement = statement
        self.chain_ids = frozenset(chain_ids)
        self.nonces = (
            nonces
            if nonces is not None
            else MemoryNonceStore(nonce_ttl, max_nonces, clock, max_per_client=max_nonces_per_client)
        )
        self.tokens = SessionTokens(secret, clock)
        self._session_ttl = session_ttl
        self._skew = skew
        self._clock = clock
        self._contract_check = contract_check

    def sign_in(self, text: str, signature: str) -> tuple[SiweMessage, WalletSession, str]:
        """Verify a signed EIP-4361 message, spend its nonce, and start a session.

        Every check runs before the nonce is spent, so a forged attempt cannot burn a real user's nonce. The
        session ends after the session TTL, or at the message's expiration time if that is sooner.
        """
        now = self._clock()
        msg = verify_message(
            text,
            signature,
            domain=self.domain,
            uri=self.uri,
            chain_ids=self.chain_ids,
            now=now,
            skew=self._skew,
            contract_check=self._contract_check,
        )
        self.nonces.consume(msg.nonce)
        expires_at = int(now) + self._session_ttl
        if msg.expiration_time is not None:
            expires_at = min(expires_at, int(parse_time(msg.expiration_time, "expiration time").timestamp()))
        session = WalletSession(msg.address, expires_at)
        return msg, session, self.tokens.issue(msg.address, expires_at)
