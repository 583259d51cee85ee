"""End to end on Azurite: a CSV lands in a tenant's container, its BlobCreated event reaches the
Event Grid trigger, the run goes through the local Durable extension to a result in the container
and lineage in Table Storage; the same event again starts nothing.

Real pieces: the registered Functions app, ``azure.functions.EventGridEvent``, the Durable SDK's
``DurableOrchestrationClient`` over HTTP, the orchestrators and activities replayed by the SDK's
executor, Azure Blob and Table Storage (Azurite), the SQLite registry with the demo libraries
published. What stands in for Azure: the local extension instead of the Functions host, and the
event built here from the upload instead of delivered by Event Grid.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.utils import http_utils
from azure.storage.blob import BlobServiceClient

from adapters.azure.blob_store import AzureBlobStore
from adapters.azure.table_lineage import TableLineageStore
from adapters.local.env_secrets import EnvSecretStore, variable_for
from app.runtime import use_ports
from app.settings import get_settings
from dq_core.results.run import RunResult
from dq_core.runs.payloads import Stage
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.conftest import LIBRARIES
from tests.registry_support import demo_registry

pytestmark = pytest.mark.integration

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
LANDED = "landing/crm/customers_2026.csv"


def azurite() -> str:
    value = os.environ.get("DQ_TEST_AZURITE_CONNECTION")
    if not value:
        pytest.fail("DQ_TEST_AZURITE_CONNECTION is not set: run the suite with scripts/test.sh (it starts Azurite)")
    return value


@pytest.fixture
def on_blob_created(functions: dict[str, Any]) -> Any:
    """The registered Event Grid function's user code, which takes a real Durable client."""
    return functions["on_blob_created"].get_user_function().client_function


@pytest.fixture
def ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunPorts]:
    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    monkeypatch.setenv(variable_for("contoso", "secret://dq-mask-salt"), "an-e2e-salt-" + uuid.uuid4().hex)
    get_settings.cache_clear()
    connection = azurite()
    wired = RunPorts(
        contracts=demo_registry(tmp_path / "registry.db"),
        lineage=TableLineageStore.from_connection_string(connection, prefix="e2e" + uuid.uuid4().hex[:10]),
        blobs=AzureBlobStore.from_connection_string(connection),  # containers dq-{tenant}, as in Azure
        secrets=EnvSecretStore(),
    )
    use_ports(wired)
    yield wired
    use_ports(None)
    get_settings.cache_clear()


def event_for(connection: str, path: str) -> func.EventGridEvent:
    """Upload the sample to dq-contoso/{path} and describe it as Event Grid would."""
    service = BlobServiceClient.from_connection_string(connection)
    container = service.get_container_client("dq-contoso")
    if not container.exists():
        container.create_container()
    blob = container.get_blob_client(path)
    uploaded = blob.upload_blob(SAMPLE.read_bytes(), overwrite=True)
    return func.EventGridEvent(
        id=str(uuid.uuid4()),
        data={
            "api": "PutBlob",
            "eTag": uploaded["etag"],
            "contentType": "text/csv",
            "contentLength": SAMPLE.stat().st_size,
            "blobType": "BlockBlob",
            "url": blob.url,
        },
        topic="/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
        subject=f"/blobServices/default/containers/dq-contoso/blobs/{path}",
        event_type="Microsoft.Storage.BlobCreated",
        event_time=datetime.now(UTC),
        data_version="",
    )


async def deliver_and_wait(handler: Any, client: Any, event: func.EventGridEvent, instance: str) -> Any:
    try:
        await handler(event, client)
        for _ in range(600):  # 120 s
            status = await client.get_status(instance)
            if status and status.runtime_status not in (
                OrchestrationRuntimeStatus.Pending,
                OrchestrationRuntimeStatus.Running,
            ):
                return status
            await asyncio.sleep(0.2)
        pytest.fail(f"{instance} did not finish in 120 s")
    finally:
        await http_utils._close_session()


async def deliver_again(handler: Any, client: Any, event: func.EventGridEvent) -> None:
    try:
        await handler(event, client)
    finally:
        await http_utils._close_session()


def test_a_landed_csv_runs_to_a_result_and_lineage_once(
    on_blob_created: Any, ports: RunPorts, caplog: pytest.LogCaptureFixture
) -> None:
    event = event_for(azurite(), LANDED)
    etag = event.get_json()["eTag"]
    instance = "contoso:customers_daily:" + etag.strip('"')
    with LocalDurableExtension() as extension:  # run_job and every activity, on the ports above
        client = df.DurableOrchestrationClient(extension.client_binding())
        status = asyncio.run(deliver_and_wait(on_blob_created, client, event, instance))
        assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status.output
        assert status.custom_status["stage"] == Stage.FINALISE.value

        # the run, its steps and its result, in Azure Table and Blob Storage
        (summary,) = status.output["runs"]
        run = ports.lineage.get_run("contoso", summary["run_id"])
        assert run.status == summary["status"] == "failed"  # the sample has planted defects
        steps = {step.step: step for step in ports.lineage.steps("contoso", summary["run_id"])}
        for stage in (Stage.RESOLVE, Stage.INGEST, Stage.CLEANSE, Stage.PROFILE, Stage.ANOMALY_CHECK):
            assert steps[stage.value].status == "succeeded", stage
        assert steps[Stage.VALIDATE.value].status == "failed"  # error-severity rules failed
        assert steps[Stage.FINALISE.value].status == "failed"  # the run's verdict
        assert all(step.correlation_id == event.id for step in steps.values())
        assert summary["result_path"] == f"runs/{summary['run_id']}/result.json"
        names = ports.blobs.list("contoso", f"runs/{summary['run_id']}/")
        assert summary["result_path"] in names
        result = RunResult.model_validate_json(ports.blobs.get("contoso", summary["result_path"])[0])
        assert (result.input.uri, result.input.etag) == (LANDED, etag)
        assert result.job_definition is not None and result.job_definition.id == "customers_daily"
        assert result.validation.summary.failed > 0
        assert ports.blobs.get("contoso", LANDED)[0] == SAMPLE.read_bytes()  # the raw file is never modified

        # Event Grid delivers at least once: the same event again starts nothing
        with caplog.at_level(logging.INFO, logger="dq"):
            asyncio.run(deliver_again(on_blob_created, client, event))
        assert extension.instance_ids() == [instance]
        assert f"{instance}: already started (Completed)" in caplog.text
        runs = ports.lineage.list_runs("contoso", datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
        assert [r.run_id for r in runs] == [summary["run_id"]]
