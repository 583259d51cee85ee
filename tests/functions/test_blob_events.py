"""The Event Grid trigger, called with real ``EventGridEvent`` objects and a real Durable client."""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from adapters.azure.blob_store import AzureBlobStore
from dq_core.identifiers import CONTAINER_PREFIX
from dq_core.ports import ContractStore
from local_host.extension import LocalDurableExtension
from services.starting import StartsFailed
from tests.functions.conftest import call, started
from tests.registry_support import job, publish

ETAG = '"0x8DE2C3F4A5B6C7D"'


def blob_created(
    path: str,
    *,
    container: str = "dq-contoso",
    etag: str | None = ETAG,
    event_type: str = "Microsoft.Storage.BlobCreated",
    event_id: str = "6a1e1bd1-101e-0017-4a4a-8b7d7b06d0f1",
) -> func.EventGridEvent:
    data: dict[str, object] = {
        "api": "PutBlob",
        "contentType": "text/csv",
        "contentLength": 1024,
        "blobType": "BlockBlob",
        "url": f"https://dqdevstore.blob.core.windows.net/{container}/{path}",
    }
    if etag is not None:
        data["eTag"] = etag
    return func.EventGridEvent(
        id=event_id,
        data=data,
        topic="/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/dqdevstore",
        subject=f"/blobServices/default/containers/{container}/blobs/{path}",
        event_type=event_type,
        event_time=datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
        data_version="",
    )


def deliver(functions: dict[str, Any], client: Any, event: func.EventGridEvent) -> None:
    call(functions["on_blob_created"].get_user_function().client_function(event, client))


def test_a_landed_file_starts_the_job_bound_to_its_path(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    deliver(functions, client, blob_created("landing/crm/customers_2026.csv"))
    instance = "contoso:customers_daily:0x8DE2C3F4A5B6C7D"
    assert extension.instance_ids() == [instance]
    request = started(extension, instance)
    assert request["ingestion_mode"] == "blob_event"
    assert (request["tenant"], request["environment"]) == ("contoso", "dev")
    assert (request["job_id"], request["job_version"]) == ("customers_daily", "1.0.0")
    assert request["inputs"] == [{"uri": "landing/crm/customers_2026.csv", "etag": ETAG}]
    assert request["trigger"]["path_pattern"] == "landing/crm/customers_*.csv"
    assert request["correlation_id"] == "6a1e1bd1-101e-0017-4a4a-8b7d7b06d0f1"


def test_a_duplicate_event_starts_nothing(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, caplog: pytest.LogCaptureFixture
) -> None:
    deliver(functions, client, blob_created("landing/crm/customers_2026.csv"))
    extension.wait("contoso:customers_daily:0x8DE2C3F4A5B6C7D")
    with caplog.at_level(logging.INFO, logger="dq"):
        deliver(functions, client, blob_created("landing/crm/customers_2026.csv", event_id="redelivered"))
    assert extension.instance_ids() == ["contoso:customers_daily:0x8DE2C3F4A5B6C7D"]
    assert "contoso:customers_daily:0x8DE2C3F4A5B6C7D: already started (Completed)" in caplog.text


def test_a_new_version_of_the_same_blob_is_a_new_run(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    deliver(functions, client, blob_created("landing/crm/customers_2026.csv"))
    deliver(functions, client, blob_created("landing/crm/customers_2026.csv", etag='"0x8DE2C3F4A5B6FFF"'))
    assert extension.instance_ids() == [
        "contoso:customers_daily:0x8DE2C3F4A5B6C7D",
        "contoso:customers_daily:0x8DE2C3F4A5B6FFF",
    ]


@pytest.mark.parametrize(
    ("event", "logged"),
    [
        (blob_created("landing/crm/customers_1.csv", container="logs"), "is not a blob of a tenant container"),
        (blob_created("landing/crm/customers_1.csv", container="dq-"), "is not a blob of a tenant container"),
        (blob_created("runs/r1/result.json"), "is written by the app itself"),
        (blob_created("uploads/customers/x-customers_1.csv"), "is written by the app itself"),
        (blob_created("profiles/p.json"), "is written by the app itself"),
        (blob_created("bundles/b.json"), "is written by the app itself"),
        (blob_created("landing/crm/orders_1.csv"), "no published job of contoso/dev is bound to landing/crm/orders_1"),
        (blob_created("landing/crm/sub/customers_1.csv"), "no published job"),  # '*' never crosses '/'
        (blob_created("landing/crm/customers_1.csv", container="dq-fabrikam"), "no published job of fabrikam/dev"),
        (blob_created("landing/crm/customers_1.csv", etag=None), "has no eTag"),
        (
            blob_created("landing/crm/customers_1.csv", event_type="Microsoft.Storage.BlobDeleted"),
            "not a blob creation",
        ),
    ],
)
def test_events_that_start_nothing_say_why(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    caplog: pytest.LogCaptureFixture,
    event: func.EventGridEvent,
    logged: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="dq"):
        deliver(functions, client, event)
    assert extension.instance_ids() == []
    assert logged in caplog.text


def test_every_job_bound_to_the_path_starts(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, registry: ContractStore
) -> None:
    publish(registry, job("crm_archive", {"type": "blob", "path_pattern": "landing/**/*.csv"}))
    deliver(functions, client, blob_created("landing/crm/customers_2026.csv"))
    assert sorted(extension.instance_ids()) == [
        "contoso:crm_archive:0x8DE2C3F4A5B6C7D",
        "contoso:customers_daily:0x8DE2C3F4A5B6C7D",
    ]
    assert started(extension, "contoso:crm_archive:0x8DE2C3F4A5B6C7D")["trigger"]["path_pattern"] == "landing/**/*.csv"


def test_a_failed_start_raises_so_event_grid_delivers_again(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    extension.stop()  # the task hub is unreachable
    with pytest.raises(StartsFailed, match=r"^contoso:customers_daily:0x8DE2C3F4A5B6C7D: Cannot connect to host"):
        deliver(functions, client, blob_created("landing/crm/customers_2026.csv"))


def test_the_container_prefix_is_the_blob_store_s() -> None:
    default = inspect.signature(AzureBlobStore.__init__).parameters["container_prefix"].default
    assert default == CONTAINER_PREFIX
