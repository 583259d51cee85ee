"""Instance id rules and start_run, over an in-memory task hub."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from adapters.local.sqlite_contracts import SqliteContractStore
from dq_core.config.index import InMemoryConfigIndex
from dq_core.errors import ConfigError
from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import InputRef, RunRequest
from services.starting import etag_key, instance_id, job_registry, slot_key, start_run

REQUEST = RunRequest(
    tenant="contoso",
    environment="dev",
    job_id="customers_daily",
    inputs=(InputRef(uri="landing/crm/customers.csv", etag='"0x8D"'),),
    ingestion_mode=IngestionMode.BLOB_EVENT,
)


@dataclass
class Status:
    runtime_status: str


class InMemoryStarter:
    """A task hub in a dict: what start_new started, and what get_status then says."""

    def __init__(self, existing: dict[str, str] | None = None, refuse: str | None = None) -> None:
        self.statuses = dict(existing or {})
        self.started: list[tuple[str, str | None, Any]] = []
        self.refuse = refuse  # start_new raises after someone else starts this id

    async def get_status(self, instance_id: str) -> Status | None:
        found = self.statuses.get(instance_id)
        return Status(found) if found else None

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any | None = None
    ) -> str:
        if instance_id is not None and instance_id == self.refuse:
            self.statuses[instance_id] = "Running"
            raise Exception(f"An instance with ID '{instance_id}' already exists.")  # the SDK raises bare Exception
        self.started.append((orchestration_function_name, instance_id, client_input))
        self.statuses[instance_id or "generated"] = "Pending"
        return instance_id or "generated"


def test_instance_ids() -> None:
    assert etag_key('"0x8DE2C3F4A5B6C7D"') == "0x8DE2C3F4A5B6C7D"
    assert etag_key('W/"0x8D"') == "0x8D"
    assert etag_key("a/b\\c#d?e%f g") == "a_b_c_d_e_f_g"  # nothing Durable or a URL would choke on
    assert instance_id("contoso", "customers_daily", etag_key('"0x8D"')) == "contoso:customers_daily:0x8D"
    paris = timezone(timedelta(hours=1))
    assert slot_key(datetime(2026, 11, 25, 7, 0, 42, tzinfo=paris)) == "20261125T0600"  # the UTC minute
    assert slot_key(datetime(2026, 11, 25, 6, 0)) == "20261125T0600"


@pytest.mark.parametrize(
    ("tenant", "job", "key"),
    [("Contoso", "j", "k"), ("contoso", "a/b", "k"), ("contoso", "j", '""'), ("contoso", "j", " "), ("", "j", "k")],
)
def test_instance_ids_refuse_what_cannot_name_a_run(tenant: str, job: str, key: str) -> None:
    with pytest.raises(ConfigError):
        instance_id(tenant, job, etag_key(key) if key.startswith('"') else key)


def test_instance_ids_have_a_length_limit() -> None:
    with pytest.raises(ConfigError, match="longer than 256"):
        instance_id("contoso", "j", "x" * 300)


def test_a_new_instance_is_started_with_the_request() -> None:
    hub = InMemoryStarter()
    outcome = asyncio.run(start_run(hub, "contoso:customers_daily:0x8D", REQUEST))
    assert (outcome.started, outcome.reason) == (True, "started")
    assert hub.started == [("run_job", "contoso:customers_daily:0x8D", REQUEST.model_dump(mode="json"))]


@pytest.mark.parametrize("status", ["Pending", "Running", "Completed", "Suspended", "ContinuedAsNew"])
def test_an_existing_instance_is_not_started_again(status: str) -> None:
    hub = InMemoryStarter({"contoso:customers_daily:0x8D": status})
    outcome = asyncio.run(start_run(hub, "contoso:customers_daily:0x8D", REQUEST))
    assert (outcome.started, outcome.reason) == (False, f"already started ({status})")
    assert hub.started == []


@pytest.mark.parametrize("status", ["Failed", "Terminated", "Canceled"])
def test_a_failed_or_terminated_instance_is_started_again(status: str) -> None:
    hub = InMemoryStarter({"contoso:customers_daily:0x8D": status})
    outcome = asyncio.run(start_run(hub, "contoso:customers_daily:0x8D", REQUEST))
    assert (outcome.started, outcome.reason) == (True, f"restarted after {status}")
    assert len(hub.started) == 1


def test_losing_a_race_to_start_is_already_started() -> None:
    hub = InMemoryStarter(refuse="contoso:customers_daily:0x8D")
    outcome = asyncio.run(start_run(hub, "contoso:customers_daily:0x8D", REQUEST))
    assert (outcome.started, outcome.reason) == (False, "already started (Running)")


def test_a_start_that_fails_for_another_reason_raises() -> None:
    class Broken(InMemoryStarter):
        async def start_new(self, *args: Any, **kwargs: Any) -> str:
            raise Exception("the task hub is unavailable")  # the SDK raises bare Exception

    with pytest.raises(Exception, match="the task hub is unavailable"):
        asyncio.run(start_run(Broken(), "contoso:customers_daily:0x8D", REQUEST))


def test_the_registry_must_list_jobs_and_tenants() -> None:
    with pytest.raises(ConfigError, match="InMemoryConfigIndex cannot list job definitions and tenants"):
        job_registry(InMemoryConfigIndex())
    store = SqliteContractStore(":memory:")
    assert job_registry(store) is store
