"""The `cli` fixture the command tests on the embedded chain share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.cli import common
from backend.session import Session
from backend.settings import Settings
from tests.conftest import Chain


@pytest.fixture
def cli(chain: Chain, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Chain:
    """Commands open a session on the embedded test chain (a direct deployment; the real open_session needs
    --rpc). The operator signs as dev account 0, named in the environment: commands never pick a signer."""

    def fake_open_session(settings: Settings, **kw: Any) -> Session:
        who = chain.signers[kw.get("dev_account") or 0] if kw.get("signer", True) else None
        return Session(chain.w3, chain.deployment, settings, who)

    monkeypatch.setattr(common, "open_session", fake_open_session)
    env = {
        "CURATION_HOME": str(tmp_path),
        "CURATION_CONFIG": "",
        "CURATION_RPC": "x",
        "CURATION_DEV_ACCOUNT": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return chain
