"""The retention timer, called as the host calls it, over the demo registry and embedded stores."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.functions.timer import TimerRequest  # the worker's concrete class (func.TimerRequest is abstract)

from dq_core.errors import DQError
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.ports import ContractStore
from dq_core.runs.stages import RunPorts
from services.retention import RetentionFailed
from tests.registry_support import job, publish
from triggers import retention

TICK = datetime(2026, 11, 25, 3, tzinfo=UTC)


def finished_run(ports: RunPorts, tenant: str, run_id: str, ago: timedelta) -> str:
    ports.lineage.put_run(
        RunRecord(
            tenant=tenant,
            run_id=run_id,
            environment="dev",
            status="passed",
            started_at=TICK - ago - timedelta(minutes=2),
            finished_at=TICK - ago,
            ingestion_mode=IngestionMode.TIMER,
            input_uri="landing/crm/customers_latest.csv",
            contract_id="customers",
            contract_version="1.0.0",
            contract_sha256="c" * 64,
            bundle_sha256="b" * 64,
        )
    )
    for name in ("result.json", "rejects.parquet"):
        ports.blobs.put(tenant, f"runs/{run_id}/{name}", b"{}")
    return f"runs/{run_id}/"


def tick(functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch, timer: TimerRequest | None = None) -> None:
    monkeypatch.setattr(retention, "now", lambda: TICK)
    functions["apply_retention"].get_user_function()(timer or TimerRequest())


def test_the_timer_cleans_up_every_tenant_and_audits_as_the_system(
    functions: dict[str, Any], ports: RunPorts, registry: ContractStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(registry, job("fabrikam_daily", tenant="fabrikam"))  # a second tenant of the environment
    old = finished_run(ports, "contoso", "old", timedelta(days=91))  # no bundle: the default 90 days
    new = finished_run(ports, "contoso", "new", timedelta(days=89))
    theirs = finished_run(ports, "fabrikam", "theirs", timedelta(days=400))
    tick(functions, monkeypatch)
    assert ports.blobs.list("contoso", old) == [] and ports.blobs.list("fabrikam", theirs) == []
    assert len(ports.blobs.list("contoso", new)) == 2
    for tenant, folder in (("contoso", old), ("fabrikam", theirs)):
        events = ports.lineage.audit(tenant, TICK - timedelta(days=1), datetime.now(UTC) + timedelta(hours=1))
        assert [(e.action, e.object, e.actor, e.environment) for e in events] == [
            ("purge", folder, "system:retention", "dev")
        ]


class BrokenFor:
    """The real lineage store, except that one tenant's runs cannot be listed."""

    def __init__(self, inner: Any, tenant: str) -> None:
        self.inner, self.tenant = inner, tenant

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def list_runs(self, tenant: str, *args: Any, **kwargs: Any) -> list[RunRecord]:
        if tenant == self.tenant:
            raise DQError(f"the lineage of {tenant} is unreachable")
        return list(self.inner.list_runs(tenant, *args, **kwargs))


def test_one_tenants_failure_never_stops_the_others_and_fails_the_invocation(
    functions: dict[str, Any],
    ports: RunPorts,
    registry: ContractStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import dataclasses

    from app.runtime import use_ports

    publish(registry, job("fabrikam_daily", tenant="fabrikam"))
    old = finished_run(ports, "fabrikam", "old", timedelta(days=400))
    use_ports(dataclasses.replace(ports, lineage=BrokenFor(ports.lineage, "contoso")))
    with caplog.at_level(logging.ERROR, logger="dq"), pytest.raises(RetentionFailed, match="contoso: the lineage"):
        tick(functions, monkeypatch, TimerRequest(past_due=True))
    assert ports.blobs.list("fabrikam", old) == []
    assert "tenant contoso: retention not applied" in caplog.text
