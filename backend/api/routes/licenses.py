"""GET /licenses: the license allowlist (SPDX ids and class flags)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import ReadModelDep
from backend.api.models import License

__all__ = ["router"]

router = APIRouter(tags=["licenses"], route_class=SafeJsonRoute)


@router.get("/licenses", response_model=list[License])
def list_licenses(model: ReadModelDep) -> list[License]:
    """The license allowlist in id order: SPDX id, class flags (commercial use, share-alike, attribution) and
    whether new content may still use it."""
    return model.licenses()
