"""The custom-SQL attack over the API (issue 14, attack 1): an Author's draft whose SQL
reads a file is refused when it is created, and the refusal quotes no file content."""

# ruff: noqa: S608 - these tests build hostile SQL on purpose

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TENANT, assert_problem, bearer

RULES = f"/api/tenants/{TENANT}/config/rule-libraries"
CONTRACTS = f"/api/tenants/{TENANT}/config/contracts"
MARKER = "signing-key-material-7731"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """Stands in for the server's signing key and another tenant's customers file."""
    path = tmp_path / "private.pem"
    path.write_text(f"{MARKER}\n{MARKER}-b\n")
    return path


def _library(rule: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "rule_library", "id": "stealer", "version": "1.0.0", "rules": [rule]}


def _contract(binding: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "contract",
        "id": "customers",
        "version": "9.0.0",
        "datasets": [
            {"name": "customers", "columns": [{"name": "n", "logical_type": "integer"}], "bindings": [binding]}
        ],
    }


def _attacks(path: Path) -> list[tuple[str, dict[str, Any]]]:
    sql = {"type": "custom_sql", "params": {"query": f"SELECT COUNT(*) FROM read_csv('{path}')", "threshold": {}}}
    subquery = f"n IN (SELECT column_1 FROM read_csv('{path}', has_header => false))"
    return [
        (RULES, _library({"id": "steal", **sql, "params": {**sql["params"], "threshold": {"must_be": 0}}})),
        (RULES, _library({"id": "steal", "type": "not_null", "where": subquery})),
        (RULES, _library({"id": "steal", "type": "row_expression", "params": {"expression": subquery}})),
        (
            RULES,
            _library(
                {
                    "id": "steal",
                    "type": "custom_sql",
                    "params": {
                        "query": f"SELECT COUNT(*) FROM {{object}} WHERE n IN "
                        f"(SELECT column_1 FROM read_parquet('{path}'))",
                        "threshold": {"must_be": 0},
                    },
                }
            ),
        ),
        (
            CONTRACTS,
            _contract(
                {
                    "id": "steal",
                    "columns": [],
                    "check": {
                        "type": "custom_sql",
                        "params": {"query": f"SELECT COUNT(*) FROM read_csv('{path}')", "threshold": {"must_be": 0}},
                    },
                }
            ),
        ),
    ]


def test_the_author_cannot_create_a_draft_whose_sql_reads_a_file(api_client: TestClient, secret_file: Path) -> None:
    for route, body in _attacks(secret_file):
        response = api_client.post(route, json=body, headers=bearer("ann"))
        problem = assert_problem(response, 400, "load_failed")
        assert "SQL refused" in problem["detail"], problem["detail"]
        assert "is not allowed" in problem["detail"] or "subquery" in problem["detail"]
        assert MARKER not in response.text
        assert api_client.get(route, headers=bearer("ann")).json()["items"] == []


def test_an_admin_is_refused_too_and_the_refusal_is_not_a_server_error(
    api_client: TestClient, secret_file: Path
) -> None:
    route, body = _attacks(secret_file)[0]
    response = api_client.post(route, json=body, headers=bearer("ada"))
    assert_problem(response, 400, "load_failed")
    assert MARKER not in response.text
