"""`curation demo --serve`: the API over the demo's state, in its process, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from backend.demo import DemoResult
from backend.demo_serve import DemoServer, demo_app, demo_session, serve_demo
from backend.errors import ConfigError
from backend.settings import Settings
from tests.backend.api.api_helpers import TestClient
from tests.backend.api.test_chain_readmodel import Story, run_story


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return run_story(tmp_path_factory.mktemp("demo-home"))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition()` holds; the timeout only guards against hanging, it asserts nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_demo_session_needs_the_demos_own_chain_when_it_was_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CURATION_RPC", raising=False)
    with (
        pytest.raises(ConfigError, match="embedded chain"),
        demo_session(Settings(home=tmp_path), DemoResult()),
    ):
        pass


def test_demo_session_is_the_one_the_demo_published_with(story: Story, tmp_path: Path) -> None:
    result = DemoResult(dataset_id=1, session=story.session)
    with demo_session(Settings(home=tmp_path), result) as session:
        assert session is story.session


def test_demo_app_serves_the_demo_release(story: Story) -> None:
    with TestClient(demo_app(Settings(home=story.home), story.session)) as client:
        health = client.get("/health").json()
        assert health["chain_id"] == story.result.chain_id
        latest = client.get("/datasets/1/releases/latest").json()
        assert latest["manifest_cid"] == story.result.manifest_cid
        weights = client.get("/datasets/1/releases/1/weights").json()
        assert weights["total"] == str(10**18)


def test_serve_demo_answers_the_manifest_over_http_until_stopped(story: Story) -> None:
    servers: list[DemoServer] = []
    errors: list[BaseException] = []
    settings = Settings(home=story.home)

    def run() -> None:
        try:
            serve_demo(
                settings,
                story.result,
                port=0,
                session=story.session,
                log_level="warning",
                on_server=servers.append,
            )
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _wait_for(lambda: bool(errors) or (bool(servers) and servers[0].started), "the demo server to start")
    assert not errors, errors
    server = servers[0]
    try:
        assert server.url.startswith("http://127.0.0.1:")
        r = httpx.get(f"{server.url}/datasets/{story.result.dataset_id}/releases/1/manifest", timeout=30)
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == story.result.manifest_sha256
        assert r.headers["etag"] == f'"{story.result.manifest_sha256}"'
    finally:
        server.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert not errors, errors
