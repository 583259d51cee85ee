"""The engine: one fused query, chunked equals whole, ODCS metric semantics, exports, masking."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.libraries.governance import Role
from dq_core.results.gx import to_gx
from dq_core.validation.context import ROW, ValidationContext
from dq_core.validation.engine import merge_states, row_local_state, validate
from dq_core.validation.results import RuleStatus
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 11, 25, tzinfo=UTC)
ROW_LOCAL_BINDINGS = (
    check("not_null", ["s"], "nn"),
    check("in_set", ["code"], "set", params={"values": ["a", "b"]}, mostly=0.5),
    check("regex", ["s"], "re", params={"pattern": "^x"}),
    check("range", ["n"], "rng", params={"min": 0, "max": 5}, where="code = 'a'"),
)
SCHEMA = {"n": pl.Int64, "x": pl.Float64, "s": pl.String, "code": pl.String, "d": pl.Date, "d2": pl.Date}
records = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.one_of(st.none(), st.integers(-3, 8)),
            "s": st.one_of(st.none(), st.sampled_from(["x1", "y", "xx", ""])),
            "code": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
        }
    ),
    max_size=50,
)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: SCHEMA[k] for k in ("n", "s", "code")}).with_columns(
        pl.lit(None, pl.Float64).alias("x"), pl.lit(None, pl.Date).alias("d"), pl.lit(None, pl.Date).alias("d2")
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.lists(st.integers(0, 50), max_size=3))
def test_row_local_rules_chunked_equal_whole(rows: list[dict[str, Any]], cuts: list[int]) -> None:
    bundle = bundle_of(*ROW_LOCAL_BINDINGS)
    ctx = ValidationContext(now=NOW, sample_limit=3)
    data = _frame(rows).with_row_index(ROW)  # ingest numbers source rows before chunking
    bounds = sorted({0, data.height, *(c for c in cuts if c < data.height)})
    states = [row_local_state(data[lo:hi].lazy(), bundle, ctx) for lo, hi in itertools.pairwise(bounds)]
    if not states:
        states = [row_local_state(data.lazy(), bundle, ctx)]
    chunked = validate(data, bundle, ctx, row_local=merge_states(states, ctx.sample_limit))
    whole = validate(data, bundle, ctx)
    assert chunked == whole


def test_all_fusable_rules_run_in_one_query() -> None:
    bundle = bundle_of(
        *ROW_LOCAL_BINDINGS,
        check("unique", ["n"], "u"),
        check("row_count", rule_id="rc", params={"threshold": {"must_be_greater_than": 0}}),
        check("metric", ["s"], "m", params={"metric": "nullValues", "threshold": {"must_be": 0}}),
    )
    frame = _frame([{"n": 1, "s": "x", "code": "a"}, {"n": 1, "s": None, "code": "z"}]).lazy()
    with mock.patch.object(pl.LazyFrame, "collect", autospec=True, side_effect=pl.LazyFrame.collect) as collect:
        result = validate(frame, bundle, ValidationContext(now=NOW))
    assert collect.call_count == 1
    assert len(result.rules) == 7 and result.summary.errors == 0


# --- ODCS library metrics against plain Python -----------------------------------------------

MISSING = ["", "n/a", None]
VALID = ["a", "b"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "n/a", "zz"])), max_size=40))
def test_odcs_metrics_match_their_definitions(values: list[str | None]) -> None:
    rows = [{"n": None, "s": None, "code": v} for v in values]
    frame = _frame(rows)

    def metric(metric_name: str, unit: str = "rows", **params: Any) -> Any:
        spec = {"metric": metric_name, "unit": unit, "threshold": {"must_be_greater_or_equal_to": 0}, **params}
        return validate(frame, bundle_of(check("metric", ["code"], params=spec)), ValidationContext(now=NOW)).rules[0]

    nulls = sum(v is None for v in values)
    missing = sum(v in MISSING for v in values)
    invalid = sum(v not in MISSING and v not in VALID for v in values)
    pattern_invalid = sum(v is not None and v not in MISSING and not v.startswith("a") for v in values)
    duplicated = sum(1 for _, count in Counter(v for v in values if v is not None).items() if count > 1)
    assert metric("nullValues").observed_value == nulls
    assert metric("missingValues", missing_values=MISSING).observed_value == missing
    assert metric("invalidValues", missing_values=MISSING, valid_values=VALID).observed_value == invalid
    assert metric("invalidValues", missing_values=MISSING, pattern="^a").observed_value == pattern_invalid
    assert metric("duplicateValues").observed_value == duplicated
    assert metric("rowCount").observed_value == len(values)
    if values:
        assert metric("nullValues", unit="percent").observed_value == pytest.approx(100 * nulls / len(values))


def test_missing_values_count_null_only_when_listed() -> None:
    frame = _frame([{"n": None, "s": None, "code": v} for v in [None, "", "x"]])
    spec = {"metric": "missingValues", "missing_values": [""], "threshold": {"must_be": 0}}
    result = validate(frame, bundle_of(check("metric", ["code"], params=spec)), ValidationContext(now=NOW)).rules[0]
    assert result.observed_value == 1 and result.status is RuleStatus.FAILED


def test_compound_duplicate_values_across_properties() -> None:
    frame = _frame(
        [{"n": n, "s": s, "code": None} for n, s in [(1, "a"), (1, "a"), (1, "b"), (2, "a"), (2, "a"), (2, "a")]]
    )
    spec = {"metric": "duplicateValues", "threshold": {"must_be": 0}}
    result = validate(frame, bundle_of(check("metric", ["n", "s"], params=spec)), ValidationContext(now=NOW)).rules[0]
    assert result.observed_value == 2  # (1, a) and (2, a) occur more than once


# --- exports and governance -----------------------------------------------------------------


def test_great_expectations_shaped_export() -> None:
    frame = _frame([{"n": 1, "s": "x", "code": "a"}, {"n": 2, "s": None, "code": "q"}])
    result = validate(frame, bundle_of(*ROW_LOCAL_BINDINGS), ValidationContext(now=NOW))
    gx = to_gx(result)
    assert gx["statistics"]["evaluated_expectations"] == 4
    assert gx["statistics"]["unsuccessful_expectations"] == sum(not r["success"] for r in gx["results"])
    not_null = next(r for r in gx["results"] if r["expectation_config"]["kwargs"]["meta"]["dq_rule_id"] == "nn")
    assert not_null["expectation_config"]["type"] == "expect_column_values_to_not_be_null"
    assert not_null["result"]["unexpected_count"] == 1 and not_null["success"] is False
    assert not_null["result"]["partial_unexpected_list"] == [{"s": None}]


def test_samples_of_pii_columns_are_masked_unless_the_role_may_see_them() -> None:
    columns = [{"name": "email", "classification": "pii"}, {"name": "country"}]
    bundle = bundle_of(
        check("regex", ["email"], "e", params={"pattern": "@"}),
        check("column_comparison", rule_id="cmp", params={"left": "email", "op": "==", "right": "country"}),
        columns=columns,
    )
    frame = pl.DataFrame({"email": ["nobody", "a@b"], "country": ["GB", "GB"]})
    hidden = validate(frame, bundle, ValidationContext(now=NOW)).by_id()
    assert hidden["e"].unexpected_samples[0].values == {"email": "***"}
    assert hidden["cmp"].unexpected_samples[0].values["country"] == "GB"
    shown = validate(frame, bundle, ValidationContext(now=NOW, caller_roles=frozenset({Role.ADMIN}))).by_id()
    assert shown["e"].unexpected_samples[0].values == {"email": "nobody"}
    assert shown["e"].unexpected_samples[0].row == 0


def test_anomalies_name_their_metric_and_gx_types_follow_the_parameters() -> None:
    from dq_core.results.run import anomalies_of

    frame = _frame([{"n": 1, "s": None, "code": "a"}, {"n": 2, "s": None, "code": "b"}])
    bundle = bundle_of(
        check("anomaly", ["s"], "an", params={"metric": "null_percent", "min_history": 3}),
        check("column_statistic", ["n"], "sd", params={"statistic": "stddev", "threshold": {"must_be_less_than": 5}}),
        check("in_set", ["code"], "set", params={"values": ["a", "b"]}),
    )
    result = validate(frame, bundle, ValidationContext(now=NOW, history={"null_percent:s": [0.0, 1.0, 0.5]}))
    assert [a.metric for a in anomalies_of(result)] == ["null_percent:s"]
    gx = {
        r["expectation_config"]["kwargs"]["meta"]["dq_rule_id"]: r["expectation_config"]
        for r in to_gx(result)["results"]
    }
    assert gx["sd"]["type"] == "expect_column_stdev_to_be_between"
    assert gx["set"]["kwargs"]["value_set"] == ["a", "b"]
