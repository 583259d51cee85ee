"""Quality scores (dq_core/results/scores.py): the definition of docs/scores.md, its worked example, the weights."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dq_core.config.base import Severity
from dq_core.libraries.rules import RULE_TYPES, Dimension, OdcsMetric, rule_type_name
from dq_core.reporting import render_report
from dq_core.results.run import RunError, RunResult
from dq_core.results.scores import (
    METRIC_DIMENSIONS,
    SCORED_AS,
    TYPE_DIMENSIONS,
    QualityScores,
    ScoredDimension,
    dimension_of,
    score_run,
)
from dq_core.validation.results import RuleResult, RuleStatus, ValidationResult

S = RuleStatus


def _rule(rule_id: str, type_: str, severity: str, status: RuleStatus, **fields: Any) -> RuleResult:
    return RuleResult(rule_id=rule_id, type=type_, severity=Severity(severity), status=status, **fields)


def _counts(element: int, unexpected: int, missing: int = 0) -> dict[str, int]:
    return {"element_count": element, "unexpected_count": unexpected, "missing_count": missing}


# The worked example of docs/scores.md, rule by rule.
WORKED_EXAMPLE = ValidationResult.of(
    [
        _rule("email_present", "not_null", "error", S.FAILED, **_counts(1000, 20)),
        _rule("email_format", "regex", "warning", S.FAILED, **_counts(1000, 49, missing=20)),
        _rule("customer_id_unique", "unique", "error", S.FAILED, **_counts(1000, 10)),
        _rule("fresh", "freshness", "warning", S.FAILED),
        _rule("volume", "row_count", "info", S.PASSED, element_count=1000),
        _rule("volume_band", "anomaly", "error", S.SKIPPED),
        _rule("shipped_after_order", "column_comparison", "error", S.PASSED, **_counts(1000, 9, missing=100)),
        _rule("country_known", "referential", "info", S.ERROR, error="reference countries could not be read"),
    ]
)


def test_the_worked_example_of_docs_scores_md() -> None:
    scores = score_run(WORKED_EXAMPLE)
    got = {name: (d.score, d.rules, d.weight) for name, d in scores.dimensions.items()}
    assert got == {
        "completeness": (98.5, 2, 4000),  # (3000 × 98 + 1000 × 100) / 4000
        "validity": (95.0, 1, 1960),  # 100 × (1 - 49/980), weight 2 × 980
        "uniqueness": (99.0, 1, 3000),
        "consistency": (72.24, 2, 3700),  # (2700 × 99 + 1000 × 0) / 3700
        "timeliness": (0.0, 1, 2000),
        "accuracy": (None, 0, 0),  # the only accuracy rule was skipped
    }
    assert scores.overall == 78.07  # 1,144,500 / 14,660


def test_the_worked_example_is_the_one_in_the_docs() -> None:
    text = (Path(__file__).parents[2] / "docs" / "scores.md").read_text(encoding="utf-8")
    for shown in ("98.5", "95.0", "99.0", "72.24", "78.07", "14,660", "1,144,500"):
        assert shown in text


def test_severity_weighs_three_two_one() -> None:
    def two(first: str, second: str) -> float | None:
        return score_run(
            ValidationResult.of(
                [
                    _rule("a", "not_null", first, S.PASSED, **_counts(100, 0)),
                    _rule("b", "not_null", second, S.FAILED, **_counts(100, 100)),
                ]
            )
        ).overall

    assert two("error", "info") == 75.0  # (3 × 100 + 1 × 0) / 4
    assert two("info", "error") == 25.0
    assert two("warning", "info") == pytest.approx(66.67)


def test_rows_weigh_a_rule_over_the_rows_it_judged() -> None:
    scores = score_run(
        ValidationResult.of(
            [
                _rule("big", "range", "error", S.PASSED, **_counts(900, 0)),
                _rule("small", "range", "error", S.FAILED, **_counts(100, 100)),
            ]
        )
    )
    assert scores.dimensions["validity"].score == 90.0  # 900 rows at 100, 100 rows at 0
    assert scores.dimensions["validity"].weight == 3000


def test_nulls_a_value_rule_skips_are_not_judged_by_it() -> None:
    scores = score_run(ValidationResult.of([_rule("r", "in_set", "error", S.FAILED, **_counts(100, 30, missing=40))]))
    assert scores.dimensions["validity"].score == 50.0  # 30 of the 60 non-null values are unexpected
    assert scores.dimensions["validity"].weight == 3 * 60


def test_a_dataset_rule_weighs_as_the_whole_dataset_and_scores_its_status() -> None:
    rules = [
        _rule("rows", "not_null", "error", S.PASSED, **_counts(5000, 0)),
        _rule("fresh", "freshness", "error", S.FAILED),
        _rule("schema", "schema_match", "error", S.PASSED, element_count=12, unexpected_count=0),
    ]
    scores = score_run(ValidationResult.of(rules))
    assert scores.dimensions["timeliness"] == scores.dimensions["timeliness"].model_copy(
        update={"score": 0.0, "rules": 1, "weight": 15000}
    )
    assert scores.dimensions["validity"].weight == 15000  # columns are not rows: N = 5,000, not 12
    assert scores.overall == pytest.approx(66.67)


def test_error_scores_zero_and_skipped_is_left_out() -> None:
    errored = score_run(ValidationResult.of([_rule("r", "range", "warning", S.ERROR, error="no column x")]))
    assert errored.dimensions["validity"].score == 0.0
    assert errored.dimensions["validity"].rules == 1
    assert errored.overall == 0.0
    counted = [
        _rule("rows", "not_null", "info", S.PASSED, **_counts(400, 0)),
        _rule("broken", "in_set", "error", S.ERROR, **_counts(10, 10), error="reference unreadable"),
    ]
    weights = {name: d.weight for name, d in score_run(ValidationResult.of(counted)).dimensions.items()}
    assert weights["validity"] == 3 * 400  # its counts are not trusted: it weighs as the whole dataset
    skipped = score_run(ValidationResult.of([_rule("r", "anomaly", "error", S.SKIPPED)]))
    assert skipped.overall is None
    assert all(d.score is None and d.rules == 0 for d in skipped.dimensions.values())


def test_a_row_rule_that_judged_no_row_is_left_out() -> None:
    rules = [
        _rule("empty_scope", "range", "error", S.PASSED, **_counts(0, 0)),
        _rule("all_null", "regex", "error", S.PASSED, **_counts(10, 0, missing=10)),
    ]
    assert score_run(ValidationResult.of(rules)).dimensions["validity"].score is None


def test_no_rule_no_score_and_every_dimension_is_listed_in_order() -> None:
    scores = score_run(ValidationResult.of([]))
    assert scores.overall is None
    assert list(scores.dimensions) == [
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "timeliness",
        "accuracy",
    ]


def test_every_rule_type_has_a_default_dimension() -> None:
    assert set(TYPE_DIMENSIONS) == {rule_type_name(t) for t in RULE_TYPES}
    assert set(METRIC_DIMENSIONS) == {m.value for m in OdcsMetric}
    assert set(SCORED_AS) == set(Dimension)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"type": "not_null"}, ScoredDimension.COMPLETENESS),
        ({"type": "not_null", "dimension": "accuracy"}, ScoredDimension.ACCURACY),  # authored wins
        ({"type": "type", "dimension": "conformity"}, ScoredDimension.VALIDITY),  # the contract's conversion checks
        ({"type": "row_count", "dimension": "coverage"}, ScoredDimension.COMPLETENESS),
        ({"type": "metric", "params": {"metric": "duplicateValues"}}, ScoredDimension.UNIQUENESS),
        ({"type": "metric", "params": {"metric": "nullValues"}}, ScoredDimension.COMPLETENESS),
        ({"type": "freshness"}, ScoredDimension.TIMELINESS),
        ({"type": "referential"}, ScoredDimension.CONSISTENCY),
        ({"type": "anomaly"}, ScoredDimension.ACCURACY),
    ],
)
def test_the_dimension_of_a_rule(fields: dict[str, Any], expected: ScoredDimension) -> None:
    assert dimension_of(RuleResult(rule_id="r", severity=Severity.ERROR, status=S.PASSED, **fields)) is expected


def test_run_result_build_scores_its_validation_and_round_trips() -> None:
    t0, t1 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC), datetime(2026, 1, 5, 6, 1, tzinfo=UTC)
    common: dict[str, Any] = {
        "run_id": "r-1",
        "tenant": "contoso",
        "environment": "dev",
        "started_at": t0,
        "finished_at": t1,
    }
    result = RunResult.build(**common, validation=WORKED_EXAMPLE)
    assert result.scores == score_run(WORKED_EXAMPLE)
    assert result.scores is not None and result.scores.overall == 78.07
    again = RunResult.model_validate_json(result.to_json())
    assert again.scores == result.scores
    assert isinstance(again.scores, QualityScores)
    assert RunResult.build(**common).scores is None  # no validation, no scores


def test_a_result_json_written_before_scores_still_reads() -> None:
    t0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    old = RunResult.build(run_id="r", tenant="t", environment="dev", started_at=t0, finished_at=t0)
    data = old.model_dump(mode="json")
    del data["scores"]
    assert RunResult.model_validate(data).scores is None


# --- the report's section -------------------------------------------------------------------------------


def _report(result: RunResult) -> str:
    return render_report(result)


def _built(**fields: Any) -> RunResult:
    t0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    return RunResult.build(run_id="r-1", tenant="contoso", environment="dev", started_at=t0, finished_at=t0, **fields)


def test_the_report_shows_the_scores_before_the_rules() -> None:
    html = _report(_built(validation=WORKED_EXAMPLE))
    assert html.index('id="scores"') < html.index('id="rules"')
    assert 'data-metric="score_overall" data-value="78.07">78.07<' in html
    assert '<tr data-dimension="consistency">' in html and 'data-value="72.24">72.24<' in html
    assert 'aria-label="consistency score 72.24"' in html  # its bar
    accuracy = html[html.index('<tr data-dimension="accuracy">') :]
    accuracy = accuracy[: accuracy.index("</tr>")]
    assert 'data-value=""' in accuracy and "no rule" in accuracy and "<svg" not in accuracy
    assert 'class="num score bad" data-field="score" data-value="0.0"' in html  # timeliness, in red


def test_the_report_scores_an_older_result_and_shows_none_without_a_validation() -> None:
    older = _built(validation=WORKED_EXAMPLE).model_copy(update={"scores": None})
    assert 'data-metric="score_overall" data-value="78.07"' in _report(older)
    stopped = _built(error=RunError(code="input_invalid", message="unreadable"))
    assert stopped.scores is None and 'id="scores"' not in _report(stopped)
