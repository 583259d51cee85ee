"""The HTTP API over real stores (SQLite registry and lineage in tmp_path), called through
``TestClient``. Callers are picked by name: ``Authorization: Bearer ann`` is the principal
``ann`` of :data:`PRINCIPALS` (token validation itself is tested elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.local.env_secrets import EnvSecretStore
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_contracts import SqliteContractStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from api.context import ApiContext
from api.main import create_app
from dq_core.errors import TransientError
from dq_core.ports import ContractStore, LineageStore
from dq_core.runs.stages import RunPorts
from dq_core.security.principal import Principal, Role, Unauthenticated
from tests.integration.conftest import contract_store  # noqa: F401 - the port suites' SQLite + PostgreSQL stores

TENANT = "contoso"


def _principal(subject: str, *roles: Role, tenants: tuple[str, ...] = (TENANT,)) -> Principal:
    return Principal(subject=subject, name=f"{subject}@example.com", roles=frozenset(roles), tenants=frozenset(tenants))


PRINCIPALS: dict[str, Principal] = {
    "ann": _principal("ann", Role.AUTHOR),
    "carl": _principal("carl", Role.AUTHOR),
    "bob": _principal("bob", Role.APPROVER),
    "rita": _principal("rita", Role.READER),
    "otto": _principal("otto", Role.OPERATOR),
    "ada": _principal("ada", Role.ADMIN),
    "eve": _principal("eve", *Role, tenants=("fabrikam",)),
}


class NamedAuthenticator:
    """``Bearer <name>`` is the principal of that name; anything else is unauthenticated."""

    enabled = True

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, name = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or name not in PRINCIPALS:
            raise Unauthenticated("no valid bearer token")
        return PRINCIPALS[name]


def bearer(name: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}", **headers}


def _no_starter() -> Any:
    raise TransientError("no Durable client in these tests")


def make_context(
    tmp_path: Path,
    environment: str = "dev",
    contracts: ContractStore | None = None,
    lineage: LineageStore | None = None,
) -> ApiContext:
    store = contracts or SqliteContractStore(tmp_path / "registry.db")
    ports = RunPorts(
        contracts=store,
        lineage=lineage or SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        secrets=EnvSecretStore(),
    )
    return ApiContext(
        ports=ports, contracts=store, authenticator=NamedAuthenticator(), environment=environment, starter=_no_starter
    )


@pytest.fixture
def api_context(tmp_path: Path) -> ApiContext:
    """Embedded stores, environment ``dev``."""
    return make_context(tmp_path)


@pytest.fixture
def api_client(api_context: ApiContext) -> Iterator[TestClient]:
    with TestClient(create_app(api_context), raise_server_exceptions=False) as client:
        yield client


PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with this status and stable code, and a one-line detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    return body
