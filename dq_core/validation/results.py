"""Validation outcomes: the ``validation`` part of ``dq.run-result/v1``.

A failing rule is a value with a status, never an exception.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, JsonValue

from dq_core.config.base import Severity
from dq_core.payloads import Payload


class RuleStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"  # e.g. an anomaly rule with too little history


class Sample(Payload):
    """One failing row: its source row number (0-based, data rows) and the values checked."""

    row: int | None
    values: dict[str, JsonValue]


class Band(Payload):
    """The expected range of an adaptive rule, and how it was computed."""

    lower: float | None
    upper: float | None
    method: str  # how, in words: "median ± 3 × 1.4826·MAD of the last 20 runs (…)"
    center: float | None = None  # the median (robust) or mean (stddev) of the history
    spread: float | None = None  # 1.4826 × MAD (robust) or σ (stddev)
    points: int | None = None  # history points the band was computed from
    excluded: int = 0  # earlier points left out because they were anomalies themselves
    weekday: str | None = None  # compared with the runs of this weekday only (seasonality: weekday)


class Attribution(Payload):
    """A failing rule's failing rows by what cleansing did to them (dq_core.validation.attribution):
    ``touched`` rows a cleansing step changed (a value changed or imputed, or kept as the survivor
    of duplicates), ``untouched`` rows that came through as the source sent them, and rows per step."""

    touched: int
    untouched: int
    steps: dict[str, int] = Field(default_factory=dict)


class RuleResult(Payload):
    rule_id: str
    type: str
    columns: tuple[str, ...] = ()
    severity: Severity
    status: RuleStatus
    element_count: int | None = None  # rows the rule looked at (after its where filter)
    missing_count: int | None = None  # nulls among them (value rules skip nulls)
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    mostly: float = 1.0
    observed_value: JsonValue = None
    band: Band | None = None
    unexpected_samples: tuple[Sample, ...] = ()
    message: str = ""
    hint: str | None = None  # what to do about it: failing rules only (dq_core.validation.hints)
    dimension: str | None = None
    origin: str | None = None
    template: str | None = None
    odcs_id: str | None = None
    metric: str | None = None  # what a statistical, anomaly or drift rule measured (null_percent:email)
    params: dict[str, JsonValue] = Field(default_factory=dict)  # the rule's parameters, as authored
    error: str | None = None  # why the rule could not be evaluated (status error)
    attribution: Attribution | None = None  # failing rows touched by cleansing or not (runs that cleanse)


class ValidationSummary(Payload):
    evaluated: int
    passed: int
    failed: int
    errors: int
    skipped: int = 0
    failed_error_severity: int = 0
    errors_error_severity: int = 0  # rules of severity error that could not be evaluated (these fail the run)


class ValidationResult(Payload):
    rules: tuple[RuleResult, ...] = Field(default_factory=tuple)
    summary: ValidationSummary

    @classmethod
    def of(cls, rules: list[RuleResult]) -> ValidationResult:
        failed = [r for r in rules if r.status is RuleStatus.FAILED]
        summary = ValidationSummary(
            evaluated=sum(r.status is not RuleStatus.SKIPPED for r in rules),
            passed=sum(r.status is RuleStatus.PASSED for r in rules),
            failed=len(failed),
            errors=sum(r.status is RuleStatus.ERROR for r in rules),
            skipped=sum(r.status is RuleStatus.SKIPPED for r in rules),
            failed_error_severity=sum(r.severity is Severity.ERROR for r in failed),
            errors_error_severity=sum(r.severity is Severity.ERROR and r.status is RuleStatus.ERROR for r in rules),
        )
        return cls(rules=tuple(rules), summary=summary)

    @property
    def passed(self) -> bool:
        """No error-severity rule failed or could not be evaluated. A rule of lower severity (warning, info) never
        fails the run, whatever its status: one that could not be evaluated is reported, not counted against it."""
        errored = any(r.severity is Severity.ERROR and r.status is RuleStatus.ERROR for r in self.rules)
        return self.summary.failed_error_severity == 0 and not errored

    def by_id(self) -> dict[str, RuleResult]:
        return {rule.rule_id: rule for rule in self.rules}


def jsonable(value: Any) -> JsonValue:
    """A sample or observed value as JSON: dates as ISO strings, other objects as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)
