"""With connection settings the real adapters serve the ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.azure.blob_store import AzureBlobStore
from adapters.azure.table_lineage import TableLineageStore
from adapters.postgres.contract_store import PostgresContractStore
from app.bootstrap import stores

pytestmark = pytest.mark.integration


def test_connection_settings_select_the_real_adapters(azure_settings: Any, tmp_path: Path) -> None:
    wired = stores(tmp_path, azure_settings)
    try:
        assert isinstance(wired.contracts, PostgresContractStore)
        assert isinstance(wired.lineage, TableLineageStore)
        assert isinstance(wired.blobs, AzureBlobStore)
        assert wired.blobs.put("bootstrap-test", "probe.txt", b"x", overwrite=True)
    finally:
        wired.contracts.close()
