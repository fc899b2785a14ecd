"""/docs and /redoc work offline: every file they load is served by the app itself, from an installed package."""

from __future__ import annotations

import re

import pytest

from backend.api.docs import DOCS_ASSETS
from tests.backend.api.api_helpers import TestClient

#: What each kind of asset must be served as.
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _references(html: str) -> list[str]:
    """Every URL a page loads or links: src=, href=, spec-url= and the Swagger UI's `url: '...'`."""
    found = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""\burl:\s*'([^']+)'""", html)
    return found


@pytest.mark.parametrize(
    ("page", "needs"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
def test_docs_pages_load_only_files_this_server_serves(
    client: TestClient, page: str, needs: set[str]
) -> None:
    r = client.get(page)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    lowered = html.lower()
    assert "cdn" not in lowered
    assert "https://" not in lowered
    assert "http://" not in lowered
    assert "fonts.googleapis" not in lowered
    refs = _references(html)
    assets = [u for u in refs if u.startswith(DOCS_ASSETS + "/")]
    assert {u.rsplit("/", 1)[1] for u in assets} == needs
    assert "/openapi.json" in refs
    for url in refs:
        assert url.startswith("/"), url  # same origin: nothing from elsewhere
        got = client.get(url)
        assert got.status_code == 200, url
        if url == "/openapi.json":
            assert got.json()["openapi"].startswith("3.1")
            continue
        suffix = url[url.rfind(".") :]
        assert got.headers["content-type"].startswith(_TYPES[suffix]), (url, got.headers["content-type"])
        assert len(got.content) > 0


def test_the_swagger_ui_served_reads_openapi_3_1(client: TestClient) -> None:
    """FastAPI writes OpenAPI 3.1; Swagger UI 4 refuses it ("Unable to render this definition"), 5 reads it."""
    js = client.get(f"{DOCS_ASSETS}/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in js
    assert "isOAS31" in js  # the OpenAPI 3.1 support Swagger UI 5 added


def test_the_default_cdn_pages_are_gone_and_assets_are_not_in_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/docs", "/redoc", DOCS_ASSETS)) for p in paths)
    missing = client.get(f"{DOCS_ASSETS}/no-such-file.js")
    assert missing.status_code == 404
