"""What the orchestrator and its activities pass to each other: names and payload models.

Payloads carry blob paths (relative to the tenant's container) and small metric states,
never data frames. Every activity answers with an :class:`Envelope`: a value, or the
terminal error that ends the run with status ``error`` (the Durable SDK flattens exception
types, so terminal errors travel as values; transient ones raise so retries happen).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field, JsonValue, field_validator

from dq_core.contracts.models import check_reference_location
from dq_core.identifiers import ID_RE
from dq_core.ingest.guarded import IngestOptions, IngestReport
from dq_core.libraries.infra import MAX_CHUNK_ROWS, MAX_PARALLELISM, MIN_CHUNK_ROWS
from dq_core.lineage.models import IngestionMode
from dq_core.payloads import Payload
from dq_core.results.run import ActionOutcome, ContractStamp, FailedRows, InputStamp, JobStamp, RunError
from dq_core.runs import RUNS_PREFIX
from dq_core.validation.fanout import UniquePartial

PARTITION_MIN_ROWS: Final = 50_000


def partitions_for(rows: int, chunk_rows: int) -> int:
    """How many key partitions a shuffle of ``rows`` rows uses: about ``chunk_rows`` rows each
    (what one activity holds), but at least 50,000 rows each: a smaller partition costs an
    activity and a file per unit and saves no memory worth having."""
    return max(1, -(-rows // max(chunk_rows, PARTITION_MIN_ROWS)))


class OrchestratorName(StrEnum):
    RUN_JOB = "run_job"  # one run per input file; several files: one run_file each
    RUN_FILE = "run_file"


class ActivityName(StrEnum):
    RESOLVE_RUN = "resolve_run"
    INGEST_FILE = "ingest_file"
    CLEANSE_CHUNK = "cleanse_chunk"  # one unit of one cleansing round
    MERGE_FILLS = "merge_fills"  # an impute step's filling values from every unit's value counts
    MERGE_CLEANSING = "merge_cleansing"  # the cleansing report and rejects from every unit
    PROFILE_CHUNK = "profile_chunk"
    MERGE_PROFILE = "merge_profile"
    VALIDATE_CHUNK = "validate_chunk"
    VALIDATE_PARTITION = "validate_partition"  # uniqueness rules over one key partition
    VALIDATE_DATASET = "validate_dataset"
    CHECK_ANOMALIES = "check_anomalies"
    BUILD_RESULT = "build_result"
    RUN_ACTION = "run_action"
    FINALISE_RUN = "finalise_run"


class Stage(StrEnum):
    """The stages of a run, in order; one lineage step entity each."""

    RESOLVE = "resolve"
    INGEST = "ingest"
    CLEANSE = "cleanse"
    PROFILE = "profile"
    VALIDATE = "validate"
    ANOMALY_CHECK = "anomaly_check"
    RESULT = "result"  # the verdict: result.json
    ACT = "act"
    FINALISE = "finalise"


# --- the request ---------------------------------------------------------------------------


class InputRef(Payload):
    """One input file: a blob path in the tenant's container (``landing/crm/x.csv``), or a
    ``file://`` URI, which only the local host (``dq run``) accepts."""

    uri: str = Field(min_length=1)
    etag: str | None = None


class RunOverrides(Payload):
    """What a caller may change for one run, without touching the contract."""

    chunk_rows: int | None = Field(default=None, ge=MIN_CHUNK_ROWS, le=MAX_CHUNK_ROWS)
    max_parallelism: int | None = Field(default=None, ge=1, le=MAX_PARALLELISM)
    ingest: IngestOptions = IngestOptions()
    now: datetime | None = None  # the validation clock (reproducible runs and replays)
    references: dict[str, str] = Field(
        default_factory=dict,
        description="Reference dataset name -> where its data is for this run: a path or glob in the tenant's "
        "container, or a file: URI (local runs only).",
    )

    @field_validator("references")
    @classmethod
    def _references(cls, value: dict[str, str]) -> dict[str, str]:
        checked: dict[str, str] = {}
        for name, location in value.items():
            if not ID_RE.fullmatch(name.strip().lower()):
                msg = f"{name!r} is not a reference dataset name"
                raise ValueError(msg)
            checked[name.strip().lower()] = check_reference_location(location)
        return checked


class RunRequest(Payload):
    """The orchestrator's input: what to run, on which files, started how."""

    tenant: str = Field(min_length=1)
    environment: str = Field(min_length=1)
    job_id: str | None = None
    job_version: str | None = None  # default: the newest published version
    contract_id: str | None = None  # instead of a job
    contract_version: str | None = None
    dataset: str | None = None
    bundle_path: str | None = None  # a bundle already materialised in the tenant's container
    inputs: tuple[InputRef, ...] = Field(min_length=1)
    ingestion_mode: IngestionMode
    trigger: dict[str, JsonValue] = Field(default_factory=dict)
    overrides: RunOverrides = RunOverrides()
    correlation_id: str | None = None


class RunRef(Payload):
    """Which run an activity works for; the run's folder is ``runs/{run_id}/``."""

    tenant: str
    environment: str
    run_id: str
    correlation_id: str | None = None
    job_id: str | None = None  # for logs and telemetry; the bundle says what runs

    @property
    def folder(self) -> str:
        return f"{RUNS_PREFIX}{self.run_id}/"


class FileRun(Payload):
    """The input of ``run_file``: one request, one input file, one run id."""

    request: RunRequest
    run_id: str
    started_at: datetime


# --- activity inputs and outputs ----------------------------------------------------------


class Envelope(Payload):
    """An activity's answer: ``value`` on success, ``error`` for a terminal problem."""

    value: dict[str, JsonValue] | None = None
    error: RunError | None = None


class ResolveInput(Payload):
    run: RunRef
    request: RunRequest
    started_at: datetime


class ResolveOutput(Payload):
    bundle_path: str
    contract: ContractStamp
    job: JobStamp | None = None
    chunk_rows: int
    max_parallelism: int
    action_ids: dict[str, list[str]] = Field(default_factory=dict)  # trigger -> action ids
    cleanse_barriers: list[str] = Field(default_factory=list)  # what separates the cleansing rounds
    unique_rules: int = 0  # uniqueness rules: their duplicates are found per key partition


class IngestInput(Payload):
    run: RunRef
    bundle_path: str
    input: InputRef
    options: IngestOptions = IngestOptions()
    chunk_rows: int
    started_at: datetime


class IngestOutput(Payload):
    chunks: list[str]
    input: InputStamp
    report: IngestReport


class CleanseChunkInput(Payload):
    """One unit of one cleansing round (dq_core.cleansing.rounds). Round 0 reads ``chunk``; a
    later round reads what the ``sources`` units of the round before left for unit ``unit``.
    ``partitions``: the units of the next round, when a shuffle opens it."""

    run: RunRef
    bundle_path: str
    round: int = Field(ge=0)
    unit: int = Field(ge=0)
    sources: int = Field(ge=1)
    partitions: int = Field(ge=1)
    chunk: str | None = None
    fills_path: str | None = None  # a round opened by an impute step: its filling values


class CleanseChunkOutput(Payload):
    unit: int
    report_path: str
    rows_out: int
    work: str | None = None  # the last round: the unit's cleansed rows, and masked
    cleansed: str | None = None


class MergeFillsInput(Payload):
    run: RunRef
    bundle_path: str
    round: int = Field(ge=1)
    sources: int = Field(ge=1)  # the units of the round before, whose value counts merge


class MergeFillsOutput(Payload):
    fills_path: str


class MergeCleansingInput(Payload):
    run: RunRef
    bundle_path: str
    units: list[int] = Field(min_length=1)  # the units of each round
    started_at: datetime


class CleanseOutput(Payload):
    work_chunks: list[str]  # cleansed, not yet masked: what profiling and validation read
    cleansed_chunks: list[str]  # cleansed and masked: the published output
    rejects: str
    report_path: str
    rows_in: int
    rows_out: int
    rows_rejected: int
    duplicates_removed: int


class ChunkInput(Payload):
    run: RunRef
    bundle_path: str
    chunk: str
    index: int
    now: datetime | None = None
    partitions: int = 0  # validate_chunk: the key partitions of the uniqueness rules


class ProfileChunkOutput(Payload):
    index: int
    state_path: str
    rows: int


class MergeProfileInput(Payload):
    run: RunRef
    states: list[str]
    started_at: datetime


class MergeProfileOutput(Payload):
    profile_path: str
    rows: int
    columns: int


class ValidateChunkOutput(Payload):
    index: int
    state_path: str  # the chunk's RowLocalState, by blob path: never inline in the history
    failing: list[str]  # check ids with unexpected rows in this chunk


class PartitionInput(Payload):
    run: RunRef
    bundle_path: str
    partition: int = Field(ge=0)
    now: datetime | None = None


class UniquePartials(Payload):
    checks: dict[str, UniquePartial]


class PartitionOutput(Payload):
    partition: int
    partial_path: str


class ValidateDatasetInput(Payload):
    run: RunRef
    bundle_path: str
    chunks: list[str]
    states: list[str]  # blob paths of the chunks' states
    unique: list[str] = Field(default_factory=list)  # blob paths of the key partitions' duplicates
    published: list[str] = Field(default_factory=list)  # the cleansed chunks as published: failed rows' values
    profile_path: str | None
    now: datetime
    started_at: datetime


class ValidateDatasetOutput(Payload):
    validation_path: str
    passed: bool
    evaluated: int
    failed: int
    errors: int
    failed_rows: FailedRows | None = None


class AnomalyInput(Payload):
    run: RunRef
    bundle_path: str
    validation_path: str
    rows: int
    now: datetime
    started_at: datetime


class AnomalyOutput(Payload):
    anomalies: int
    metrics_recorded: int


class ActionInput(Payload):
    run: RunRef
    bundle_path: str
    action_id: str
    trigger: str
    status: str  # the run's verdict, which an action never changes
    result_path: str | None = None


class BuildResultInput(Payload):
    run: RunRef
    request: RunRequest
    started_at: datetime
    finished_at: datetime
    resolved: ResolveOutput | None = None
    ingested: IngestOutput | None = None
    cleansed: CleanseOutput | None = None
    profile: MergeProfileOutput | None = None
    validation: ValidateDatasetOutput | None = None
    error: RunError | None = None
    error_stage: Stage | None = None


class BuildResultOutput(Payload):
    status: str
    result_path: str
    anomalies: int


class FinaliseInput(Payload):
    run: RunRef
    result_path: str
    actions: list[ActionOutcome]
    started_at: datetime  # of the act stage
    finished_at: datetime


class FinaliseOutput(Payload):
    status: str
    result_path: str
    result_sha256: str


class RunSummary(Payload):
    """What ``run_job`` returns (and the Durable status shows as output)."""

    run_id: str
    status: str
    result_path: str | None = None
    error: RunError | None = None
    actions: list[ActionOutcome] = Field(default_factory=list)


class JobSummary(Payload):
    runs: list[RunSummary]
