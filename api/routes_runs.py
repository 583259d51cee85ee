"""Runs under ``/api/tenants/{tenant}``: start, follow, list, read results, lineage, evidence
packs and reports; upload files and take upload services' notifications.

Thin over :mod:`services.runs` (reading) and :mod:`services.run_starts` (starting, which
needs the Durable client of the request, ``ctx.starter()``). Readers read; Operators start
runs, upload and notify. Instance ids begin with ``{tenant}:``, and an instance route
refuses (404) an id of another tenant without asking the task hub about it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, JsonValue

from api.context import Access, Operator, Reader
from api.problems import PROBLEM_JSON, ProblemDetails, problem_response, problems
from dq_core.errors import DQError, ObjectNotFound, TransientError
from dq_core.identifiers import ID_PART, ID_PATTERN
from dq_core.lineage.models import AuditEvent
from dq_core.results.run import RunResult
from services import runs as service
from services.run_starts import (
    DATASET_PATTERN,
    BadStartRequest,
    JobStart,
    RunAlreadyStarted,
    Starting,
    StartRunBody,
    UploadNotification,
    check_file_name,
    notify_and_start,
    start_job,
    upload_and_start,
)
from services.runs import RUN_ID_PATTERN, RunDetail, RunLineage, RunPage, RunQuery, RunState
from services.starting import StartsFailed

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["runs"])
log = logging.getLogger("dq.api.runs")

PARQUET: Final = "application/vnd.apache.parquet"
MAX_UPLOAD_BYTES: Final = 100 * 1024**2
"""100 MiB, the Functions host's own request limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT can raise it
there). Larger files go to the container directly and start their run by notification or event."""

UPLOAD_TYPES: Final = (
    "text/csv",
    "application/csv",
    "text/plain",
    "application/octet-stream",
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)

REPORT_HEADERS: Final = {
    # the report is self-contained (its own CSP allows only its inline script and style); served
    # from the API's origin it also runs sandboxed, in an opaque origin, and loads nothing
    "Content-Security-Policy": "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}
_UNSUPPORTED: Final[dict[int | str, dict[str, Any]]] = {
    415: {"model": ProblemDetails, "description": "unsupported content type", "content": {PROBLEM_JSON: {}}}
}

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="run id (a UUID for orchestrated runs)")]
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="job definition id")]


# --- models --------------------------------------------------------------------------------------


class RunStarted(BaseModel):
    """A run accepted: follow ``status_url`` (this API) until ``runtime_status`` is Completed."""

    job_id: str
    instance_id: str
    status_url: str


class UploadAccepted(RunStarted):
    blob_path: str  # where the file was stored in the tenant's container
    etag: str


class NotifiedStart(JobStart):
    status_url: str


class NotificationAccepted(BaseModel):
    path: str  # the blob's path in the tenant's container
    runs: list[NotifiedStart]


class InstanceStatus(BaseModel):
    """A Durable instance's status: the run's stage and chunk progress while it runs, the run
    summaries (run ids, verdicts) once it has completed."""

    instance_id: str
    name: str | None = None
    runtime_status: str | None = None  # Pending | Running | Completed | Failed | Terminated | ...
    custom_status: JsonValue = None  # {run_id, stage, chunks_done, chunks_total, rules_failed}
    output: JsonValue = None  # {runs: [{run_id, status, result_path, error, actions}]}
    created_time: datetime | None = None
    last_updated_time: datetime | None = None
    run_ids: list[str] = Field(default_factory=list)


class RunList(RunPage):
    next_url: str | None = None  # the next page (null on the last)


# --- helpers -------------------------------------------------------------------------------------


def _starting(access: Access) -> Starting:
    ctx = access.ctx
    return Starting(registry=ctx.contracts, blobs=ctx.ports.blobs, starter=ctx.starter(), environment=ctx.environment)


def _status_url(request: Request, tenant: str, instance_id: str) -> str:
    return str(request.url_for("get_instance", tenant=tenant, instance_id=instance_id))


def _conflict(request: Request, access: Access, exc: RunAlreadyStarted) -> JSONResponse:
    url = _status_url(request, access.tenant, exc.instance_id)
    return problem_response(409, "run already started", f"{exc.message}; its status: {url}", exc.code, Location=url)


def _bad_request(exc: BadStartRequest) -> JSONResponse:
    return problem_response(400, "invalid request", exc.message, exc.code)


async def _audit_start(access: Access, what: str, detail: str) -> None:
    event = AuditEvent.record(
        tenant=access.tenant,
        environment=access.ctx.environment,
        actor=access.actor,
        action="start_run",
        what=what,
        correlation_id=access.correlation_id,
        detail=detail,
    )
    try:
        await asyncio.to_thread(access.ctx.ports.lineage.put_audit, event)
    except DQError as exc:  # the run has started: the caller must hear so, not retry into a 409
        log.warning("start of %s not audited: %s", detail, exc.one_line())


def _run_ids(custom_status: Any, output: Any) -> list[str]:
    found: list[str] = []
    if isinstance(custom_status, dict) and isinstance(custom_status.get("run_id"), str):
        found.append(custom_status["run_id"])
    runs = output.get("runs") if isinstance(output, dict) else None
    for run in runs if isinstance(runs, list) else []:
        if isinstance(run, dict) and isinstance(run.get("run_id"), str) and run["run_id"] not in found:
            found.append(run["run_id"])
    return found


def _json(value: Any) -> JsonValue:
    """The instance's custom status or output as JSON (the SDK may hand back JSON text)."""
    if value is None or isinstance(value, dict | list | int | float | bool):
        return value
    return str(value)


# --- start and follow ---------------------------------------------------------------------------


@router.post(
    "/jobs/{job_id}/runs",
    operation_id="start_run",
    status_code=202,
    response_model=RunStarted,
    responses=problems(409),
    summary="Start a run of a published job on a blob of the tenant's container",
)
async def start_run(
    job_id: JobId, body: StartRunBody, access: Operator, request: Request, response: Response
) -> RunStarted | JSONResponse:
    try:
        outcome = await start_job(
            _starting(access), access.tenant, job_id, body, actor=access.actor, correlation_id=access.correlation_id
        )
    except RunAlreadyStarted as exc:
        return _conflict(request, access, exc)
    except BadStartRequest as exc:
        return _bad_request(exc)
    url = _status_url(request, access.tenant, outcome.instance_id)
    await _audit_start(access, f"job_definition {job_id}", f"{outcome.instance_id} on {body.input_uri}")
    response.headers["Location"] = url
    return RunStarted(job_id=job_id, instance_id=outcome.instance_id, status_url=url)


@router.get(
    "/instances/{instance_id}",
    operation_id="get_instance",
    response_model=InstanceStatus,
    responses=problems(),
    summary="The Durable status of a run's instance (stage and progress, then the run summaries)",
)
async def get_instance(
    instance_id: Annotated[str, Path(max_length=256, description="{tenant}:{job}:{key}")], access: Reader
) -> InstanceStatus:
    own = re.compile(rf"^{re.escape(access.tenant)}:{ID_PART}:[^/\\#?%\s\x00-\x1f\x7f]+$")
    if not own.match(instance_id):
        raise ObjectNotFound(f"tenant {access.tenant} has no instance {instance_id!r}")
    try:
        status = await access.ctx.starter().get_status(instance_id)
    except DQError:
        raise
    except Exception as exc:  # noqa: BLE001 - the Durable client raises bare Exception (or aiohttp's errors)
        raise TransientError(f"the Durable status of {instance_id} could not be read: {exc}") from None
    if not status:
        raise ObjectNotFound(f"tenant {access.tenant} has no instance {instance_id!r}")
    runtime = getattr(status, "runtime_status", None)
    custom, output = _json(getattr(status, "custom_status", None)), _json(getattr(status, "output", None))
    return InstanceStatus(
        instance_id=instance_id,
        name=getattr(status, "name", None),
        runtime_status=None if runtime is None else str(getattr(runtime, "value", runtime)),
        custom_status=custom,
        output=output,
        created_time=getattr(status, "created_time", None),
        last_updated_time=getattr(status, "last_updated_time", None),
        run_ids=_run_ids(custom, output),
    )


# --- uploads -------------------------------------------------------------------------------------


@router.post(
    "/uploads/notify",
    operation_id="notify_upload",
    status_code=202,
    response_model=NotificationAccepted,
    responses={
        **problems(),
        200: {"model": NotificationAccepted, "description": "every matching run had started already"},
    },
    summary="An upload service wrote a blob to the tenant's container: start the jobs bound to its path",
)
async def notify_upload(
    body: UploadNotification, access: Operator, request: Request, response: Response
) -> NotificationAccepted | JSONResponse:
    try:
        notified = await notify_and_start(
            _starting(access), access.tenant, body, actor=access.actor, correlation_id=access.correlation_id
        )
    except BadStartRequest as exc:
        return _bad_request(exc)
    runs = [
        NotifiedStart(**start.model_dump(), status_url=_status_url(request, access.tenant, start.instance_id))
        for start in notified.starts
    ]
    for run in runs:
        if run.started:
            await _audit_start(access, f"job_definition {run.job_id}", f"{run.instance_id} on {notified.path}")
    if notified.failures:  # after auditing what did start: a retry starts only what is missing
        raise StartsFailed("; ".join(notified.failures))
    if not any(run.started for run in runs):
        response.status_code = 200
    return NotificationAccepted(path=notified.path, runs=runs)


_UPLOAD_OPENAPI: Final = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes",
        "content": dict.fromkeys(UPLOAD_TYPES, _BINARY),
    }
}


async def _read_limited(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        return _too_large(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            return _too_large(size, at_least=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, *, at_least: bool = False) -> JSONResponse:
    more = "more than " if at_least else ""
    return problem_response(
        413, "upload too large", f"{more}{size} bytes, over the limit of {MAX_UPLOAD_BYTES}", "upload_too_large"
    )


@dataclass(frozen=True)
class ReceivedFile:
    name: str
    content_type: str
    data: bytes


async def receive_file(request: Request, filename: str | None, x_file_name: str | None) -> ReceivedFile | JSONResponse:
    """An uploaded file's bytes, once its content type (415), name (400) and size (413) pass."""
    content_type = (request.headers.get("content-type") or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in UPLOAD_TYPES:
        detail = f"content type {content_type!r} is not a data file's; send one of {', '.join(UPLOAD_TYPES)}"
        return problem_response(415, "unsupported content type", detail, "unsupported_media_type")
    try:
        name = check_file_name(filename or x_file_name)
    except BadStartRequest as exc:
        return _bad_request(exc)
    data = await _read_limited(request)
    if isinstance(data, JSONResponse):
        return data
    return ReceivedFile(name=name, content_type=content_type, data=data)


async def _upload(
    request: Request, access: Access, dataset: str, filename: str | None, x_file_name: str | None, job: str | None
) -> UploadAccepted | JSONResponse:
    received = await receive_file(request, filename, x_file_name)
    if isinstance(received, JSONResponse):
        return received
    try:
        uploaded = await upload_and_start(
            _starting(access),
            access.tenant,
            dataset,
            received.name,
            received.data,
            job_id=job,
            content_type=received.content_type,
            actor=access.actor,
            correlation_id=access.correlation_id,
        )
    except RunAlreadyStarted as exc:
        return _conflict(request, access, exc)
    except BadStartRequest as exc:
        return _bad_request(exc)
    url = _status_url(request, access.tenant, uploaded.instance_id)
    await _audit_start(access, f"job_definition {uploaded.job_id}", f"{uploaded.instance_id} on {uploaded.path}")
    return JSONResponse(
        UploadAccepted(
            job_id=uploaded.job_id,
            instance_id=uploaded.instance_id,
            status_url=url,
            blob_path=uploaded.path,
            etag=uploaded.etag,
        ).model_dump(mode="json"),
        status_code=202,
        headers={"Location": url},
    )


Dataset = Annotated[str, Path(pattern=DATASET_PATTERN, description="the dataset the file is of")]
FileName = Annotated[str | None, Query(max_length=200, description="the file's name (or the x-file-name header)")]
XFileName = Annotated[str | None, Header(max_length=200, description="the file's name, when not in ?filename=")]
ChosenJob = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="the job to run when several are bound to the dataset")
]
_UPLOAD_RESPONSES: Final = {**problems(409, 413), **_UNSUPPORTED}
_UPLOAD_SUMMARY: Final = "Upload a file of a dataset and run the published job bound to it"


@router.post(
    "/uploads/{dataset}",
    operation_id="upload_file",
    status_code=202,
    response_model=UploadAccepted,
    responses=_UPLOAD_RESPONSES,
    openapi_extra=_UPLOAD_OPENAPI,
    summary=_UPLOAD_SUMMARY,
)
async def upload_file(
    dataset: Dataset,
    access: Operator,
    request: Request,
    filename: FileName = None,
    x_file_name: XFileName = None,
    job: ChosenJob = None,
) -> UploadAccepted | JSONResponse:
    return await _upload(request, access, dataset, filename, x_file_name, job)


router.put(
    "/uploads/{dataset}",
    operation_id="put_upload_file",
    status_code=202,
    response_model=UploadAccepted,
    responses=_UPLOAD_RESPONSES,
    openapi_extra=_UPLOAD_OPENAPI,
    summary=_UPLOAD_SUMMARY + " (PUT: the same as POST)",
)(upload_file)


# --- reading runs --------------------------------------------------------------------------------


@router.get(
    "/runs",
    operation_id="list_runs",
    response_model=RunList,
    responses=problems(),
    summary="The tenant's runs, newest first, by job, status and start time; paged with a cursor",
)
def list_runs(
    access: Reader,
    request: Request,
    job_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: RunState | None = None,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="the 'next' of the previous page, with the same filters")
    ] = None,
) -> RunList:
    query = RunQuery(job_id=job_id, status=status, since=since, until=until, limit=limit, cursor=cursor)
    page = service.list_runs(access.ctx.ports.lineage, access.tenant, query, cursor_key=access.ctx.cursor_key)
    next_url = None
    if page.next is not None:
        next_url = str(request.url.include_query_params(cursor=page.next))
    return RunList(runs=page.runs, next=page.next, next_url=next_url)


@router.get(
    "/runs/{run_id}",
    operation_id="get_run",
    response_model=RunDetail,
    responses=problems(),
    summary="A run's lineage record and, once it has finished, its result",
)
def get_run(run_id: RunId, access: Reader) -> RunDetail:
    return service.run_detail(access.ctx.ports.lineage, access.ctx.ports.blobs, access.tenant, run_id)


@router.get(
    "/runs/{run_id}/result",
    operation_id="get_run_result",
    response_class=Response,
    responses={
        **problems(409),
        200: {"model": RunResult, "description": "result.json (dq.run-result/v1) as stored"},
    },
    summary="A run's result.json, byte for byte (its sha256 is the run's result_sha256)",
)
def get_run_result(run_id: RunId, access: Reader) -> Response:
    data = service.result_bytes(access.ctx.ports.lineage, access.ctx.ports.blobs, access.tenant, run_id)
    return Response(content=data, media_type="application/json")


@router.get(
    "/runs/{run_id}/lineage",
    operation_id="get_run_lineage",
    response_model=RunLineage,
    responses=problems(),
    summary="A run and its lineage steps (inputs, outputs, versions, metrics, timings)",
)
def get_run_lineage(run_id: RunId, access: Reader) -> RunLineage:
    return service.run_lineage(access.ctx.ports.lineage, access.tenant, run_id)


@router.get(
    "/runs/{run_id}/evidence",
    operation_id="get_run_evidence",
    response_class=Response,
    responses={
        **problems(409),
        200: {"description": "the evidence pack (dq.evidence/v1 zip)", "content": {"application/zip": _BINARY}},
    },
    summary="A finished run's evidence pack: lineage, bundle, result and outputs with a sha256 manifest",
)
def get_run_evidence(run_id: RunId, access: Reader) -> Response:
    data = service.evidence_pack(access.ctx.ports.lineage, access.ctx.ports.blobs, access.tenant, run_id)
    return Response(
        content=data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="evidence-{run_id}.zip"'},
    )


@router.get(
    "/runs/{run_id}/failed-rows",
    operation_id="get_run_failed_rows",
    response_class=Response,
    responses={
        **problems(409),
        200: {"description": "failed_rows.parquet", "content": {PARQUET: {}}},
    },
    summary="Every failing row of a run, with the ids of the rules it failed (Parquet, masked as the run wrote it)",
)
def get_run_failed_rows(run_id: RunId, access: Reader) -> Response:
    data = service.failed_rows_parquet(access.ctx.ports.lineage, access.ctx.ports.blobs, access.tenant, run_id)
    headers = {"Content-Disposition": f'attachment; filename="{run_id}-failed_rows.parquet"'}
    return Response(content=data, media_type=PARQUET, headers=headers)


@router.get(
    "/runs/{run_id}/report",
    operation_id="get_run_report",
    response_class=HTMLResponse,
    responses={**problems(), 200: {"description": "the run's report.html", "content": {"text/html": {}}}},
    summary="A run's self-contained HTML report (404 until the run has written it)",
)
def get_run_report(run_id: RunId, access: Reader) -> HTMLResponse:
    data = service.report_html(access.ctx.ports.lineage, access.ctx.ports.blobs, access.tenant, run_id)
    return HTMLResponse(content=data, headers=REPORT_HEADERS)
