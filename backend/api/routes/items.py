"""Submitted items: a page of them (optionally one contributor's), and one item by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Limit, Offset, ReadModelDep
from backend.api.models import Item, Page, error_responses

__all__ = ["AddressParam", "router"]

router = APIRouter(tags=["items"], route_class=SafeJsonRoute)

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
AddressParam = Annotated[str, Path(pattern=_ADDRESS, description="0x address")]


@router.get("/items", response_model=Page[Item], responses=error_responses(422))
def list_items(
    model: ReadModelDep,
    contributor: Annotated[str | None, Query(pattern=_ADDRESS, description="only this contributor's")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Page[Item]:
    return model.items(contributor=contributor, offset=offset, limit=limit)


@router.get("/items/{item_id}", response_model=Item, responses=error_responses(404, 422))
def get_item(model: ReadModelDep, item_id: Annotated[int, Path(ge=0, le=2**63 - 1)]) -> Item:
    return model.item(item_id)
