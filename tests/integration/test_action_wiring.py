"""The bootstrap wires the action ports: Azure queues and the PostgreSQL exporter with
connection settings, a local queue folder and no exporter without them, the HTTP, SMTP and
OpenLineage transports everywhere; the runtime's ports carry them to the activities."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueServiceClient

from adapters.azure.queue_sender import AzureQueueSender
from adapters.local.folder_queue import LocalQueueSender
from adapters.notify.http import HttpxSender
from adapters.notify.openlineage import OpenLineageClientEmitter
from adapters.notify.smtp import SmtpMailSender
from adapters.postgres.row_exporter import PostgresRowExporter
from app import runtime
from app.bootstrap import stores
from app.settings import AppSettings

pytestmark = pytest.mark.integration


def test_without_services_queues_are_a_local_folder_and_there_is_no_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("DQ_PG_DSN", "DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_KEY_VAULT_URL"):
        monkeypatch.delenv(variable, raising=False)
    wired = stores(tmp_path / "home", AppSettings(_env_file=None))  # type: ignore[call-arg]
    assert isinstance(wired.queues, LocalQueueSender) and wired.rows is None
    wired.queues.send("contoso", "events", '{"n": 1}')
    assert wired.queues.messages("contoso", "events") == ['{"n": 1}']
    assert (tmp_path / "home" / "queues" / "contoso" / "events").is_dir()


def test_connection_settings_wire_azure_queues_and_the_postgres_exporter(azure_settings: Any, tmp_path: Path) -> None:
    wired = stores(tmp_path, azure_settings)
    try:
        assert isinstance(wired.queues, AzureQueueSender) and isinstance(wired.rows, PostgresRowExporter)
        tenant = "w" + uuid.uuid4().hex[:8]
        wired.queues.send(tenant, "events", "hello")
        service = QueueServiceClient.from_connection_string(azure_settings.storage_connection.get_secret_value())
        client = service.get_queue_client(f"dq-{tenant}-events")
        assert client.get_queue_properties().approximate_message_count == 1
        client.delete_queue()
    finally:
        wired.contracts.close()


def test_the_runtime_ports_carry_the_action_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DQ_PG_DSN", "DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_KEY_VAULT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    from app.settings import get_settings

    get_settings.cache_clear()
    runtime.use_ports(None)
    try:
        ports = runtime.run_ports()
        assert isinstance(ports.queues, LocalQueueSender) and ports.rows is None
        assert isinstance(ports.http, HttpxSender) and isinstance(ports.mail, SmtpMailSender)
        assert isinstance(ports.openlineage, OpenLineageClientEmitter)
    finally:
        runtime.use_ports(None)
        get_settings.cache_clear()
