"""Root exception of Curation Commons; every error a user can see derives from it."""

from __future__ import annotations

__all__ = ["CurationError", "InvalidInput"]


class CurationError(Exception):
    """Base of every error raised by Curation Commons (domain core and backend)."""


class InvalidInput(CurationError, ValueError):
    """A value given by a user or read from outside is malformed; the message says what and why."""
