"""Monitoring of a real run: spans, metrics and structured log lines (docs/monitoring.md).

The run is driven by the local host (``local_host.runs``: the ``run_job`` orchestrator
replayed by the Durable SDK's executor, the real activities over embedded stores). The
telemetry goes to the real OpenTelemetry SDK: a TracerProvider with an in-memory span
exporter and a MeterProvider with an in-memory metric reader, installed for each test
with ``monitoring.telemetry.use_providers`` (the global providers are left alone: they can be
set only once per process).
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from activities.blueprint import execute
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from app.runtime import use_ports
from app.settings import LogFormat, get_settings
from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.errors import TransientError
from dq_core.lineage.models import IngestionMode
from dq_core.results.run import RunResult
from dq_core.results.scores import ScoredDimension, score_run
from dq_core.runs.payloads import ActivityName, InputRef, RunOverrides, RunRef, RunRequest
from dq_core.runs.stages import RunPorts
from local_host.runs import run_locally
from monitoring import telemetry
from monitoring.logging_context import LOGGER, configure_logging
from services import workspace as service
from tests.conftest import LIBRARIES

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TASK_SCHEDULED = 4  # HistoryEventType.TASK_SCHEDULED: one per activity call


class Salted:
    def get(self, tenant: str, reference: str) -> str:
        return "a-test-salt-for-hashing-0123456789"


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if span.name == name]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    sdk = Telemetry()
    telemetry.use_providers(sdk.tracer_provider, sdk.meter_provider)
    yield sdk
    telemetry.use_providers()
    sdk.tracer_provider.shutdown()
    sdk.meter_provider.shutdown()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``dq`` loggers' records as JSON lines in a buffer (the logger restored after)."""
    logger = logging.getLogger(LOGGER)
    handlers, level = list(logger.handlers), logger.level
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, level=logging.INFO, stream=stream)
    yield stream
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")


@pytest.fixture
def ports(tmp_path: Path, bundle: ResolvedBundle) -> RunPorts:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put("contoso", "bundles/demo.json", canonical_json(bundle))
    return RunPorts(
        contracts=service.workspace_from_directory(LIBRARIES).index,
        lineage=SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=blobs,
        secrets=Salted(),
        allow_local_files=True,
    )


def request(path: Path) -> RunRequest:
    return RunRequest(
        tenant="contoso",
        environment="dev",
        job_id="customers_daily",
        bundle_path="bundles/demo.json",
        inputs=(InputRef(uri=path.resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=100, now=NOW),  # the floor of chunk_rows
        correlation_id="corr-42",
    )


def run(ports: RunPorts, path: Path) -> tuple[RunResult, Counter[str]]:
    """One run through the local host: its result.json and how often each activity was called."""
    summary, outcome = run_locally(request(path), ports, workers=3)
    assert summary is not None, outcome.error
    (only,) = summary.runs
    assert only.result_path is not None
    result = RunResult.model_validate_json(ports.blobs.get("contoso", only.result_path)[0])
    calls = Counter(e["Name"] for e in outcome.history if e["EventType"] == TASK_SCHEDULED)
    return result, calls


def test_a_run_emits_one_stage_span_per_activity_call_and_one_run_span(
    otel: Telemetry, json_log: io.StringIO, ports: RunPorts
) -> None:
    result, calls = run(ports, SAMPLE)
    assert result.status.value == "failed"  # the sample has planted defects

    stages = otel.named("dq.stage")
    assert Counter(str(span.attributes["activity"]) for span in stages if span.attributes) == calls
    assert calls["profile_chunk"] == calls["validate_chunk"] == 1  # 13 cleansed rows in chunks of 100
    trace_ids = {span.context.trace_id for span in otel.spans.get_finished_spans() if span.context}
    assert len(trace_ids) == 1  # the whole run is one trace (one operation in Application Insights)
    for span in stages:
        attributes = dict(span.attributes or {})
        assert attributes["tenant"] == "contoso" and attributes["environment"] == "dev"
        assert attributes["run_id"] == result.run_id and attributes["job_id"] == "customers_daily"
        assert attributes["correlation_id"] == "corr-42"
        assert attributes["stage"] == telemetry.STAGE_OF[ActivityName(str(attributes["activity"]))].value
        assert attributes["status"] == "succeeded" and span.status.status_code is not StatusCode.ERROR
    assert {str(s.attributes["stage"]) for s in stages if s.attributes} >= {"ingest", "cleanse", "profile", "validate"}

    (run_span,) = otel.named("dq.run")
    attributes = dict(run_span.attributes or {})
    assert attributes["status"] == "failed" and attributes["tenant"] == "contoso"
    assert attributes["run_id"] == result.run_id and "stage" not in attributes
    duration_ms = round((result.finished_at - result.started_at).total_seconds() * 1000)
    assert attributes["duration_ms"] == duration_ms
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert run_span.start_time == (result.started_at - epoch) // timedelta(microseconds=1) * 1000
    assert run_span.end_time == (result.finished_at - epoch) // timedelta(microseconds=1) * 1000
    assert run_span.status.status_code is not StatusCode.ERROR  # a failed verdict is not an outage

    actions = otel.named("dq.action")
    assert result.actions and len(actions) == len(result.actions) == calls["run_action"]
    emitted = {(a.attributes or {})["action_id"]: dict(a.attributes or {}) for a in actions}
    for outcome in result.actions:
        span = emitted[outcome.action_id]
        assert (span["type"], span["status"], span["attempts"]) == (outcome.type, outcome.status, outcome.attempts)
        assert span["tenant"] == "contoso" and span["run_id"] == result.run_id

    assert result.input is not None and result.input.rows == 20
    assert result.validation is not None and result.validation.summary.failed > 0
    dims = {"tenant": "contoso", "environment": "dev", "status": "failed"}
    (rows,) = otel.points("dq.rows.processed")
    assert dict(rows.attributes) == dims and rows.value == result.input.rows
    (rules,) = otel.points("dq.rules.failed")
    assert dict(rules.attributes) == dims and rules.value == result.validation.summary.failed
    (failed_actions,) = otel.points("dq.actions.failed")
    assert isinstance(failed_actions, NumberDataPoint)
    assert failed_actions.value == sum(a.status == "failed" for a in result.actions)
    (duration,) = otel.points("dq.run.duration")
    assert isinstance(duration, HistogramDataPoint) and duration.count == 1
    assert duration.sum == pytest.approx((result.finished_at - result.started_at).total_seconds())

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    done = [line for line in lines if line["logger"] == "dq.activities"]
    assert len(done) == sum(calls.values())  # one line per activity call, with its context
    for line in done:
        assert line["tenant"] == "contoso" and line["run_id"] == result.run_id and line["environment"] == "dev"
        assert line["job_id"] == "customers_daily" and line["correlation_id"] == "corr-42"
        assert line["stage"] in {stage.value for stage in telemetry.STAGE_OF.values()}
        assert line["level"] == "INFO" and "timestamp" in line
    action_lines = [line for line in done if line["message"].startswith("run_action")]
    assert {line["action_id"] for line in action_lines} == {a.action_id for a in result.actions}


def test_a_terminal_error_marks_its_stage_span_and_the_run_span(
    otel: Telemetry, ports: RunPorts, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result, calls = run(ports, empty)
    assert result.status.value == "error" and result.error is not None
    assert calls["ingest_file"] == 1

    (ingest,) = [s for s in otel.named("dq.stage") if (s.attributes or {}).get("activity") == "ingest_file"]
    assert ingest.status.status_code is StatusCode.ERROR
    assert (ingest.attributes or {})["status"] == "failed"
    assert str((ingest.attributes or {})["error"]).startswith("empty_file: ")
    (run_span,) = otel.named("dq.run")
    assert (run_span.attributes or {})["status"] == "error"
    assert str((run_span.attributes or {})["error"]).startswith("empty_file: ")
    assert run_span.status.status_code is StatusCode.ERROR
    (status,) = {dict(p.attributes)["status"] for p in otel.points("dq.rows.processed")}
    assert status == "error"
    (rules,) = otel.points("dq.rules.failed")
    assert rules.value == 0  # nothing was validated


class FlakyBlobs:
    """The real local blob store, whose reads raise ``error``: a transient one (the store briefly
    unavailable), or a bug."""

    def __init__(self, inner: LocalBlobStore, error: Exception) -> None:
        self.inner = inner
        self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, tenant: str, path: str) -> Any:
        raise self.error


ACTION_PAYLOAD = {
    "run": RunRef(tenant="contoso", environment="dev", run_id="r-1", job_id="customers_daily").model_dump(),
    "bundle_path": "bundles/demo.json",
    "action_id": "data_team_webhook",
    "trigger": "on_failure",
    "status": "failed",
}


@pytest.fixture
def failing_reads(ports: RunPorts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Install ports whose blob reads raise the given error; activity retries without waiting."""
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_FIRST_SECONDS", "0")
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_MAX_SECONDS", "0")
    get_settings.cache_clear()

    def install(error: Exception) -> None:
        blobs = FlakyBlobs(LocalBlobStore(tmp_path / "blobs"), error)
        use_ports(RunPorts(ports.contracts, ports.lineage, blobs, ports.secrets, allow_local_files=True))

    yield install
    use_ports(None)
    get_settings.cache_clear()


def test_an_activity_that_raises_ends_its_span_with_the_error_and_raises(otel: Telemetry, failing_reads: Any) -> None:
    failing_reads(RuntimeError("the blob client is broken"))  # a bug: not retried, raised to the host
    with pytest.raises(RuntimeError):
        execute(ActivityName.RUN_ACTION, json.dumps(ACTION_PAYLOAD))
    (span,) = otel.named("dq.stage")
    attributes = dict(span.attributes or {})
    assert attributes["status"] == "failed" and attributes["stage"] == "act"
    assert attributes["action_id"] == "data_team_webhook" and attributes["run_id"] == "r-1"
    assert "the blob client is broken" in str(attributes["error"])
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    assert otel.named("dq.action") == []  # no outcome: nothing to report but the failed attempt


def test_an_activity_whose_retries_run_out_ends_its_span_with_the_reason(otel: Telemetry, failing_reads: Any) -> None:
    failing_reads(TransientError("contoso/bundles/demo.json: the store is briefly unavailable"))
    envelope = execute(ActivityName.RUN_ACTION, json.dumps(ACTION_PAYLOAD))  # retried inside, then answered
    assert envelope["error"]["code"] == "retries_exhausted"
    (span,) = otel.named("dq.stage")  # one span for the activity call, its attempts inside it
    attributes = dict(span.attributes or {})
    assert attributes["status"] == "failed" and attributes["stage"] == "act"
    assert str(attributes["error"]).startswith("retries_exhausted: contoso/bundles/demo.json: the store is briefly")
    assert str(attributes["error"]).endswith("(gave up after 3 attempts)")
    assert span.status.status_code is StatusCode.ERROR and span.events == ()
    assert otel.named("dq.action") == []


def test_every_activity_has_a_stage() -> None:
    assert set(telemetry.STAGE_OF) == set(ActivityName)


# --- quality scores on the dq.run span (docs/scores.md) ---------------------------------------------


def test_the_run_span_carries_the_dataset_and_the_scores_of_result_json(otel: Telemetry, ports: RunPorts) -> None:
    result, _ = run(ports, SAMPLE)
    assert result.validation is not None and result.scores is not None
    assert result.scores == score_run(result.validation)  # what result.json holds is the definition's
    (span,) = otel.named("dq.run")
    attributes = dict(span.attributes or {})
    assert attributes["dataset"] == "customers"
    assert attributes["score_overall"] == result.scores.overall
    assert result.scores.overall is not None and 0 < result.scores.overall < 100  # the sample has planted defects
    scored = {d: s.score for d, s in result.scores.dimensions.items() if s.score is not None}
    assert len(scored) >= 3
    for dimension in ScoredDimension:
        key = f"score_{dimension.value}"
        if dimension.value in scored:
            assert attributes[key] == pytest.approx(scored[dimension.value])
        else:
            assert key not in attributes  # no rule of it scored: left out, not a 0


def test_a_run_that_stopped_before_validating_has_no_scores(otel: Telemetry, ports: RunPorts, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result, _ = run(ports, empty)
    assert result.status.value == "error" and result.scores is None
    (span,) = otel.named("dq.run")
    assert not [key for key in (span.attributes or {}) if key.startswith("score_")]
