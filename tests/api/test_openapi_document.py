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
