"""Dataset rules that are not a single aggregation: schema checks, custom SQL, drift."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.libraries import rules as r
from dq_core.libraries.sql_guard import SqlRefusedError, check_query
from dq_core.validation.context import ROW, ValidationContext, bookkeeping
from dq_core.validation.dataset import Finished, _threshold_status
from dq_core.validation.env import CompileEnv, RuleCompileError
from dq_core.validation.results import RuleStatus
from dq_core.validation.rowlocal import _NATIVE
from dq_core.validation.sql_runtime import ForeignScanError, allowed_words, ensure_reads_only, safe_error

Special = Callable[[Any, tuple[str, ...], pl.LazyFrame, ResolvedBundle, CompileEnv, ValidationContext], Finished]


def _data_columns(env: CompileEnv) -> list[str]:
    return [name for name in env.schema.names() if name != ROW and name not in bookkeeping(env.schema.names())]


def columns_present(
    rule: r.ColumnsPresentRule,
    columns: tuple[str, ...],
    frame: pl.LazyFrame,
    bundle: ResolvedBundle,
    env: CompileEnv,
    ctx: ValidationContext,
) -> Finished:
    missing = [name for name in rule.params.columns if name not in env.schema]
    return Finished(
        status=RuleStatus.FAILED if missing else RuleStatus.PASSED,
        observed_value={"missing": missing},
        element_count=len(rule.params.columns),
        unexpected_count=len(missing),
    )


def schema_match(
    rule: r.SchemaMatchRule,
    columns: tuple[str, ...],
    frame: pl.LazyFrame,
    bundle: ResolvedBundle,
    env: CompileEnv,
    ctx: ValidationContext,
) -> Finished:
    declared = {column.name: column for column in bundle.dataset.columns}
    present = _data_columns(env)
    missing = [name for name in declared if name not in env.schema]
    extra = [] if rule.params.allow_extra_columns else [name for name in present if name not in declared]
    mismatched = []
    if rule.params.check_types:
        for name, column in declared.items():
            if name in env.schema and not _NATIVE[column.logical_type](env.schema[name]):
                mismatched.append(f"{name}: {column.logical_type.value} expected, {env.schema[name]} found")
    problems = len(missing) + len(extra) + len(mismatched)
    return Finished(
        status=RuleStatus.FAILED if problems else RuleStatus.PASSED,
        observed_value={"missing": missing, "unexpected": extra, "type_mismatches": mismatched},
        element_count=len(declared),
        unexpected_count=problems,
    )


def custom_sql(
    rule: r.CustomSqlRule,
    columns: tuple[str, ...],
    frame: pl.LazyFrame,
    bundle: ResolvedBundle,
    env: CompileEnv,
    ctx: ValidationContext,
) -> Finished:
    table = ctx.dataset_name or bundle.dataset.name
    query = rule.params.query.replace("{object}", table).replace("{property}", columns[0] if columns else "")
    try:
        check_query(query, table=table)  # again at run time: the table is known now
    except SqlRefusedError as exc:
        raise RuleCompileError(f"custom SQL refused: {exc}") from None
    allowed = allowed_words(query, rule.where, names=env.schema.names())
    try:
        ordered = frame.sort(ROW) if ROW in frame.collect_schema() else frame  # source order, as the whole file
        ordered = ordered.drop(bookkeeping(frame.collect_schema().names()))  # not the tenant's data
        scoped = ordered.filter(pl.sql_expr(rule.where)) if rule.where else ordered
        planned = pl.SQLContext({table: scoped}, eager=False).execute(query)
        ensure_reads_only(planned, frame)
        answer = planned.collect()
    except ForeignScanError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars raises several types for bad SQL
        raise RuleCompileError(f"custom SQL failed: {safe_error(exc, allowed=allowed)}") from None
    if answer.height != 1 or answer.width < 1:
        msg = f"custom SQL must return one value, it returned {answer.height} row(s) × {answer.width} column(s)"
        raise RuleCompileError(msg)
    value = answer.item(0, 0)
    if value is not None and not isinstance(value, (int, float)):
        msg = f"custom SQL must return a number, it returned {type(value).__name__}"
        raise RuleCompileError(msg)
    number = None if value is None else float(value)
    return Finished(status=_threshold_status(rule.params.threshold, number), observed_value=number)


def distribution_drift(
    rule: r.DistributionDriftRule,
    columns: tuple[str, ...],
    frame: pl.LazyFrame,
    bundle: ResolvedBundle,
    env: CompileEnv,
    ctx: ValidationContext,
) -> Finished:
    from dq_core.profiling.drift import drift  # noqa: PLC0415 - profiling imports validation models

    if ctx.baseline_profile is None:
        return Finished(status=RuleStatus.SKIPPED, note="no baseline profile to compare with")
    if ctx.current_profile is None:
        return Finished(status=RuleStatus.SKIPPED, note="no current profile (profile the data first)")
    column = columns[0]
    measured = drift(ctx.baseline_profile, ctx.current_profile, column, rule.params.method)
    if measured is None:
        return Finished(status=RuleStatus.SKIPPED, note=f"column {column!r} is in only one of the two profiles")
    value = None if math.isnan(measured) else measured
    passed = value is not None and value <= rule.params.max_drift
    return Finished(status=RuleStatus.PASSED if passed else RuleStatus.FAILED, observed_value=value)


SPECIAL: dict[str, Special] = {
    "columns_present": columns_present,
    "schema_match": schema_match,
    "custom_sql": custom_sql,
    "distribution_drift": distribution_drift,
}
