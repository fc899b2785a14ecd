"""POST /uploads: a signed-in contributor streams content in; it is stored, pinned, and a submit tx returned."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from backend.api.bodies import SafeJsonRoute
from backend.api.deps import Ctx, ReadModelDep, StoreDep, WalletSessionDep, examples
from backend.api.errors import NotRegistered, PayloadTooLarge, UnprocessableInput, UploadIncomplete
from backend.api.models import License, UnsignedTxOut, UploadOut, error_responses
from backend.chain.unsigned import submit_item_tx
from backend.errors import ConfigError
from curation.consent import parse_consent
from curation.jsonnum import BigInt

__all__ = ["router"]

router = APIRouter(tags=["uploads"], route_class=SafeJsonRoute)


_BODY = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _resolve_license(licenses: list[License], wanted: str) -> int:
    """License id for an SPDX id (case-insensitive) or a numeric id; it must be on the allowlist."""
    if not licenses:  # the read model knows no allowlist: only a numeric id can be passed on
        if wanted.isdigit():
            return int(wanted)
        raise UnprocessableInput(f"license {wanted!r}: the allowlist is not known yet, give a numeric id")
    for lic in licenses:
        if lic.spdx.lower() == wanted.lower() or str(lic.id) == wanted:
            if not lic.allowed:
                raise UnprocessableInput(f"license {lic.spdx} is no longer on the allowlist")
            return lic.id
    known = ", ".join(lic.spdx for lic in licenses if lic.allowed)
    raise UnprocessableInput(f"unknown license {wanted!r}; allowed licenses: {known}")


async def _receive(request: Request, limit: int, tmp_dir: Path | None) -> tuple[Path, str, int]:
    """Stream the body into a temp file, counting and hashing; stop at `limit` bytes with 413."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)  # refused before a single body byte is read
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=tmp_dir)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
    except ClientDisconnect:
        path.unlink(missing_ok=True)
        raise UploadIncomplete(
            "the upload was cut off before the body was complete; nothing was stored"
        ) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


@router.post(
    "/uploads",
    response_model=UploadOut,
    status_code=201,
    openapi_extra={"requestBody": _BODY},
    responses=error_responses(400, 401, 403, 413, 422, 502, 503, 504),
)
async def upload(
    request: Request,
    ctx: Ctx,
    session: WalletSessionDep,
    model: ReadModelDep,
    store: StoreDep,
    license: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            description="SPDX id or license id",
            openapi_examples=examples(("an SPDX id", "CC-BY-4.0"), ("a license id", "1")),
        ),
    ],
    consent: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="e.g. `train,evaluation`",
            openapi_examples=examples(("training and evaluation", "train,evaluation")),
        ),
    ],
    expiry: Annotated[
        BigInt,
        Query(
            description="consent expiry, unix seconds (a uint64); 0 = none",
            openapi_examples=examples(("no expiry", "0"), ("1 January 2030", "1893456000")),
        ),
    ] = 0,
) -> UploadOut:
    """Store the body (raw bytes) as a UnixFS file, pin it, and return CID, sha256 and an unsigned
    ContentRegistry.submitItem transaction for the signed-in wallet to sign and send."""
    ctx.upload_limiter.hit(session.address)
    if ctx.registry is None:
        raise ConfigError("this server has no deployment record, so it cannot build the submit transaction")
    if not await run_in_threadpool(model.is_registered, session.address):
        raise NotRegistered(
            f"{session.address} is not a registered contributor, so the registry would refuse its "
            "submitItem (ContentRegistryNotRegistered); register first: `curation register --profile <URI>` "
            "with this wallet, or without ETH a signed ContentRegistry.register request sent to POST /relay "
            "(`curation register --gasless`); nothing was stored"
        )
    license_id = _resolve_license(await run_in_threadpool(model.licenses), license)
    flags = int(parse_consent(consent))
    if flags == 0:
        raise UnprocessableInput("consent must grant at least one use (an empty consent is a revocation)")
    if expiry >= 2**64:
        raise UnprocessableInput(f"consent expiry {expiry} does not fit the registry's uint64")
    if expiry and expiry <= ctx.clock():
        raise UnprocessableInput(f"consent expiry {expiry} is in the past")
    path, sha256, size = await _receive(
        request, ctx.settings.api_max_upload_bytes, ctx.settings.api_upload_tmp
    )
    try:
        if size == 0:
            raise UnprocessableInput("the upload is empty; the registry accepts only non-empty content")
        imported = await run_in_threadpool(store.put_file, path, pin=True)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    tx = submit_item_tx(
        registry=ctx.registry,
        chain_id=ctx.chain_id,
        sender=session.address,
        cid=imported.cid,
        sha256=bytes.fromhex(sha256),
        size=size,
        license_id=license_id,
        consent=flags,
        expiry=expiry,
    )
    return UploadOut(
        cid=str(imported.cid),
        sha256=sha256,
        size=size,
        license_id=license_id,
        consent=flags,
        expiry=expiry,
        transaction=UnsignedTxOut.model_validate(tx.as_dict()),
    )
