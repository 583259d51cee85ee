"""With no connection settings every port gets its embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.local.env_secrets import EnvSecretStore
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_contracts import SqliteContractStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from app.bootstrap import stores
from app.settings import AppSettings


def test_embedded_defaults_without_connection_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DQ_PG_DSN", "DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_KEY_VAULT_URL"):
        monkeypatch.delenv(variable, raising=False)
    wired = stores(tmp_path / "home", AppSettings(_env_file=None))  # type: ignore[call-arg]
    assert isinstance(wired.contracts, SqliteContractStore)
    assert isinstance(wired.lineage, SqliteLineageStore)
    assert isinstance(wired.blobs, LocalBlobStore)
    assert isinstance(wired.secrets, EnvSecretStore)
    assert (tmp_path / "home" / "registry.db").exists()
