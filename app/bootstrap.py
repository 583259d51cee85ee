"""Wiring: which adapter serves which port, from settings. Built on first use, never at import.

With no connection settings every port gets its embedded default (SQLite, a local
folder, the environment), so `dq` and `dq serve` need no server. In Azure the app
settings name the services and the managed identity reaches them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import AppSettings, get_settings
from dq_core.errors import ConfigError
from dq_core.ports import BlobStore, ContractStore, LineageStore, QueueSender, RowExporter, SecretStore

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from adapters.postgres.signin import EntraLogin
    from dq_core.runs.stages import RunPorts


@dataclass(frozen=True)
class Stores:
    contracts: ContractStore
    lineage: LineageStore
    blobs: BlobStore
    secrets: SecretStore
    queues: QueueSender | None = None  # the queue action (None: not available on this host)
    rows: RowExporter | None = None  # the storage_export action's tables (None: no database)
    allow_private_networks: bool = False  # DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS: where actions may connect

    def run_ports(self, *, secrets: SecretStore | None = None, allow_local_files: bool = False) -> RunPorts:
        """The ports a run's stages use, from these stores (``secrets`` overrides the store's)."""
        from adapters.notify.http import HttpxSender  # noqa: PLC0415 - httpx; only when a run is hosted
        from adapters.notify.openlineage import OpenLineageClientEmitter  # noqa: PLC0415
        from adapters.notify.smtp import SmtpMailSender  # noqa: PLC0415
        from dq_core.runs.stages import RunPorts  # noqa: PLC0415 - polars; only when a run is hosted

        return RunPorts(
            contracts=self.contracts,
            lineage=self.lineage,
            blobs=self.blobs,
            secrets=secrets if secrets is not None else self.secrets,
            queues=self.queues,
            rows=self.rows,
            http=HttpxSender(),
            mail=SmtpMailSender(),
            openlineage=OpenLineageClientEmitter(),
            allow_local_files=allow_local_files,
            allow_private_networks=self.allow_private_networks,
        )


def _credential() -> TokenCredential:
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - heavy; only in Azure

    return DefaultAzureCredential()


def _pg_credential() -> TokenCredential:
    """The app's user-assigned identity in Azure (AZURE_CLIENT_ID, set by the Bicep); elsewhere
    DefaultAzureCredential (az login, environment variables...)."""
    client_id = os.environ.get("AZURE_CLIENT_ID", "").strip()
    if not client_id:
        return _credential()
    from azure.identity import ManagedIdentityCredential  # noqa: PLC0415 - heavy; only in Azure

    return ManagedIdentityCredential(client_id=client_id)


def pg_login(settings: AppSettings) -> EntraLogin | None:
    """DQ_PG_AUTH=entra: sign in as DQ_PG_USER with an Entra token per new connection (an
    ``EntraLogin``); password: None, the DSN as given."""
    if settings.pg_auth == "password":
        return None
    if settings.pg_user is None:
        msg = "DQ_PG_AUTH=entra needs DQ_PG_USER: the PostgreSQL role of the identity (the managed identity's name)"
        raise ConfigError(msg)
    from adapters.postgres.signin import EntraLogin  # noqa: PLC0415

    return EntraLogin(user=settings.pg_user, credential=_pg_credential())


def contract_store(
    target: str, home: Path, settings: AppSettings | None = None, login: EntraLogin | None = None
) -> ContractStore:
    """``sqlite`` (the embedded registry under ``home``) or ``postgres`` (DQ_PG_DSN, signed in as
    ``login`` or as DQ_PG_AUTH says; it connects on first use)."""
    settings = settings or get_settings()
    if target == "sqlite":
        from adapters.local.sqlite_contracts import SqliteContractStore  # noqa: PLC0415

        home.mkdir(parents=True, exist_ok=True)
        return SqliteContractStore(home / "registry.db")
    if target == "postgres":
        if settings.pg_dsn is None:
            msg = "set DQ_PG_DSN to the PostgreSQL connection string (in Azure it comes from Key Vault)"
            raise ConfigError(msg)
        from adapters.postgres.contract_store import PostgresContractStore  # noqa: PLC0415

        return PostgresContractStore.connect(
            settings.pg_dsn.get_secret_value(),
            schema=settings.pg_schema,
            login=login if login is not None else pg_login(settings),
            lazy=True,
        )
    msg = f"unknown store {target!r} (use sqlite or postgres)"
    raise ConfigError(msg)


def _lineage_and_blobs(settings: AppSettings, home: Path) -> tuple[LineageStore, BlobStore]:
    if settings.storage_connection is None and settings.storage_account is None:
        from adapters.local.folder_blobs import LocalBlobStore  # noqa: PLC0415
        from adapters.local.sqlite_lineage import SqliteLineageStore  # noqa: PLC0415

        home.mkdir(parents=True, exist_ok=True)
        return SqliteLineageStore(str(home / "lineage.db")), LocalBlobStore(home / "blobs")
    from azure.data.tables import TableServiceClient  # noqa: PLC0415
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415

    from adapters.azure.blob_store import AzureBlobStore  # noqa: PLC0415
    from adapters.azure.table_lineage import TableLineageStore  # noqa: PLC0415

    if settings.storage_connection is not None:
        connection = settings.storage_connection.get_secret_value()
        return TableLineageStore.from_connection_string(connection), AzureBlobStore.from_connection_string(connection)
    account, credential = settings.storage_account, _credential()
    tables = TableServiceClient(endpoint=f"https://{account}.table.core.windows.net", credential=credential)
    blobs = BlobServiceClient(account_url=f"https://{account}.blob.core.windows.net", credential=credential)
    return TableLineageStore(tables), AzureBlobStore(blobs)


def _secrets(settings: AppSettings) -> SecretStore:
    if settings.key_vault_url is None:
        from adapters.local.env_secrets import EnvSecretStore  # noqa: PLC0415

        return EnvSecretStore()
    from adapters.azure.keyvault_secrets import KeyVaultSecretStore  # noqa: PLC0415

    return KeyVaultSecretStore(settings.key_vault_url)


def _queues(settings: AppSettings, home: Path) -> QueueSender:
    """Azure Storage queues of the runs' storage account, else a local folder."""
    if settings.storage_connection is None and settings.storage_account is None:
        from adapters.local.folder_queue import LocalQueueSender  # noqa: PLC0415

        return LocalQueueSender(home / "queues")
    from adapters.azure.queue_sender import AzureQueueSender  # noqa: PLC0415

    if settings.storage_connection is not None:
        return AzureQueueSender.from_connection_string(settings.storage_connection.get_secret_value())
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    account = settings.storage_account
    return AzureQueueSender(
        QueueServiceClient(account_url=f"https://{account}.queue.core.windows.net", credential=_credential())
    )


def _row_exporter(settings: AppSettings, login: EntraLogin | None) -> RowExporter | None:
    """Table exports go to the registry's PostgreSQL server, schema ``dq_export``; none without it."""
    if settings.pg_dsn is None:
        return None
    from adapters.postgres.row_exporter import PostgresRowExporter  # noqa: PLC0415

    return PostgresRowExporter(settings.pg_dsn.get_secret_value(), schema="dq_export", login=login)


def stores(home: Path = Path(".dq"), settings: AppSettings | None = None) -> Stores:
    """Every port, from settings: Azure services when configured, embedded defaults otherwise."""
    settings = settings or get_settings()
    target = "postgres" if settings.pg_dsn is not None else "sqlite"
    login = pg_login(settings) if settings.pg_dsn is not None else None  # one credential for both
    lineage, blobs = _lineage_and_blobs(settings, home)
    return Stores(
        contracts=contract_store(target, home, settings, login),
        lineage=lineage,
        blobs=blobs,
        secrets=_secrets(settings),
        queues=_queues(settings, home),
        rows=_row_exporter(settings, login),
        allow_private_networks=settings.actions_allow_private_networks,
    )
