"""Dataset-level rules: they need the whole dataset (or its schema, or history).

Most are still polars aggregations, fused into the same query as the row-local
rules when the data is validated in one piece. Each implementation gives its
aggregations and a ``finish`` that turns the collected values into a result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from dq_core.libraries import rules as r
from dq_core.validation import anomaly
from dq_core.validation.anomaly import HistoryItem
from dq_core.validation.env import CompileEnv, RuleCompileError, as_text, naive_utc, values_for
from dq_core.validation.results import Band, RuleStatus

Aggregations = dict[str, pl.Expr]


@dataclass(frozen=True)
class Finished:
    """What a dataset rule observed; the engine turns it into a RuleResult."""

    status: RuleStatus
    observed_value: Any = None
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    samples: list[dict[str, Any]] | None = None
    band: Band | None = None
    note: str = ""


@dataclass(frozen=True)
class Scope:
    """The rows a rule looks at (its ``where`` filter), the row number column, and the
    boolean columns it materialises once so that counts and samples share them."""

    mask: pl.Expr
    row: str
    sample_limit: int
    prefix: str
    filtered: bool
    masks: dict[str, pl.Expr]

    def materialise(self, name: str, expr: pl.Expr) -> pl.Expr:
        """Compute ``expr`` once, as a column of the query, and refer to it."""
        column = f"__dq_{self.prefix}_{name}"
        self.masks[column] = expr
        return pl.col(column)

    def rows(self) -> pl.Expr:
        return self.mask.sum() if self.filtered else pl.len()


def _present(columns: tuple[str, ...]) -> pl.Expr:
    return pl.all_horizontal([pl.col(c).is_not_null() for c in columns]) if columns else pl.lit(True)


def samples(scope: Scope, columns: tuple[str, ...], mask: pl.Expr) -> pl.Expr:
    """The first failing rows, in row order (whatever order the frame is in: after a shuffle a
    run's chunks are key partitions): their row number and the checked values."""
    # each column filtered alone (filtering a struct of every row costs several times more)
    failing = pl.struct([pl.col(c).filter(mask) for c in (scope.row, *columns)])
    # the k smallest row numbers without sorting every failing row; then those k, by row (the first field)
    return failing.bottom_k_by(pl.col(scope.row).filter(mask), scope.sample_limit).sort().implode()


def _duplicates(scope: Scope, columns: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(duplicated rows, distinct duplicated keys, samples) among in-scope rows with a full key.

    Rows outside the scope get a null key, so they never collide with a real one.
    """
    present = _present(columns)
    usable = scope.mask & present if scope.filtered else present
    key = pl.col(columns[0]) if len(columns) == 1 else pl.struct([pl.col(c) for c in columns])
    # without a where filter, incomplete keys cannot collide with complete ones: no need to blank them
    scoped_key = pl.when(usable).then(key) if scope.filtered else key
    duplicated = scope.materialise("dup", usable & scoped_key.is_duplicated())
    first = duplicated & scoped_key.is_first_distinct()
    return duplicated.sum(), first.sum(), samples(scope, columns, duplicated)


def _threshold_status(threshold: r.Threshold, value: float | None) -> RuleStatus:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return RuleStatus.FAILED
    return RuleStatus.PASSED if threshold.holds(value) else RuleStatus.FAILED


# --- unique / compound unique ----------------------------------------------------------


def _unique_aggs(rule: r.RuleCommon, columns: tuple[str, ...], env: CompileEnv, scope: Scope) -> Aggregations:
    for column in columns:
        env.dtype(column)
    rows, _groups, examples = _duplicates(scope, columns)
    return {
        "element": scope.rows(),
        "missing": (scope.mask & ~_present(columns)).sum(),
        "unexpected": rows,
        "samples": examples,
    }


def _unique_finish(rule: r.RuleCommon, values: Mapping[str, Any], env: CompileEnv) -> Finished:
    element, missing, unexpected = int(values["element"]), int(values["missing"]), int(values["unexpected"])
    base = element - missing
    fraction_ok = 1 - unexpected / base if base else 1.0
    return Finished(
        status=RuleStatus.PASSED if fraction_ok + 1e-12 >= rule.mostly else RuleStatus.FAILED,
        observed_value=unexpected,
        element_count=element,
        missing_count=missing,
        unexpected_count=unexpected,
        unexpected_percent=100 * unexpected / base if base else None,
        samples=values["samples"],
    )


# --- row count, freshness, statistics ----------------------------------------------------


def _row_count_aggs(rule: r.RowCountRule, columns: tuple[str, ...], env: CompileEnv, scope: Scope) -> Aggregations:
    return {"value": scope.rows()}


def _row_count_finish(rule: r.RowCountRule, values: Mapping[str, Any], env: CompileEnv) -> Finished:
    count = int(values["value"])
    return Finished(status=_threshold_status(rule.params.threshold, count), observed_value=count, element_count=count)


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text)
    if not match:
        msg = f"{text!r} is not an ISO 8601 duration"
        raise RuleCompileError(msg)
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _freshness_aggs(rule: r.FreshnessRule, columns: tuple[str, ...], env: CompileEnv, scope: Scope) -> Aggregations:
    column = rule.params.column or (columns[0] if len(columns) == 1 else None)
    if column is None:
        msg = "freshness needs params.column or exactly one bound column"
        raise RuleCompileError(msg)
    return {"value": env.naive_datetime(column).filter(scope.mask).max()}


def _freshness_finish(rule: r.FreshnessRule, values: Mapping[str, Any], env: CompileEnv) -> Finished:
    latest = values["value"]
    if latest is None:
        return Finished(status=RuleStatus.FAILED, observed_value=None, note="no dated rows")
    age = naive_utc(env.now) - latest
    fresh = age <= parse_duration(rule.params.max_age)
    return Finished(
        status=RuleStatus.PASSED if fresh else RuleStatus.FAILED,
        observed_value={"latest": latest.isoformat(), "age_seconds": round(age.total_seconds(), 3)},
    )


def statistic_expr(statistic: r.Statistic | str, column: str, env: CompileEnv, mask: pl.Expr) -> pl.Expr:
    """One column statistic over the in-scope rows (shared with anomaly detection)."""
    if statistic == "row_count":
        return mask.sum().cast(pl.Float64)
    values = pl.col(column).filter(mask)
    numeric = values if env.is_numeric(column) else values.cast(pl.Float64, strict=False)
    rows = mask.sum()
    match r.Statistic(statistic):
        case r.Statistic.MEAN:
            return numeric.mean()
        case r.Statistic.STDDEV:
            return numeric.std()
        case r.Statistic.MIN:
            return numeric.min().cast(pl.Float64)
        case r.Statistic.MAX:
            return numeric.max().cast(pl.Float64)
        case r.Statistic.MEDIAN:
            return numeric.median()
        case r.Statistic.SUM:
            return numeric.sum().cast(pl.Float64)
        case r.Statistic.DISTINCT_COUNT:
            return values.drop_nulls().n_unique().cast(pl.Float64)
        case r.Statistic.DISTINCT_PERCENT:
            return 100 * values.drop_nulls().n_unique() / rows
        case r.Statistic.NULL_PERCENT:
            return 100 * values.is_null().sum() / rows


def _statistic_aggs(
    rule: r.ColumnStatisticRule, columns: tuple[str, ...], env: CompileEnv, scope: Scope
) -> Aggregations:
    env.dtype(columns[0])
    return {"value": statistic_expr(rule.params.statistic, columns[0], env, scope.mask)}


def _statistic_finish(rule: r.ColumnStatisticRule, values: Mapping[str, Any], env: CompileEnv) -> Finished:
    value = values["value"]
    value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    return Finished(status=_threshold_status(rule.params.threshold, value), observed_value=value)


# --- ODCS library metrics --------------------------------------------------------------


def _missing_mask(column: str, env: CompileEnv, listed: tuple[Any, ...] | None) -> pl.Expr:
    """Null, or one of the listed missing values (null counts only when listed, or when no list)."""
    if listed is None:
        return pl.col(column).is_null()
    mask = pl.col(column).is_null() if None in listed else pl.lit(False)
    values = values_for(env, column, listed)
    return mask | pl.col(column).is_in(values.implode()).fill_null(False) if len(values) else mask


def _metric_aggs(rule: r.MetricRule, columns: tuple[str, ...], env: CompileEnv, scope: Scope) -> Aggregations:
    p = rule.params
    rows = scope.rows()
    if p.metric is r.OdcsMetric.ROW_COUNT:
        return {"count": rows, "rows": rows}
    if p.metric is r.OdcsMetric.DUPLICATE_VALUES:
        if not columns:
            msg = "duplicateValues needs a property or arguments.properties"
            raise RuleCompileError(msg)
        for column in columns:
            env.dtype(column)
        _rows, groups, examples = _duplicates(scope, columns)
        return {"count": groups, "rows": rows, "samples": examples}
    column = columns[0]
    env.dtype(column)
    if p.metric is r.OdcsMetric.NULL_VALUES:
        failing = pl.col(column).is_null()
    elif p.metric is r.OdcsMetric.MISSING_VALUES:
        failing = _missing_mask(column, env, p.missing_values)
    else:  # invalid values: not missing, and not valid
        missing = pl.col(column).is_null() | _missing_mask(column, env, p.missing_values)
        invalid = pl.lit(False)
        if p.valid_values is not None:
            valid = values_for(env, column, p.valid_values)
            invalid = invalid | ~pl.col(column).is_in(valid.implode()).fill_null(False)
        if p.pattern is not None:
            invalid = invalid | ~as_text(env, column).str.contains(p.pattern).fill_null(False)
        failing = ~missing & invalid
    mask = scope.materialise("fails", scope.mask & failing.fill_null(False))
    return {"count": mask.sum(), "rows": rows, "samples": samples(scope, (column,), mask)}


def _metric_finish(rule: r.MetricRule, values: Mapping[str, Any], env: CompileEnv) -> Finished:
    count, rows = int(values["count"]), int(values["rows"])
    percent = 100 * count / rows if rows else 0.0
    observed = percent if rule.params.unit is r.Unit.PERCENT else count
    return Finished(
        status=_threshold_status(rule.params.threshold, observed),
        observed_value=observed,
        element_count=rows,
        unexpected_count=count if rule.params.metric is not r.OdcsMetric.ROW_COUNT else None,
        unexpected_percent=percent if rule.params.metric is not r.OdcsMetric.ROW_COUNT else None,
        samples=values.get("samples"),
    )


# --- anomaly over metric history ---------------------------------------------------------


def anomaly_key(rule: r.AnomalyRule, columns: tuple[str, ...]) -> str:
    """The metric history key: ``row_count`` or ``null_percent:email``."""
    metric = str(rule.params.metric)
    return metric if metric == "row_count" or not columns else f"{metric}:{columns[0]}"


def _anomaly_aggs(rule: r.AnomalyRule, columns: tuple[str, ...], env: CompileEnv, scope: Scope) -> Aggregations:
    metric = str(rule.params.metric)
    if metric != "row_count" and not columns:
        msg = f"anomaly on {metric} needs a column"
        raise RuleCompileError(msg)
    return {"value": statistic_expr(metric, columns[0] if columns else "", env, scope.mask)}


def anomaly_finish(
    rule: r.AnomalyRule, value: float | None, history: Iterable[HistoryItem], now: datetime | None = None
) -> Finished:
    """Within the band of its history (``dq_core.validation.anomaly``), or skipped while that is too short."""
    params = rule.params
    considered = anomaly.considered(params, history, now)
    if len(considered.values) < params.min_history:
        note = f"insufficient history: {len(considered.values)} of the {params.min_history} runs needed"
        if considered.excluded:
            note += f" ({considered.excluded} anomalous left out)"
        return Finished(status=RuleStatus.SKIPPED, observed_value=value, note=note)
    band = anomaly.band_of(params, considered)
    status = RuleStatus.PASSED if anomaly.within(band, value) else RuleStatus.FAILED
    return Finished(status=status, observed_value=value, band=band)


@dataclass(frozen=True)
class DatasetImpl:
    aggregations: Callable[[Any, tuple[str, ...], CompileEnv, Scope], Aggregations]
    finish: Callable[[Any, Mapping[str, Any], CompileEnv], Finished] | None


DATASET_EXPRESSIONS: dict[str, DatasetImpl] = {
    "unique": DatasetImpl(_unique_aggs, _unique_finish),
    "compound_unique": DatasetImpl(_unique_aggs, _unique_finish),
    "row_count": DatasetImpl(_row_count_aggs, _row_count_finish),
    "freshness": DatasetImpl(_freshness_aggs, _freshness_finish),
    "column_statistic": DatasetImpl(_statistic_aggs, _statistic_finish),
    "metric": DatasetImpl(_metric_aggs, _metric_finish),
    "anomaly": DatasetImpl(_anomaly_aggs, None),  # finished by the engine, which holds the history
}
"""Rule type → aggregations over the whole dataset, fused into one query."""
