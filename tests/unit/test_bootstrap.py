"""With no connection settings every port gets its embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest

from adapters.local.env_secrets import EnvSecretStore
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_contracts import SqliteContractStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from app.bootstrap import Stores, stores
from app.settings import AppSettings
from dq_core.ports import BlobStore, ContractStore, LineageStore, QueueSender, RowExporter, SecretStore


def test_embedded_defaults_without_connection_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DQ_PG_DSN", "DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_KEY_VAULT_URL"):
        monkeypatch.delenv(variable, raising=False)
    wired = stores(tmp_path / "home", AppSettings(_env_file=None))  # type: ignore[call-arg]
    assert isinstance(wired.contracts, SqliteContractStore)
    assert isinstance(wired.lineage, SqliteLineageStore)
    assert isinstance(wired.blobs, LocalBlobStore)
    assert isinstance(wired.secrets, EnvSecretStore)
    assert (tmp_path / "home" / "registry.db").exists()


def test_the_composition_root_types_its_stores_with_the_ports() -> None:
    hints = get_type_hints(Stores)
    assert (hints["contracts"], hints["lineage"], hints["blobs"], hints["secrets"]) == (
        ContractStore,
        LineageStore,
        BlobStore,
        SecretStore,
    )
    assert (hints["queues"], hints["rows"]) == (QueueSender | None, RowExporter | None)
