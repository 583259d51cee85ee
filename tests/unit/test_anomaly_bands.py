"""Anomaly bands that do not cry wolf: robust statistics, minimum widths, anomalies left out
of the history, level shifts learnt, weekday seasonality; pure, then through the engine."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dq_core.libraries.rules import AnomalyMethod, AnomalyParams, AnomalyRule
from dq_core.lineage.models import MetricPoint
from dq_core.validation.anomaly import (
    HistoryPoint,
    band_of,
    considered,
    history_limit,
    outside_their_bands,
    within,
)
from dq_core.validation.context import ValidationContext
from dq_core.validation.dataset import anomaly_finish
from dq_core.validation.engine import validate
from dq_core.validation.results import Band, RuleStatus
from tests.unit.validation_support import bundle_of, check

SUNDAY = datetime(2026, 11, 29, 12, tzinfo=UTC)
WEDNESDAY = SUNDAY + timedelta(days=3)


def rule(**params: Any) -> AnomalyRule:
    return AnomalyRule.model_validate({"type": "anomaly", "params": params})


def finish(value: float, history: list[Any], now: datetime | None = None, **params: Any) -> Any:
    return anomaly_finish(rule(**params), value, history, now)


def band(history: list[Any], now: datetime | None = None, **params: Any) -> Band:
    p = AnomalyParams(**params)
    return band_of(p, considered(p, history, now))


# --- σ = 0: identical row counts -------------------------------------------------------------


def test_identical_row_counts_one_row_fewer_is_normal_a_30_percent_drop_is_an_anomaly() -> None:
    history = [10_000.0] * 30
    one_fewer, drop = finish(9_999, history), finish(7_000, history)
    assert one_fewer.status is RuleStatus.PASSED
    assert drop.status is RuleStatus.FAILED
    assert one_fewer.band == drop.band
    b = one_fewer.band
    assert (b.center, b.spread, b.lower, b.upper) == (10_000.0, 0.0, 9_500.0, 10_500.0)  # 5% of the median
    assert "widened to ± 500, the minimum width" in b.method


@pytest.mark.parametrize("method", ["robust", "stddev"])
def test_a_constant_history_is_never_a_single_point_band(method: str) -> None:
    small = band([3.0] * 10, method=method)  # 5% of 3 is less than the absolute minimum of 1
    assert (small.lower, small.upper) == (2.0, 4.0)
    zero = band([0.0] * 10, method=method, max_change_percent=10)  # 10% of 0 is 0: the minimum still holds
    assert (zero.lower, zero.upper) == (-1.0, 1.0)
    assert finish(1.0, [0.0] * 10, method=method).status is RuleStatus.PASSED


def test_the_minimum_widths_are_parameters() -> None:
    history = [10_000.0] * 30
    assert finish(9_999, history, min_relative_width=0, min_absolute_width=0.5).status is RuleStatus.FAILED
    assert finish(9_000, history, min_relative_width=0.2).status is RuleStatus.PASSED
    with pytest.raises(ValidationError, match="greater than 0"):
        AnomalyParams(min_absolute_width=0)


# --- robust: an outlier does not widen the band ------------------------------------------------


def test_an_outlier_in_the_history_does_not_widen_the_robust_band() -> None:
    steady = [1000.0 + (i % 5) * 10 for i in range(20)]  # 1000..1040, median 1020
    with_outlier = [*steady[:10], 90_000.0, *steady[10:]]
    assert band(with_outlier).center == band(steady).center == 1020.0
    assert band(with_outlier).upper == pytest.approx(band(steady).upper, rel=0.01)
    assert finish(3_000, with_outlier).status is RuleStatus.FAILED
    classic = band(with_outlier, method="stddev")  # the mean and σ are dragged by the outlier
    assert classic.upper is not None and classic.upper > 50_000
    assert finish(3_000, with_outlier, method="stddev").status is RuleStatus.PASSED  # the wolf it then misses


def test_points_that_were_anomalies_are_left_out_of_the_band() -> None:
    steady = [HistoryPoint(1000.0 + (i % 5) * 10) for i in range(20)]
    outage = HistoryPoint(10.0, anomalous=True)
    history = [*steady[:15], outage, *steady[15:]]
    kept = band(history, method="stddev")
    assert kept == band(steady, method="stddev").model_copy(update={"excluded": 1, "method": kept.method})
    assert kept.points == 20 and "1 anomalous run left out" in kept.method
    assert band([*steady[:15], HistoryPoint(10.0), *steady[15:]], method="stddev").spread > kept.spread * 10


def test_too_few_normal_points_skip_the_rule_with_a_note() -> None:
    history = [HistoryPoint(100.0), HistoryPoint(101.0), HistoryPoint(5.0, anomalous=True), HistoryPoint(99.0)]
    skipped = finish(100, history, min_history=4)
    assert skipped.status is RuleStatus.SKIPPED and skipped.band is None
    assert skipped.note == "insufficient history: 3 of the 4 runs needed (1 anomalous left out)"
    assert finish(100, [100.0] * 4, min_history=5).note == "insufficient history: 4 of the 5 runs needed"


def test_the_window_counts_normal_runs_only() -> None:
    history = [HistoryPoint(float(v)) for v in range(100, 130)] + [HistoryPoint(1.0, anomalous=True)] * 3
    window = considered(AnomalyParams(window=5), history, None)
    assert window.values == [125.0, 126.0, 127.0, 128.0, 129.0] and window.excluded == 3


def test_a_lasting_change_is_learnt_after_min_history_anomalies_in_a_row() -> None:
    before = [HistoryPoint(1000.0)] * 20
    shifted = [HistoryPoint(2000.0, anomalous=True)] * 4
    assert finish(2000, [*before, *shifted], min_history=5).status is RuleStatus.FAILED
    learnt = [*before, *shifted, HistoryPoint(2000.0, anomalous=True)]  # the fifth in a row
    assert finish(2000, learnt, min_history=5).status is RuleStatus.PASSED
    later = [*learnt, HistoryPoint(2010.0), HistoryPoint(1990.0)]  # normal at the new level
    result = finish(2000, later, min_history=5)
    assert result.status is RuleStatus.PASSED and result.band.center == 2000.0
    assert finish(1000, later, min_history=5).status is RuleStatus.FAILED  # the old level is forgotten


def test_max_change_percent_also_bounds_the_change_from_the_last_run() -> None:
    history = [100.0, 200.0, 300.0, 400.0, 500.0]
    b = band(history, max_change_percent=10)
    assert (b.lower, b.upper) == (450.0, 550.0)
    assert "within 10% of the last run (500)" in b.method


# --- weekday seasonality ------------------------------------------------------------------


def weekly(weeks: int, until: datetime) -> list[HistoryPoint]:
    """Daily runs at noon before ``until``: 1000 rows on weekdays, 200 on weekends."""
    days = [until - timedelta(days=n) for n in range(weeks * 7, 0, -1)]
    return [HistoryPoint(200.0 if day.weekday() >= 5 else 1000.0, at=day) for day in days]


def test_weekday_seasonality_a_low_sunday_is_normal_the_same_value_on_a_wednesday_is_not() -> None:
    history = weekly(8, SUNDAY)
    sunday = finish(210, history, SUNDAY, seasonality="weekday")
    assert sunday.status is RuleStatus.PASSED
    assert sunday.band.weekday == "Sunday" and sunday.band.center == 200.0 and sunday.band.points == 8
    assert "of the last 8 runs on a Sunday" in sunday.band.method
    wednesday = finish(210, weekly(8, WEDNESDAY), WEDNESDAY, seasonality="weekday")
    assert wednesday.status is RuleStatus.FAILED and wednesday.band.weekday == "Wednesday"
    assert finish(1000, weekly(8, WEDNESDAY), WEDNESDAY, seasonality="weekday").status is RuleStatus.PASSED
    assert finish(210, history, SUNDAY).status is RuleStatus.FAILED  # without seasonality a Sunday is odd


def test_seasonality_falls_back_to_every_day_until_min_history_same_weekdays() -> None:
    history = weekly(3, SUNDAY)  # three earlier Sundays: fewer than min_history
    fallback = finish(1000, history, SUNDAY, seasonality="weekday", min_history=5)
    assert fallback.status is RuleStatus.PASSED and fallback.band.weekday is None and fallback.band.points == 20
    assert finish(1000, [1000.0] * 10, SUNDAY, seasonality="weekday").band.weekday is None  # no dates known


def test_a_weekday_that_was_always_flagged_is_learnt_after_min_history_of_them() -> None:
    flagged = [replace(p, anomalous=p.value == 200.0) for p in weekly(8, SUNDAY)]
    sunday = finish(210, flagged, SUNDAY, seasonality="weekday")  # eight anomalous Sundays in a row
    assert sunday.status is RuleStatus.PASSED and sunday.band.weekday == "Sunday"
    not_yet = finish(210, flagged[:-7], SUNDAY - timedelta(days=7), seasonality="weekday", min_history=8)
    assert not_yet.status is RuleStatus.FAILED and not_yet.band.weekday is None  # 7 of 8: still every day


def test_a_seasonal_rule_still_learning_its_weekday_does_not_mark_the_run() -> None:
    learning = bundle_of(check("anomaly", rule_id="weekly", params={"seasonality": "weekday"}))
    ctx = ValidationContext(now=SUNDAY, history={"row_count": weekly(3, SUNDAY)})  # three Sundays: too few
    result = validate(pl.DataFrame({"n": list(range(200))}), learning, ctx)
    assert result.rules[0].status is RuleStatus.FAILED and result.rules[0].band.weekday is None
    assert outside_their_bands(result) == set()  # compared with every day: the Sunday stays in the history
    learnt = ValidationContext(now=SUNDAY, history={"row_count": weekly(8, SUNDAY)})
    assert outside_their_bands(validate(pl.DataFrame({"n": list(range(2000))}), learning, learnt)) == {"row_count"}


def test_the_weekday_is_read_in_the_rules_time_zone() -> None:
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Sunday in UTC, Monday 00:30 in Paris
    history = [HistoryPoint(float(i), at=late - timedelta(days=7 * i)) for i in range(1, 6)]
    assert considered(AnomalyParams(seasonality="weekday"), history, late).weekday == "Sunday"
    paris = AnomalyParams(seasonality="weekday", timezone="Europe/Paris")
    assert considered(paris, history, late).weekday == "Monday"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        AnomalyParams(timezone="Mars/Olympus")


def test_history_read_for_a_rule_covers_its_window() -> None:
    assert history_limit(AnomalyParams()) == 50
    assert history_limit(AnomalyParams(window=30)) == 60
    assert history_limit(AnomalyParams(seasonality="weekday")) == 280


# --- properties --------------------------------------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(finite, min_size=5, max_size=40),
    method=st.sampled_from(list(AnomalyMethod)),
    k=st.floats(min_value=0.1, max_value=10),
    relative=st.floats(min_value=0, max_value=1),
    absolute=st.floats(min_value=1e-3, max_value=1e3),
)
def test_the_band_contains_its_center_and_is_at_least_as_wide_as_the_minimums(
    values: list[float], method: AnomalyMethod, k: float, relative: float, absolute: float
) -> None:
    params = AnomalyParams(
        method=method, z_score=k, min_relative_width=relative, min_absolute_width=absolute, window=40
    )
    b = band_of(params, considered(params, values, None))
    assert b.lower is not None and b.upper is not None and b.center is not None
    assert b.lower <= b.center <= b.upper
    minimum = max(relative * abs(b.center), absolute)
    assert b.center - b.lower >= minimum * (1 - 1e-9) and b.upper - b.center >= minimum * (1 - 1e-9)
    median = statistics.median(values)
    if method is AnomalyMethod.ROBUST:
        assert b.center == median
    if method is AnomalyMethod.ROBUST or k >= 1:  # |mean - median| <= σ
        assert within(b, median) or abs(median - b.center) <= 1e-9 * max(1.0, abs(median))


# --- through the engine ----------------------------------------------------------------------


def test_through_the_engine_identical_row_counts_and_a_30_percent_drop() -> None:
    bundle = bundle_of(check("anomaly", rule_id="volume", params={"metric": "row_count"}))
    history = {"row_count": [1000.0] * 20}
    ctx = ValidationContext(now=SUNDAY, history=history)
    for rows, status in ((999, RuleStatus.PASSED), (700, RuleStatus.FAILED), (1049, RuleStatus.PASSED)):
        result = validate(pl.DataFrame({"n": list(range(rows))}), bundle, ctx).rules[0]
        assert (result.status, result.observed_value) == (status, float(rows))
        assert result.band is not None and (result.band.lower, result.band.upper) == (950.0, 1050.0)
        assert result.params["method"] == "robust" and result.metric == "row_count"


def test_through_the_engine_with_dated_points_and_seasonality() -> None:
    bundle = bundle_of(
        check("anomaly", rule_id="volume", params={"metric": "row_count", "seasonality": "weekday"}),
    )
    frame = pl.DataFrame({"n": list(range(200))})
    sunday = validate(frame, bundle, ValidationContext(now=SUNDAY, history={"row_count": weekly(8, SUNDAY)}))
    wednesday = validate(frame, bundle, ValidationContext(now=WEDNESDAY, history={"row_count": weekly(8, WEDNESDAY)}))
    assert sunday.rules[0].status is RuleStatus.PASSED
    assert wednesday.rules[0].status is RuleStatus.FAILED
    assert wednesday.rules[0].band is not None and wednesday.rules[0].band.weekday == "Wednesday"


def test_a_run_is_recorded_anomalous_only_when_every_rule_that_judged_it_failed() -> None:
    bundle = bundle_of(
        check("anomaly", rule_id="flat", params={"metric": "row_count"}),
        check("anomaly", rule_id="weekly", params={"metric": "row_count", "seasonality": "weekday"}),
        check("anomaly", ["s"], "nulls", params={"metric": "null_percent", "min_history": 30}),
    )
    history = {"row_count": weekly(8, SUNDAY), "null_percent:s": [0.0] * 10}
    ctx = ValidationContext(now=SUNDAY, history=history)
    quiet_sunday = validate(pl.DataFrame({"s": ["a"] * 200}), bundle, ctx)
    rules = quiet_sunday.by_id()
    assert (rules["flat"].status, rules["weekly"].status) == (RuleStatus.FAILED, RuleStatus.PASSED)
    assert rules["nulls"].status is RuleStatus.SKIPPED  # did not judge
    assert outside_their_bands(quiet_sunday) == set()
    outage = validate(pl.DataFrame({"s": [None] * 20}), bundle, ctx)
    assert outside_their_bands(outage) == {"row_count"}


# --- authored files and stored points from before -------------------------------------------------


def test_rules_authored_before_keep_loading_and_old_metric_points_count_as_normal() -> None:
    old = AnomalyParams.model_validate({"metric": "row_count", "window": 10, "z_score": 2.5, "min_history": 3})
    assert (old.method, old.seasonality, old.min_relative_width, old.min_absolute_width) == ("robust", "none", 0.05, 1)
    stored = '{"tenant":"t","key":"c/d/row_count","at":"2026-11-01T08:00:00Z","value":3.0,"run_id":"r1"}'
    assert MetricPoint.model_validate_json(stored).anomalous is False
