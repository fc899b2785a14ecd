"""Releases of a dataset: list, one release, its manifest (ETag = CID), weights and transparency report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Limit, Offset, ReadModelDep, examples
from backend.api.models import Release, TransparencyReport, Weights, error_responses
from backend.api.routes.datasets import DatasetId
from curation.jsonnum import BigInt

__all__ = ["router"]

router = APIRouter(tags=["releases"], route_class=SafeJsonRoute)

Number = Annotated[
    BigInt,
    Path(description="release number (1 = first)", openapi_examples=examples(("the first release", "1"))),
]
_MISSING = error_responses(404, 422)
#: Routes that read an anchored manifest: 502 when the store's bytes, or the release rebuilt from the chain's
#: logs, are not what the chain anchors (`integrity-error`).
_CHECKED = error_responses(404, 422, 502)


@router.get("/datasets/{dataset_id}/releases", response_model=list[Release], responses=_MISSING)
def list_releases(model: ReadModelDep, dataset_id: DatasetId) -> list[Release]:
    """Every anchored release of the dataset, by number: manifest CID and sha256, state block, scheme, parent,
    item count (null, with `manifest_problem` saying why, when the manifest cannot be read)."""
    return model.releases(dataset_id)


@router.get("/datasets/{dataset_id}/releases/latest", response_model=Release, responses=_MISSING)
def latest_release(model: ReadModelDep, dataset_id: DatasetId) -> Release:
    """The dataset's newest release (404 before the first)."""
    return model.release(dataset_id, None)


@router.get("/datasets/{dataset_id}/releases/{number}", response_model=Release, responses=_MISSING)
def get_release(model: ReadModelDep, dataset_id: DatasetId, number: Number) -> Release:
    """One release of the dataset by number."""
    return model.release(dataset_id, number)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/datasets/{dataset_id}/releases/{number}/manifest",
    response_class=Response,
    responses={
        200: {
            "description": "The manifest bytes exactly as published (canonical JSON); ETag is the quoted CID",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        304: {"description": "Not modified: the ETag given in If-None-Match is current"},
        **_CHECKED,
    },
)
def get_manifest(
    model: ReadModelDep,
    dataset_id: DatasetId,
    number: Number,
    if_none_match: Annotated[str | None, Header(max_length=4096)] = None,
) -> Response:
    """The manifest bytes exactly as published, checked against the anchored sha256; the ETag is the quoted
    CID and `If-None-Match` with it answers 304 (the bytes never change, so they may be cached for good)."""
    data, cid = model.manifest(dataset_id, number)
    etag = f'"{cid}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
    if _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type="application/json", headers=headers)


@router.get("/datasets/{dataset_id}/releases/{number}/weights", response_model=Weights, responses=_CHECKED)
def get_weights(
    model: ReadModelDep, dataset_id: DatasetId, number: Number, offset: Offset = 0, limit: Limit = 100
) -> Weights:
    """The release's weights, read from its manifest: scheme and parameters, per-source and per-contributor
    weights, a page of item weights (shares of 10**18) and the excluded items with their reasons."""
    return model.weights(dataset_id, number, offset=offset, limit=limit)


@router.get(
    "/datasets/{dataset_id}/releases/{number}/report",
    response_model=TransparencyReport,
    responses={**_CHECKED, **error_responses(503)},  # 503 `index-behind`: a read-only index has not got there
)
def get_report(model: ReadModelDep, dataset_id: DatasetId, number: Number) -> TransparencyReport:
    """The release's transparency report, rebuilt from the chain's logs and served only if it reproduces the
    anchored manifest: items added and removed, turnout, voting concentration, revocations and parameter
    changes since the parent release."""
    return model.report(dataset_id, number)
