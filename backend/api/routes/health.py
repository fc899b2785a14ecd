"""GET /health: liveness, and which chain and registry this API serves."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Ctx
from backend.api.models import Health

__all__ = ["router"]

router = APIRouter(tags=["meta"], route_class=SafeJsonRoute)


@router.get("/health", response_model=Health)
def health(ctx: Ctx) -> Health:
    """Liveness: `ok`, with the chain id and ContentRegistry address this API serves (null without a
    deployment record)."""
    return Health(chain_id=ctx.chain_id, registry=ctx.registry)
