"""Releases: build (chain state, content checks, manifest, report), publish (store, anchor), verify, fetch."""

from __future__ import annotations

from backend.release.build import ContentUnavailable, RebuildMismatch, build_release, rebuild_report
from backend.release.fetch import UnknownRelease, fetch_manifest, resolve_release
from backend.release.publish import ReleaseRaceError, publish_release, write_release_files
from backend.release.verify import verify_release

__all__ = [
    "ContentUnavailable",
    "RebuildMismatch",
    "ReleaseRaceError",
    "UnknownRelease",
    "build_release",
    "fetch_manifest",
    "publish_release",
    "rebuild_report",
    "resolve_release",
    "verify_release",
    "write_release_files",
]
