"""One definition of each identifier pattern (dq_core/identifiers.py), and a tenant id every
store can name its own place with, as it is."""

from __future__ import annotations

import re

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient
from hypothesis import given
from hypothesis import strategies as st

from adapters.azure.blob_store import AzureBlobStore
from adapters.azure.queue_sender import AzureQueueSender
from adapters.azure.table_lineage import check_tenant
from adapters.local.env_secrets import variable_for
from adapters.postgres.row_exporter import PostgresRowExporter
from dq_core.config.base import ObjectKey, Versioned
from dq_core.errors import ConfigError
from dq_core.identifiers import (
    ID_MAX_LENGTH,
    TENANT_MAX_LENGTH,
    TENANT_PATTERN,
    is_id,
    is_tenant,
    semver_key,
)
from services.starting import instance_id
from tests.conftest import ROOT

AZURITE = (  # nothing is contacted: only names are made
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:1/a;QueueEndpoint=http://127.0.0.1:1/a;"
)
SOURCES = ("dq_core", "services", "api", "adapters", "app", "triggers", "cli", "local_host", "activities")
# an id or tenant grammar written out: a letter class followed by a letters-and-digits class
GRAMMAR = re.compile(r"\[a-z\]\[a-z0-9")

tenants = st.from_regex(TENANT_PATTERN, fullmatch=True)


def test_the_id_and_tenant_grammars_are_written_once() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in SOURCES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if GRAMMAR.search(line) and path != ROOT / "dq_core" / "identifiers.py"
    ]
    assert found == []


@given(tenants)
def test_every_tenant_id_names_its_own_place_in_every_store(tenant: str) -> None:
    blobs = AzureBlobStore(BlobServiceClient.from_connection_string(AZURITE))
    queues = AzureQueueSender(QueueServiceClient.from_connection_string(AZURITE))
    rows = PostgresRowExporter("host=127.0.0.1 dbname=unused")  # nothing connects before an export
    assert blobs.container_name(tenant) == f"dq-{tenant}"
    assert queues.queue_name(tenant, "q" * (63 - len("dq--") - TENANT_MAX_LENGTH)).startswith(f"dq-{tenant}-")
    assert rows.schema_of(tenant) == f"dq_export__{tenant}"
    assert check_tenant(tenant) == tenant
    assert variable_for(tenant, "secret://salt") == f"DQ_SECRET_{tenant.upper()}__SALT"
    assert len(instance_id(tenant, "j" * ID_MAX_LENGTH, "0x8DC2A1B2C3D4E5F")) <= 256


@pytest.mark.parametrize("tenant", ["acme-eu", "acme_eu", "Acme", "1acme", "a" * (TENANT_MAX_LENGTH + 1), "acme\n", ""])
def test_what_is_no_tenant_id(tenant: str) -> None:
    assert not is_tenant(tenant)
    with pytest.raises(ConfigError, match="tenant"):
        instance_id(tenant, "job", "key")


def test_a_configuration_object_takes_a_tenant_id_and_ids() -> None:
    header = {"kind": "rule_library", "environment": "dev", "id": "core_rules", "version": "1.0.0"}
    assert Versioned.model_validate({**header, "tenant": " Contoso "}).tenant == "contoso"
    for tenant in ("acme-eu", "acme_eu"):
        with pytest.raises(ValueError, match="not a valid tenant id"):
            Versioned.model_validate({**header, "tenant": tenant})
    assert ObjectKey(kind="contract", id="a-b_c", version="1.0.0").id == "a-b_c"
    assert is_id("a" * ID_MAX_LENGTH) and not is_id("a" * (ID_MAX_LENGTH + 1)) and not is_id("job\n")
    with pytest.raises(ValueError, match="not a valid id"):
        ObjectKey(kind="contract", id="a" * (ID_MAX_LENGTH + 1), version="1.0.0")


def test_versions_sort_by_number_and_a_pre_release_first() -> None:
    versions = ["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.9", "1.2.0-beta"]
    assert sorted(versions, key=semver_key) == ["0.9.9", "1.2.0-beta", "1.2.0-rc.1", "1.2.0", "1.10.0"]
