"""``POST /api/tenants/{tenant}/uploads/{dataset}``: upload a file and run the job bound to its dataset.

The body is the file's bytes; its name comes from the ``filename`` query parameter or
the ``x-file-name`` header. The file is stored in the tenant's container at
``uploads/{dataset}/{UTC yyyymmddTHHMMSS}-{uuid8}-{filename}`` (never overwriting), and
the published job definition whose dataset (its own, else its contract's first) is
``{dataset}`` runs on it under ``{tenant}:{job}:{etag}``. Several jobs bound to one
dataset: the ``job`` query parameter chooses. ``uploads/`` is excluded from the blob
events, so an upload starts exactly one run.

Answers: 202 with the Durable status URLs (and the stored path in ``x-dq-blob-path``);
400 for an empty body, a missing or unsafe file name, or an ambiguous dataset; 404 when
no published job runs the dataset; 413 above :data:`MAX_UPLOAD_BYTES`; 409 when a run
with the new blob's ETag exists already (the embedded blob store's ETags are content
hashes, so uploading the same bytes twice locally runs them once).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Final

import azure.durable_functions as df
import azure.functions as func

from app.runtime import run_ports
from app.settings import get_settings
from app.starting import etag_key, instance_id, job_registry, start_run
from dq_core.jobs.matching import jobs_for_dataset, published_jobs
from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import InputRef, RunRequest
from triggers.common import HttpStarter, Problem, answer, checked_id, trace_id

bp = df.Blueprint()

MAX_UPLOAD_BYTES: Final = 1024**3
"""1 GiB, the ``max_file_bytes`` of the standard infra profile. The Functions host has its
own, lower, request size limit (100 MB unless FUNCTIONS_REQUEST_BODY_SIZE_LIMIT raises it):
larger files go to the container directly and start their run through a blob event."""

_DATASET: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_FILE_NAME: Final = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,200}$")


def file_name(req: func.HttpRequest) -> str:
    name: str | None = req.params.get("filename") or req.headers.get("x-file-name")
    if not name:
        raise Problem(400, "file name missing", "name the file with ?filename=... or an x-file-name header")
    if not _FILE_NAME.match(name) or name.strip() != name or name in (".", ".."):
        detail = f"file name {name!r} must be 1-200 characters, without '/', '\\', control characters or edge spaces"
        raise Problem(400, "invalid file name", detail)
    return name


def upload_path(dataset: str, name: str, now: datetime) -> str:
    return f"uploads/{dataset}/{now.astimezone(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}-{name}"


async def upload_file(req: func.HttpRequest, client: HttpStarter) -> func.HttpResponse:
    tenant = checked_id(req.route_params.get("tenant"), "tenant")
    dataset = req.route_params.get("dataset") or ""
    if not _DATASET.match(dataset):
        raise Problem(400, "invalid dataset", f"dataset {dataset!r} is not a dataset name")
    name = file_name(req)
    chosen = req.params.get("job")
    if chosen is not None:
        checked_id(chosen, "job")
    data = req.get_body() or b""
    if not data:
        raise Problem(400, "empty upload", "the body is empty: send the file's bytes")
    if len(data) > MAX_UPLOAD_BYTES:
        raise Problem(413, "upload too large", f"{len(data)} bytes, over the limit of {MAX_UPLOAD_BYTES}")

    environment = get_settings().environment.value
    ports = run_ports()
    registry = job_registry(ports.contracts)
    bound = jobs_for_dataset(published_jobs(registry, tenant, environment), dataset, registry)
    if chosen is not None:
        bound = [job for job in bound if job.id == chosen]
    if not bound:
        which = f"job {chosen!r}" if chosen else "no published job"
        raise Problem(404, "no job for this dataset", f"{which} runs dataset {dataset!r} in {tenant}/{environment}")
    if len(bound) > 1:
        names = ", ".join(job.id for job in bound)
        raise Problem(400, "several jobs run this dataset", f"choose one with ?job= ({names})")
    job = bound[0]

    path = upload_path(dataset, name, datetime.now(UTC))
    etag = ports.blobs.put(tenant, path, data)
    request = RunRequest(
        tenant=tenant,
        environment=environment,
        job_id=job.id,
        job_version=job.version,
        inputs=(InputRef(uri=path, etag=etag),),
        ingestion_mode=IngestionMode.UPLOAD,
        trigger={"type": "upload", "file_name": name, "bytes": len(data)},
        correlation_id=trace_id(req),
    )
    instance = instance_id(tenant, job.id, etag_key(etag))
    outcome = await start_run(client, instance, request)
    if not outcome.started:  # the same ETag ran before (local stores' ETags are content hashes)
        raise Problem(409, "run already started", f"instance {instance} exists: {outcome.reason}", instance_id=instance)
    response = client.create_check_status_response(req, instance)
    response.headers["x-dq-blob-path"] = path
    return response


@bp.function_name("upload_file")
@bp.route(route="tenants/{tenant}/uploads/{dataset}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def upload_file_http(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    return await answer(upload_file(req, client))
