"""``POST /api/tenants/{tenant}/jobs/{job_id}/runs``: start a run of a published job on a blob.

Body (JSON): ``{"input_uri": "landing/crm/customers.csv", "etag": "0x8DC...", "overrides": {...}}``;
``etag`` and ``overrides`` are optional. With an ETag the instance id is
``{tenant}:{job}:{etag}``, so starting the same file version twice starts one run (the
second call gets 409 and the instance's status URL); without one every call is a new
run, ``{tenant}:{job}:{uuid}``. The answer is 202 with the Durable status URLs.
"""

from __future__ import annotations

import uuid
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import Field, ValidationError, field_validator

from app.runtime import run_ports
from app.settings import get_settings
from app.starting import etag_key, instance_id, job_registry, start_run
from dq_core.errors import ConfigError
from dq_core.jobs.matching import published_jobs
from dq_core.lineage.models import IngestionMode
from dq_core.payloads import Payload
from dq_core.runs.payloads import InputRef, RunOverrides, RunRequest
from triggers.common import HttpStarter, Problem, answer, checked_id, invalid_body, trace_id

bp = df.Blueprint()

_MAX_BODY = 64 * 1024


def check_blob_path(path: str) -> str:
    """A path in the tenant's container: relative, ``/``-separated, no ``.``/``..``/empty segment."""
    if "://" in path or path.startswith("/") or "\\" in path or any(ord(c) < 0x20 for c in path):  # noqa: PLR2004
        msg = "must be a path in the tenant's container, like landing/crm/customers.csv"
        raise ValueError(msg)
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        msg = "must not contain empty, '.' or '..' segments"
        raise ValueError(msg)
    return path


class StartRunBody(Payload):
    input_uri: str = Field(min_length=1, max_length=1024)
    etag: str | None = Field(default=None, min_length=1, max_length=256)
    overrides: RunOverrides = RunOverrides()

    _path = field_validator("input_uri")(check_blob_path)


def parse_body(req: func.HttpRequest) -> StartRunBody:
    raw = req.get_body() or b""
    if not raw.strip():
        raise Problem(400, "invalid request body", 'send a JSON object, e.g. {"input_uri": "landing/x.csv"}')
    if len(raw) > _MAX_BODY:
        raise Problem(413, "request body too large", f"the body is {len(raw)} bytes; at most {_MAX_BODY} are read")
    try:
        return StartRunBody.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_body(exc) from None


async def start_job_run(req: func.HttpRequest, client: HttpStarter) -> func.HttpResponse:
    tenant = checked_id(req.route_params.get("tenant"), "tenant")
    job_id = checked_id(req.route_params.get("job_id"), "job")
    body = parse_body(req)
    environment = get_settings().environment.value
    live = published_jobs(job_registry(run_ports().contracts), tenant, environment)
    job = next((candidate for candidate in live if candidate.id == job_id), None)
    if job is None:
        raise Problem(404, "job not found", f"job {job_id!r} has no published version in {tenant}/{environment}")
    try:
        key = etag_key(body.etag) if body.etag else str(uuid.uuid4())
    except ConfigError as exc:
        raise Problem(400, "invalid request body", f"etag: {exc.message}") from None
    instance = instance_id(tenant, job.id, key)
    request = RunRequest(
        tenant=tenant,
        environment=environment,
        job_id=job.id,
        job_version=job.version,
        inputs=(InputRef(uri=body.input_uri, etag=body.etag),),
        ingestion_mode=IngestionMode.HTTP,
        trigger={"type": "http"},
        overrides=body.overrides,
        correlation_id=trace_id(req),
    )
    outcome = await start_run(client, instance, request)
    if not outcome.started:
        links = client.get_client_response_links(req, instance)
        raise Problem(
            409,
            "run already started",
            f"instance {instance} exists: {outcome.reason}",
            instance_id=instance,
            statusQueryGetUri=links["statusQueryGetUri"],
        )
    return client.create_check_status_response(req, instance)


@bp.function_name("start_run")
@bp.route(route="tenants/{tenant}/jobs/{job_id}/runs", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_run_http(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    return await answer(start_job_run(req, client))
