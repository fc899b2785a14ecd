"""One settings object and its loader: flag > CURATION_* environment > config file > default."""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "DEFAULT_ORIGIN",
    "Settings",
    "config_path",
    "default_home",
    "load_settings",
    "read_config",
    "served_origin",
]

#: Environment variable naming the config file (a `--config PATH` flag wins over it).
CONFIG_ENV = "CURATION_CONFIG"
#: File name of the default config file inside the data directory ($CURATION_HOME or ~/.curation-commons).
CONFIG_NAME = "config.toml"
#: The sign-in URI when neither CURATION_API_URI nor a served address is known (an app built in a test).
DEFAULT_ORIGIN = "http://localhost:8000"
#: Settings fields whose values are paths: relative paths in a config file are relative to that file.
_PATH_FIELDS = frozenset(
    {"home", "deployment", "keystore", "keystore_dir", "api_upload_tmp", "relayer_keystore"}
)


def default_home() -> Path:
    return Path.home() / ".curation-commons"


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


class Settings(BaseSettings):
    """Where the chain, the content store, the index and the deployment record are, and how the API serves.

    Every field reads `CURATION_<NAME>` from the environment; a config file and CLI flags come in through
    `load_settings`. `rpc=None` means the embedded chain (py-evm in-process); `ipfs=None` means the embedded
    block store under `home/blocks`.
    """

    model_config = SettingsConfigDict(env_prefix="CURATION_", extra="ignore")

    # --- chain, content store, index, deployment ------------------------------------------------------------
    home: Path = Field(default_factory=default_home)
    rpc: str | None = None
    ipfs: str | None = None
    ipfs_gateway: str | None = None
    ipfs_timeout: float = 30.0
    # Largest batch manifest read from the content store (an operator resource limit, docs/storage.md): a
    # canonical manifest of 1,000,000 leaves is 220 MB, 258 MB with every field at its maximum.
    max_batch_manifest_bytes: int = Field(default=256 * 2**20, gt=0)
    db: str | None = None
    deployment: Path | None = None
    keystore_dir: Path | None = None
    # The signer of commands that send a transaction (`--keystore` / `--dev-account` win): an encrypted
    # keystore file, or the index of an unlocked account of a local node. None of them: such a command
    # refuses (backend.cli.common), it never signs as some default account.
    keystore: Path | None = None
    dev_account: int | None = Field(default=None, ge=0)
    # Blocks a block must be buried under before the index stores it (and a release may use it).
    confirmations: int = Field(default=0, ge=0)
    # Waiting for the chain's JSON-RPC node (backend.chain.rpc.RpcLimits): seconds to connect, seconds to
    # wait for each part of an answer, most seconds one call may take with all its retries, largest answer.
    rpc_connect_timeout: float = Field(default=5.0, gt=0)
    rpc_timeout: float = Field(default=10.0, gt=0)
    rpc_retry_time: float = Field(default=60.0, gt=0)
    rpc_max_answer_bytes: int = Field(default=128 * 2**20, gt=0)
    # The deepest reorg the indexer rolls back; deeper stops with ReorgTooDeepError (docs/indexer.md).
    max_reorg_depth: int = Field(default=256, ge=1)

    # --- the partitioned release build (backend/partition.py, docs/scale.md) -----------------------------------
    # Batch manifests and item bytes are read and checked in partitions: on a Dask cluster when
    # `dask_scheduler` is set (tcp://host:8786), else on `build_workers` local processes (0: one per core).
    # A build with fewer than two partitions of work runs in the calling process. Same bytes every way.
    dask_scheduler: str | None = None
    build_workers: int = Field(default=0, ge=0, le=1024)
    partition_batches: int = Field(default=8, ge=1, le=100_000)
    partition_items: int = Field(default=2_000, ge=1, le=10_000_000)

    # --- the HTTP API (`curation serve`, `curation demo --serve`): CURATION_API_<NAME> ------------------------
    # `api_session_secret` signs session tokens; when unset a random one is drawn at start, so sessions do not
    # survive a restart and replicas do not share them (set it for more than one process). `api_chain_id`
    # None means the chain id of the deployment record. `api_cors_origins` is a comma-separated list (empty:
    # no CORS headers at all).
    #
    # Sign-in messages must name `api_uri` (its scheme, host and port) and `api_domain`. Unset, the URI is the
    # origin the server listens on (`with_served_origin`, called by `curation serve`), and the domain is the
    # URI's host and port. Behind a TLS proxy, set `CURATION_API_URI=https://<public host>`.
    #
    # `api_trusted_proxies` lists the addresses (IPs or CIDR networks, `*` for any) whose `X-Forwarded-For`
    # and `X-Forwarded-Proto` headers are believed; empty (the default), the client is the TCP peer, whatever
    # the headers say.
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
    # Bytes of verified manifests and parts the API keeps in memory (LRU; a larger document is served, not kept).
    api_document_cache_bytes: int = Field(default=256 * 2**20, ge=0)
    # --- the gasless relay (docs/relay.md): CURATION_RELAYER_* is the key that pays (a keystore and its
    # password, or an unlocked account of a development node); CURATION_RELAY_* are the per-wallet quotas over
    # a rolling window (revocations are never refused for quota), the quota ledger (SQLAlchemy URL, default
    # sqlite:///<home>/relay.sqlite), the bounds of one request, and the relay URL `--gasless` posts to.
    relayer_keystore: Path | None = None
    relayer_password: SecretStr | None = None
    relayer_dev_account: int | None = Field(default=None, ge=0)
    relay_db: str | None = None
    relay_url: str | None = None
    relay_max_requests: int = Field(default=50, gt=0)
    relay_max_gas: int = Field(default=10_000_000, gt=0)
    relay_window: float = Field(default=86_400.0, gt=0)
    relay_max_request_gas: int = Field(default=2_000_000, gt=0)
    relay_max_data_bytes: int = Field(default=16_384, gt=0)

    # --- paths derived from home ----------------------------------------------------------------------------
    @property
    def blocks_dir(self) -> Path:
        return self.home / "blocks"

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'index.sqlite'}"

    @property
    def deployment_path(self) -> Path:
        return self.deployment or self.home / "deployment.json"

    @property
    def keystores(self) -> Path:
        return self.keystore_dir or self.home / "keystores"

    # --- API checks and derived values ----------------------------------------------------------------------
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

    @field_validator("api_session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CURATION_API_SESSION_SECRET must be at least 32 characters")
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


# --- the loader ---------------------------------------------------------------------------------------------


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """Which config file applies and whether it was asked for (then it must exist).

    `--config PATH` first, then CURATION_CONFIG, else `<home>/config.toml` with home from CURATION_HOME
    (or the default data directory); the last one is optional.
    """
    if explicit is not None:
        return explicit, True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env), True
    home = os.environ.get("CURATION_HOME")
    return (Path(home) if home else default_home()) / CONFIG_NAME, False


def read_config(path: Path, required: bool = True) -> dict[str, Any]:
    """The settings a TOML file sets (top level, or a `[curation]` table); unknown keys are an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = doc.get("curation", doc)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [curation] must be a table")
    known = set(Settings.model_fields)
    unknown = sorted(set(table) - known - {"curation"})
    if unknown:
        raise ConfigError(
            f"config file {path} sets unknown keys {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
        )
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "curation":
            continue
        if key in _PATH_FIELDS and isinstance(value, str):
            value = str((path.parent / Path(value).expanduser()).resolve())
        out[key] = value
    return out


def load_settings(config: Path | None = None, **flags: Any) -> Settings:
    """Settings with precedence flag > CURATION_* environment > config file > default; every command uses it.

    `config` is the `--config` flag (None: CURATION_CONFIG, else `<home>/config.toml` if it exists); `flags`
    are the other CLI options (None means not given). A key the environment sets is taken from the
    environment even if the config file sets it too. ConfigError says what is wrong and where.
    """
    path, required = config_path(config)
    from_file = read_config(path, required=required)
    env = {name.upper() for name in os.environ}
    values = {k: v for k, v in from_file.items() if f"CURATION_{k.upper()}" not in env}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"invalid settings ({problems}); check {path} and the CURATION_* variables"
        ) from None
