"""Registered contributors: a page of them, and one by address."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Limit, Offset, ReadModelDep
from backend.api.models import Contributor, Page, error_responses
from backend.api.routes.items import AddressParam

__all__ = ["router"]

router = APIRouter(tags=["contributors"], route_class=SafeJsonRoute)


@router.get("/contributors", response_model=Page[Contributor], responses=error_responses(422))
def list_contributors(model: ReadModelDep, offset: Offset = 0, limit: Limit = 100) -> Page[Contributor]:
    """A page of registered contributors in id order, with how many items and bytes each submitted."""
    return model.contributors(offset=offset, limit=limit)


@router.get("/contributors/{address}", response_model=Contributor, responses=error_responses(404, 422))
def get_contributor(model: ReadModelDep, address: AddressParam) -> Contributor:
    """One registered contributor by address (404 when the address has not registered)."""
    return model.contributor(address)
