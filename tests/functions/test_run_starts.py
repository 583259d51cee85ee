"""``POST /api/tenants/{tenant}/jobs/{job_id}/runs`` through the registered function, with a real
Durable client on the local extension."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

from app.local_extension import LocalDurableExtension
from dq_core.ports import ContractStore
from tests.functions.conftest import call, started
from tests.registry_support import job

URL = "http://localhost:7071/api/tenants/{tenant}/jobs/{job}/runs"
TRACE = "0af7651916cd43dd8448eb211c80319c"


def post(body: bytes, *, tenant: str = "contoso", job_id: str = "customers_daily", **headers: str) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST",
        url=URL.format(tenant=tenant, job=job_id),
        headers=headers,
        route_params={"tenant": tenant, "job_id": job_id},
        body=body,
    )


def start(functions: dict[str, Any], client: Any, req: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = call(functions["start_run"].get_user_function().client_function(req, client))
    return response


def problem(response: func.HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_body())
    assert body["status"] == status
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    return body


def test_a_start_answers_202_with_status_urls_and_runs_the_request(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    body = {"input_uri": "landing/crm/customers.csv", "etag": '"0x8DC2A"', "overrides": {"chunk_rows": 500}}
    traceparent = f"00-{TRACE}-b7ad6b7169203331-01"
    response = start(functions, client, post(json.dumps(body).encode(), traceparent=traceparent))
    assert response.status_code == 202
    links = json.loads(response.get_body())
    instance = "contoso:customers_daily:0x8DC2A"
    assert links["id"] == instance
    assert response.headers["Location"] == links["statusQueryGetUri"]
    assert links["statusQueryGetUri"].startswith("http://localhost:7071/runtime/webhooks/durabletask/instances/")
    request = started(extension, instance)
    assert request["tenant"] == "contoso" and request["environment"] == "dev"
    assert (request["job_id"], request["job_version"]) == ("customers_daily", "1.0.0")
    assert request["inputs"] == [{"uri": "landing/crm/customers.csv", "etag": '"0x8DC2A"'}]
    assert request["ingestion_mode"] == "http"
    assert request["overrides"]["chunk_rows"] == 500
    assert request["correlation_id"] == TRACE
    assert extension.instance_ids() == [instance]


def test_the_same_etag_twice_is_one_run_and_a_409(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    body = json.dumps({"input_uri": "landing/crm/customers.csv", "etag": "0x8DC2B"}).encode()
    assert start(functions, client, post(body)).status_code == 202
    extension.wait("contoso:customers_daily:0x8DC2B")
    conflict = problem(start(functions, client, post(body)), 409)
    assert conflict["instance_id"] == "contoso:customers_daily:0x8DC2B"
    assert "already started (Completed)" in conflict["detail"]
    assert conflict["statusQueryGetUri"].endswith(
        "/instances/contoso:customers_daily:0x8DC2B?taskHub=dqlocal&connection=Storage"
    )
    assert extension.instance_ids() == ["contoso:customers_daily:0x8DC2B"]


def test_without_an_etag_every_start_is_a_new_run(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    body = json.dumps({"input_uri": "landing/crm/customers.csv"}).encode()
    first = json.loads(start(functions, client, post(body)).get_body())["id"]
    second = json.loads(start(functions, client, post(body)).get_body())["id"]
    assert first != second
    assert all(i.startswith("contoso:customers_daily:") for i in (first, second))
    assert started(extension, first)["correlation_id"] is None
    assert started(extension, second)["inputs"] == [{"uri": "landing/crm/customers.csv", "etag": None}]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"", "send a JSON object"),
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"{}", "input_uri: Field required"),
        (b'{"input_uri": ""}', "input_uri"),
        (b'{"input_uri": "file:///etc/passwd"}', "input_uri: Value error, must be a path in the tenant's container"),
        (b'{"input_uri": "landing/../../other"}', "input_uri: Value error, must not contain"),
        (b'{"input_uri": "/landing/x.csv"}', "input_uri"),
        (b'{"input_uri": "landing/x.csv", "color": "red"}', "color: Extra inputs are not permitted"),
        (b'{"input_uri": "landing/x.csv", "overrides": {"chunk_rows": 0}}', "overrides.chunk_rows"),
        (b'{"input_uri": "landing/x.csv", "etag": ""}', "etag"),
        (b'{"input_uri": "landing/x.csv", "etag": "\\"\\""}', "etag: the ETag is empty: it cannot name a run"),
    ],
)
def test_bad_bodies_are_400_problems(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, body: bytes, where: str
) -> None:
    found = problem(start(functions, client, post(body)), 400)
    assert found["title"] == "invalid request body"
    assert where in found["detail"]
    assert extension.instance_ids() == []


def test_bad_route_values_are_400_problems(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension
) -> None:
    body = json.dumps({"input_uri": "landing/x.csv"}).encode()
    assert "tenant 'Contoso!'" in problem(start(functions, client, post(body, tenant="Contoso!")), 400)["detail"]
    assert "job '../x'" in problem(start(functions, client, post(body, job_id="../x")), 400)["detail"]
    assert extension.instance_ids() == []


def test_a_job_without_a_published_version_is_a_404(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, registry: ContractStore
) -> None:
    registry.put(job("drafted", {"type": "manual"}), actor="author")  # a draft never runs by itself
    body = json.dumps({"input_uri": "landing/x.csv"}).encode()
    for job_id in ("drafted", "nonexistent"):
        found = problem(start(functions, client, post(body, job_id=job_id)), 404)
        assert found["detail"] == f"job {job_id!r} has no published version in contoso/dev"
    assert problem(start(functions, client, post(body, tenant="fabrikam")), 404)["title"] == "job not found"
    assert extension.instance_ids() == []


def test_the_host_path_builds_the_client_from_the_binding_json(
    functions: dict[str, Any], extension: LocalDurableExtension
) -> None:
    # what the worker does: it passes the durableClient binding as JSON text to the registered function
    body = json.dumps({"input_uri": "landing/crm/customers.csv", "etag": "0x8DC2C"}).encode()
    handler = functions["start_run"].get_user_function()
    response = call(handler(req=post(body), client=extension.client_binding()))
    assert response.status_code == 202
    assert started(extension, "contoso:customers_daily:0x8DC2C")["ingestion_mode"] == "http"
