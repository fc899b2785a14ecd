"""Accounts that sign transactions: unlocked dev accounts of a local node, or encrypted keystores."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3

from backend.errors import ConfigError
from curation import safejson

__all__ = [
    "MAX_KEYSTORE_BYTES",
    "Signer",
    "create_keystore",
    "dev_signers",
    "list_keystores",
    "load_keystore",
]

#: Largest keystore file `load_keystore` reads: a Web3 Secret Storage (v3) keystore is under 1 KB.
MAX_KEYSTORE_BYTES: Final = 64 * 1024
#: A v3 keystore nests 4 levels (file, crypto, kdfparams / cipherparams).
_KEYSTORE_DEPTH: Final = 8


@dataclass(frozen=True)
class Signer:
    """Who sends a transaction: an address unlocked on the node (`local=None`) or a local private key."""

    address: str
    local: LocalAccount | None = None

    @classmethod
    def from_key(cls, key: str | bytes) -> Signer:
        acct: LocalAccount = Account.from_key(key)
        return cls(acct.address, acct)


def dev_signers(w3: Web3) -> list[Signer]:
    """The funded, unlocked accounts of the embedded chain or a Hardhat node."""
    accounts = list(w3.eth.accounts)
    if not accounts:
        raise ConfigError("this node has no unlocked accounts: use a keystore (`curation account import`)")
    return [Signer(to_checksum_address(a)) for a in accounts]


def create_keystore(directory: Path, password: str, private_key: str | None = None) -> Path:
    """Encrypt a new (or the given) key into `directory/<address>.json` (mode 600); returns its path."""
    if not password:
        raise ConfigError("a keystore needs a non-empty password")
    acct: LocalAccount = Account.from_key(private_key) if private_key else Account.create()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{acct.address}.json"
    if path.exists():
        raise ConfigError(f"a keystore for {acct.address} already exists at {path}")
    data: dict[str, Any] = Account.encrypt(acct.key, password)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    tmp.replace(path)
    return path


def load_keystore(path: Path, password: str) -> Signer:
    """Decrypt a keystore; a wrong password or a broken file is a ConfigError that says which."""
    try:
        data = safejson.load_path(
            path, max_bytes=MAX_KEYSTORE_BYTES, max_depth=_KEYSTORE_DEPTH, what="the file"
        )
    except FileNotFoundError:
        raise ConfigError(f"keystore {path} does not exist") from None
    except (OSError, safejson.JsonRejected) as exc:
        raise ConfigError(f"keystore {path} is not a readable JSON keystore: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"keystore {path} is not a readable JSON keystore: not a JSON object")
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise ConfigError(f"wrong password for keystore {path}") from None
    except (KeyError, TypeError, AttributeError) as exc:  # a field is missing or of the wrong type
        raise ConfigError(
            f"keystore {path} is not a Web3 Secret Storage keystore ({type(exc).__name__}: {exc}); "
            "import the key again with `curation account import`"
        ) from None
    return Signer.from_key(key)


def list_keystores(directory: Path) -> list[Path]:
    return sorted(directory.glob("0x*.json")) if directory.is_dir() else []
