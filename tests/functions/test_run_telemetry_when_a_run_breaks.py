"""A run that ends without a finished ``finalise_run`` still emits its ``dq.run`` span and metrics.

The run is driven through the local host's replay driver (the real ``run_job`` orchestrator,
the real activities through ``activities.blueprint.execute``), over the embedded stores, one
of which breaks at the end of the run: the lineage store refuses to close the run (finalise
raises, every attempt; or answers a terminal error), the blob store cannot read result.json
back either, or cannot write it at all (build_result fails). The telemetry goes to the
OpenTelemetry SDK's in-memory exporter and metric reader (``monitoring.telemetry.use_providers``).
Before the fix, each of these runs emitted no ``dq.run`` and no run metric: the workbook never
counted them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from app.runtime import use_ports
from app.settings import get_settings
from dq_core.config.canonical import canonical_json
from dq_core.errors import ConfigError, TransientError
from dq_core.libraries.infra import StorageTier
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.results.run import RunResult
from dq_core.runs.payloads import InputRef, OrchestratorName, RunOverrides, RunRequest
from dq_core.runs.stages import RunPorts
from local_host.durable import ReplayDriver
from local_host.runs import run_activity
from monitoring import telemetry
from orchestrators.blueprint import ORCHESTRATORS
from services import workspace as service
from tests.conftest import LIBRARIES

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


class Salted:
    def get(self, tenant: str, reference: str) -> str:
        return "a-test-salt-for-hashing-0123456789"


class ClosingRefused(SqliteLineageStore):
    """The real SQLite lineage store, which cannot read a run's record back: what finalise_run
    does to stamp result.json's hash on it (and nothing else in a run)."""

    def __init__(self, path: str, error: Exception) -> None:
        super().__init__(path)
        self.error = error
        self.refused = 0

    def get_run(self, tenant: str, run_id: str) -> RunRecord:
        self.refused += 1
        raise self.error


class ResultUnreachable(LocalBlobStore):
    """The real folder blob store, which cannot write (``write``) or, once written, read
    (``read``) any run's result.json."""

    def __init__(self, root: Path, what: str) -> None:
        super().__init__(root)
        self.what = what

    def put(
        self,
        tenant: str,
        path: str,
        data: bytes,
        *,
        overwrite: bool = False,
        if_match: str | None = None,
        tier: StorageTier | None = None,
    ) -> str:
        if self.what == "write" and path.endswith("/result.json"):
            raise TransientError("the blob store is unavailable")
        return super().put(tenant, path, data, overwrite=overwrite, if_match=if_match, tier=tier)

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        if self.what == "read" and path.endswith("/result.json"):
            raise TransientError("the blob store is unavailable")
        return super().get(tenant, path)


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
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Activities retry a transient error at once (DQ_ACTIVITY_RETRY_*), so the tests do not wait."""
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_FIRST_SECONDS", "0")
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_MAX_SECONDS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    sdk = Telemetry()
    telemetry.use_providers(sdk.tracer_provider, sdk.meter_provider)
    yield sdk
    telemetry.use_providers()
    sdk.tracer_provider.shutdown()
    sdk.meter_provider.shutdown()


def _ports(
    tmp_path: Path, *, lineage: SqliteLineageStore | None = None, blobs: LocalBlobStore | None = None
) -> RunPorts:
    store = blobs or LocalBlobStore(tmp_path / "blobs")
    workspace = service.workspace_from_directory(LIBRARIES)
    bundle = service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")
    store.put("contoso", "bundles/demo.json", canonical_json(bundle))
    return RunPorts(
        contracts=workspace.index,
        lineage=lineage or SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=store,
        secrets=Salted(),
        allow_local_files=True,
    )


def _run(ports: RunPorts) -> dict[str, Any]:
    """One run of the demo job on the sample (which fails its rules); the orchestration's output."""
    request = RunRequest(
        tenant="contoso",
        environment="dev",
        job_id="customers_daily",
        bundle_path="bundles/demo.json",
        inputs=(InputRef(uri=SAMPLE.resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=100, now=NOW),
    )
    use_ports(ports)
    try:
        driver = ReplayDriver(ORCHESTRATORS, run_activity, workers=3, sleep=lambda seconds: None)
        outcome = driver.run(OrchestratorName.RUN_JOB.value, request.model_dump(mode="json"), "contoso:test:broken")
    finally:
        use_ports(None)
    assert not outcome.failed, outcome.error
    output: dict[str, Any] = outcome.output
    (run,) = output["runs"]
    assert run["error"] is not None  # the run says it broke
    return dict(run)


def _one_run_span(otel: Telemetry, run_id: str) -> dict[str, Any]:
    (span,) = otel.named("dq.run")
    attributes = dict(span.attributes or {})
    assert attributes["run_id"] == run_id and attributes["tenant"] == "contoso"
    assert span.status.status_code is StatusCode.ERROR
    return attributes


def _one_run_of_metrics(otel: Telemetry, status: str, rows: int) -> None:
    dims = {"tenant": "contoso", "environment": "dev", "status": status}
    (duration,) = otel.points("dq.run.duration")
    assert dict(duration.attributes) == dims and duration.count == 1
    (processed,) = otel.points("dq.rows.processed")
    assert dict(processed.attributes) == dims and processed.value == rows


@pytest.mark.parametrize(
    "error",
    [
        TransientError("the lineage store is unavailable"),
        ConfigError("the run's lineage record is unusable"),
        RuntimeError("a bug in the lineage adapter"),  # leaves the activity as an exception
    ],
    ids=["transient", "terminal", "raises"],
)
def test_a_run_whose_finalise_fails_still_emits_its_run_span_and_metrics(
    otel: Telemetry, tmp_path: Path, error: Exception
) -> None:
    lineage = ClosingRefused(str(tmp_path / "lineage.db"), error)
    ports = _ports(tmp_path, lineage=lineage)
    run = _run(ports)
    assert lineage.refused >= 1  # finalise_run ran, and failed (each attempt)
    result = RunResult.model_validate_json(ports.blobs.get("contoso", run["result_path"])[0])
    attributes = _one_run_span(otel, result.run_id)  # once, whatever the attempts
    assert attributes["status"] == result.status.value == "failed"  # the verdict stands
    assert str(attributes["error"]).startswith("finalise_run failed: ")
    assert str(error) in str(attributes["error"])
    assert attributes["rows"] == 20 and attributes["rules_failed"] == result.validation.summary.failed  # type: ignore[union-attr]
    _one_run_of_metrics(otel, "failed", 20)


def test_a_run_whose_result_cannot_be_read_back_emits_an_error_run_span(otel: Telemetry, tmp_path: Path) -> None:
    ports = _ports(tmp_path, blobs=ResultUnreachable(tmp_path / "blobs", "read"))
    run = _run(ports)
    attributes = _one_run_span(otel, run["run_id"])
    assert attributes["status"] == "error"
    assert str(attributes["error"]).startswith("finalise_run failed: ")
    assert "the blob store is unavailable" in str(attributes["error"])
    _one_run_of_metrics(otel, "error", 0)


def test_a_run_that_cannot_build_its_result_emits_an_error_run_span(otel: Telemetry, tmp_path: Path) -> None:
    ports = _ports(tmp_path, blobs=ResultUnreachable(tmp_path / "blobs", "write"))
    run = _run(ports)
    assert run["status"] == "error" and run.get("result_path") is None
    attributes = _one_run_span(otel, run["run_id"])
    assert attributes["status"] == "error" and attributes["rows"] == 20
    assert attributes["contract_id"] == "customers"
    assert str(attributes["error"]).startswith("build_result failed: ")
    assert "the blob store is unavailable" in str(attributes["error"])
    (started,) = {s.start_time for s in otel.named("dq.run")}
    assert started is not None and started < min(s.start_time or 0 for s in otel.named("dq.stage"))  # the run's start
    _one_run_of_metrics(otel, "error", 20)
