"""API settings: the shared Settings plus CURATION_API_* knobs (domain, chain, CORS, limits, sessions)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from backend.settings import Settings

__all__ = ["ApiSettings"]


class ApiSettings(Settings):
    """Everything the API reads, as `CURATION_API_<NAME>` environment variables.

    `api_session_secret` signs session tokens; when unset a random one is drawn at start, so sessions do not
    survive a restart and replicas do not share them (set it for more than one process).
    `api_chain_id` None means the chain id of the deployment record. `api_cors_origins` is a comma-separated
    list (empty: no CORS headers at all).
    """

    api_domain: str = "localhost:8000"
    api_uri: str = "http://localhost:8000"
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
    #: SQLAlchemy URL of a database shared by API replicas for sign-in nonces; unset: in this process's memory.
    api_nonce_db: str | None = None
    api_clock_skew: int = Field(default=60, ge=0)
    api_state_ttl: float = Field(default=5.0, ge=0)  # seconds before the state read model re-syncs

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("api_session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CURATION_API_SESSION_SECRET must be at least 32 characters")
        return value
