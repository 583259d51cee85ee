"""Stores for the shared port suites: every suite runs against the embedded adapter and
the real one (PostgreSQL, Azurite) that scripts/services.sh started."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _service(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.fail(f"{variable} is not set: run the suite with scripts/test.sh (it starts PostgreSQL and Azurite)")
    return value


def _name() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture(params=["sqlite", "postgres"])
def contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from adapters.local.sqlite_contracts import SqliteContractStore

        yield SqliteContractStore(tmp_path / "registry.db")
        return
    import psycopg

    from adapters.postgres.contract_store import PostgresContractStore

    dsn, schema = _service("DQ_TEST_PG_DSN"), _name()
    store = PostgresContractStore.connect(dsn, schema=schema)
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "table"])
def lineage_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        from adapters.local.sqlite_lineage import SqliteLineageStore

        return SqliteLineageStore(str(tmp_path / "lineage.db"))
    from adapters.azure.table_lineage import TableLineageStore

    return TableLineageStore.from_connection_string(_service("DQ_TEST_AZURITE_CONNECTION"), prefix=_name())


@pytest.fixture(params=["folder", "azure"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "folder":
        from adapters.local.folder_blobs import LocalBlobStore

        return LocalBlobStore(tmp_path / "blobs")
    from adapters.azure.blob_store import AzureBlobStore

    return AzureBlobStore.from_connection_string(
        _service("DQ_TEST_AZURITE_CONNECTION"), container_prefix=_name()[:10] + "-"
    )


@pytest.fixture
def azure_settings() -> Any:
    from app.settings import AppSettings

    return AppSettings(pg_dsn=_service("DQ_TEST_PG_DSN"), storage_connection=_service("DQ_TEST_AZURITE_CONNECTION"))  # type: ignore[arg-type]
