"""Schemathesis against ``/api/openapi.json`` of a running ``dq serve`` (a real port, real tokens): for
every operation a bounded number of generated requests, each answered without a 5xx, with a status
the document declares and a body that matches its schema."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup

from tests.auth_support import TokenFactory
from tests.registry_support import demo_registry
from tests.serve_support import served

TENANT = "contoso"
EXAMPLES = 8  # per operation and generation mode: the whole run stays well under 90 s
Seen = Counter[tuple[str, int]]  # (generation mode, status) -> responses
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Served:
    url: str
    authorization: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve-schemathesis")
    demo_registry(home / "registry.db")
    factory = TokenFactory()
    admin = factory.bearer(tenants=[TENANT], roles=["DQ.Admin"], lifetime=3600)
    with (
        factory.serve() as jwks,
        served(home, factory.settings_env(jwks.url), "--log-level", "warning") as running,
    ):
        yield Served(url=running.url, authorization=admin)


def run_operation(operation: APIOperation, api: Served, mode: GenerationMode, seen: Seen) -> str | None:
    """Up to EXAMPLES generated requests of one operation; the first failure, as text, or None."""
    fixed = {"tenant": TENANT} if any(p.name == "tenant" for p in operation.path_parameters) else None
    strategy = operation.as_strategy(mode, path_parameters=fixed)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            base_url=api.url,
            headers={"Authorization": api.authorization},
            checks=CHECKS,
            timeout=30,
        )
        seen[mode.value, response.status_code] += 1

    try:
        exercise()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        return None
    except (FailureGroup, Exception) as exc:  # noqa: BLE001 - every failure is reported, per operation
        return " ".join(str(exc).split())[:1500]
    return None


def test_every_operation_answers_within_its_schema(api: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = {}
    seen: Seen = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = run_operation(operation, api, mode, seen)
            if failure is not None:
                failures[f"{operation.label} ({mode.value})"] = failure
    assert failures == {}
    # valid requests carry an accepted token (no 401/403) and reach the routes (found, not found);
    # invalid ones are refused as 4xx problems (the checks above held their bodies to the schema)
    positive = {status for mode, status in seen if mode == "positive"}
    assert not positive & {401, 403}, seen
    assert {200, 404} <= positive, seen
    assert sum(seen.values()) >= len(operations) * 2, seen


@pytest.mark.parametrize(
    "query",
    [
        {"until": "0001-01-01T00:00:00Z"},  # a day before it is no date
        {"since": "0001-01-01T00:00:00+05:00"},  # before year 1 in UTC
        {"until": "9999-12-31T23:59:59-05:00"},  # after year 9999 in UTC
    ],
)
def test_times_at_the_edge_of_the_calendar_are_400s_not_500s(api: Served, query: dict[str, str]) -> None:
    # found by schemathesis (GET /audit answered 500 for these)
    for path in ("audit", "runs"):
        response = httpx.get(
            f"{api.url}/api/tenants/{TENANT}/{path}", params=query, headers={"Authorization": api.authorization}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
