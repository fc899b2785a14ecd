"""HTTP API (FastAPI): read endpoints, sign-in with Ethereum, uploads; `backend.api.app.create_app` builds it."""

from __future__ import annotations

__all__: list[str] = []
