"""API settings: the shared Settings plus CURATION_API_* knobs (domain, chain, CORS, limits, sessions)."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from backend.settings import Settings

__all__ = ["DEFAULT_ORIGIN", "ApiSettings", "served_origin"]

#: The sign-in URI when neither CURATION_API_URI nor a served address is known (an app built in a test).
DEFAULT_ORIGIN = "http://localhost:8000"


def served_origin(host: str, port: int) -> str:
    """The origin (`http://host:port`) of a server listening on `host:port`, as a browser would name it.

    A wildcard address (0.0.0.0, ::, empty) is named `localhost`; an IPv6 address is bracketed.
    """
    name = host.strip("[]")
    if name in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        name = "localhost"
    elif ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


class ApiSettings(Settings):
    """Everything the API reads, as `CURATION_API_<NAME>` environment variables.

    `api_session_secret` signs session tokens; when unset a random one is drawn at start, so sessions do not
    survive a restart and replicas do not share them (set it for more than one process).
    `api_chain_id` None means the chain id of the deployment record. `api_cors_origins` is a comma-separated
    list (empty: no CORS headers at all).

    Sign-in messages must name `api_uri` (its scheme, host and port) and `api_domain`. Unset, the URI is the
    origin the server listens on (`with_served_origin`, called by `curation serve`), and the domain is the
    URI's host and port. Behind a TLS proxy, set `CURATION_API_URI=https://<public host>`.

    `api_trusted_proxies` lists the addresses (IPs or CIDR networks, `*` for any) whose `X-Forwarded-For` and
    `X-Forwarded-Proto` headers are believed; empty (the default), the client is the TCP peer, whatever the
    headers say.
    """

    api_domain: str | None = None
    api_uri: str | None = None
    api_statement: str = "Sign in to Curation Commons to upload content."
    api_chain_id: int | None = None
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    api_upload_tmp: Path | None = None
    api_rate_limit: int = Field(default=300, gt=0)
    api_rate_window: float = Field(default=60.0, gt=0)
    api_upload_rate_limit: int = Field(default=30, gt=0)
    api_session_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(32)))
    api_session_ttl: int = Field(default=3600, gt=0)
    api_nonce_ttl: int = Field(default=300, gt=0)
    api_max_nonces: int = Field(default=100_000, gt=0)
    #: Outstanding sign-in nonces one client (address; IPv6: its /64) may hold, so none can drain the pool.
    api_max_nonces_per_client: int = Field(default=10, gt=0)
    api_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: SQLAlchemy URL of a database shared by API replicas for sign-in nonces; unset: in this process's memory.
    api_nonce_db: str | None = None
    api_clock_skew: int = Field(default=60, ge=0)
    api_state_ttl: float = Field(default=5.0, ge=0)  # seconds before the state read model re-syncs

    @field_validator("api_cors_origins", "api_trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("api_trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"CURATION_API_TRUSTED_PROXIES: {entry!r} is not an IP address or network (or *)"
                ) from None
        return value

    @field_validator("api_uri")
    @classmethod
    def _absolute_http_uri(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"CURATION_API_URI {value!r} must be an absolute http(s) URI such as https://host"
            )
        return value

    def with_served_origin(self, host: str, port: int) -> Self:
        """These settings with the sign-in URI defaulting to the origin of `host:port` (unless set)."""
        if self.api_uri is not None:
            return self
        return self.model_copy(update={"api_uri": served_origin(host, port)})

    @property
    def sign_in_uri(self) -> str:
        """The URI sign-in messages must be for (`api_uri`, else DEFAULT_ORIGIN)."""
        return self.api_uri or DEFAULT_ORIGIN

    @property
    def sign_in_domain(self) -> str:
        """The domain sign-in messages must name (`api_domain`, else the host and port of `sign_in_uri`)."""
        return self.api_domain or urlsplit(self.sign_in_uri).netloc.rpartition("@")[2]

    @field_validator("api_session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CURATION_API_SESSION_SECRET must be at least 32 characters")
        return value
