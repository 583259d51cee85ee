"""The OpenAPI document says what the API answers: problems for invalid requests are 400, never
FastAPI's undocumented-here 422 "Validation Error"."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_invalid_requests_are_documented_as_400_problems_not_422(api_client: TestClient) -> None:
    document = api_client.get("/api/openapi.json").json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    assert len(operations) > 20
    assert not [op["operationId"] for op in operations if "422" in op["responses"] and "Validation" in str(op)]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    answer = api_client.get("/api/tenants/contoso/runs?limit=-5", headers={"Authorization": "Bearer rita"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "invalid_request"


def test_head_answers_as_get_without_a_body(api_client: TestClient) -> None:
    got = api_client.get("/api/health")
    head = api_client.head("/api/health")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    refused = api_client.head("/api/tenants/contoso/runs")  # no token: the same refusal as GET
    assert refused.status_code == 401 and refused.content == b""
    allowed = api_client.head("/api/tenants/contoso/runs", headers={"Authorization": "Bearer rita"})
    assert allowed.status_code == 200
    assert api_client.post("/api/health").status_code == 405  # other methods are still refused
