"""``GET /api/tenants/{tenant}/datasets/{dataset}/scores`` and the run detail's ``scores`` over stored runs: SQLite
lineage and a blob folder in tmp_path holding run records and result.json files of several datasets and tenants,
also one written before runs carried scores, one that stopped before validating and one still running."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.context import ApiContext
from dq_core.config.base import Severity
from dq_core.lineage.evidence import run_prefix
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.results.run import ContractStamp, RunError, RunResult
from dq_core.results.scores import score_run
from dq_core.validation.results import RuleResult, RuleStatus, ValidationResult
from services import scores as scores_service
from tests.api.conftest import assert_problem, bearer

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
URL = "/api/tenants/{tenant}/datasets/{dataset}/scores"


def _validation(unexpected: int) -> ValidationResult:
    rules = [
        RuleResult(
            rule_id="email_present",
            type="not_null",
            severity=Severity.ERROR,
            status=RuleStatus.FAILED if unexpected else RuleStatus.PASSED,
            element_count=100,
            missing_count=0,
            unexpected_count=unexpected,
        ),
        RuleResult(rule_id="fresh", type="freshness", severity=Severity.WARNING, status=RuleStatus.PASSED),
    ]
    return ValidationResult.of(rules)


def _store(
    ctx: ApiContext,
    tenant: str,
    run_id: str,
    minute: int,
    dataset: str,
    *,
    unexpected: int = 0,
    status: str | None = None,
    error: bool = False,
    without_scores: bool = False,
) -> RunResult | None:
    started = T0 + timedelta(minutes=minute)
    contract = ContractStamp(id=dataset, version="1.0.0", sha256="a" * 64, dataset=dataset, bundle_sha256="b" * 64)
    result = RunResult.build(
        run_id=run_id,
        tenant=tenant,
        environment="dev",
        started_at=started,
        finished_at=started + timedelta(seconds=30),
        contract=contract,
        validation=None if error else _validation(unexpected),
        error=RunError(code="input_invalid", message="unreadable") if error else None,
    )
    record = RunRecord(
        tenant=tenant,
        run_id=run_id,
        environment="dev",
        status=status or result.status.value,
        started_at=started,
        finished_at=None if status == "running" else result.finished_at,
        ingestion_mode=IngestionMode.HTTP,
        input_uri=f"landing/{dataset}.csv",
        job_id=f"{dataset}_daily",
        contract_id=dataset,
        contract_version="1.0.0",
        contract_sha256="a" * 64,
        bundle_sha256="b" * 64,
    )
    ctx.ports.lineage.put_run(record)
    if status == "running":
        return None
    data = result.model_dump(mode="json")
    if without_scores:
        del data["scores"]  # as result.json was before runs carried scores
    ctx.ports.blobs.put(tenant, run_prefix(run_id) + "result.json", json.dumps(data).encode())
    return result


@pytest.fixture
def stored(api_context: ApiContext) -> dict[str, RunResult]:
    """contoso: customers runs c0..c4 (c4 the newest, written without scores), an orders run, a customers run that
    stopped before validating and one still running; fabrikam: one customers run."""
    found: dict[str, RunResult] = {}
    for i in range(4):
        result = _store(api_context, "contoso", f"c{i}", 10 * i, "customers", unexpected=5 * i)
        assert result is not None
        found[f"c{i}"] = result
    old = _store(api_context, "contoso", "c4", 40, "customers", unexpected=50, without_scores=True)
    assert old is not None
    found["c4"] = old
    _store(api_context, "contoso", "o1", 45, "orders", unexpected=1)
    broken = _store(api_context, "contoso", "e1", 5, "customers", error=True)
    assert broken is not None
    found["e1"] = broken
    _store(api_context, "contoso", "r1", 50, "customers", status="running")
    _store(api_context, "fabrikam", "f1", 20, "customers", unexpected=99)
    return found


def _get(client: TestClient, who: str, tenant: str = "contoso", dataset: str = "customers", **params: Any) -> Any:
    response = client.get(URL.format(tenant=tenant, dataset=dataset), params=params, headers=bearer(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_dataset_s_finished_runs_newest_first_with_their_scores(
    api_client: TestClient, stored: dict[str, RunResult]
) -> None:
    body = _get(api_client, "rita")
    ids = [p["run_id"] for p in body["points"]]
    assert ids == ["c4", "c3", "c2", "c1", "e1", "c0"]  # no orders run, no running run
    assert body["next"] is None and body["next_url"] is None
    points = {p["run_id"]: p for p in body["points"]}
    for run_id in ("c0", "c1", "c2", "c3"):
        scores = stored[run_id].scores
        assert scores is not None
        assert points[run_id]["overall"] == scores.overall
        assert points[run_id]["dimensions"] == {k: d.score for k, d in scores.dimensions.items()}
    # c3: 15 of 100 emails missing (error 3 × 100 at 85) and a fresh file (warning 2 × 100 at 100)
    assert points["c3"]["overall"] == 91.0 and points["c3"]["dimensions"]["completeness"] == 85.0
    # written before runs carried scores: scored from its validation, the same numbers a new run stores
    validation = stored["c4"].validation
    assert validation is not None
    assert points["c4"]["overall"] == score_run(validation).overall == 70.0
    assert points["e1"]["status"] == "error" and points["e1"]["overall"] is None and points["e1"]["dimensions"] == {}
    assert points["c0"]["status"] == "passed" and points["c0"]["overall"] == 100.0


def test_pages_follow_the_cursor_without_repeats(
    api_client: TestClient, stored: dict[str, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = [p["run_id"] for p in _get(api_client, "rita")["points"]]
    for budget in (scores_service.RESULT_BUDGET, 2):  # also when a page stops at its budget of results read
        monkeypatch.setattr(scores_service, "RESULT_BUDGET", budget)
        seen: list[str] = []
        body = _get(api_client, "rita", limit=2)
        pages = 1
        while True:
            assert len(body["points"]) <= 2
            seen.extend(p["run_id"] for p in body["points"])
            if body["next"] is None:
                break
            response = api_client.get(body["next_url"], headers=bearer("rita"))
            assert response.status_code == 200, response.text
            body, pages = response.json(), pages + 1
        assert seen == everything
        assert pages >= 3


def test_since_and_until_bound_the_runs(api_client: TestClient, stored: dict[str, RunResult]) -> None:
    since, until = (T0 + timedelta(minutes=10)).isoformat(), (T0 + timedelta(minutes=30)).isoformat()
    body = _get(api_client, "rita", since=since, until=until)
    assert [p["run_id"] for p in body["points"]] == ["c2", "c1"]


def test_the_run_detail_carries_the_scores(api_client: TestClient, stored: dict[str, RunResult]) -> None:
    detail = api_client.get("/api/tenants/contoso/runs/c4", headers=bearer("rita")).json()
    assert detail["result"]["scores"] is None  # as stored
    assert detail["scores"]["overall"] == 70.0  # scored from its validation
    broken = api_client.get("/api/tenants/contoso/runs/e1", headers=bearer("rita")).json()
    assert broken["scores"] is None


def test_each_tenant_sees_only_its_own_runs(api_client: TestClient, stored: dict[str, RunResult]) -> None:
    refused = api_client.get(URL.format(tenant="contoso", dataset="customers"), headers=bearer("eve"))
    assert_problem(refused, 403, "forbidden")
    own = _get(api_client, "eve", tenant="fabrikam")
    assert [p["run_id"] for p in own["points"]] == ["f1"]
    contoso_cursor = _get(api_client, "rita", limit=1)["next"]
    stolen = api_client.get(
        URL.format(tenant="fabrikam", dataset="customers"), params={"cursor": contoso_cursor}, headers=bearer("eve")
    )
    assert_problem(stolen, 400, "invalid_query")
    assert api_client.get(URL.format(tenant="contoso", dataset="customers")).status_code == 401


def test_a_dataset_name_outside_the_pattern_is_a_400(api_client: TestClient) -> None:
    response = api_client.get(URL.format(tenant="contoso", dataset="-bad name"), headers=bearer("rita"))
    assert_problem(response, 400, "invalid_request")
