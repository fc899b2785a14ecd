"""Sign-In with Ethereum (EIP-4361): build, parse and verify messages signed with personal_sign (EIP-191)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from backend.api.errors import SignInFailed

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "SignatureCheck",
    "SiweMessage",
    "format_time",
    "origin",
    "parse_time",
    "personal_digest",
    "recover_signer",
    "verify_message",
]

#: (address, EIP-191 digest of the message, signature) -> whether that contract wallet accepts it (ERC-1271).
SignatureCheck = Callable[[str, bytes, bytes], bool]
#: Longest signature taken for a contract wallet (a multi-owner wallet concatenates its owners' signatures).
MAX_SIGNATURE_BYTES = 2048

_HEADER = " wants you to sign in with your Ethereum account:"
_MESSAGE = re.compile(
    r"(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+\-.]*)://)?(?P<domain>[^\s/?#]+)" + re.escape(_HEADER) + r"\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]+)\n)?"
    r"\n"
    r"URI: (?P<uri>[^\s]+)\n"
    r"Version: (?P<version>[^\n]*)\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,20})\n"
    r"Nonce: (?P<nonce>[^\n]*)\n"
    r"Issued At: (?P<issued_at>[^\n]+)"
    r"(?:\nExpiration Time: (?P<expiration_time>[^\n]+))?"
    r"(?:\nNot Before: (?P<not_before>[^\n]+))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]*))?"
    r"(?:\nResources:(?P<resources>(?:\n- [^\n]+)*))?"
)
_NONCE = re.compile(r"[a-zA-Z0-9]{8,}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def parse_time(text: str, what: str) -> datetime:
    """An RFC 3339 date-time with a time zone, as an aware datetime (SignInFailed otherwise)."""
    if not _RFC3339.fullmatch(text):
        raise SignInFailed(f"{what} {text!r} is not an RFC 3339 date-time with a time zone")
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError:
        raise SignInFailed(f"{what} {text!r} is not a valid date-time") from None


def format_time(ts: float) -> str:
    """Unix seconds as RFC 3339 UTC with a `Z`, to the second."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SiweMessage:
    """The fields of an EIP-4361 message; `to_text()` gives the exact text a wallet signs."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    statement: str | None = None
    version: str = "1"
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)
    scheme: str | None = None

    def to_text(self) -> str:
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain}{_HEADER}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before is not None:
            lines.append(f"Not Before: {self.not_before}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        """Parse the text of a message; SignInFailed says what does not follow EIP-4361."""
        m = _MESSAGE.fullmatch(text)
        if m is None:
            raise SignInFailed("the message does not follow the EIP-4361 format")
        g = m.groupdict()
        address = g["address"]
        if to_checksum_address(address) != address:
            raise SignInFailed(f"address {address} is not in EIP-55 checksum form")
        if g["version"] != "1":
            raise SignInFailed(f"message version {g['version']!r} is not supported (only 1)")
        if not _NONCE.fullmatch(g["nonce"]):
            raise SignInFailed("nonce must be at least 8 letters or digits")
        for name in ("issued_at", "expiration_time", "not_before"):
            if g[name] is not None:
                parse_time(g[name], name.replace("_", " "))
        resources = tuple(r[2:] for r in (g["resources"] or "").split("\n") if r)
        return cls(
            domain=g["domain"],
            address=address,
            uri=g["uri"],
            chain_id=int(g["chain_id"]),
            nonce=g["nonce"],
            issued_at=g["issued_at"],
            statement=g["statement"],
            version=g["version"],
            expiration_time=g["expiration_time"],
            not_before=g["not_before"],
            request_id=g["request_id"],
            resources=resources,
            scheme=g["scheme"],
        )


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(uri: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an absolute URI, lower-cased, default port made explicit; None if it has none."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _check_uri(msg: SiweMessage, uri: str) -> None:
    """The message's scheme and URI must be those of the server's sign-in URI (same scheme, host and port)."""
    expected = origin(uri)
    if expected is None:
        raise ValueError(f"the server's sign-in URI {uri!r} is not an absolute URI")
    scheme = (msg.scheme or "https").lower()  # EIP-4361: without a scheme, https is assumed
    if scheme != expected[0]:
        named = f"scheme {msg.scheme!r}" if msg.scheme else "no scheme (so https)"
        raise SignInFailed(
            f"message names {named}, this server signs in over {expected[0]!r}: "
            f"start the message with {expected[0]}://{msg.domain}"
        )
    if origin(msg.uri) != expected:
        scheme, host, port = expected
        shown = f"{scheme}://{f'[{host}]' if ':' in host else host}"
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            shown += f":{port}"
        raise SignInFailed(
            f"message is for URI {msg.uri!r}, this server signs in at {shown} (the URI must have its scheme, "
            "host and port)"
        )


def personal_digest(text: str) -> bytes:
    """The EIP-191 (personal_sign) digest of `text`: what an EOA signs and an ERC-1271 wallet is asked about."""
    data = text.encode()
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def _signature_bytes(signature: str, contract_wallets: bool) -> bytes:
    raw = signature.removeprefix("0x")
    if contract_wallets:
        if not re.fullmatch(rf"(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_BYTES}}}", raw):
            raise SignInFailed(f"signature must be 0x followed by 1 to {MAX_SIGNATURE_BYTES} bytes in hex")
    elif not re.fullmatch(r"[0-9a-fA-F]{130}", raw):
        raise SignInFailed("signature must be 0x followed by 65 bytes in hex")
    return bytes.fromhex(raw)


def _recover(text: str, signature: bytes) -> str | None:
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # eth-account raises several types for a signature off the curve
        return None


def recover_signer(text: str, signature: str) -> str:
    """The checksum address whose key made `signature` (0x + 65 bytes hex) over `text` with personal_sign."""
    signer = _recover(text, _signature_bytes(signature, contract_wallets=False))
    if signer is None:
        raise SignInFailed("signature does not recover to any address")
    return signer


def verify_message(
    text: str,
    signature: str,
    *,
    domain: str,
    uri: str,
    chain_ids: Collection[int],
    now: float,
    skew: int = 60,
    contract_check: SignatureCheck | None = None,
) -> SiweMessage:
    """Parse `text` and check domain, scheme and URI, chain, validity times and signer; return the message.

    The message's URI must have the scheme, host and port of `uri` (its path may differ), and its scheme
    (https when it names none, as EIP-4361 says) must be `uri`'s, so a message signed for another site, or
    for this one over plain http when it is served over https, is refused.

    The signer is the message's address when the signature recovers to it (an EOA) or, given
    `contract_check`, when that address is a contract wallet that accepts the signature (ERC-1271, as
    EIP-4361 asks). The nonce is not checked here (single use is the caller's job, see backend.api.auth).
    `skew` seconds of clock difference are tolerated for Issued At and Not Before; none for Expiration Time.
    """
    msg = SiweMessage.parse(text)
    if msg.domain != domain:
        raise SignInFailed(f"message is for domain {msg.domain!r}, this server is {domain!r}")
    _check_uri(msg, uri)
    if msg.chain_id not in chain_ids:
        allowed = ", ".join(str(c) for c in sorted(chain_ids))
        raise SignInFailed(f"message is for chain id {msg.chain_id}, this server accepts {allowed}")
    if parse_time(msg.issued_at, "issued at").timestamp() > now + skew:
        raise SignInFailed("message is issued in the future")
    if (
        msg.expiration_time is not None
        and parse_time(msg.expiration_time, "expiration time").timestamp() <= now
    ):
        raise SignInFailed("message has expired")
    if msg.not_before is not None and parse_time(msg.not_before, "not before").timestamp() > now + skew:
        raise SignInFailed("message is not valid yet (not before)")
    sig = _signature_bytes(signature, contract_wallets=contract_check is not None)
    signer = _recover(text, sig) if len(sig) == 65 else None
    if signer == msg.address:
        return msg
    if contract_check is not None and contract_check(msg.address, personal_digest(text), sig):
        return msg
    wallet = "" if contract_check is None else f", and {msg.address} is no contract wallet that accepts it"
    if signer is None:
        raise SignInFailed(f"signature does not recover to any address{wallet}")
    raise SignInFailed(f"signature is by {signer}, not by {msg.address}{wallet}")
