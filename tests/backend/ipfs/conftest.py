"""Fixtures of the IPFS tests: the session's js-ipfs daemon (started only by tests that ask for it)."""

from __future__ import annotations

from tests.integration.jsipfs import jsipfs, jsipfs_api

__all__ = ["jsipfs", "jsipfs_api"]
