"""Curation Commons domain core: pure, deterministic, no I/O."""

__all__: list[str] = []
