"""One settings object: CURATION_* environment variables, overridable by CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_home"]


def default_home() -> Path:
    return Path.home() / ".curation-commons"


class Settings(BaseSettings):
    """Where the chain, the content store, the index and the deployment record are.

    Every field reads `CURATION_<NAME>` from the environment; CLI flags override.
    `rpc=None` means the embedded chain (py-evm in-process); `ipfs=None` means the embedded block store
    under `home/blocks`.
    """

    model_config = SettingsConfigDict(env_prefix="CURATION_", extra="ignore")

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
    confirmations: int = 0
    # Waiting for the chain's JSON-RPC node (backend.chain.rpc.RpcLimits): seconds to connect, seconds to
    # wait for each part of an answer, most seconds one call may take with all its retries, largest answer.
    rpc_connect_timeout: float = Field(default=5.0, gt=0)
    rpc_timeout: float = Field(default=10.0, gt=0)
    rpc_retry_time: float = Field(default=60.0, gt=0)
    rpc_max_answer_bytes: int = Field(default=128 * 2**20, gt=0)
    # The deepest reorg the indexer rolls back; deeper stops with ReorgTooDeepError (docs/indexer.md).
    max_reorg_depth: int = Field(default=256, ge=1)

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
