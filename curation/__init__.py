"""Curation Commons domain core: pure, deterministic, no I/O."""
