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
    db: str | None = None
    deployment: Path | None = None
    keystore_dir: Path | None = None
    confirmations: int = 0

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
