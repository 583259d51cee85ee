"""The LineageStore port: SQLite (embedded) and Azure Table Storage behave alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dq_core.errors import ObjectNotFound
from dq_core.lineage.models import AuditEvent, IngestionMode, MetricPoint, RunRecord, StepRecord

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def run(tenant: str, run_id: str, hours: int, status: str = "passed") -> RunRecord:
    return RunRecord(
        tenant=tenant,
        run_id=run_id,
        environment="dev",
        status=status,
        started_at=T0 + timedelta(hours=hours),
        ingestion_mode=IngestionMode.UPLOAD,
        input_uri=f"blob://landing/{run_id}.csv",
        contract_id="customers",
        contract_version="1.0.0",
        contract_sha256="c" * 64,
        bundle_sha256="b" * 64,
    )


def test_runs_by_id_and_time_range(lineage_store: Any) -> None:
    for hours in range(5):
        lineage_store.put_run(run("a", f"r{hours}", hours))
    lineage_store.put_run(run("a", "r2", 2, status="failed"))  # a retry overwrites
    assert lineage_store.get_run("a", "r2").status == "failed"
    found = lineage_store.list_runs("a", T0 + timedelta(hours=1), T0 + timedelta(hours=4))
    assert [r.run_id for r in found] == ["r3", "r2", "r1"]  # newest first, end exclusive
    assert len(lineage_store.list_runs("a", T0, T0 + timedelta(days=1), limit=2)) == 2


def test_steps_audit_and_metric_history(lineage_store: Any) -> None:
    for i, name in enumerate(("ingest", "cleanse", "validate")):
        lineage_store.put_step(
            StepRecord(
                tenant="a",
                run_id="r1",
                step=name,
                status="done",
                started_at=T0 + timedelta(minutes=i),
                metrics={"rows": 10 + i},
            )
        )
    assert [s.step for s in lineage_store.steps("a", "r1")] == ["ingest", "cleanse", "validate"]
    for days in (0, 35):
        lineage_store.put_audit(
            AuditEvent(
                tenant="a",
                at=T0 + timedelta(days=days),
                event_id=f"e{days}",
                actor="ann",
                action="publish",
                object="contract customers@1.0.0",
                environment="dev",
            )
        )
    assert [e.event_id for e in lineage_store.audit("a", T0, T0 + timedelta(days=60))] == ["e0", "e35"]
    assert [e.event_id for e in lineage_store.audit("a", T0 + timedelta(days=1), T0 + timedelta(days=60))] == ["e35"]
    key = "customers/customers/null_percent:email"
    for i in range(6):
        lineage_store.append_metric(
            MetricPoint(tenant="a", key=key, at=T0 + timedelta(days=i), value=float(i), run_id=f"r{i}")
        )
    assert [p.value for p in lineage_store.metric_history("a", key, limit=3)] == [3.0, 4.0, 5.0]


def test_metric_points_keep_whether_they_were_anomalies(lineage_store: Any) -> None:
    key = "customers/customers/row_count"
    lineage_store.append_metric(MetricPoint(tenant="a", key=key, at=T0, value=100.0, run_id="r1"))
    outage = MetricPoint(tenant="a", key=key, at=T0 + timedelta(days=1), value=10.0, run_id="r2", anomalous=True)
    lineage_store.append_metric(outage)
    assert [(p.value, p.anomalous) for p in lineage_store.metric_history("a", key)] == [(100.0, False), (10.0, True)]


def test_tenants_never_see_each_other(lineage_store: Any) -> None:
    lineage_store.put_run(run("a", "r1", 0))
    lineage_store.put_step(StepRecord(tenant="a", run_id="r1", step="ingest", status="done", started_at=T0))
    lineage_store.append_metric(MetricPoint(tenant="a", key="row_count", at=T0, value=1.0, run_id="r1"))
    with pytest.raises(ObjectNotFound):
        lineage_store.get_run("b", "r1")
    assert lineage_store.list_runs("b", T0 - timedelta(days=1), T0 + timedelta(days=1)) == []
    assert lineage_store.steps("b", "r1") == []
    assert lineage_store.metric_history("b", "row_count") == []
