"""Routes per resource; `api_router` mounts them all."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.routes import (
    auth,
    contributors,
    datasets,
    health,
    items,
    licenses,
    proposals,
    relay,
    releases,
    uploads,
)

__all__ = ["api_router"]

api_router = APIRouter()
for _module in (health, licenses, datasets, releases, proposals, items, contributors, auth, uploads, relay):
    api_router.include_router(_module.router)
