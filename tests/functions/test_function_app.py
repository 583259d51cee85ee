"""The Functions app indexes, and its routes answer real azure.functions requests."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

import function_app


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    # FunctionApp.get_functions() may be called once per process: index once
    return {fn.get_function_name(): fn for fn in function_app.app.get_functions()}


def test_app_indexes_the_health_route(functions: dict[str, Any]) -> None:
    bindings = json.loads(functions["health"].get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"] == "httpTrigger")
    assert (trigger["route"], trigger["methods"]) == ("health", ["GET"])


def test_health_answers_with_the_environment(functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    handler = functions["health"].get_user_function()
    response = handler(func.HttpRequest(method="GET", url="/api/health", body=b""))
    get_settings.cache_clear()
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok", "environment": "dev"}
