"""Lineage records: what every run, step, privileged change and metric leaves behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import Field, JsonValue

from dq_core.payloads import Payload


class IngestionMode(StrEnum):
    HTTP = "http"
    UPLOAD = "upload"
    BLOB_EVENT = "blob_event"
    TIMER = "timer"
    LOCAL = "local"


class RunRecord(Payload):
    tenant: str
    run_id: str
    environment: str
    status: str  # running | passed | failed | error
    started_at: datetime
    finished_at: datetime | None = None
    ingestion_mode: IngestionMode
    input_uri: str
    input_etag: str | None = None
    input_sha256: str | None = None
    trigger: dict[str, JsonValue] = Field(default_factory=dict)
    job_id: str | None = None
    job_version: str | None = None
    contract_id: str
    contract_version: str
    contract_sha256: str
    bundle_sha256: str
    result_sha256: str | None = None  # of result.json as stored: evidence packs are checked against it
    error: str | None = None


class StepRecord(Payload):
    tenant: str
    run_id: str
    step: str  # ingest | cleanse | profile | validate | act | ...
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    metrics: dict[str, JsonValue] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)  # name -> URI
    versions: dict[str, str] = Field(default_factory=dict)  # rule / policy versions used
    correlation_id: str | None = None


class AuditEvent(Payload):
    tenant: str
    at: datetime
    event_id: str
    actor: str
    action: str  # create | approve | publish | promote | deprecate | denied | ...
    object: str  # kind id@version
    environment: str
    before_sha256: str | None = None
    after_sha256: str | None = None
    correlation_id: str | None = None
    detail: str = ""

    @classmethod
    def record(
        cls,
        *,
        tenant: str,
        environment: str,
        actor: str,
        action: str,
        what: str,
        correlation_id: str | None = None,
        before_sha256: str | None = None,
        after_sha256: str | None = None,
        detail: str = "",
    ) -> AuditEvent:
        """The event of ``actor`` doing ``action`` to ``what`` (its ``object``) now, under a new
        event id: the one way every privileged change and refusal is written down (then stored
        with ``LineageStore.put_audit``)."""
        return cls(
            tenant=tenant,
            at=datetime.now(UTC),
            event_id=uuid.uuid4().hex,
            actor=actor,
            action=action,
            object=what,
            environment=environment,
            before_sha256=before_sha256,
            after_sha256=after_sha256,
            correlation_id=correlation_id,
            detail=detail,
        )


class MetricPoint(Payload):
    tenant: str
    key: str  # contract/dataset/metric, e.g. customers/customers/null_percent:email
    at: datetime
    value: float
    run_id: str
    anomalous: bool = False  # outside its anomaly band: left out of the next bands (older points: normal)
