"""Quality scores: one number (0-100) per quality dimension and overall, from a run's validation.

Pure: a :class:`~dq_core.validation.results.ValidationResult` in, :class:`QualityScores` out. The definition,
with a worked example, is docs/scores.md; in short:

- a rule's **dimension** is the one it was authored with (``dimension:``), else its type's
  (:data:`TYPE_DIMENSIONS`, :data:`METRIC_DIMENSIONS`); ``conformity`` is scored as validity and ``coverage`` as
  completeness (:data:`SCORED_AS`);
- a **row rule** (it counts unexpected rows) judged ``n = element_count - missing_count`` rows and scores
  ``100 × (1 - unexpected_count / n)``; any other rule (row count, freshness, statistics, schema, custom SQL,
  anomaly, drift) judged the whole dataset, ``n = N`` (the most rows any rule looked at), and scores 100 when it
  passed and 0 when it failed; a rule that could not be evaluated (``error``) scores 0; ``skipped`` rules and row
  rules that judged no row are left out;
- a rule's **weight** is its severity's (error 3, warning 2, info 1) × ``n``;
- a dimension's score is the weighted mean of its rules' scores, null when none was scored; **overall** is the
  weighted mean of the dimensions' scores by their weights (the same as the weighted mean of every scored rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dq_core.config.base import Severity
from dq_core.libraries.rules import Dimension, OdcsMetric
from dq_core.payloads import Payload
from dq_core.validation.results import RuleResult, RuleStatus, ValidationResult


class ScoredDimension(StrEnum):
    """The dimensions a run is scored on, in the order they are shown."""

    COMPLETENESS = "completeness"
    VALIDITY = "validity"
    UNIQUENESS = "uniqueness"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"
    ACCURACY = "accuracy"


SCORED_AS: Final[Mapping[Dimension, ScoredDimension]] = {
    Dimension.ACCURACY: ScoredDimension.ACCURACY,
    Dimension.COMPLETENESS: ScoredDimension.COMPLETENESS,
    Dimension.CONFORMITY: ScoredDimension.VALIDITY,  # a value conforms to its type, format or list: validity
    Dimension.CONSISTENCY: ScoredDimension.CONSISTENCY,
    Dimension.COVERAGE: ScoredDimension.COMPLETENESS,  # every expected record is there: completeness of rows
    Dimension.TIMELINESS: ScoredDimension.TIMELINESS,
    Dimension.UNIQUENESS: ScoredDimension.UNIQUENESS,
    Dimension.VALIDITY: ScoredDimension.VALIDITY,
}
"""Every authored dimension to the scored dimension it counts under."""

_C, _V, _U = ScoredDimension.COMPLETENESS, ScoredDimension.VALIDITY, ScoredDimension.UNIQUENESS
_S, _T, _A = ScoredDimension.CONSISTENCY, ScoredDimension.TIMELINESS, ScoredDimension.ACCURACY

TYPE_DIMENSIONS: Final[Mapping[str, ScoredDimension]] = {
    "not_null": _C,
    "row_count": _C,
    "unique": _U,
    "compound_unique": _U,
    "in_set": _V,
    "not_in_set": _V,
    "regex": _V,
    "not_regex": _V,
    "range": _V,
    "length": _V,
    "type": _V,  # also the conversion checks a contract's declared types add (dimension conformity)
    "date_parseable": _V,
    "not_future": _V,
    "date_range": _V,
    "code_list": _V,
    "columns_present": _V,
    "schema_match": _V,
    "column_comparison": _S,
    "row_expression": _S,
    "referential": _S,
    "freshness": _T,
    "custom_sql": _A,
    "column_statistic": _A,
    "distribution_drift": _A,
    "anomaly": _A,
    "metric": _V,  # by its metric: METRIC_DIMENSIONS
}
"""The dimension of a rule authored without one, by rule type (a test keeps it in step with the rule types)."""

METRIC_DIMENSIONS: Final[Mapping[str, ScoredDimension]] = {
    OdcsMetric.NULL_VALUES.value: _C,
    OdcsMetric.MISSING_VALUES.value: _C,
    OdcsMetric.ROW_COUNT.value: _C,
    OdcsMetric.INVALID_VALUES.value: _V,
    OdcsMetric.DUPLICATE_VALUES.value: _U,
}
"""The dimension of an ODCS ``metric`` rule authored without one, by its metric."""

SEVERITY_WEIGHTS: Final[Mapping[Severity, int]] = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}

SCHEMA_TYPES: Final = frozenset({"columns_present", "schema_match"})
"""Rules whose counts are columns, not rows: scored by status, as dataset rules."""


class DimensionScore(Payload):
    score: float | None  # 0-100 (two decimals); null when no rule of the dimension was scored
    rules: int  # rules scored under it
    weight: int  # Σ severity weight × rows judged of those rules


class QualityScores(Payload):
    """A run's quality scores (docs/scores.md): ``overall`` and one entry per scored dimension, always all six."""

    overall: float | None
    dimensions: dict[str, DimensionScore]


@dataclass(frozen=True)
class RuleScore:
    """One rule's part in the scores."""

    rule_id: str
    dimension: ScoredDimension
    score: float
    weight: int


_AUTHORED: Final = frozenset(d.value for d in Dimension)


def dimension_of(rule: RuleResult) -> ScoredDimension:
    """The scored dimension of a rule result: its authored dimension, else its type's (or its metric's)."""
    if rule.dimension in _AUTHORED:
        return SCORED_AS[Dimension(rule.dimension)]
    if rule.type == "metric":
        return METRIC_DIMENSIONS.get(str(rule.params.get("metric")), _V)
    return TYPE_DIMENSIONS.get(rule.type, _V)


def _is_row_rule(rule: RuleResult) -> bool:
    return rule.type not in SCHEMA_TYPES and rule.element_count is not None and rule.unexpected_count is not None


def dataset_rows(rules: Iterable[RuleResult]) -> int:
    """N: the most rows any rule looked at (schema rules count columns, not rows); at least 1."""
    counts = [r.element_count for r in rules if r.type not in SCHEMA_TYPES and r.element_count is not None]
    return max([1, *counts])


def rule_score(rule: RuleResult, rows: int) -> RuleScore | None:
    """A rule's score and weight, ``rows`` being N; None when it is left out (skipped, or judged no row)."""
    if rule.status is RuleStatus.SKIPPED:
        return None
    judged, score = rows, 100.0 if rule.status is RuleStatus.PASSED else 0.0
    if _is_row_rule(rule) and rule.status is not RuleStatus.ERROR:
        judged = (rule.element_count or 0) - (rule.missing_count or 0)
        if judged <= 0:
            return None
        unexpected = min(rule.unexpected_count or 0, judged)
        score = 100.0 * (1 - unexpected / judged)
    return RuleScore(rule.rule_id, dimension_of(rule), score, SEVERITY_WEIGHTS[rule.severity] * judged)


def _mean(parts: Iterable[tuple[float, int]]) -> tuple[float | None, int]:
    listed = list(parts)
    weight = sum(w for _, w in listed)
    if not weight:
        return None, 0
    return round(sum(s * w for s, w in listed) / weight, 2), weight


def score_run(validation: ValidationResult) -> QualityScores:
    """The quality scores of a run's validation (docs/scores.md)."""
    rows = dataset_rows(validation.rules)
    scored = [s for s in (rule_score(rule, rows) for rule in validation.rules) if s is not None]
    dimensions: dict[str, DimensionScore] = {}
    for dimension in ScoredDimension:
        mine = [(s.score, s.weight) for s in scored if s.dimension is dimension]
        score, weight = _mean(mine)
        dimensions[dimension.value] = DimensionScore(score=score, rules=len(mine), weight=weight)
    overall, _ = _mean((s.score, s.weight) for s in scored)  # = the dimensions' mean by their weights
    return QualityScores(overall=overall, dimensions=dimensions)
