"""GET /datasets and /datasets/{dataset_id}: datasets with their use and voting parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import ReadModelDep, examples
from backend.api.models import Dataset, error_responses
from curation.jsonnum import BigInt

__all__ = ["DatasetId", "router"]

router = APIRouter(tags=["datasets"], route_class=SafeJsonRoute)

#: Ids in paths take the whole uint256 range, as decimal digits (curation.jsonnum); an unknown one is 404.
DatasetId = Annotated[
    BigInt,
    Path(description="dataset id (decimal digits)", openapi_examples=examples(("the first dataset", "1"))),
]


@router.get("/datasets", response_model=list[Dataset])
def list_datasets(model: ReadModelDep) -> list[Dataset]:
    """Every dataset, in id order: its name, the uses its items must consent to, its voting parameters and
    how many releases it has."""
    return model.datasets()


@router.get("/datasets/{dataset_id}", response_model=Dataset, responses=error_responses(404, 422))
def get_dataset(model: ReadModelDep, dataset_id: DatasetId) -> Dataset:
    """One dataset by id (404 when there is none)."""
    return model.dataset(dataset_id)
