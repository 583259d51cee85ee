"""Every rule type: pass, fail, nulls, empty data, mostly, and counts that agree with
an independent plain-Python computation on generated data."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.libraries.rules import RULE_TYPES, rule_type_name
from dq_core.validation.context import ValidationContext
from dq_core.validation.dataset import DATASET_EXPRESSIONS
from dq_core.validation.engine import validate
from dq_core.validation.results import RuleStatus
from dq_core.validation.rowlocal import ROW_LOCAL
from dq_core.validation.special import SPECIAL
from tests.unit.validation_support import COLUMNS, bundle_of, check

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
SCHEMA = {"n": pl.Int64, "x": pl.Float64, "s": pl.String, "code": pl.String, "d": pl.Date, "d2": pl.Date}
Row = dict[str, Any]


def frame(rows: list[Row]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA)


def run(rows: list[Row], *bindings: dict[str, Any], **context: Any) -> Any:
    result = validate(frame(rows), bundle_of(*bindings), ValidationContext(now=NOW, **context))
    return result.rules[0] if len(result.rules) == 1 else result


def test_every_rule_type_has_exactly_one_implementation() -> None:
    names = [rule_type_name(model) for model in RULE_TYPES]
    registries = [set(ROW_LOCAL), set(DATASET_EXPRESSIONS), set(SPECIAL)]
    for name in names:
        assert sum(name in registry for registry in registries) == 1, name
    assert set().union(*registries) == set(names)


# --- value rules with plain-Python oracles ------------------------------------------------


@dataclass(frozen=True)
class Case:
    binding: dict[str, Any]
    fails: Callable[[Row], bool | None]  # True fails, False passes, None: not evaluated (null)


def _when(column: str, test: Callable[[Any], bool]) -> Callable[[Row], bool | None]:
    return lambda row: None if row[column] is None else test(row[column])


def _int_text(value: str) -> bool:
    try:
        int(value.strip())
    except ValueError:
        return False
    return True


def _iso_date(value: str) -> bool:
    try:
        datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        return False
    return True


CODES = ["a", "b", "c"]
CASES: dict[str, Case] = {
    "not_null": Case(check("not_null", ["s"]), lambda row: row["s"] is None),
    "in_set": Case(
        check("in_set", ["code"], params={"values": ["a", "b"]}), _when("code", lambda v: v not in {"a", "b"})
    ),
    "not_in_set": Case(check("not_in_set", ["code"], params={"values": ["a"]}), _when("code", lambda v: v == "a")),
    "regex": Case(
        check("regex", ["s"], params={"pattern": "^[a-c]+$"}), _when("s", lambda v: not re.search("^[a-c]+$", v))
    ),
    "not_regex": Case(check("not_regex", ["s"], params={"pattern": "b"}), _when("s", lambda v: "b" in v)),
    "range": Case(
        check("range", ["x"], params={"min": 0, "max": 10, "max_inclusive": False}),
        _when("x", lambda v: v < 0 or v >= 10),
    ),
    "length": Case(check("length", ["s"], params={"min": 2, "max": 4}), _when("s", lambda v: not 2 <= len(v) <= 4)),
    "type": Case(check("type", ["s"], params={"logical_type": "integer"}), _when("s", lambda v: not _int_text(v))),
    "date_parseable": Case(
        check("date_parseable", ["s"], params={"formats": ["%Y-%m-%d"]}), _when("s", lambda v: not _iso_date(v))
    ),
    "not_future": Case(check("not_future", ["d"]), _when("d", lambda v: v > TODAY)),
    "date_range": Case(
        check("date_range", ["d"], params={"min": "2020-01-01", "max": "2025-12-31"}),
        _when("d", lambda v: not date(2020, 1, 1) <= v <= date(2025, 12, 31)),
    ),
    "column_comparison": Case(
        check("column_comparison", params={"left": "d", "op": "<", "right": "d2"}),
        lambda row: None if row["d"] is None or row["d2"] is None else not row["d"] < row["d2"],
    ),
    "row_expression": Case(
        check("row_expression", params={"expression": "n > 2"}), lambda row: row["n"] is not None and row["n"] <= 2
    ),
    "referential": Case(
        check("referential", ["code"], params={"reference_dataset": "codes", "reference_column": "code"}),
        _when("code", lambda v: v not in CODES),
    ),
}
EXTRA_CONTEXT: dict[str, dict[str, Any]] = {"referential": {"reference_data": {"codes": pl.Series(CODES)}}}

texts = st.one_of(
    st.none(), st.text(alphabet="abcd-0123 ", max_size=6), st.sampled_from(["2024-02-30", "2023-07-01", " 12 ", "-3"])
)
dates = st.one_of(st.none(), st.dates(min_value=date(2018, 1, 1), max_value=date(2028, 12, 31)))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.one_of(st.none(), st.integers(-5, 10)),
            "x": st.one_of(st.none(), st.floats(-5, 15, allow_nan=False)),
            "s": texts,
            "code": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "A"])),
            "d": dates,
            "d2": dates,
        }
    ),
    max_size=40,
)


def _expected(case: Case, rows: list[Row]) -> tuple[int, int]:
    verdicts = [case.fails(row) for row in rows]
    return sum(v is True for v in verdicts), sum(v is None for v in verdicts)


@pytest.mark.parametrize("rule_type", sorted(CASES))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_counts_agree_with_plain_python(rule_type: str, rows: list[Row]) -> None:
    case = CASES[rule_type]
    result = run(rows, case.binding, **EXTRA_CONTEXT.get(rule_type, {}))
    unexpected, not_evaluated = _expected(case, rows)
    assert result.status is not RuleStatus.ERROR, result.error
    assert result.element_count == len(rows)
    assert result.unexpected_count == unexpected
    if rule_type not in ("not_null", "row_expression"):
        assert result.missing_count == not_evaluated
    assert result.status is (RuleStatus.PASSED if unexpected == 0 else RuleStatus.FAILED)
    failing_rows = [i for i, row in enumerate(rows) if case.fails(row) is True]
    assert [sample.row for sample in result.unexpected_samples] == failing_rows[:20]


@pytest.mark.parametrize("rule_type", sorted(CASES))
def test_empty_dataset_passes_with_nothing_evaluated(rule_type: str) -> None:
    result = run([], CASES[rule_type].binding, **EXTRA_CONTEXT.get(rule_type, {}))
    assert (result.status, result.element_count, result.unexpected_count) == (RuleStatus.PASSED, 0, 0)
    assert result.unexpected_percent is None


def test_nulls_are_not_values_except_for_not_null() -> None:
    rows = [{"n": None, "x": None, "s": None, "code": None, "d": None, "d2": None}] * 3
    assert run(rows, CASES["regex"].binding).status is RuleStatus.PASSED
    assert run(rows, CASES["regex"].binding).missing_count == 3
    assert run(rows, CASES["not_null"].binding).unexpected_count == 3


@pytest.mark.parametrize(
    ("mostly", "status"), [(0.7, RuleStatus.PASSED), (0.75, RuleStatus.PASSED), (0.8, RuleStatus.FAILED)]
)
def test_mostly_is_the_fraction_of_non_null_values_that_must_pass(mostly: float, status: RuleStatus) -> None:
    rows = [{"code": c, "n": None, "x": None, "s": None, "d": None, "d2": None} for c in ["a", "a", "a", "d", None]]
    binding = check("in_set", ["code"], params={"values": ["a"]}, mostly=mostly)
    result = run(rows, binding)
    assert (result.unexpected_count, result.unexpected_percent, result.status) == (1, 25.0, status)


def test_where_limits_every_kind_of_rule() -> None:
    rows = [{"n": i, "x": float(i), "s": "b", "code": "d" if i < 3 else "a", "d": None, "d2": None} for i in range(6)]
    where = "n >= 3"
    results = run(
        rows,
        check("in_set", ["code"], "set", params={"values": ["a"]}, where=where),
        check("unique", ["s"], "uniq", where="n = 5"),
        check("row_count", rule_id="count", params={"threshold": {"must_be": 3}}, where=where),
        check(
            "metric",
            ["code"],
            "odcs",
            params={"metric": "invalidValues", "valid_values": ["a"], "threshold": {"must_be": 0}},
            where=where,
        ),
    ).by_id()
    assert results["set"].element_count == 3 and results["set"].status is RuleStatus.PASSED
    assert results["uniq"].status is RuleStatus.PASSED
    assert results["count"].observed_value == 3
    assert results["odcs"].status is RuleStatus.PASSED


# --- dataset rules ------------------------------------------------------------------------


def _rows(**columns: list[Any]) -> list[Row]:
    size = len(next(iter(columns.values())))
    base: Row = {"n": None, "x": None, "s": None, "code": None, "d": None, "d2": None}
    return [{**base, **{name: values[i] for name, values in columns.items()}} for i in range(size)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=30),
    st.lists(st.sampled_from(["a", "b", None]), max_size=30),
)
def test_unique_and_compound_unique_agree_with_counter(ns: list[int | None], codes: list[str | None]) -> None:
    size = min(len(ns), len(codes))
    rows = _rows(n=ns[:size], code=codes[:size])
    result = run(rows, check("unique", ["n"], "u"), check("compound_unique", ["n", "code"], "cu"))
    by_id = result.by_id() if hasattr(result, "by_id") else {"u": result}
    singles = Counter(n for n in ns[:size] if n is not None)
    assert by_id["u"].unexpected_count == sum(c for c in singles.values() if c > 1)
    pairs = Counter((r["n"], r["code"]) for r in rows if r["n"] is not None and r["code"] is not None)
    assert by_id["cu"].unexpected_count == sum(c for c in pairs.values() if c > 1)
    assert by_id["cu"].missing_count == sum(1 for r in rows if r["n"] is None or r["code"] is None)


def test_row_count_and_statistics_against_thresholds() -> None:
    rows = _rows(x=[1.0, 2.0, 3.0, None])
    results = run(
        rows,
        check("row_count", rule_id="rc", params={"threshold": {"must_be_between": [1, 3]}}),
        check("column_statistic", ["x"], "mean", params={"statistic": "mean", "threshold": {"must_be": 2}}),
        check(
            "column_statistic",
            ["x"],
            "nulls",
            params={"statistic": "null_percent", "threshold": {"must_be_less_than": 20}},
        ),
        check(
            "column_statistic", ["x"], "distinct", params={"statistic": "distinct_count", "threshold": {"must_be": 3}}
        ),
    ).by_id()
    assert (results["rc"].observed_value, results["rc"].status) == (4, RuleStatus.FAILED)
    assert (results["mean"].observed_value, results["mean"].status) == (2.0, RuleStatus.PASSED)
    assert (results["nulls"].observed_value, results["nulls"].status) == (25.0, RuleStatus.FAILED)
    assert results["distinct"].status is RuleStatus.PASSED


def test_freshness_uses_the_run_clock() -> None:
    rows = _rows(d=[date(2026, 11, 20), date(2026, 11, 24)])
    fresh = run(rows, check("freshness", rule_id="f", params={"column": "d", "max_age": "P2D"}))
    stale = run(rows, check("freshness", rule_id="f", params={"column": "d", "max_age": "PT12H"}))
    assert fresh.status is RuleStatus.PASSED and stale.status is RuleStatus.FAILED
    assert fresh.observed_value["age_seconds"] == 36 * 3600


def test_custom_sql_substitutes_object_and_property() -> None:
    rows = _rows(n=[1, 5, 7, None])
    result = run(
        rows,
        check(
            "custom_sql",
            ["n"],
            params={
                "query": "SELECT COUNT(*) FROM {object} WHERE {property} > 4",
                "threshold": {"must_be_less_than": 2},
            },
        ),
    )
    assert (result.observed_value, result.status) == (2.0, RuleStatus.FAILED)
    bad = run(rows, check("custom_sql", params={"query": "SELECT nope FROM {object}", "threshold": {"must_be": 0}}))
    assert bad.status is RuleStatus.ERROR and "custom SQL failed" in (bad.error or "")


def test_columns_present_and_schema_match() -> None:
    rows = _rows(n=[1])
    present = run(rows, check("columns_present", params={"columns": ["n", "missing"]}))
    assert present.status is RuleStatus.FAILED and present.observed_value == {"missing": ["missing"]}
    assert run(rows, check("schema_match")).status is RuleStatus.PASSED  # every declared type matches
    declared = [{**column, "logical_type": "integer"} if column["name"] == "s" else column for column in COLUMNS]
    wrong = validate(
        frame(rows),
        bundle_of(check("schema_match"), columns=[*declared, {"name": "extra"}]),
        ValidationContext(now=NOW),
    )
    observed = wrong.rules[0].observed_value
    assert wrong.rules[0].status is RuleStatus.FAILED
    assert observed == {
        "missing": ["extra"],
        "unexpected": [],
        "type_mismatches": ["s: integer expected, String found"],
    }


def test_anomaly_needs_history_and_reports_its_band() -> None:
    rows = _rows(n=list(range(10)))
    binding = check("anomaly", rule_id="a", params={"metric": "row_count", "min_history": 5, "z_score": 3})
    skipped = run(rows, binding, history={"row_count": [10.0, 11.0]})
    assert skipped.status is RuleStatus.SKIPPED and "insufficient history: 2 of the 5" in skipped.message
    normal = run(rows, binding, history={"row_count": [10.0, 11.0, 9.0, 10.0, 10.0]})
    assert (
        normal.status is RuleStatus.PASSED
        and normal.band is not None
        and "median ± 3 × 1.4826·MAD of the last 5 runs" in normal.band.method
        and (normal.band.center, normal.band.lower, normal.band.upper) == (10.0, 9.0, 11.0)
    )
    stddev = check("anomaly", rule_id="a", params={"min_history": 5, "z_score": 3, "method": "stddev"})
    classic = run(rows, stddev, history={"row_count": [10.0, 11.0, 9.0, 10.0, 10.0]})
    assert classic.band is not None and "mean ± 3σ of the last 5 runs" in classic.band.method
    spike = run(rows, binding, history={"row_count": [100.0, 101.0, 99.0, 100.0, 100.0]})
    assert spike.status is RuleStatus.FAILED and spike.observed_value == 10.0


def test_a_broken_rule_is_an_error_result_and_the_others_still_run() -> None:
    rows = _rows(n=[1, 2])
    bundle = bundle_of(
        check("not_null", ["nope"], "missing_column"),
        check("row_expression", rule_id="unknown_in_sql", params={"expression": "nosuchcol > 2"}),
        check("in_set", ["n"], "bad_where", params={"values": [1]}, where="nosuchcol > 1"),
        check(
            "custom_sql",
            rule_id="bad_sql_where",
            params={"query": "SELECT COUNT(*) FROM {object}", "threshold": {"must_be": 1}},
            where="zz = 1",
        ),
        check("not_null", ["n"], "fine"),
        check("in_set", ["n"], "fine_set", params={"values": [1, 2]}),
        columns=[*COLUMNS, {"name": "nope"}],  # declared by the contract, absent from the data
    )
    results = validate(frame(rows), bundle, ValidationContext(now=NOW)).by_id()
    assert "'nope' is not in the data" in (results["missing_column"].error or "")
    for broken in ("missing_column", "unknown_in_sql", "bad_where", "bad_sql_where"):
        assert results[broken].status is RuleStatus.ERROR, broken
    assert results["fine"].status is RuleStatus.PASSED
    assert results["fine_set"].status is RuleStatus.PASSED


def test_sql_that_does_not_parse_is_refused_when_the_contract_loads() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a valid SQL predicate"):
        bundle_of(check("row_expression", params={"expression": "n >>> 2"}))
    with pytest.raises(ValidationError, match="not a valid SQL predicate"):
        bundle_of(check("not_null", ["n"], where="n ==== 1"))


def test_set_values_are_compared_exactly_in_the_column_type() -> None:
    rows = _rows(n=[1, 2, 3])
    results = run(
        rows,
        check("in_set", ["n"], "fractional", params={"values": [1.5, 2]}),
        check("in_set", ["n"], "as_text", params={"values": ["1", "2", "3"]}),
    ).by_id()
    assert results["fractional"].unexpected_count == 2  # 1.5 is no integer: 1 and 3 fail
    assert results["as_text"].unexpected_count == 0


def test_text_timestamps_with_offsets() -> None:
    frame_ = pl.DataFrame({"s": ["2026-11-25T13:30:00+02:00", "2026-11-25T13:30:00", "2026-11-26"]})
    columns = [{"name": "s"}]
    bundle = bundle_of(check("not_future", ["s"]), columns=columns)
    result = validate(frame_, bundle, ValidationContext(now=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))).rules[0]
    assert result.status is RuleStatus.FAILED and [s.row for s in result.unexpected_samples] == [1, 2]


def _seeded_rows(seed: int, size: int = 60) -> list[Row]:
    import random

    rng = random.Random(seed)
    words = ["abc", "b", "x1", "2024-01-05", " 12 ", "", "cc", "-3", "2023-13-01", None]
    days = [None, date(2019, 5, 1), date(2021, 6, 1), date(2024, 2, 29), date(2027, 1, 1)]
    return [
        {
            "n": rng.choice([None, -2, 0, 3, 7]),
            "x": rng.choice([None, -1.5, 0.0, 4.2, 9.99, 10.0, 12.0]),
            "s": rng.choice(words),
            "code": rng.choice([None, "a", "b", "c", "d"]),
            "d": rng.choice(days),
            "d2": rng.choice(days),
        }
        for _ in range(size)
    ]


@pytest.mark.parametrize("rule_type", sorted(CASES))
def test_mostly_for_every_row_local_rule(rule_type: str) -> None:
    case = CASES[rule_type]
    rows = _seeded_rows(11)
    unexpected, not_evaluated = _expected(case, rows)
    base = len(rows) if rule_type in ("not_null", "row_expression") else len(rows) - not_evaluated
    assert 0 < unexpected < base, "the seeded data must make this rule fail on some rows and pass on others"
    ok = 1 - unexpected / base
    extra = EXTRA_CONTEXT.get(rule_type, {})
    at_threshold = run(rows, {**case.binding, "mostly": ok}, **extra)
    above = run(rows, {**case.binding, "mostly": min(1.0, ok + 0.01)}, **extra)
    assert at_threshold.status is RuleStatus.PASSED
    assert above.status is RuleStatus.FAILED
    assert at_threshold.unexpected_percent == pytest.approx(100 * unexpected / base)


DATASET_ON_EMPTY = {
    "unique": (check("unique", ["n"]), RuleStatus.PASSED),
    "compound_unique": (check("compound_unique", ["n", "code"]), RuleStatus.PASSED),
    "row_count": (check("row_count", params={"threshold": {"must_be_greater_than": 0}}), RuleStatus.FAILED),
    "metric": (check("metric", ["s"], params={"metric": "nullValues", "threshold": {"must_be": 0}}), RuleStatus.PASSED),
    "column_statistic": (
        check("column_statistic", ["x"], params={"statistic": "mean", "threshold": {"must_be_less_than": 5}}),
        RuleStatus.FAILED,  # a mean over no rows is no number: the bound cannot hold
    ),
    "freshness": (check("freshness", params={"column": "d", "max_age": "P1D"}), RuleStatus.FAILED),
    "custom_sql": (
        check("custom_sql", params={"query": "SELECT COUNT(*) FROM {object}", "threshold": {"must_be": 0}}),
        RuleStatus.PASSED,
    ),
}


@pytest.mark.parametrize("rule_type", sorted(DATASET_ON_EMPTY))
def test_dataset_rules_on_an_empty_dataset(rule_type: str) -> None:
    binding, expected = DATASET_ON_EMPTY[rule_type]
    result = run([], binding)
    assert result.status is expected, result


def test_distribution_drift_through_the_engine() -> None:
    import numpy as np

    from dq_core.profiling.finish import profile

    rng = np.random.default_rng(5)
    baseline = profile(pl.DataFrame({"x": rng.normal(5, 1, 3000)}))
    same = pl.DataFrame({"x": rng.normal(5, 1, 3000)})
    shifted = pl.DataFrame({"x": rng.normal(7, 1, 3000)})
    binding = check("distribution_drift", ["x"], params={"method": "psi", "max_drift": 0.2})
    bundle = bundle_of(binding)

    def status(data: pl.DataFrame, base: Any) -> Any:
        ctx = ValidationContext(now=NOW, baseline_profile=base, current_profile=profile(data))
        return validate(data, bundle, ctx).rules[0]

    assert status(same, baseline).status is RuleStatus.PASSED
    drifted = status(shifted, baseline)
    assert drifted.status is RuleStatus.FAILED and drifted.observed_value > 0.2
    assert status(same, None).status is RuleStatus.SKIPPED
