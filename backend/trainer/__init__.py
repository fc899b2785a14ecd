"""Trainer client: pull an anchored release (verified, parallel, resumable), report licenses, sample by weight."""

from __future__ import annotations

from backend.trainer.client import ConsentChange, TrainerClient
from backend.trainer.items import LocalManifest, TrainerError
from backend.trainer.pull import ITEMS_DIR, PullProgress, PullResult, fetch_items, pull
from backend.trainer.sampling import PulledDataset, ShardedSampler

__all__ = [
    "ITEMS_DIR",
    "ConsentChange",
    "LocalManifest",
    "PullProgress",
    "PullResult",
    "PulledDataset",
    "ShardedSampler",
    "TrainerClient",
    "TrainerError",
    "fetch_items",
    "pull",
]
