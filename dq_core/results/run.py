"""The run result, ``dq.run-result/v1``: what every run leaves behind as ``result.json``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import Field, JsonValue

from dq_core.cleansing.engine import CleansingReport
from dq_core.payloads import Payload
from dq_core.profiling.models import ProfileResult
from dq_core.validation.results import Band, ValidationResult

RUN_RESULT_SCHEMA: Final = "dq.run-result/v1"


class RunStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class JobStamp(Payload):
    id: str
    version: str


class ContractStamp(Payload):
    id: str
    version: str
    sha256: str
    dataset: str
    bundle_sha256: str


class InputStamp(Payload):
    uri: str
    etag: str | None = None
    sha256: str
    format: str
    bytes: int
    rows: int | None = None


class ProfileSummary(Payload):
    row_count: int
    columns: dict[str, dict[str, JsonValue]]

    @classmethod
    def of(cls, profile: ProfileResult) -> ProfileSummary:
        keep = ("kind", "null_count", "null_percent", "distinct_count", "min", "max", "mean", "stddev")
        return cls(
            row_count=profile.row_count,
            columns={c.name: {k: getattr(c, k) for k in keep} for c in profile.columns},
        )


class Anomaly(Payload):
    rule_id: str
    metric: str
    observed_value: JsonValue
    band: Band | None


class ActionOutcome(Payload):
    action_id: str
    type: str
    trigger: str
    status: Literal["delivered", "failed", "skipped", "fallback_delivered"]
    attempts: int
    detail: str = ""


class RunError(Payload):
    code: str
    message: str


class RunResult(Payload):
    schema_id: Literal["dq.run-result/v1"] = RUN_RESULT_SCHEMA
    run_id: str
    tenant: str
    environment: str
    job_definition: JobStamp | None = None
    contract: ContractStamp | None = None
    input: InputStamp | None = None
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    cleansing: CleansingReport | None = None
    profile: ProfileSummary | None = None
    validation: ValidationResult | None = None
    anomalies: list[Anomaly] = Field(default_factory=list)
    actions: list[ActionOutcome] = Field(default_factory=list)
    error: RunError | None = None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def anomalies_of(validation: ValidationResult) -> list[Anomaly]:
    """Failed anomaly and drift rules, as the run's anomaly list."""
    found: list[Anomaly] = []
    for rule in validation.rules:
        if rule.type in ("anomaly", "distribution_drift") and rule.status.value == "failed":
            metric = rule.metric or rule.type
            found.append(
                Anomaly(rule_id=rule.rule_id, metric=metric, observed_value=rule.observed_value, band=rule.band)
            )
    return found
