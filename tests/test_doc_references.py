"""Every Markdown file a source file names (a comment, a message, a docstring) is in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MD = re.compile(r"\b[A-Za-z0-9_./-]+\.md\b")
#: Names of Markdown files the code writes (pull and release outputs), not documents of the repository.
_WRITTEN = {"ATTRIBUTION.md", "report.md"}


def _tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [p for p in out.stdout.splitlines() if not p.startswith("node_modules/") and (ROOT / p).is_file()]


def test_every_markdown_file_named_in_the_sources_exists() -> None:
    files = _tracked()
    names = {Path(p).name for p in files} | set(files)
    missing = []
    for rel in files:
        if rel.endswith(".md") or not rel.endswith((".py", ".sol", ".js", ".toml", "Makefile", ".sh")):
            continue
        text = (ROOT / rel).read_text(errors="replace")
        for ref in _MD.findall(text):
            if ref not in _WRITTEN and ref not in names and Path(ref).name not in names:
                missing.append(f"{rel}: {ref}")
    assert not missing, "sources name Markdown files the repository does not have: " + ", ".join(missing)
