"""RunResult.build: the one way a run's result is made (orchestrated runs and ``dq validate``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dq_core.config.base import Severity
from dq_core.results.run import Anomaly, RunError, RunResult, RunStatus
from dq_core.validation.results import RuleResult, RuleStatus, ValidationResult

T0, T1 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC), datetime(2026, 1, 5, 6, 1, tzinfo=UTC)


def _validation(*statuses: RuleStatus) -> ValidationResult:
    rules = [
        RuleResult(rule_id=f"r{i}", type="anomaly", severity=Severity.ERROR, status=status, metric="row_count")
        for i, status in enumerate(statuses)
    ]
    return ValidationResult.of(rules)


def _build(validation: ValidationResult | None, error: RunError | None = None) -> RunResult:
    return RunResult.build(
        run_id="r-1",
        tenant="contoso",
        environment="dev",
        started_at=T0,
        finished_at=T1,
        validation=validation,
        error=error,
    )


@pytest.mark.parametrize(
    ("validation", "error", "status"),
    [
        (_validation(RuleStatus.PASSED), None, RunStatus.PASSED),
        (_validation(RuleStatus.PASSED, RuleStatus.FAILED), None, RunStatus.FAILED),
        (None, None, RunStatus.FAILED),  # nothing validated is no pass
        (_validation(RuleStatus.PASSED), RunError(code="input_error", message="unreadable"), RunStatus.ERROR),
    ],
)
def test_the_status_is_the_error_else_the_validation_s(
    validation: ValidationResult | None, error: RunError | None, status: RunStatus
) -> None:
    assert _build(validation, error).status is status


def test_the_failed_anomaly_rules_are_the_anomalies() -> None:
    result = _build(_validation(RuleStatus.PASSED, RuleStatus.FAILED))
    assert result.anomalies == [Anomaly(rule_id="r1", metric="row_count", observed_value=None, band=None)]
    assert _build(None).anomalies == [] and _build(None).profile is None
