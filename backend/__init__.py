"""Curation Commons backend: chain access, IPFS, index, API and CLI (all I/O lives here)."""

__all__: list[str] = []
