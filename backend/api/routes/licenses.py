"""GET /licenses: the license allowlist (SPDX ids and class flags)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import ReadModelDep
from backend.api.models import License

__all__ = ["router"]

router = APIRouter(tags=["licenses"])


@router.get("/licenses", response_model=list[License])
def list_licenses(model: ReadModelDep) -> list[License]:
    return model.licenses()
