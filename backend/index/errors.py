"""Errors of the index: a database of another deployment, a failing database, a chain that never settles
or reorganises deeper than allowed."""

from __future__ import annotations

from backend.errors import BackendError, ChainError, ConfigError, Retryable

__all__ = [
    "ChainUnsettledError",
    "IndexDatabaseError",
    "IndexEmptyError",
    "IndexMismatchError",
    "IndexerError",
    "ReorgTooDeepError",
]


class IndexerError(BackendError):
    """Base of the errors raised by the indexer itself (also: a log source that breaks its contract)."""


class IndexMismatchError(IndexerError, ConfigError):
    """The database was built for another deployment (chain id, contract addresses or start block)."""


class IndexDatabaseError(IndexerError):
    """The database could not be opened, read or written (or another indexer changed it underneath)."""


class IndexEmptyError(IndexerError, ChainError):
    """The index holds nothing yet: no sync has stored the deployment block (or no database was created)."""


class ChainUnsettledError(IndexerError, ChainError, Retryable):
    """The node kept reorganising while the indexer tried to catch up."""


class ReorgTooDeepError(IndexerError, ChainError):
    """A reorg deeper than max_reorg_depth: more likely another chain (a restarted dev node) than a reorg."""
