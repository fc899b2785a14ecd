"""One connected deployment: the chain, its deployment record, a signer, the content store and the settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chain.accounts import Signer, dev_signers, load_keystore
from backend.chain.connection import connect
from backend.chain.contract import Relay
from backend.chain.deployment import Deployment
from backend.chain.governance import GovernorClient
from backend.chain.registry import RegistryClient
from backend.chain.releases import ReleaseClient
from backend.chain.rpc import RpcLimits
from backend.chain.token import TokenClient
from backend.chain.voting import VotingClient
from backend.errors import ConfigError
from backend.ipfs import ContentStore, open_store
from backend.settings import Settings

__all__ = [
    "PASSWORD_ENV",
    "Password",
    "Session",
    "connect_chain",
    "env_password",
    "open_session",
    "pick_signer",
    "require_rpc",
]

#: Environment variable holding the keystore password for scripts and CI.
PASSWORD_ENV = "CURATION_PASSWORD"  # noqa: S105 - the variable's name, not a password

#: Asked for a keystore's password with a short description of what it unlocks; returns the password.
Password = Callable[[str], str]


def require_rpc(settings: Settings, needs_rpc_for: str | None = None) -> str:
    """`settings.rpc`, or the one ConfigError saying why the embedded chain cannot serve `needs_rpc_for`."""
    if settings.rpc and settings.rpc != "embedded":
        return settings.rpc
    what = needs_rpc_for or "this command"
    raise ConfigError(
        f"{what} needs --rpc URL (or CURATION_RPC): the embedded chain lives only inside one process; "
        "`curation demo` runs the whole story on it (and `curation demo --serve` serves it)"
    )


def connect_chain(settings: Settings, needs_rpc_for: str | None = None) -> Any:
    """A web3 connection to `settings.rpc` within the settings' RPC limits (see require_rpc)."""
    return connect(require_rpc(settings, needs_rpc_for), limits=RpcLimits.from_settings(settings))


def env_password(what: str) -> str:
    """The keystore password from CURATION_PASSWORD (ConfigError when it is not set)."""
    value = os.environ.get(PASSWORD_ENV)
    if value is None:
        raise ConfigError(f"{what} needs a password: set {PASSWORD_ENV} or run in a terminal")
    return value


def pick_signer(
    w3: Any, keystore: Path | None, dev_account: int | None, password: Password = env_password
) -> Signer:
    """A keystore (its password from `password`), else an unlocked dev account of the node (index 0 default)."""
    if keystore is not None:
        return load_keystore(keystore, password(f"password for {keystore.name}"))
    signers = dev_signers(w3)
    index = dev_account or 0
    if not 0 <= index < len(signers):
        raise ConfigError(
            f"--dev-account {index} is out of range: the node has {len(signers)} unlocked accounts"
        )
    return signers[index]


@dataclass
class Session:
    """A connected deployment: web3, the record, the settings, the signer (if any), the store (if opened).

    Closing it (or leaving its `with` block) closes the content store it holds.
    """

    w3: Any
    deployment: Deployment
    settings: Settings
    signer: Signer | None = None
    store: ContentStore | None = None
    #: When set (`--gasless`), the registry, voting and token clients send through it instead of paying gas.
    relay: Relay | None = None

    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.address("ContentRegistry"), self.signer).via(
            self.relay
        )

    def voting(self) -> VotingClient:
        return VotingClient(self.w3, self.deployment.address("CurationVoting"), self.signer).via(self.relay)

    def token(self) -> TokenClient:
        return TokenClient(self.w3, self.deployment.address("CurationToken"), self.signer).via(self.relay)

    def releases(self) -> ReleaseClient:
        return ReleaseClient(self.w3, self.deployment.address("ReleaseRegistry"), self.signer)

    def governor(self) -> GovernorClient:
        """The CommonsGovernor of a governed deployment (ConfigError naming `deploy --governed` otherwise)."""
        return GovernorClient(self.w3, self.deployment.address("CommonsGovernor"), self.signer)

    def need_signer(self) -> Signer:
        if self.signer is None:
            raise ConfigError("this needs a signer: the session was opened without one")
        return self.signer

    def need_store(self) -> ContentStore:
        if self.store is None:
            raise ConfigError("this command needs the content store")
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(
    settings: Settings,
    *,
    keystore: Path | None = None,
    dev_account: int | None = None,
    signer: bool = True,
    store: bool = False,
    needs_rpc_for: str | None = None,
    password: Password = env_password,
) -> Session:
    """Load the deployment record, connect to `settings.rpc` and check its chain, pick the signer, open the store.

    Use it as a context manager (`with open_session(settings) as s:`) so that the store is closed.
    `needs_rpc_for` names what needs the node in the error given without one (default "this command");
    `password` is asked for a keystore's password (default: CURATION_PASSWORD).
    """
    require_rpc(settings, needs_rpc_for)
    record = Deployment.load(settings.deployment_path)  # a missing record is told before any wait on a node
    w3 = connect_chain(settings, needs_rpc_for)
    record.check_chain(w3)
    who = pick_signer(w3, keystore, dev_account, password) if signer else None
    content = open_store(settings) if store else None
    return Session(w3, record, settings, who, content)
