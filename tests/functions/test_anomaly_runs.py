"""Anomaly bands over a stored history: ``run_job`` driven by the replay driver with the real
activities, the metric history in the embedded SQLite lineage store, as runs build it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.local.folder_blobs import LocalBlobStore
from app.runtime import use_ports
from dq_core.bundle.models import ResolvedBundle
from dq_core.lineage.models import IngestionMode, MetricPoint
from dq_core.results.run import RunResult
from dq_core.runs.payloads import InputRef, OrchestratorName, RunOverrides, RunRequest
from dq_core.runs.stages import RunPorts, metric_key
from dq_core.validation.results import RuleResult, RuleStatus
from local_host.durable import ReplayDriver
from local_host.runs import run_activity
from orchestrators.blueprint import ORCHESTRATORS
from services import workspace as service
from tests.conftest import LIBRARIES
from tests.functions.test_run_job import customers, wire

WEDNESDAY = datetime(2026, 11, 25, 12, tzinfo=UTC)
STEADY = 261.0  # rows of every earlier run; 20 blocks of the sample leave 260 after cleansing


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    """The demo job's bundle with a row-count anomaly rule (warning) and no actions."""
    workspace = service.workspace_from_directory(LIBRARIES)
    base = service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")
    data = base.model_dump(mode="json", by_alias=True, exclude={"sha256"})
    data["actions"] = []
    data["rules"].append(
        {"id": "volume", "origin": "contract", "rule": {"type": "anomaly", "severity": "warning", "params": {}}}
    )
    return ResolvedBundle.model_validate(data)


@pytest.fixture
def ports(tmp_path: Path, bundle: ResolvedBundle) -> Iterator[RunPorts]:
    wired = wire(tmp_path, bundle, LocalBlobStore(tmp_path / "blobs"))
    key = metric_key(bundle, "row_count")
    for day in range(20, 0, -1):  # twenty identical daily row counts (σ = 0) before the first run
        at = WEDNESDAY - timedelta(days=day)
        wired.lineage.append_metric(MetricPoint(tenant="contoso", key=key, at=at, value=STEADY, run_id=f"old-{day}"))
    yield wired
    use_ports(None)


def run(ports: RunPorts, path: Path, now: datetime) -> tuple[RunResult, RuleResult]:
    """One orchestrated run of ``path`` at ``now``: its result and the anomaly rule's result."""
    request = RunRequest(
        tenant="contoso",
        environment="dev",
        bundle_path="bundles/demo.json",
        inputs=(InputRef(uri=path.resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=100, now=now),
    )
    driver = ReplayDriver(ORCHESTRATORS, run_activity, workers=2, clock=lambda: now, sleep=lambda _seconds: None)
    outcome: Any = driver.run(
        OrchestratorName.RUN_JOB.value, request.model_dump(mode="json"), f"contoso:anomaly:{now.isoformat()}"
    )
    assert not outcome.failed, outcome.error
    summary = outcome.output["runs"][0]
    result = RunResult.model_validate_json(ports.blobs.get("contoso", summary["result_path"])[0])
    assert result.validation is not None
    return result, result.validation.by_id()["volume"]


def test_one_row_fewer_is_normal_a_30_percent_drop_is_an_anomaly_and_stays_out_of_the_history(
    ports: RunPorts, bundle: ResolvedBundle, tmp_path: Path
) -> None:
    full, short = customers(tmp_path, 20), customers(tmp_path, 14)  # 260 and 182 rows after cleansing
    key = metric_key(bundle, "row_count")

    first, volume = run(ports, full, WEDNESDAY)
    assert (volume.status, volume.observed_value) == (RuleStatus.PASSED, 260.0)  # one row fewer than ever
    assert volume.band is not None and volume.band.center == STEADY and volume.band.spread == 0.0
    assert volume.band.lower == pytest.approx(STEADY * 0.95) and volume.band.upper == pytest.approx(STEADY * 1.05)
    assert first.anomalies == []

    second, volume = run(ports, short, WEDNESDAY + timedelta(days=1))
    assert (volume.status, volume.observed_value) == (RuleStatus.FAILED, 182.0)  # 30% fewer
    assert [a.rule_id for a in second.anomalies] == ["volume"]
    points = ports.lineage.metric_history("contoso", key)
    assert [(p.value, p.anomalous) for p in points[-2:]] == [(260.0, False), (182.0, True)]

    _, volume = run(ports, full, WEDNESDAY + timedelta(days=2))
    assert volume.status is RuleStatus.PASSED
    assert volume.band is not None and volume.band.excluded == 1 and volume.band.points == 20
    assert "1 anomalous run left out" in volume.band.method
