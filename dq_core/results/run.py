"""The run result, ``dq.run-result/v1``: what every run leaves behind as ``result.json``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, JsonValue

from dq_core.cleansing.engine import CleansingReport
from dq_core.payloads import Payload
from dq_core.profiling.models import ProfileResult
from dq_core.results.scores import QualityScores, score_run
from dq_core.validation.results import Band, ValidationResult

if TYPE_CHECKING:
    from dq_core.bundle.models import ResolvedBundle

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

    @classmethod
    def of(cls, bundle: ResolvedBundle) -> ContractStamp:
        """The contract a run checks against, as its bundle resolved it."""
        return cls(
            id=bundle.contract.id,
            version=bundle.contract.version,
            sha256=bundle.contract.sha256,
            dataset=bundle.dataset.name,
            bundle_sha256=bundle.sha256,
        )


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


FAILED_ROWS_FILE: Final = "failed_rows.parquet"  # beside result.json (dq_core.validation.failed_rows)


class FailedRows(Payload):
    """What a run wrote as ``failed_rows.parquet`` (dq_core.validation.failed_rows): its rows, the
    infra profile's cap, and whether the cap left failing rows out."""

    path: str
    rows: int
    cap: int
    capped: bool


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
    failed_rows: FailedRows | None = None  # every failing row, beside result.json (capped per run)
    scores: QualityScores | None = None  # per dimension and overall, whenever there is a validation (docs/scores.md)

    @classmethod
    def build(
        cls,
        *,
        run_id: str,
        tenant: str,
        environment: str,
        started_at: datetime,
        finished_at: datetime,
        job: JobStamp | None = None,
        contract: ContractStamp | None = None,
        input_: InputStamp | None = None,
        cleansing: CleansingReport | None = None,
        profile: ProfileResult | None = None,
        validation: ValidationResult | None = None,
        error: RunError | None = None,
        failed_rows: FailedRows | None = None,
    ) -> RunResult:
        """A run's result from what its stages left, the one way every run (orchestrated, ``dq
        validate``) makes one: ``error`` when it stopped with one, else ``passed`` when the
        validation passed and ``failed`` otherwise; the profile summarised, the failed anomaly
        and drift rules listed, the quality scores computed. Actions are added when they have run."""
        if error is not None:
            status = RunStatus.ERROR
        else:
            status = RunStatus.PASSED if validation is not None and validation.passed else RunStatus.FAILED
        return cls(
            run_id=run_id,
            tenant=tenant,
            environment=environment,
            job_definition=job,
            contract=contract,
            input=input_,
            status=status,
            started_at=started_at,
            finished_at=finished_at,
            cleansing=cleansing,
            profile=ProfileSummary.of(profile) if profile is not None else None,
            validation=validation,
            anomalies=anomalies_of(validation) if validation is not None else [],
            error=error,
            failed_rows=failed_rows,
            scores=score_run(validation) if validation is not None else None,
        )

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


def scores_of(result: RunResult) -> QualityScores | None:
    """A run's quality scores as its result holds them, or computed from its validation when the result was written
    before runs carried scores (the same numbers); None when the run stopped before validating."""
    if result.scores is not None:
        return result.scores
    return score_run(result.validation) if result.validation is not None else None
