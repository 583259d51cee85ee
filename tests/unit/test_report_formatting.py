"""How the report writes values and rules: counts, percents, durations, timestamps, JSON,
years; the observed value and the threshold or band beside it; the bars of histograms and
top values; the cleansing steps by their own type."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dq_core.cleansing.engine import CleansingReport, StepMetrics
from dq_core.config.base import Severity
from dq_core.profiling.models import Bin, ColumnKind, ColumnProfile, Count, ProfileResult
from dq_core.reporting import ReportGovernance, charts, render_report
from dq_core.reporting import formatting as fmt
from dq_core.reporting.histograms import bars_of
from dq_core.reporting.observations import expected, observed, plain_for
from dq_core.reporting.render import step_type
from dq_core.validation.results import Band, RuleResult, RuleStatus
from tests.unit.test_report import _result


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (336776, {}, "336,776"),
        (1959.0, {}, "1,959"),
        (1959.0, {"plain": True}, "1959"),
        (1e20, {}, "100,000,000,000,000,000,000"),
        (13415.266, {}, "13,415"),
        (13415.266, {"exact": True}, "13,415.266"),
        (1000.4, {"exact": True}, "1,000.4"),
        (105.13, {}, "105.1"),
        (0.12, {}, "0.12"),
        (0.000123, {}, "0.000123"),
        (-8.79, {}, "-8.79"),
        (-12345.5, {"exact": True}, "-12,345.5"),
        (1.5e-9, {}, "1.500e-09"),
        (float("nan"), {}, "NaN"),
        (float("inf"), {}, "∞"),
        (None, {}, "—"),
    ],
)
def test_numbers_are_positional_and_integers_never_scientific(value: Any, kwargs: dict[str, Any], text: str) -> None:
    assert fmt.number(value, **kwargs) == text


def test_no_integer_is_ever_written_in_scientific_notation() -> None:
    for exponent in range(16):
        for value in (10**exponent, float(10**exponent), 7 * 10**exponent, -(10**exponent)):
            written = fmt.number(value)
            assert not re.search(r"\de[+-]?\d", written), (value, written)
            assert int(written.replace(",", "")) == value
            assert fmt.count(value) == written


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (15.384615, "15.38%"),
        (0, "0%"),
        (0.0, "0%"),
        (100.0, "100%"),
        (5.000000000000004, "5%"),
        (5.5, "5.5%"),
        (0.004, "< 0.01%"),
        (99.996, "> 99.99%"),
        (None, "—"),
    ],
)
def test_percents(value: float | None, text: str) -> None:
    assert fmt.percent(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.045, "45 ms"),
        (1.5, "1.5 s"),
        (59.0, "59 s"),
        (185, "3 min 5 s"),
        (7830, "2 h 10 min"),
        (108000.0, "1 d 6 h"),
        (86400, "1 d"),
        (-3600, "−1 h"),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_iso_durations_and_timestamps() -> None:
    assert fmt.iso_duration("PT36H") == "1 d 12 h"
    assert fmt.iso_duration("P1D") == "1 d"
    assert fmt.iso_duration("PT90M") == "1 h 30 min"
    assert fmt.iso_duration("soon") == "soon"
    assert fmt.timestamp("2026-11-20T08:00:00") == "2026-11-20 08:00"
    assert fmt.timestamp("2026-11-20T13:47:18.461538") == "2026-11-20 13:47:18"
    assert fmt.timestamp("2026-11-20T10:00:00+02:00") == "2026-11-20 08:00 UTC"
    assert fmt.timestamp("2026-11-20T08:00:00Z") == "2026-11-20 08:00 UTC"
    assert fmt.timestamp("2026-11-20") == "2026-11-20"
    assert fmt.timestamp("not a time") == "not a time"


def test_json_is_written_as_readable_lists() -> None:
    assert fmt.value(["a", "b", 3]) == "a, b, 3"
    assert fmt.value([]) == "none"
    assert fmt.value({"missing": ["depth"], "type_mismatches": []}) == "missing: depth; type mismatches: none"
    assert fmt.parts({"latest": "2026-11-24T06:00:00", "age_seconds": 108000.0}) == [
        ("latest", "2026-11-24 06:00"),
        ("age", "1 d 6 h"),
    ]
    assert fmt.value({"a": {"b": 1}}) == "a: b: 1"


def test_year_rule() -> None:
    assert fmt.year_like("year", 1, 9)  # the name says so
    assert fmt.year_like("Fiscal_Year", 19, 25)
    assert fmt.year_like("built", 1870, 2024)  # the values say so
    assert not fmt.year_like("built", 1870, 3024)
    assert not fmt.year_like("amount", 12, 2024)
    assert not fmt.year_like("built", 1870.5, 2024)
    assert not fmt.year_like("year", 1950, 2024, integers=False)


# --- observed and expected ----------------------------------------------------------------


def _rule(rule_type: str, observed_value: Any, params: dict[str, Any] | None = None, **fields: Any) -> RuleResult:
    base: dict[str, Any] = {
        "rule_id": "r",
        "type": rule_type,
        "columns": ("c",),
        "severity": Severity.ERROR,
        "status": RuleStatus.PASSED,
        "observed_value": observed_value,
        "params": params or {},
    }
    return RuleResult.model_validate(base | fields)


def test_row_local_rules_observe_a_percent_and_expect_mostly_with_their_condition() -> None:
    rule = _rule("range", 7.6923, {"min": 1950.0, "max": 2020.0, "min_inclusive": True, "max_inclusive": False})
    assert observed(rule) == observed(rule)  # frozen, comparable
    shown = observed(rule)
    assert (shown.kind, shown.text, shown.note) == ("percent", "7.69%", "unexpected")
    allowed = expected(rule, plain=True)
    assert allowed.text == "0% unexpected"
    assert allowed.note == "1950 ≤ c < 2020"
    assert expected(rule).note == "1,950 ≤ c < 2,020"  # not a year column: separators
    mostly = _rule("in_set", 15.38, {"values": ["retail", "business"]}, mostly=0.98)
    assert expected(mostly).text == "≤ 2% unexpected"
    assert expected(mostly).note == "c in {retail, business}"
    comparison = _rule("column_comparison", 0.0, {"left": "a", "op": "<=", "right": "b"}, columns=())
    assert expected(comparison).note == "a ≤ b"


def test_threshold_rules_show_their_operators_in_the_unit_of_the_observation() -> None:
    volume = _rule("row_count", 336776, {"threshold": {"must_be_between": [5.0, 1000000.0]}})
    assert observed(volume).text == "336,776" and observed(volume).kind == "count"
    assert expected(volume).text == "between 5 and 1,000,000 rows"
    nulls = _rule("metric", 7.69, {"metric": "nullValues", "unit": "percent", "threshold": {"mustBeLessThan": 10}})
    assert (observed(nulls).text, expected(nulls).text) == ("7.69%", "< 10% nulls")
    sql = _rule("custom_sql", 7221.17, {"query": "q", "threshold": {"must_be_greater_than": 1e6, "must_not_be": 3}})
    assert (observed(sql).text, expected(sql).text) == ("7,221", "≠ 3 and > 1,000,000")
    mean_year = _rule("column_statistic", 1987.0, {"statistic": "mean", "threshold": {"must_be": 1990}})
    assert observed(mean_year, plain=True).text == "1987"
    assert expected(mean_year, plain=True).text == "= 1990 mean"


def test_freshness_schema_and_columns_are_never_raw_json() -> None:
    fresh = _rule("freshness", {"latest": "2026-11-24T06:00:00", "age_seconds": 108000.0}, {"max_age": "PT36H"})
    assert (observed(fresh).text, observed(fresh).note) == ("1 d 6 h", "old: newest 2026-11-24 06:00")
    assert expected(fresh).text == "≤ 1 d 12 h"
    schema = _rule("schema_match", {"missing": [], "unexpected": ["x", "y"], "type_mismatches": []})
    assert observed(schema).parts == (("unexpected", "x, y"),)
    clean = _rule("schema_match", {"missing": [], "unexpected": [], "type_mismatches": []})
    assert (observed(clean).text, observed(clean).note) == ("none", "missing, unexpected, type mismatches")
    present = _rule("columns_present", {"missing": ["depth"]}, {"columns": ["a", "depth"]})
    assert observed(present).parts == (("missing", "depth"),)
    assert expected(present).text == "present: a, depth"
    for shown in (observed(fresh), observed(schema), observed(clean), observed(present)):
        assert not {"{", "[", '"'} & set(shown.text + shown.note + str(shown.parts))


def test_anomaly_band_and_drift_limit() -> None:
    band = Band(lower=1140.0, upper=1260.0, method="median ± 3 MAD")
    rule = _rule("anomaly", 1200.0, {"metric": "row_count"}, band=band)
    assert observed(rule).text == "1,200"
    assert (expected(rule).text, expected(rule).note) == ("1,140 – 1,260", "median ± 3 MAD")
    nulls = _rule("anomaly", 2.5, {"metric": "null_percent"}, band=Band(lower=None, upper=4.0, method="m"))
    assert (observed(nulls).text, expected(nulls).text) == ("2.5%", "≤ 4%")
    young = _rule("anomaly", 1200.0, {"metric": "row_count"}, status=RuleStatus.SKIPPED)
    assert (expected(young).text, expected(young).note) == ("no band yet", "too little history")
    drift = _rule("distribution_drift", 0.034, {"method": "psi", "max_drift": 0.2})
    assert (observed(drift).text, expected(drift).text) == ("0.034", "≤ 0.2")


def test_year_columns_come_from_the_profile_or_from_the_rule() -> None:
    rule = _rule("range", 1.0, {"min": 1950.0, "max": 2020.0})
    assert plain_for(rule, years={"c"})
    assert plain_for(rule, years=set())  # no profile of c: its bounds look like years
    assert not plain_for(rule, years=set(), profiled={"c"})  # the profile says c is no year column
    assert not plain_for(_rule("range", 1.0, {"min": 0, "max": 5000}), years=set())


# --- histograms and top values ------------------------------------------------------------


def _numeric(name: str, dtype: str, low: float, high: float, **fields: Any) -> ColumnProfile:
    base: dict[str, Any] = {
        "name": name,
        "kind": ColumnKind.NUMERIC,
        "dtype": dtype,
        "row_count": 100,
        "null_count": 0,
        "null_percent": 0.0,
        "distinct_count": 1,
        "distinct_exact": True,
        "min": low,
        "max": high,
    }
    return ColumnProfile.model_validate(base | fields)


def _equal_bins(low: float, high: float, counts: list[float]) -> list[Bin]:
    width = (high - low) / len(counts) if high > low else 1.0
    return [Bin(lower=low + width * i, upper=low + width * (i + 1), count=c) for i, c in enumerate(counts)]


def test_a_constant_column_is_one_bar() -> None:
    column = _numeric("version", "Int64", 3, 3, histogram=_equal_bins(3, 3, [100.0] + [0.0] * 19))
    drawn = bars_of(column, str)
    assert drawn is not None and len(drawn.bars) == 1 and drawn.bars[0].rows == 100
    svg = charts.histogram(drawn, "h")
    assert svg.count('class="bar"') == 1 and ">3</text>" in svg


def test_small_integer_ranges_get_one_bar_per_value() -> None:
    counts = [Count(value=v, count=25, percent=25.0) for v in (1, 2, 4)]  # no 3 in the data
    column = _numeric("quarter", "Int64", 1, 4, histogram=_equal_bins(1, 4, [25.0] + [0.0] * 18 + [25.0]))
    column = column.model_copy(update={"value_counts": counts})
    drawn = bars_of(column, str)
    assert drawn is not None and drawn.ticks
    assert [(b.label, b.rows) for b in drawn.bars] == [("1", 25), ("2", 25), ("3", 0), ("4", 25)]
    assert {b.end - b.start for b in drawn.bars} == {1.0}


def test_wide_integer_ranges_with_counts_get_whole_number_widths() -> None:
    counts = [Count(value=v, count=1, percent=1.0) for v in range(1950, 1995)]  # 45 values
    column = _numeric("built", "Int64", 1950, 1994, value_counts=counts, histogram=_equal_bins(1950, 1994, [1] * 20))
    drawn = bars_of(column, str)
    assert drawn is not None
    widths = {b.end - b.start for b in drawn.bars}
    assert widths == {3.0} and drawn.bars[0].label == "1950 – 1952" and sum(b.rows for b in drawn.bars) == 45


def test_integer_bins_without_counts_are_drawn_over_their_whole_numbers() -> None:
    # 1950..2024 in 20 bins of 3.7: each bin holds 3 or 4 years, 16 rows a year
    years = list(range(1950, 2025))
    bins = _equal_bins(1950, 2024, [0.0] * 20)
    filled = []
    for i, b in enumerate(bins):
        low, high = float(b.lower), float(b.upper)  # type: ignore[arg-type]
        inside = [y for y in years if low <= y < high or (i == 19 and y == high)]
        filled.append(b.model_copy(update={"count": 16.0 * len(inside)}))
    column = _numeric("year", "Int64", 1950, 2024, histogram=filled)
    drawn = bars_of(column, str)
    assert drawn is not None
    assert sorted({b.rows for b in drawn.bars}) == [48.0, 64.0]  # stored counts zig-zag
    assert {round(b.height, 9) for b in drawn.bars} == {16.0}  # drawn per year: flat
    assert drawn.bars[0].start == 1949.5 and drawn.bars[-1].end == 2024.5
    assert (drawn.low, drawn.high) == ("1950", "2024")


def test_float_columns_keep_their_stored_bins() -> None:
    column = _numeric("flow", "Float64", 0.5, 10.5, histogram=_equal_bins(0.5, 10.5, [1.0] * 20))
    drawn = bars_of(column, fmt.value)
    assert drawn is not None and len(drawn.bars) == 20 and (drawn.low, drawn.high) == ("0.5", "10.5")


def test_top_values_show_every_stored_value_in_a_grid() -> None:
    counts = [Count(value=f"value {i}" + "x" * (i * 5), count=40 - i, percent=1.0) for i in range(31)]
    counts.append(Count(value=None, count=1, percent=0.1))
    html = charts.top_values(counts, "top values of c", str)
    assert html.count('class="tv-label') == html.count('class="bar"') == 32
    assert 'data-values="32"' in html
    assert 'title="value 30' + "x" * 150 in html  # the whole value in the tooltip


def test_profile_cards_write_years_without_separators() -> None:
    counts = [Count(value=y, count=1, percent=25.0) for y in (2012, 2013, 2014, 2015)]
    year = _numeric(
        "season", "Int64", 2012, 2015, mean=2013.5, value_counts=counts, histogram=_equal_bins(2012, 2015, [1.0] * 20)
    )
    big = _numeric("amount", "Int64", 0, 1_500_000, mean=12345.6789, histogram=_equal_bins(0, 1_500_000, [5.0] * 20))
    html = render_report(
        _result([]), profile=ProfileResult(row_count=4, columns=[year, big]), governance=ReportGovernance()
    )
    card = html[html.index('data-column="season"') : html.index('data-column="amount"')]
    assert 'data-stat="min">2012<' in card and 'data-stat="mean">2013.5<' in card
    assert "2,01" not in card
    other = html[html.index('data-column="amount"') :]
    assert 'data-stat="max">1,500,000<' in other and 'data-stat="mean">12,346<' in other
    assert "e+" not in html


def test_cleansing_steps_are_named_by_their_own_type() -> None:
    old = StepMetrics(step="reject_formulas", type="conform_types", rows_in=1, rows_out=1)
    assert step_type(old) == "reject_formulas"  # results written before the engine named it
    assert step_type(StepMetrics(step="03_email", type="email", rows_in=1, rows_out=1)) == "email"
    cleansing = CleansingReport(
        rows_in=2, rows_out=1, rows_rejected=1, duplicates_removed=0, steps=[old], reject_reasons={"reject_formulas": 1}
    )
    html = render_report(_result([], cleansing=cleansing))
    assert '<td data-field="step_type">reject_formulas</td>' in html
    assert "conform_types" not in html
