"""The HTTP API in the Functions app: the one catch-all trigger, called as the worker calls it (a real
``func.HttpRequest``, the durableClient binding as JSON text), with real tokens from a JWKS issuer
on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

import triggers.api
from api.hosting import NoDurableClient, bound_client, request_starter
from app.settings import get_settings
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.auth_support import JwksServer, TokenFactory
from tests.functions.conftest import call, started

HOST = "http://localhost:7071"


@pytest.fixture
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def jwks(factory: TokenFactory) -> Iterator[JwksServer]:
    with factory.serve() as server:
        yield server


@pytest.fixture
def entra(
    factory: TokenFactory, jwks: JwksServer, ports: RunPorts, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunPorts]:
    """The deployment's settings trust the factory's issuer (environment dev); the app is built anew."""
    for name, value in factory.settings_env(jwks.url).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    triggers.api.reset()
    yield ports
    triggers.api.reset()
    get_settings.cache_clear()


def request(method: str, path: str, body: bytes = b"", **headers: str) -> func.HttpRequest:
    return func.HttpRequest(method=method, url=HOST + path, headers=headers, body=body)


def invoke(functions: dict[str, Any], req: func.HttpRequest, extension: LocalDurableExtension) -> func.HttpResponse:
    # what the worker does: the durableClient binding arrives as JSON text
    handler = functions["api"].get_user_function()
    response: func.HttpResponse = call(handler(req=req, context=None, client=extension.client_binding()))
    return response


def test_one_anonymous_catch_all_route_with_a_durable_client(functions: dict[str, Any]) -> None:
    bindings = {b["type"]: b for b in json.loads(functions["api"].get_function_json())["bindings"]}
    assert set(bindings) == {"httpTrigger", "http", "durableClient"}
    trigger = bindings["httpTrigger"]
    assert trigger["route"] == "{*path}"
    assert trigger["authLevel"] == "ANONYMOUS"  # the API checks the bearer token of every route itself
    assert set(trigger["methods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert bindings["durableClient"]["direction"] == "IN"


def test_health_through_the_trigger(
    functions: dict[str, Any], entra: RunPorts, extension: LocalDurableExtension
) -> None:
    response = invoke(functions, request("GET", "/api/health"), extension)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body()) == {"status": "ok", "environment": "dev", "auth": "on"}


def test_a_tenant_route_needs_a_valid_token_for_that_tenant(
    functions: dict[str, Any], entra: RunPorts, extension: LocalDurableExtension, factory: TokenFactory
) -> None:
    path = "/api/tenants/contoso/config/contracts"
    token = factory.bearer(tenants=["contoso"], roles=["DQ.Reader"])
    listed = invoke(functions, request("GET", path, Authorization=token), extension)
    assert listed.status_code == 200, listed.get_body()
    assert "customers" in {item["id"] for item in json.loads(listed.get_body())["items"]}

    anonymous = invoke(functions, request("GET", path), extension)
    assert anonymous.status_code == 401
    assert anonymous.mimetype == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(anonymous.get_body())["code"] == "unauthenticated"

    other = invoke(functions, request("GET", "/api/tenants/fabrikam/config/contracts", Authorization=token), extension)
    assert other.status_code == 403
    assert json.loads(other.get_body())["code"] == "forbidden"


def test_a_run_starts_on_the_durable_client_of_the_invocation(
    functions: dict[str, Any], entra: RunPorts, extension: LocalDurableExtension, factory: TokenFactory
) -> None:
    body = json.dumps({"input_uri": "landing/crm/customers.csv", "etag": '"0x8DC2C"'}).encode()
    token = factory.bearer(tenants=["contoso"], roles=["DQ.Operator"])
    req = request(
        "POST",
        "/api/tenants/contoso/jobs/customers_daily/runs",
        body,
        **{"Authorization": token, "Content-Type": "application/json"},
    )
    response = invoke(functions, req, extension)
    assert response.status_code == 202, response.get_body()
    answer = json.loads(response.get_body())
    assert answer["instance_id"] == "contoso:customers_daily:0x8DC2C"
    assert response.headers["Location"] == answer["status_url"]
    assert answer["status_url"].startswith(f"{HOST}/api/tenants/contoso/instances/")
    started_with = started(extension, "contoso:customers_daily:0x8DC2C")
    assert (started_with["tenant"], started_with["environment"], started_with["ingestion_mode"]) == (
        "contoso",
        "dev",
        "http",
    )
    # the status URL is answered by the same trigger, through the invocation's client
    status = invoke(functions, request("GET", answer["status_url"].removeprefix(HOST), Authorization=token), extension)
    assert status.status_code == 200, status.get_body()
    assert json.loads(status.get_body())["runtime_status"] == "Completed"


def test_unknown_paths_are_problem_404s(
    functions: dict[str, Any], entra: RunPorts, extension: LocalDurableExtension
) -> None:
    response = invoke(functions, request("GET", "/api/no/such/route?x=1"), extension)
    assert response.status_code == 404
    assert json.loads(response.get_body())["code"] == "not_found"


def test_settings_the_api_cannot_run_with_are_a_500_problem_without_details(
    functions: dict[str, Any], ports: RunPorts, extension: LocalDurableExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQ_ENVIRONMENT", "prod")
    monkeypatch.setenv("DQ_AUTH_MODE", "entra")  # and no issuer: refused when the app is built
    monkeypatch.delenv("DQ_AUTH_TENANT_ID", raising=False)
    get_settings.cache_clear()
    triggers.api.reset()
    try:
        response = invoke(functions, request("GET", "/api/health"), extension)
    finally:
        triggers.api.reset()
        get_settings.cache_clear()
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_body())
    assert body["code"] == "config_invalid"
    assert "DQ_AUTH" not in body["detail"]  # the reason is in the logs, not told to callers


def test_the_request_durable_client_is_bound_only_for_the_request() -> None:
    with pytest.raises(NoDurableClient):
        request_starter()
    client = object()
    with bound_client(client):  # type: ignore[arg-type]
        assert request_starter() is client
    with pytest.raises(NoDurableClient):
        request_starter()
