"""Proposals of a dataset with their tallies, and one proposal by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Limit, Offset, ReadModelDep, examples
from backend.api.models import Page, Proposal, error_responses
from backend.api.routes.datasets import DatasetId
from curation.jsonnum import BigInt

__all__ = ["router"]

router = APIRouter(tags=["proposals"], route_class=SafeJsonRoute)
_MISSING = error_responses(404, 422)


@router.get("/datasets/{dataset_id}/proposals", response_model=Page[Proposal], responses=_MISSING)
def list_proposals(
    model: ReadModelDep, dataset_id: DatasetId, offset: Offset = 0, limit: Limit = 100
) -> Page[Proposal]:
    """A page of the dataset's proposals in id order: kind, items and batches, snapshot and deadline, status,
    tallies, voters, the supply at the snapshot and whether quorum was reached."""
    return model.proposals(dataset_id, offset=offset, limit=limit)


@router.get("/proposals/{proposal_id}", response_model=Proposal, responses=_MISSING)
def get_proposal(
    model: ReadModelDep,
    proposal_id: Annotated[
        BigInt, Path(description="proposal id", openapi_examples=examples(("the first proposal", "1")))
    ],
) -> Proposal:
    """One proposal by id (404 when there is none)."""
    return model.proposal(proposal_id)
