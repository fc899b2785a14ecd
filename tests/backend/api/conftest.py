"""Fixtures of the API tests: clock, content store, an app factory, a client and a signed-in session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from backend.api.siwe import SignatureCheck
from backend.chain.deployment import Deployment
from backend.ipfs import EmbeddedStore
from tests.backend.api.api_helpers import ALICE, FakeClock, TestClient, make_app, sign_in


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "blocks")


@pytest.fixture
def build_app(tmp_path: Path, clock: FakeClock, store: EmbeddedStore) -> Callable[..., FastAPI]:
    def build(
        model: Any = None,
        dep: Deployment | None = None,
        signature_check: SignatureCheck | None = None,
        **settings: Any,
    ) -> FastAPI:
        return make_app(tmp_path, clock, store, model, dep, signature_check, **settings)

    return build


@pytest.fixture
def client(build_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(build_app()) as c:
        yield c


@pytest.fixture
def token(client: TestClient, clock: FakeClock) -> str:
    r = sign_in(client, ALICE, clock)
    assert r.status_code == 200, r.text
    return str(r.json()["token"])
