"""``/api/health`` and ``/api/health/ready`` over real stores: anyone may call them, so a store
that fails makes readiness a 503 problem that does not say where the store is."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.data.tables import TableServiceClient
from fastapi.testclient import TestClient

from adapters.azure.table_lineage import TableLineageStore
from adapters.postgres.contract_store import PostgresContractStore
from adapters.postgres.signin import EntraLogin
from api.main import create_app
from tests.api.conftest import make_context

# Azurite's well-known development account, on a port where nothing listens
_UNREACHABLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


def test_ready_when_the_stores_answer(tmp_path: Path) -> None:
    with TestClient(create_app(make_context(tmp_path))) as client:
        response = client.get("/api/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"contracts": "ok", "lineage": "ok"}


def test_a_failing_store_is_a_503_that_names_no_host(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lineage = TableLineageStore(TableServiceClient.from_connection_string(_UNREACHABLE, retry_total=0))
    ctx = make_context(tmp_path, lineage=lineage)
    with caplog.at_level(logging.WARNING, logger="dq.api"), TestClient(create_app(ctx)) as client:
        response = client.get("/api/health/ready")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "transient"
    assert body["detail"] == "lineage store not ready (the cause is in the logs)"
    assert "127.0.0.1" not in response.text and "devstoreaccount1" not in response.text
    assert any("127.0.0.1" in record.getMessage() for record in caplog.records), "the cause is logged"


class _NoToken:
    """A credential with no token for anyone (azure-identity where no managed identity answers)."""

    def get_token(self, *scopes: str) -> Any:
        raise ClientAuthenticationError("ManagedIdentityCredential authentication unavailable: no IMDS endpoint")


def test_entra_registry_without_a_token_is_live_but_not_ready(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # DQ_PG_AUTH=entra as deployed: the store is built (lazily), the identity gets no token
    dsn = "host=127.0.0.1 port=6543 dbname=dq-registry"
    login = EntraLogin(user="id-dq-health", credential=_NoToken())
    store = PostgresContractStore.connect(dsn, schema="dq", login=login, lazy=True)
    try:
        ctx = make_context(tmp_path, contracts=store)
        with caplog.at_level(logging.WARNING), TestClient(create_app(ctx)) as client:
            live = client.get("/api/health")
            ready = client.get("/api/health/ready")
    finally:
        store.close()
    assert live.status_code == 200, live.text  # liveness never asks the registry
    assert ready.status_code == 503, ready.text
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["code"] == "transient"
    assert body["detail"] == "contracts store not ready (the cause is in the logs)"
    for detail in ("127.0.0.1", "6543", "dq-registry", "id-dq-health", "IMDS", "ClientAuthentication", "token"):
        assert detail not in ready.text
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "id-dq-health" in logged and "IMDS" in logged, "the operators' logs have the cause"
