"""Submitted items: a page of them (optionally one contributor's), and one item by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Limit, Offset, ReadModelDep, examples
from backend.api.models import Item, Page, error_responses
from curation.jsonnum import BigInt

__all__ = ["AddressParam", "router"]

router = APIRouter(tags=["items"], route_class=SafeJsonRoute)

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
_WALLET = examples(("a contributor", "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"))
AddressParam = Annotated[str, Path(pattern=_ADDRESS, description="0x address", openapi_examples=_WALLET)]


@router.get("/items", response_model=Page[Item], responses=error_responses(422))
def list_items(
    model: ReadModelDep,
    contributor: Annotated[
        str | None, Query(pattern=_ADDRESS, description="only this contributor's", openapi_examples=_WALLET)
    ] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Page[Item]:
    """A page of submitted items in id order (single items and the leaves of admitted batches), optionally
    one contributor's: CID, sha256, size, license, consent, expiry, revoked."""
    return model.items(contributor=contributor, offset=offset, limit=limit)


@router.get("/items/{item_id}", response_model=Item, responses=error_responses(404, 422))
def get_item(
    model: ReadModelDep,
    item_id: Annotated[
        BigInt,
        Path(
            description="item id; a batch leaf's is 2**64 + batch * 2**32 + leaf",
            openapi_examples=examples(("item 1", "1"), ("leaf 7 of batch 2", "18446744082299486215")),
        ),
    ],
) -> Item:
    """One item by id (404 when there is none)."""
    return model.item(item_id)
