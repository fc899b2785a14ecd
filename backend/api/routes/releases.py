"""Releases of a dataset: list, one release, its manifest and parts (immutable bytes), weights and report."""

from __future__ import annotations

import re
from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import ApiContext, Limit, Offset, ReadModelDep, examples, get_context
from backend.api.immutable import MAX_CONDITION_HEADER, MAX_RANGE_HEADER, VerifiedBytes, immutable_response
from backend.api.models import ErrorBody, Release, TransparencyReport, Weights, error_responses
from backend.api.routes.datasets import DatasetId
from curation.jsonnum import UINT256_MAX, BigInt

__all__ = ["ImmutableFastPath", "router"]

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


Part = Annotated[
    int,
    Path(
        ge=0,
        le=2**31,
        description="part number, as the manifest's `item_parts` list it (0 = first)",
        openapi_examples=examples(("the first part", 0)),
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        max_length=MAX_CONDITION_HEADER,
        description="ETags held (the quoted sha256, or the quoted CID served before); a match answers 304",
    ),
]
RangeHeader = Annotated[
    str | None,
    Header(
        alias="range",
        max_length=MAX_RANGE_HEADER,
        description="one byte range: `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (206); "
        "a malformed or multi-range header is ignored (200)",
    ),
]
IfRange = Annotated[
    str | None,
    Header(max_length=MAX_CONDITION_HEADER, description="honour Range only if this is the current ETag"),
]


def _immutable_answers(what: str) -> dict[int | str, dict[str, object]]:
    """OpenAPI responses of a route serving immutable bytes (docs/api.md, "Manifests and parts")."""
    return {
        200: {
            "description": f"{what}; ETag is the quoted sha256 of the bytes, cacheable for good",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        206: {"description": "The byte range asked for in Range, with Content-Range"},
        304: {"description": "Not modified: an ETag given in If-None-Match is current"},
        416: {"model": ErrorBody, "description": "Range starts past the end; Content-Range gives the length"},
        **_CHECKED,
    }


async def _document(request: Request, dataset_id: int, number: int, part: int | None) -> VerifiedBytes:
    """Verified bytes from the read model: held ones at once, others fetched and checked on a worker thread."""
    model = get_context(request).read_model
    held = model.cached_document(dataset_id, number, part)
    if held is not None:
        return held
    if part is None:
        return await run_in_threadpool(model.manifest, dataset_id, number)
    return await run_in_threadpool(model.manifest_part, dataset_id, number, part)


@router.api_route(
    "/datasets/{dataset_id}/releases/{number}/manifest", methods=["HEAD"], include_in_schema=False
)
@router.get(
    "/datasets/{dataset_id}/releases/{number}/manifest",
    response_class=Response,
    responses=_immutable_answers("The manifest bytes exactly as published (canonical JSON)"),
)
async def get_manifest(
    request: Request,
    dataset_id: DatasetId,
    number: Number,
    if_none_match: IfNoneMatch = None,
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> Response:
    """The manifest bytes exactly as published, checked against the anchored sha256. They never change: the
    ETag is their quoted sha256, `If-None-Match` with it (or with the quoted CID) answers 304, one byte range
    is served on request (`Range`, `If-Range`), and HEAD answers the headers alone."""
    doc = await _document(request, dataset_id, number, None)
    return immutable_response(
        request,
        doc,
        "application/json",
        if_none_match=if_none_match,
        range_header=range_header,
        if_range=if_range,
    )


@router.api_route(
    "/datasets/{dataset_id}/releases/{number}/parts/{part}", methods=["HEAD"], include_in_schema=False
)
@router.get(
    "/datasets/{dataset_id}/releases/{number}/parts/{part}",
    response_class=Response,
    responses=_immutable_answers("The manifest part's bytes exactly as published (canonical JSON)"),
)
async def get_manifest_part(
    request: Request,
    dataset_id: DatasetId,
    number: Number,
    part: Part,
    if_none_match: IfNoneMatch = None,
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> Response:
    """One part of the manifest's items (an entry of its `item_parts`), fetched by CID and checked against the
    sha256 the anchored manifest lists for it (502 otherwise); served as the manifest is: ETag = sha256,
    304, byte ranges, HEAD."""
    doc = await _document(request, dataset_id, number, part)
    return immutable_response(
        request,
        doc,
        "application/json",
        if_none_match=if_none_match,
        range_header=range_header,
        if_range=if_range,
    )


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


#: The two paths above, as ImmutableFastPath reads them: dataset, release, and the part (absent: the manifest).
_IMMUTABLE_PATH: Final = re.compile(
    r"/datasets/([0-9]{1,78})/releases/([0-9]{1,78})/(?:manifest|parts/([0-9]{1,10}))"
)
_CONDITION_HEADERS: Final = {
    b"if-none-match": MAX_CONDITION_HEADER,
    b"range": MAX_RANGE_HEADER,
    b"if-range": MAX_CONDITION_HEADER,
}


class ImmutableFastPath:
    """ASGI middleware answering GET and HEAD of a manifest or part the read model already holds verified,
    without FastAPI's routing and parameter machinery (most of a request's cost: docs/api.md).

    It answers only when everything is plain: the path is one of the two routes above with ids in range, the
    conditional headers are within their bounds, and `cached_document` holds the bytes; the answer is
    `immutable_response`'s, as the routes give it. Anything else (a first request, a bad id, a header too
    long) goes on to the routes, which fetch, check, and answer errors. Install it inside the rate limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            m = _IMMUTABLE_PATH.fullmatch(scope["path"])
            if m is not None:
                response = self._answer(scope, m)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope, m: re.Match[str]) -> Response | None:
        dataset_id, number = int(m.group(1)), int(m.group(2))
        part = None if m.group(3) is None else int(m.group(3))
        if dataset_id > UINT256_MAX or number > UINT256_MAX or (part is not None and part > 2**31):
            return None
        ctx: ApiContext = scope["app"].state.ctx
        doc = ctx.read_model.cached_document(dataset_id, number, part)
        if doc is None:
            return None
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            limit = _CONDITION_HEADERS.get(name)
            if limit is not None:
                if name in found or len(value) > limit:
                    return None  # repeated or too long: the route decides (joined, or 422)
                found[name] = value.decode("latin-1")
        return immutable_response(
            Request(scope),
            doc,
            "application/json",
            if_none_match=found.get(b"if-none-match"),
            range_header=found.get(b"range"),
            if_range=found.get(b"if-range"),
        )
