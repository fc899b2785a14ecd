"""The interactive docs, /docs (Swagger UI) and /redoc (ReDoc), served with their files from this server.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and Google Fonts), so without the internet they are
blank. These pages load the same files from the installed `fastapi-offline` package (Swagger UI 5, which
reads OpenAPI 3.1, and ReDoc 2), mounted under `DOCS_ASSETS`; nothing on them points off the server.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["DOCS_ASSETS", "install_docs"]

#: Where the Swagger UI and ReDoc files are served (an app path, not part of the OpenAPI document).
DOCS_ASSETS: Final = "/docs-assets"
#: The installed package that ships the files, and its folder holding them.
_PACKAGE: Final = ("fastapi_offline", "static")


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc on `app` with their assets from `DOCS_ASSETS` (the app is built with
    `docs_url=None, redoc_url=None`, so FastAPI's CDN pages are not there)."""
    app.mount(DOCS_ASSETS, StaticFiles(packages=[_PACKAGE]), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def _asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{DOCS_ASSETS}/{name}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=_asset(request, "swagger-ui.css"),
            swagger_favicon_url=_asset(request, "favicon.png"),
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=_asset(request, "redoc.standalone.js"),
            redoc_favicon_url=_asset(request, "favicon.png"),
            with_google_fonts=False,
        )
