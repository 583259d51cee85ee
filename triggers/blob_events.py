"""Blob created → the jobs bound to that path: an Event Grid trigger.

Each tenant has its own container (``dq-{tenant}``), and a blob trigger names one
container in its path, so one function cannot watch every tenant with a blob trigger;
on Flex Consumption only event-based triggers exist anyway. The storage account's
Event Grid system topic delivers ``Microsoft.Storage.BlobCreated`` events for the
``dq-`` containers to this function (``infra/bicep/modules/eventgrid-subscription.bicep``).

For an event with subject ``/blobServices/default/containers/dq-{tenant}/blobs/{path}``
the function starts, for each published job definition whose blob trigger pattern
matches ``{path}``, ``run_job`` under ``{tenant}:{job}:{etag}``. A repeated event (Event
Grid delivers at least once) finds the instance and starts nothing. Blobs the app writes
itself (``runs/``, ``uploads/``, ``profiles/``, ``bundles/``) and other containers are
ignored, with a log line. A failure to reach the registry or to start raises, so Event
Grid delivers the event again; the runs already started are not started twice (and an event
whose deliveries run out goes to the subscription's dead-letter container, docs/deploy.md).

Reading the registry is blocking I/O: it runs in a worker thread (``asyncio.to_thread``), never
on the worker's event loop, which the Durable client's calls and other invocations share.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any, Final

import azure.durable_functions as df
import azure.functions as func

from app.runtime import run_ports
from app.settings import get_settings
from dq_core.identifiers import CONTAINER_PREFIX, is_tenant
from dq_core.jobs.matching import BlobMatch, is_app_written, jobs_for_blob, published_jobs
from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import InputRef, RunRequest
from services.starting import Starter, StartOutcome, StartsFailed, etag_key, instance_id, job_registry, start_run

bp = df.Blueprint()
log = logging.getLogger("dq.triggers.blob_events")

BLOB_CREATED: Final = "Microsoft.Storage.BlobCreated"
_SUBJECT: Final = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<path>.+)$")


@dataclass(frozen=True)
class BlobCreated:
    event_id: str
    event_type: str
    subject: str
    etag: str | None

    @classmethod
    def from_event(cls, event: func.EventGridEvent) -> BlobCreated:
        data = event.get_json()
        data = data if isinstance(data, dict) else {}
        return cls(
            event_id=event.id,
            event_type=event.event_type,
            subject=event.subject,
            etag=_text(data.get("eTag")),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def tenant_and_path(subject: str) -> tuple[str, str] | None:
    """(tenant, blob path) of a tenant container's blob subject; None for anything else."""
    match = _SUBJECT.match(subject)
    if match is None:
        return None
    container = match.group("container")
    tenant = container.removeprefix(CONTAINER_PREFIX)
    if not container.startswith(CONTAINER_PREFIX) or not is_tenant(tenant):
        return None
    return tenant, match.group("path")


def bound_jobs(tenant: str, path: str) -> tuple[str, list[BlobMatch]]:
    """The deployment's environment and the published jobs bound to ``path``: blocking (settings,
    the ports built on first use, the registry), so the trigger calls it in a worker thread."""
    environment = get_settings().environment.value
    return environment, jobs_for_blob(published_jobs(job_registry(run_ports().contracts), tenant, environment), path)


async def handle_blob_created(client: Starter, event: BlobCreated) -> list[StartOutcome]:
    if event.event_type != BLOB_CREATED:
        log.info("event %s: ignored, a %s event is not a blob creation", event.event_id, event.event_type)
        return []
    where = tenant_and_path(event.subject)
    if where is None:
        log.info("event %s: ignored, %s is not a blob of a tenant container", event.event_id, event.subject)
        return []
    tenant, path = where
    if is_app_written(path):
        log.info("event %s: ignored, %s/%s is written by the app itself", event.event_id, tenant, path)
        return []
    if event.etag is None:
        log.warning("event %s: ignored, %s/%s has no eTag", event.event_id, tenant, path)
        return []
    environment, matches = await asyncio.to_thread(bound_jobs, tenant, path)
    if not matches:
        log.info("event %s: no published job of %s/%s is bound to %s", event.event_id, tenant, environment, path)
        return []
    outcomes, failures = [], []
    for match in matches:
        request = RunRequest(
            tenant=tenant,
            environment=environment,
            job_id=match.job.id,
            job_version=match.job.version,
            inputs=(InputRef(uri=path, etag=event.etag),),
            ingestion_mode=IngestionMode.BLOB_EVENT,
            trigger={"type": "blob", "path_pattern": match.trigger.path_pattern, "event_id": event.event_id},
            correlation_id=event.event_id,
        )
        instance = instance_id(tenant, match.job.id, etag_key(event.etag))
        try:
            outcome = await start_run(client, instance, request)
        except Exception as exc:  # the SDK raises bare Exception; the other jobs still start
            log.exception("event %s: %s could not be started", event.event_id, instance)
            failures.append(f"{instance}: {' '.join(str(exc).split())[:200]}")
            continue
        if not outcome.started:
            log.info("event %s: %s %s, nothing started", event.event_id, instance, outcome.reason)
        outcomes.append(outcome)
    if failures:
        raise StartsFailed("; ".join(failures))
    return outcomes


@bp.function_name("on_blob_created")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_blob_created(event: func.EventGridEvent, client: Any) -> None:
    await handle_blob_created(client, BlobCreated.from_event(event))
