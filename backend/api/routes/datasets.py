"""GET /datasets and /datasets/{dataset_id}: datasets with their use and voting parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import ReadModelDep
from backend.api.models import Dataset, error_responses

__all__ = ["DatasetId", "router"]

router = APIRouter(tags=["datasets"], route_class=SafeJsonRoute)

DatasetId = Annotated[int, Path(ge=0, le=2**63 - 1, description="dataset id")]


@router.get("/datasets", response_model=list[Dataset])
def list_datasets(model: ReadModelDep) -> list[Dataset]:
    return model.datasets()


@router.get("/datasets/{dataset_id}", response_model=Dataset, responses=error_responses(404, 422))
def get_dataset(model: ReadModelDep, dataset_id: DatasetId) -> Dataset:
    return model.dataset(dataset_id)
