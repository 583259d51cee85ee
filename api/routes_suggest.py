"""Rule suggestions for an uploaded file: ``POST /api/tenants/{tenant}/suggestions``.

The body is the file's bytes (the content types and the size limit of ``/uploads/{dataset}``), its
name in ``?filename=`` or ``x-file-name`` (the extension says the format). The answer is the draft
contract in authoring JSON, what ``dq suggest DATA --out draft.json`` writes (see docs/suggest.md):
store it with ``POST /api/tenants/{tenant}/contracts`` or put it in the libraries. Nothing is stored
here, and the file is removed once read.

Role: **Author** (``DQ.Author``, or Admin): the answer is a draft contract, an author's work; the
route reads the file it is sent and the registry's contract (``?contract=``), never another tenant's.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.context import Author
from api.problems import problems
from api.routes_runs import _UNSUPPORTED, _UPLOAD_OPENAPI, FileName, XFileName, receive_file
from dq_core.identifiers import ID_PATTERN, VERSION_PATTERN
from services import suggest as service

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["suggestions"])

DatasetName = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="the dataset's name (default: the file's name)")
]
ContractId = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, description="extend this contract of the registry: only rules it does not have yet"),
]
ContractVersion = Annotated[
    str | None, Query(pattern=VERSION_PATTERN, description="with contract: its version (default: newest published)")
]

_DRAFT: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "the draft contract, in authoring JSON (as `dq suggest DATA --out draft.json` writes it)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/suggestions",
    operation_id="suggest_contract",
    response_model=None,
    responses={**_DRAFT, **problems(413, 422), **_UNSUPPORTED},
    openapi_extra=_UPLOAD_OPENAPI,
    summary="Profile an uploaded file and answer a draft contract of suggested rules",
)
async def suggest_contract(
    access: Author,
    request: Request,
    dataset: DatasetName = None,
    contract: ContractId = None,
    version: ContractVersion = None,
    filename: FileName = None,
    x_file_name: XFileName = None,
) -> JSONResponse:
    received = await receive_file(request, filename, x_file_name)
    if isinstance(received, JSONResponse):
        return received
    ctx = access.ctx
    reader = ctx.contracts
    base = (
        await asyncio.to_thread(service.base_contract, reader, access.tenant, ctx.environment, contract, version)
        if contract
        else None
    )
    draft = await asyncio.to_thread(
        service.suggest_upload,
        received.data,
        received.name,
        tenant=access.tenant,
        environment=ctx.environment,
        dataset=dataset,
        base=base,
        reader=reader,
    )
    return JSONResponse(service.authoring_json(draft))
