"""The action ports' adapters on the real services: Azure Storage queues on Azurite, the
PostgreSQL row export on the real server."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from azure.storage.queue import QueueServiceClient

from adapters.azure.queue_sender import AzureQueueSender
from adapters.postgres.row_exporter import PostgresRowExporter, RowExportError
from dq_core.actions.export import export_rows, run_export
from dq_core.actions.queues import run_queue
from dq_core.errors import ConfigError
from dq_core.libraries.actions import QueueAction, StorageExportAction
from dq_core.ports import ExportRow
from tests.action_servers import RUN_ID, action_context

pytestmark = pytest.mark.integration


def _env(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.fail(f"{variable} is not set: source .services/env (scripts/services.sh starts the services)")
    return value


def _name() -> str:
    return "t" + uuid.uuid4().hex[:10]


# --- Azure Storage queues ----------------------------------------------------------------------


@pytest.fixture
def queue_sender() -> Iterator[tuple[AzureQueueSender, QueueServiceClient, str]]:
    conn = _env("DQ_TEST_AZURITE_CONNECTION")
    prefix = _name() + "-"
    service = QueueServiceClient.from_connection_string(conn)
    yield AzureQueueSender.from_connection_string(conn, prefix=prefix), service, prefix
    for queue in service.list_queues(name_starts_with=prefix):
        service.delete_queue(queue.name)


def _received(service: QueueServiceClient, name: str) -> list[str]:
    client = service.get_queue_client(name)
    return [base64.b64decode(m.content).decode("utf-8") for m in client.receive_messages(max_messages=32)]


def test_queue_action_sends_the_notice_to_the_tenants_own_queue(
    tmp_path: Path, queue_sender: tuple[AzureQueueSender, QueueServiceClient, str]
) -> None:
    sender, service, prefix = queue_sender
    ctx = action_context(tmp_path, queues=sender)
    action = QueueAction.model_validate({"id": "events", "type": "queue", "queue": "dq-events"})
    outcome = run_queue(action, ctx)  # the queue does not exist yet: created on first send
    assert outcome.status == "delivered", outcome.detail
    (message,) = _received(service, f"{prefix}contoso-dq-events")
    body = json.loads(message)
    assert body["event_id"] == f"{RUN_ID}:events" and body["tenant"] == "contoso" and body["verdict"] == "failed"


def test_tenants_never_share_a_queue(queue_sender: tuple[AzureQueueSender, QueueServiceClient, str]) -> None:
    sender, service, prefix = queue_sender
    sender.send("contoso", "alerts", "for contoso")
    sender.send("fabrikam", "alerts", "for fabrikam")
    sender.send("contoso", "alerts", "again for contoso")
    assert sorted(_received(service, f"{prefix}contoso-alerts")) == ["again for contoso", "for contoso"]
    assert _received(service, f"{prefix}fabrikam-alerts") == ["for fabrikam"]


def test_a_hyphenated_tenant_cannot_reach_another_tenants_queue(
    queue_sender: tuple[AzureQueueSender, QueueServiceClient, str],
) -> None:
    """Tenant ``acme`` with queue ``eu-orders`` and tenant ``acme-eu`` with queue ``orders``
    would both name ``{prefix}acme-eu-orders``: the hyphenated tenant is refused."""
    sender, service, prefix = queue_sender
    sender.send("acme", "eu-orders", "for acme")
    with pytest.raises(ConfigError, match="tenant 'acme-eu' cannot name an Azure queue"):
        sender.send("acme-eu", "orders", "for acme-eu")
    assert _received(service, f"{prefix}acme-eu-orders") == ["for acme"]


def test_names_outside_azure_queue_rules_are_refused_not_rewritten(
    queue_sender: tuple[AzureQueueSender, QueueServiceClient, str],
) -> None:
    sender, _, _ = queue_sender
    for tenant, queue in (("contoso", "dq_events"), ("Contoso", "q"), ("contoso", "a--b"), ("contoso", "x" * 60)):
        with pytest.raises(ConfigError, match="cannot name an Azure queue"):
            sender.send(tenant, queue, "{}")
    with pytest.raises(ConfigError):
        AzureQueueSender.from_connection_string(_env("DQ_TEST_AZURITE_CONNECTION"), prefix="Bad_")


# --- PostgreSQL row export ---------------------------------------------------------------------


@pytest.fixture
def exporter() -> Iterator[tuple[PostgresRowExporter, str, str]]:
    dsn, schema = _env("DQ_TEST_PG_DSN"), _name()
    yield PostgresRowExporter(dsn, schema=schema), dsn, schema
    with psycopg.connect(dsn, autocommit=True) as db:
        for tenant in ("contoso", "fabrikam"):
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}__{tenant}" CASCADE')


def _rows(dsn: str, schema: str, table: str, tenant: str = "contoso") -> list[tuple[str, str, str, int, object]]:
    with psycopg.connect(dsn) as db:
        return db.execute(
            f'SELECT tenant, run_id, kind, seq, payload FROM "{schema}__{tenant}".{table}'  # noqa: S608
            " ORDER BY tenant, run_id, kind, seq"
        ).fetchall()


def test_table_export_creates_the_table_and_replaces_a_runs_rows(
    tmp_path: Path, exporter: tuple[PostgresRowExporter, str, str]
) -> None:
    rows_port, dsn, schema = exporter
    ctx = action_context(tmp_path, rows=rows_port)
    action = StorageExportAction.model_validate(
        {
            "id": "to_pg",
            "type": "storage_export",
            "target": "postgres",
            "table": "dq_results",
            "include": ["result", "rejects"],
        }
    )
    first = run_export(action, ctx)
    assert first.status == "delivered", first.detail
    again = run_export(action, ctx)  # a retried export leaves one copy
    assert again.detail == first.detail == "6 rows to table dq_results"  # run + 3 rules + 2 rejects
    stored = _rows(dsn, schema, "dq_results")
    assert [(t, r, k, s) for t, r, k, s, _ in stored] == [
        ("contoso", RUN_ID, "reject", 0),
        ("contoso", RUN_ID, "reject", 1),
        ("contoso", RUN_ID, "rule", 0),
        ("contoso", RUN_ID, "rule", 1),
        ("contoso", RUN_ID, "rule", 2),
        ("contoso", RUN_ID, "run", 0),
    ]
    payloads = {(k, s): p for _, _, k, s, p in stored}
    assert payloads[("run", 0)]["status"] == "failed" and payloads[("run", 0)]["summary"]["failed"] == 1  # type: ignore[index]
    assert payloads[("rule", 0)]["rule_id"] == "email_not_null"  # type: ignore[index]
    assert payloads[("reject", 1)] == {"email": None, "_dq_reject_reason": "bad"}
    assert len(export_rows(ctx, ("cleansed", "profile"))) == 4  # 2 cleansed rows, 2 profiled columns


def test_table_export_keeps_tenants_apart_and_refuses_unsafe_table_names(
    exporter: tuple[PostgresRowExporter, str, str],
) -> None:
    rows_port, dsn, schema = exporter
    rows_port.export("contoso", "shared", "run-1", [ExportRow("run", 0, {"v": 1})])
    rows_port.export("fabrikam", "shared", "run-1", [ExportRow("run", 0, {"v": 2}), ExportRow("rule", 0, {"v": 3})])
    rows_port.export("contoso", "shared", "run-1", [ExportRow("run", 0, {"v": 4})])  # replaces contoso's only
    # each tenant has its own schema: the same table name is two tables, never one shared
    assert [(t, k, p) for t, _, k, _, p in _rows(dsn, schema, "shared")] == [("contoso", "run", {"v": 4})]
    assert [(t, k, p) for t, _, k, _, p in _rows(dsn, schema, "shared", "fabrikam")] == [
        ("fabrikam", "rule", {"v": 3}),
        ("fabrikam", "run", {"v": 2}),
    ]
    for table in ("Results", "dq-results", "x; DROP TABLE shared", "pg_catalog", "a" * 64, ""):
        with pytest.raises(ConfigError, match="lower-case identifier"):
            rows_port.export("contoso", table, "run-1", [])
    for tenant in ("", "Contoso", 'x"; DROP SCHEMA public; --', "a" * 63):
        with pytest.raises(ConfigError, match="export schema"):
            rows_port.export(tenant, "shared", "run-1", [])
    assert len(_rows(dsn, schema, "shared")) == 1


def test_a_broken_export_connection_string_never_reaches_the_outcome() -> None:
    exporter = PostgresRowExporter("host=127.0.0.1 user=dq password=hunter2 pw")  # malformed: a bare word
    with pytest.raises(RowExportError) as refused:
        exporter.export("contoso", "shared", "run-1", [])
    assert "hunter2" not in refused.value.message and "pw" not in refused.value.message.split()
    assert refused.value.message == "export to dq_export__contoso.shared: the export database settings are invalid"
