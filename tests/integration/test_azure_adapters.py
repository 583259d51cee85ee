"""Azure adapters against Azurite: Table lineage, Blob store, and Key Vault reference parsing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from adapters.azure.blob_store import AzureBlobStore
from adapters.azure.keyvault_secrets import KeyVaultSecretStore
from adapters.azure.table_lineage import TableLineageStore
from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.lineage.models import AuditEvent, IngestionMode, MetricPoint, RunRecord, StepRecord
from dq_core.registry.models import ConflictError

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def conn() -> str:
    return os.environ["DQ_TEST_AZURITE_CONNECTION"]


def _name() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def lineage(conn: str) -> Iterator[TableLineageStore]:
    store = TableLineageStore.from_connection_string(conn, prefix=_name())
    yield store
    service = TableServiceClient.from_connection_string(conn)
    for name in store.table_names:
        service.delete_table(name)


@pytest.fixture
def blobs(conn: str) -> Iterator[tuple[AzureBlobStore, str]]:
    prefix = _name() + "-"
    yield AzureBlobStore.from_connection_string(conn, container_prefix=prefix), prefix
    service = BlobServiceClient.from_connection_string(conn)
    for container in service.list_containers(name_starts_with=prefix):
        service.delete_container(container.name)


def _run(run_id: str, started_at: datetime, *, tenant: str = "contoso", **changes: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "tenant": tenant,
        "run_id": run_id,
        "environment": "dev",
        "status": "running",
        "started_at": started_at,
        "ingestion_mode": IngestionMode.HTTP,
        "input_uri": f"https://example.invalid/in/{run_id}.csv",
        "trigger": {"source": "test", "attempt": 1},
        "contract_id": "customers",
        "contract_version": "1.0.0",
        "contract_sha256": "c" * 64,
        "bundle_sha256": "b" * 64,
    }
    fields.update(changes)
    return RunRecord(**fields)


def _step(run_id: str, step: str, started_at: datetime, *, tenant: str = "contoso", **changes: Any) -> StepRecord:
    fields: dict[str, Any] = {
        "tenant": tenant,
        "run_id": run_id,
        "step": step,
        "status": "passed",
        "started_at": started_at,
        "metrics": {"rows": 10},
    }
    fields.update(changes)
    return StepRecord(**fields)


def _event(event_id: str, at: datetime, *, tenant: str = "contoso") -> AuditEvent:
    return AuditEvent(
        tenant=tenant,
        at=at,
        event_id=event_id,
        actor="alice",
        action="publish",
        object="contract customers@1.0.0",
        environment="dev",
    )


def _point(key: str, at: datetime, value: float, run_id: str, *, tenant: str = "contoso") -> MetricPoint:
    return MetricPoint(tenant=tenant, key=key, at=at, value=value, run_id=run_id)


# --- runs ---------------------------------------------------------------------------------


def test_run_round_trips_by_id(lineage: TableLineageStore) -> None:
    run = _run("r-1", T0, finished_at=T0 + timedelta(minutes=3), status="passed", input_etag='"0x1"')
    lineage.put_run(run)
    assert lineage.get_run("contoso", "r-1") == run


def test_missing_run_is_object_not_found(lineage: TableLineageStore) -> None:
    lineage.put_run(_run("r-1", T0))
    with pytest.raises(ObjectNotFound):
        lineage.get_run("contoso", "r-2")


def test_list_runs_is_newest_first_and_honours_half_open_range(lineage: TableLineageStore) -> None:
    for hour in range(6):
        lineage.put_run(_run(f"r-{hour}", T0 + timedelta(hours=hour)))
    listed = lineage.list_runs("contoso", T0 + timedelta(hours=1), T0 + timedelta(hours=4))
    # since is inclusive (r-1), until exclusive (r-4 started exactly at until)
    assert [r.run_id for r in listed] == ["r-3", "r-2", "r-1"]
    # a microsecond either way moves the bounds
    listed = lineage.list_runs(
        "contoso", T0 + timedelta(hours=1, microseconds=1), T0 + timedelta(hours=4, microseconds=1)
    )
    assert [r.run_id for r in listed] == ["r-4", "r-3", "r-2"]
    assert lineage.list_runs("contoso", T0 + timedelta(hours=4), T0 + timedelta(hours=1)) == []


def test_list_runs_limit_keeps_the_newest(lineage: TableLineageStore) -> None:
    for hour in range(5):
        lineage.put_run(_run(f"r-{hour}", T0 + timedelta(hours=hour)))
    listed = lineage.list_runs("contoso", T0, T0 + timedelta(days=1), limit=2)
    assert [r.run_id for r in listed] == ["r-4", "r-3"]


def test_list_runs_reads_naive_datetimes_as_utc(lineage: TableLineageStore) -> None:
    lineage.put_run(_run("r-1", T0))
    naive = T0.replace(tzinfo=None)
    assert [r.run_id for r in lineage.list_runs("contoso", naive, naive + timedelta(seconds=1))] == ["r-1"]


def test_put_run_retry_overwrites(lineage: TableLineageStore) -> None:
    lineage.put_run(_run("r-1", T0))
    lineage.put_run(_run("r-1", T0, status="passed", finished_at=T0 + timedelta(minutes=1)))
    assert lineage.get_run("contoso", "r-1").status == "passed"
    listed = lineage.list_runs("contoso", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [(r.run_id, r.status) for r in listed] == [("r-1", "passed")]


def test_put_run_retry_with_new_start_time_moves_the_run(lineage: TableLineageStore) -> None:
    lineage.put_run(_run("r-1", T0))
    lineage.put_run(_run("r-1", T0 + timedelta(hours=2), status="error"))
    assert lineage.get_run("contoso", "r-1").started_at == T0 + timedelta(hours=2)
    listed = lineage.list_runs("contoso", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [(r.run_id, r.status) for r in listed] == [("r-1", "error")]  # no stale copy at T0


def test_large_run_record_is_split_and_reassembled(lineage: TableLineageStore) -> None:
    run = _run("r-big", T0, status="error", error="é" + "x" * 150_000)  # far over one 64 KiB property
    lineage.put_run(run)
    assert lineage.get_run("contoso", "r-big") == run


def test_run_ids_with_key_forbidden_characters(lineage: TableLineageStore) -> None:
    odd = ["a/b", "a%2Fb", "q?#\\x", "tab\there"]
    for number, run_id in enumerate(odd):
        lineage.put_run(_run(run_id, T0 + timedelta(seconds=number)))
    assert [lineage.get_run("contoso", run_id).run_id for run_id in odd] == odd
    # "a/b" and "a%2Fb" are two runs: the escaping is one-to-one
    assert len(lineage.list_runs("contoso", T0, T0 + timedelta(minutes=1))) == len(odd)


# --- steps --------------------------------------------------------------------------------


def test_steps_belong_to_their_run_in_start_order(lineage: TableLineageStore) -> None:
    lineage.put_step(_step("r-1", "validate", T0 + timedelta(seconds=2)))
    lineage.put_step(_step("r-1", "ingest", T0))
    lineage.put_step(_step("r-1", "profile", T0 + timedelta(seconds=1)))
    lineage.put_step(_step("r-2", "ingest", T0))
    assert [s.step for s in lineage.steps("contoso", "r-1")] == ["ingest", "profile", "validate"]
    assert [s.step for s in lineage.steps("contoso", "r-2")] == ["ingest"]
    assert lineage.steps("contoso", "r-3") == []


def test_put_step_retry_overwrites(lineage: TableLineageStore) -> None:
    lineage.put_step(_step("r-1", "ingest", T0, status="running"))
    done = _step("r-1", "ingest", T0, status="passed", outputs={"clean": "blob://x"})
    lineage.put_step(done)
    assert lineage.steps("contoso", "r-1") == [done]


# --- audit --------------------------------------------------------------------------------


def test_audit_by_time_range_across_two_months(lineage: TableLineageStore) -> None:
    times = {
        "e-feb-early": datetime(2024, 2, 1, tzinfo=UTC),
        "e-feb-late": datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
        "e-mar-first": datetime(2024, 3, 1, tzinfo=UTC),
        "e-mar-mid": datetime(2024, 3, 15, tzinfo=UTC),
        "e-apr": datetime(2024, 4, 2, tzinfo=UTC),
    }
    for event_id, at in reversed(times.items()):
        lineage.put_audit(_event(event_id, at))
    events = lineage.audit("contoso", datetime(2024, 2, 10, tzinfo=UTC), datetime(2024, 3, 15, tzinfo=UTC))
    assert [e.event_id for e in events] == ["e-feb-late", "e-mar-first"]  # oldest first, until exclusive
    assert lineage.audit("contoso", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 1, 0, 0, 1, tzinfo=UTC)) == [
        _event("e-feb-early", times["e-feb-early"])
    ]


def test_audit_over_many_years_uses_one_range_inside_the_tenant(lineage: TableLineageStore) -> None:
    lineage.put_audit(_event("e-old", datetime(2001, 5, 1, tzinfo=UTC)))
    lineage.put_audit(_event("e-new", datetime(2024, 5, 1, tzinfo=UTC)))
    lineage.put_audit(_event("e-other", datetime(2010, 5, 1, tzinfo=UTC), tenant="contoso2"))
    lineage.put_audit(_event("e-other2", datetime(2010, 5, 1, tzinfo=UTC), tenant="contos"))
    events = lineage.audit("contoso", datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert [e.event_id for e in events] == ["e-old", "e-new"]


# --- metrics ------------------------------------------------------------------------------


def test_metric_history_is_the_last_points_oldest_first(lineage: TableLineageStore) -> None:
    key = "customers/customers/null_percent:email"
    for day in (3, 0, 4, 1, 2):
        lineage.append_metric(_point(key, T0 + timedelta(days=day), float(day), f"r-{day}"))
    lineage.append_metric(_point("customers/customers/row_count", T0, 99.0, "r-0"))
    assert [p.value for p in lineage.metric_history("contoso", key)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [p.run_id for p in lineage.metric_history("contoso", key, limit=2)] == ["r-3", "r-4"]
    assert lineage.metric_history("contoso", key, limit=0) == []
    assert lineage.metric_history("contoso", "customers/customers/nothing") == []


def test_metric_append_by_a_retried_run_overwrites(lineage: TableLineageStore) -> None:
    key = "c/d/m"
    lineage.append_metric(_point(key, T0, 1.0, "r-1"))
    lineage.append_metric(_point(key, T0, 2.0, "r-1"))
    assert [p.value for p in lineage.metric_history("contoso", key)] == [2.0]


# --- tenant isolation ---------------------------------------------------------------------


def test_tenant_b_sees_nothing_of_tenant_a(lineage: TableLineageStore) -> None:
    lineage.put_run(_run("r-a", T0, tenant="a"))
    lineage.put_step(_step("r-a", "ingest", T0, tenant="a"))
    lineage.put_audit(_event("e-a", T0, tenant="a"))
    lineage.append_metric(_point("c/d/m", T0, 1.0, "r-a", tenant="a"))
    since, until = T0 - timedelta(days=400), T0 + timedelta(days=400)
    # tenant a sees its own records (so the empty answers below are not vacuous)
    assert [r.run_id for r in lineage.list_runs("a", since, until)] == ["r-a"]
    assert len(lineage.steps("a", "r-a")) == 1
    assert len(lineage.audit("a", since, until)) == 1
    assert len(lineage.metric_history("a", "c/d/m")) == 1
    for other in ("b", "a2", "A"):
        assert lineage.list_runs(other, since, until) == []
        assert lineage.steps(other, "r-a") == []
        assert lineage.audit(other, since, until) == []
        assert lineage.audit(other, datetime(1990, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)) == []
        assert lineage.metric_history(other, "c/d/m") == []
        with pytest.raises(ObjectNotFound):
            lineage.get_run(other, "r-a")


@pytest.mark.parametrize("tenant", ["", "a|run", "a|b", "a/b", "a#", "a?", "a\\b", "a\x00", "a%7C"])
def test_tenants_that_could_reach_other_partitions_are_refused(lineage: TableLineageStore, tenant: str) -> None:
    with pytest.raises(ConfigError, match="tenant"):
        lineage.get_run(tenant, "r-1")
    with pytest.raises(ConfigError, match="tenant"):
        lineage.put_run(_run("r-1", T0, tenant=tenant))


def test_table_prefix_is_validated_and_nothing_connects_at_construction() -> None:
    # an unreachable endpoint: constructing the stores must not contact it
    dead = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    TableLineageStore.from_connection_string(dead, prefix="dqx")
    AzureBlobStore.from_connection_string(dead, container_prefix="dq-x-")
    with pytest.raises(ConfigError, match="prefix"):
        TableLineageStore.from_connection_string(dead, prefix="9dq")
    with pytest.raises(ConfigError, match="prefix"):
        AzureBlobStore.from_connection_string(dead, container_prefix="DQ_")


# --- blobs --------------------------------------------------------------------------------


def test_two_tenants_get_two_containers(blobs: tuple[AzureBlobStore, str], conn: str) -> None:
    store, prefix = blobs
    store.put("tenant-a", "in/data.csv", b"a")
    store.put("tenant-b", "in/data.csv", b"b")
    service = BlobServiceClient.from_connection_string(conn)
    assert sorted(c.name for c in service.list_containers(name_starts_with=prefix)) == [
        prefix + "tenant-a",
        prefix + "tenant-b",
    ]
    assert store.get("tenant-a", "in/data.csv")[0] == b"a"
    assert store.get("tenant-b", "in/data.csv")[0] == b"b"
    with pytest.raises(ObjectNotFound):
        store.get("tenant-c", "in/data.csv")
    assert store.list("tenant-c") == []


def test_overwrite_false_refuses_a_second_write(blobs: tuple[AzureBlobStore, str]) -> None:
    store, _ = blobs
    etag = store.put("t1", "a.txt", b"first")
    with pytest.raises(ConflictError):
        store.put("t1", "a.txt", b"second")
    assert store.get("t1", "a.txt") == (b"first", etag)
    new = store.put("t1", "a.txt", b"third", overwrite=True)
    assert new != etag
    assert store.get("t1", "a.txt") == (b"third", new)


def test_if_match_replaces_only_the_current_etag(blobs: tuple[AzureBlobStore, str]) -> None:
    store, _ = blobs
    first = store.put("t1", "cfg/state.json", b"1")
    second = store.put("t1", "cfg/state.json", b"2", if_match=first)
    assert second != first
    with pytest.raises(ConflictError):
        store.put("t1", "cfg/state.json", b"3", if_match=first)  # stale
    assert store.get("t1", "cfg/state.json") == (b"2", second)
    third = store.put("t1", "cfg/state.json", b"3", if_match=second)
    assert store.get("t1", "cfg/state.json") == (b"3", third)
    with pytest.raises(ConflictError):
        store.put("t1", "cfg/absent.json", b"x", if_match=third)  # no such blob
    with pytest.raises(ConflictError):
        store.put("t-new", "cfg/state.json", b"x", if_match=third)  # no such container


def test_get_missing_blob_is_object_not_found(blobs: tuple[AzureBlobStore, str]) -> None:
    store, _ = blobs
    store.put("t1", "present.txt", b"x")
    with pytest.raises(ObjectNotFound):
        store.get("t1", "absent.txt")


def test_list_is_sorted_and_filtered_by_prefix(blobs: tuple[AzureBlobStore, str]) -> None:
    store, _ = blobs
    for path in ("out/b.csv", "in/z.csv", "out/a.csv", "in/a.csv"):
        store.put("t1", path, path.encode())
    store.put("t2", "in/other.csv", b"x")
    assert list(store.list("t1")) == ["in/a.csv", "in/z.csv", "out/a.csv", "out/b.csv"]
    assert list(store.list("t1", "out/")) == ["out/a.csv", "out/b.csv"]
    assert list(store.list("t1", "nothing/")) == []


@pytest.mark.parametrize("tenant", ["Contoso", "con_toso", "a--b", "-ab", "ab-", "", "x" * 64])
def test_tenants_without_an_unambiguous_container_are_refused(blobs: tuple[AzureBlobStore, str], tenant: str) -> None:
    store, _ = blobs
    with pytest.raises(ConfigError, match="tenant"):
        store.put(tenant, "a.txt", b"x")


@pytest.mark.parametrize("path", ["", "/abs", "a//b", "../x", "a/./b", "a\\b"])
def test_bad_blob_paths_are_refused(blobs: tuple[AzureBlobStore, str], path: str) -> None:
    store, _ = blobs
    with pytest.raises(ConfigError, match="blob path"):
        store.put("t1", path, b"x")


# --- Key Vault ----------------------------------------------------------------------------


@dataclass
class _Secret:
    value: str | None


class _FakeSecretClient:
    def __init__(self, secrets: dict[str, str | None]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    def get_secret(self, name: str) -> _Secret:
        self.asked.append(name)
        if name not in self.secrets:
            raise ResourceNotFoundError(f"secret {name} not found")
        return _Secret(self.secrets[name])


def test_key_vault_resolves_secret_references() -> None:
    client = _FakeSecretClient({"contoso--db-password": "s3cret", "contoso--disabled": None, "fabrikam--x": "f"})
    store = KeyVaultSecretStore("https://example.vault.azure.net", client=client)
    assert store.get("contoso", "secret://db-password") == "s3cret"
    with pytest.raises(ObjectNotFound):
        store.get("contoso", "secret://missing")
    with pytest.raises(ObjectNotFound):
        store.get("contoso", "secret://disabled")
    with pytest.raises(ObjectNotFound):
        store.get("contoso", "secret://x")  # fabrikam's secret is not contoso's
    assert client.asked == ["contoso--db-password", "contoso--missing", "contoso--disabled", "contoso--x"]
    with pytest.raises(ConfigError):
        store.get("bad--tenant", "secret://x")


@pytest.mark.parametrize(
    "reference",
    ["db-password", "vault://db-password", "secret://", "secret://db_password", "secret://a/b", "SECRET://x"],
)
def test_key_vault_refuses_what_is_not_a_secret_reference(reference: str) -> None:
    client = _FakeSecretClient({"db-password": "s3cret"})
    store = KeyVaultSecretStore("https://example.vault.azure.net", client=client)
    with pytest.raises(ConfigError):
        store.get("contoso", reference)
    assert client.asked == []  # refused before asking the vault
