"""Starting runs on request: a job on a blob, an uploaded file, an upload service's notification.

What the HTTP API's runs routes call; it knows no web framework. Each function decides
which published job runs on which blob, under which deterministic instance id
(:mod:`services.starting`), and starts it through the Durable client it is given. Refusals are
:class:`~dq_core.errors.DQError` s with a stable code; a run whose instance exists already
is :class:`RunAlreadyStarted` (HTTP 409).

* **start** — a published job on a blob path of the tenant's container; with an ETag the
  instance id is ``{tenant}:{job}:{etag}`` (the same file version starts once), without
  one every call is a new run.
* **upload** — the bytes are stored at ``uploads/{dataset}/{UTC time}-{uuid8}/{name}``
  (a folder of its own, never overwriting, in the ``raw`` access tier of the job's infra
  profile; deleted by the retention clean-up, docs/retention.md) and the published job
  bound to the dataset runs on them under ``{tenant}:{job}:{etag}``. When that instance exists already (the same
  bytes, where the store's ETag is a content hash) the upload is refused and its folder
  deleted: a refused upload leaves nothing behind.
* **notify** — an upload service that wrote the blob itself names it (blob URI or path,
  ETag, its metadata, overrides); the jobs whose blob patterns match start, exactly as
  for an Event Grid ``BlobCreated`` event (the same instance ids: a blob both notified
  and delivered by Event Grid runs once). A notification again starts nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from pydantic import Field, JsonValue, field_validator, model_validator

from dq_core.contracts.models import LOCAL_SCHEME
from dq_core.errors import ConfigError, DQError, ObjectNotFound
from dq_core.identifiers import CONTAINER_PREFIX
from dq_core.jobs.matching import APP_WRITTEN_PREFIXES, is_app_written, jobs_for_blob, jobs_for_dataset, published_jobs
from dq_core.jobs.models import JobDefinition
from dq_core.lineage.models import IngestionMode
from dq_core.payloads import Payload
from dq_core.ports import BlobStore, ContractStore
from dq_core.registry.models import ConflictError
from dq_core.runs.files import upload_tier
from dq_core.runs.payloads import InputRef, RunOverrides, RunRequest
from dq_core.security.principal import Forbidden
from services.starting import Starter, StartOutcome, StartsFailed, etag_key, instance_id, start_run

log = logging.getLogger("dq.run_starts")

DATASET_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
_FILE_NAME: Final = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,200}$")
_METADATA_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
_TENANT_KEYS: Final = ("tenant", "dq_tenant", "dqtenant", "x-dq-tenant")


NOT_INPUTS: Final = tuple(p for p in APP_WRITTEN_PREFIXES if p != "uploads/")
"""What a start may not name: the app's own outputs (an upload, stored by the app, may run again)."""


class BadStartRequest(ConfigError):
    """What the caller asked cannot name a run: an unsafe file name, an ambiguous dataset, ..."""

    code = "invalid_request"


class RunAlreadyStarted(ConflictError):
    """The run's instance exists and is not Failed, Terminated or Canceled."""

    code = "run_already_started"

    def __init__(self, outcome: StartOutcome) -> None:
        super().__init__(f"instance {outcome.instance_id} exists: {outcome.reason}")
        self.instance_id = outcome.instance_id


@dataclass(frozen=True)
class Starting:
    """Where runs start from: the registry, the tenant's blobs, the Durable client, the environment."""

    registry: ContractStore
    blobs: BlobStore
    starter: Starter
    environment: str


# --- bodies ------------------------------------------------------------------------------------


def check_blob_path(path: str) -> str:
    """A path in the tenant's container: relative, ``/``-separated, no ``.``/``..``/empty segment."""
    if "://" in path or path.startswith("/") or "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):  # noqa: PLR2004
        msg = "must be a path in the tenant's container, like landing/crm/customers.csv"
        raise ValueError(msg)
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        msg = "must not contain empty, '.' or '..' segments"
        raise ValueError(msg)
    return path


def container_references_only(overrides: RunOverrides) -> RunOverrides:
    """A run started through the API reads reference datasets from the tenant's container, never a local file."""
    for name, location in overrides.references.items():
        if location.startswith(LOCAL_SCHEME):
            msg = f"references.{name}: give a path in the tenant's container (a run started here reads no local file)"
            raise ValueError(msg)
    return overrides


class StartRunBody(Payload):
    """``POST .../jobs/{job_id}/runs``: the blob to run on, its ETag, the run's overrides."""

    input_uri: str = Field(min_length=1, max_length=1024, examples=["landing/crm/customers_2026.csv"])
    etag: str | None = Field(default=None, min_length=1, max_length=256, examples=['"0x8DC2A1B2C3D4E5F"'])
    overrides: RunOverrides = RunOverrides()

    _path = field_validator("input_uri")(check_blob_path)
    _references = field_validator("overrides")(container_references_only)


class UploadNotification(Payload):
    """``POST .../uploads/notify``: a blob an upload service wrote to the tenant's container."""

    blob_uri: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        examples=["https://account.blob.core.windows.net/dq-contoso/landing/crm/customers_2026.csv"],
    )
    path: str | None = Field(default=None, min_length=1, max_length=1024, examples=["landing/crm/customers_2026.csv"])
    etag: str = Field(min_length=1, max_length=256, examples=['"0x8DC2A1B2C3D4E5F"'])
    metadata: dict[str, str] = Field(default_factory=dict, max_length=64)
    overrides: RunOverrides = RunOverrides()

    _path = field_validator("path")(lambda value: value if value is None else check_blob_path(value))
    _references = field_validator("overrides")(container_references_only)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not _METADATA_KEY.match(key):
                msg = f"metadata key {key[:40]!r} must be a letter or '_', then letters, digits, '_' or '-'"
                raise ValueError(msg)
            if len(text) > 1024:  # noqa: PLR2004
                msg = f"metadata value of {key!r} is longer than 1024 characters"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _one_location(self) -> UploadNotification:
        if (self.blob_uri is None) == (self.path is None):
            msg = "give exactly one of blob_uri and path"
            raise ValueError(msg)
        return self


class JobStart(Payload):
    """What happened to one job a notification matched."""

    job_id: str
    instance_id: str
    started: bool
    reason: str  # started | restarted after Failed | already started (Running) | ...


@dataclass(frozen=True)
class Uploaded:
    path: str
    etag: str
    job_id: str
    instance_id: str


@dataclass(frozen=True)
class Notified:
    path: str
    starts: list[JobStart]
    failures: list[str] = field(default_factory=list)  # instances that could not be started, each with why


# --- start -------------------------------------------------------------------------------------


async def _live_jobs(starting: Starting, tenant: str) -> list[JobDefinition]:
    return await asyncio.to_thread(published_jobs, starting.registry, tenant, starting.environment)


async def _start(starting: Starting, instance: str, request: RunRequest) -> StartOutcome:
    try:
        outcome = await start_run(starting.starter, instance, request)
    except DQError:
        raise
    except Exception as exc:  # the Durable client raises bare Exception (or aiohttp's errors)
        log.exception("%s could not be started", instance)
        raise StartsFailed(f"{instance}: {' '.join(str(exc).split())[:200]}") from None
    if not outcome.started:
        raise RunAlreadyStarted(outcome)
    return outcome


async def start_job(
    starting: Starting, tenant: str, job_id: str, body: StartRunBody, *, actor: str, correlation_id: str | None
) -> StartOutcome:
    """Start the newest published version of ``job_id`` on ``body.input_uri``."""
    if body.input_uri.startswith(NOT_INPUTS):  # run folders hold unmasked working files
        raise BadStartRequest(f"{body.input_uri} is under a folder the app writes itself: it starts no run")
    job = next((j for j in await _live_jobs(starting, tenant) if j.id == job_id), None)
    if job is None:
        raise ObjectNotFound(f"job {job_id!r} has no published version in {tenant}/{starting.environment}")
    try:
        key = etag_key(body.etag) if body.etag else str(uuid.uuid4())
    except ConfigError as exc:
        raise BadStartRequest(f"etag: {exc.message}") from None
    request = RunRequest(
        tenant=tenant,
        environment=starting.environment,
        job_id=job.id,
        job_version=job.version,
        inputs=(InputRef(uri=body.input_uri, etag=body.etag),),
        ingestion_mode=IngestionMode.HTTP,
        trigger={"type": "http", "actor": actor},
        overrides=body.overrides,
        correlation_id=correlation_id,
    )
    return await _start(starting, instance_id(tenant, job.id, key), request)


# --- upload ------------------------------------------------------------------------------------


def check_file_name(name: str | None) -> str:
    if not name:
        raise BadStartRequest("name the file with ?filename=... or an x-file-name header")
    if not _FILE_NAME.match(name) or name.strip() != name or name in (".", ".."):
        detail = f"file name {name!r} must be 1-200 characters, without '/', '\\', control characters or edge spaces"
        raise BadStartRequest(detail)
    return name


def upload_folder(dataset: str, now: datetime) -> str:
    """``uploads/{dataset}/{UTC time}-{uuid8}/``: one folder per upload, so a refused one can be deleted whole."""
    return f"uploads/{dataset}/{now.astimezone(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}/"


async def upload_and_start(
    starting: Starting,
    tenant: str,
    dataset: str,
    name: str,
    data: bytes,
    *,
    job_id: str | None,
    content_type: str,
    actor: str,
    correlation_id: str | None,
) -> Uploaded:
    """Store an uploaded file and run the published job bound to ``dataset`` on it.
    The job is looked up first: nothing is stored when no job (or several) would run it."""
    if not data:
        raise BadStartRequest("the body is empty: send the file's bytes")
    jobs = await _live_jobs(starting, tenant)
    bound = await asyncio.to_thread(jobs_for_dataset, jobs, dataset, starting.registry)
    if job_id is not None:
        bound = [job for job in bound if job.id == job_id]
    if not bound:
        which = f"job {job_id!r}" if job_id else "no published job"
        raise ObjectNotFound(f"{which} runs dataset {dataset!r} in {tenant}/{starting.environment}")
    if len(bound) > 1:
        raise BadStartRequest(
            f"several jobs run dataset {dataset!r}: choose one with ?job= ({', '.join(j.id for j in bound)})"
        )
    job = bound[0]
    folder = upload_folder(dataset, datetime.now(UTC))
    path = folder + name
    tier = await asyncio.to_thread(upload_tier, starting.registry, tenant, starting.environment, job)
    etag = await asyncio.to_thread(starting.blobs.put, tenant, path, data, tier=tier)
    request = RunRequest(
        tenant=tenant,
        environment=starting.environment,
        job_id=job.id,
        job_version=job.version,
        inputs=(InputRef(uri=path, etag=etag),),
        ingestion_mode=IngestionMode.UPLOAD,
        trigger={"type": "upload", "file_name": name, "bytes": len(data), "content_type": content_type, "actor": actor},
        correlation_id=correlation_id,
    )
    try:
        outcome = await _start(starting, instance_id(tenant, job.id, etag_key(etag)), request)
    except ConfigError:  # refused (RunAlreadyStarted is one): no run reads the file. After a transient
        # error a run may have started after all, so the file stays
        await asyncio.to_thread(starting.blobs.delete_prefix, tenant, folder)
        raise
    return Uploaded(path=path, etag=etag, job_id=job.id, instance_id=outcome.instance_id)


# --- notify ------------------------------------------------------------------------------------


@runtime_checkable
class NamesContainers(Protocol):
    """A blob store with containers of its own naming (``AzureBlobStore``)."""

    def container_name(self, tenant: str) -> str: ...


def container_of(blobs: BlobStore, tenant: str) -> str:
    """The tenant's container name: the blob store's own rule when it has one, else ``dq-{tenant}``."""
    if isinstance(blobs, NamesContainers):
        return blobs.container_name(tenant)
    return CONTAINER_PREFIX + tenant


def _path_style(host: str) -> bool:
    """Azurite and other emulators put the account in the path: http://127.0.0.1:10000/{account}/{container}/..."""
    if host in ("localhost", ""):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def blob_path_in(uri: str, container: str) -> str:
    """The path of a blob URI inside ``container``; Forbidden when it names another container."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:  # a malformed IPv6 host, a bad port
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise BadStartRequest(
            "blob_uri must be an http(s) URL of a blob, like https://account.blob.core.windows.net/..."
        )
    segments = parts.path.lstrip("/").split("/")
    if segments and segments[0] == container:
        rest = segments[1:]
    elif len(segments) > 1 and segments[1] == container and _path_style(host):
        rest = segments[2:]
    else:
        raise Forbidden(f"the blob is not in the tenant's container {container}")
    try:
        return check_blob_path(unquote("/".join(rest)))
    except ValueError as exc:
        raise BadStartRequest(f"blob_uri: {exc}") from None


def _tenant_named(metadata: dict[str, str]) -> str | None:
    for key, value in metadata.items():
        if key.lower() in _TENANT_KEYS:
            return value
    return None


async def notify_and_start(
    starting: Starting, tenant: str, body: UploadNotification, *, actor: str, correlation_id: str
) -> Notified:
    """Start the jobs whose blob patterns match a notified blob (see module doc)."""
    named = _tenant_named(body.metadata)
    if named is not None and named != tenant:
        raise Forbidden(f"the blob's metadata names tenant {named!r}, not {tenant!r}")
    path = (
        body.path if body.path is not None else blob_path_in(body.blob_uri or "", container_of(starting.blobs, tenant))
    )
    if is_app_written(path):
        raise BadStartRequest(f"{path} is under a folder the app writes itself: it starts no run")
    try:
        key = etag_key(body.etag)
    except ConfigError as exc:
        raise BadStartRequest(f"etag: {exc.message}") from None
    if path not in await asyncio.to_thread(starting.blobs.list, tenant, path):
        raise ObjectNotFound(f"no blob {path} in the tenant's container")
    matches = jobs_for_blob(await _live_jobs(starting, tenant), path)
    if not matches:
        raise ObjectNotFound(f"no published job of {tenant}/{starting.environment} is bound to {path}")
    metadata: dict[str, JsonValue] = dict(body.metadata)
    starts, failures = [], []
    for match in matches:
        request = RunRequest(
            tenant=tenant,
            environment=starting.environment,
            job_id=match.job.id,
            job_version=match.job.version,
            inputs=(InputRef(uri=path, etag=body.etag),),
            ingestion_mode=IngestionMode.BLOB_EVENT,
            trigger={
                "type": "notify",
                "path_pattern": match.trigger.path_pattern,
                "metadata": metadata,
                "actor": actor,
            },
            overrides=body.overrides,
            correlation_id=correlation_id,
        )
        instance = instance_id(tenant, match.job.id, key)
        try:
            outcome = await start_run(starting.starter, instance, request)
        except Exception as exc:  # the SDK raises bare Exception; the other jobs still start
            log.exception("notification of %s/%s: %s could not be started", tenant, path, instance)
            failures.append(f"{instance}: {' '.join(str(exc).split())[:200]}")
            continue
        starts.append(
            JobStart(job_id=match.job.id, instance_id=instance, started=outcome.started, reason=outcome.reason)
        )
    return Notified(path=path, starts=starts, failures=failures)
