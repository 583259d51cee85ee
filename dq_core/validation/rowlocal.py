"""Row-local rules: each is a small function returning a polars expression that is
True where a row *fails*. The engine evaluates them only on in-scope rows whose
checked values are not null (``not_null`` is the one rule about nulls), fuses every
rule of a bundle into one query, and counts, samples and merges per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from dq_core.libraries import rules as r
from dq_core.validation.env import CompileEnv, RuleCompileError, as_text, naive_utc, reference_key, values_for
from dq_core.validation.sql_runtime import allowed_words, safe_error

FailsBuilder = Callable[[Any, tuple[str, ...], CompileEnv], pl.Expr]


def not_null(rule: r.NotNullRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    return pl.col(columns[0]).is_null()


def in_set(rule: r.InSetRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    return ~pl.col(columns[0]).is_in(values_for(env, columns[0], rule.params.values).implode())


def not_in_set(rule: r.NotInSetRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    return pl.col(columns[0]).is_in(values_for(env, columns[0], rule.params.values).implode())


def regex(rule: r.RegexRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    return ~as_text(env, columns[0]).str.contains(rule.params.pattern)


def not_regex(rule: r.NotRegexRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    return as_text(env, columns[0]).str.contains(rule.params.pattern)


def _bound(env: CompileEnv, column: str, value: float | str) -> tuple[pl.Expr, pl.Expr]:
    """(column expression, bound literal) comparable with each other."""
    if isinstance(value, str) or env.is_temporal(column):
        moment = env.moment(str(value)) if isinstance(value, str) else None
        if moment is None:
            msg = f"column {column!r} holds dates: give the bound as an ISO date"
            raise RuleCompileError(msg)
        return env.naive_datetime(column), pl.lit(naive_utc(moment), dtype=pl.Datetime("us"))
    if not env.is_numeric(column):
        return pl.col(column).cast(pl.Float64, strict=False), pl.lit(value)
    return pl.col(column), pl.lit(value)


def range_(rule: r.RangeRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    p = rule.params
    fails = pl.lit(False)
    if p.min is not None:
        value, bound = _bound(env, columns[0], p.min)
        fails = fails | (value < bound if p.min_inclusive else value <= bound)
    if p.max is not None:
        value, bound = _bound(env, columns[0], p.max)
        fails = fails | (value > bound if p.max_inclusive else value >= bound)
    return fails.fill_null(True)  # a value that is not a number or date fails the range


def length(rule: r.LengthRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    size = as_text(env, columns[0]).str.len_chars()
    fails = pl.lit(False)
    if rule.params.min is not None:
        fails = fails | (size < rule.params.min)
    if rule.params.max is not None:
        fails = fails | (size > rule.params.max)
    return fails


_TRUE_FALSE = ["true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"]


def _parses_as(text: pl.Expr, logical: r.LogicalType) -> pl.Expr:
    trimmed = text.str.strip_chars()
    match logical:
        case r.LogicalType.INTEGER:
            return trimmed.cast(pl.Int64, strict=False).is_not_null()
        case r.LogicalType.NUMBER | r.LogicalType.DECIMAL:
            return trimmed.cast(pl.Float64, strict=False).is_not_null()
        case r.LogicalType.BOOLEAN:
            return trimmed.str.to_lowercase().is_in(_TRUE_FALSE)
        case r.LogicalType.DATE:
            return trimmed.str.to_date(strict=False).is_not_null()
        case r.LogicalType.TIMESTAMP:
            return trimmed.str.to_datetime(strict=False).is_not_null() | trimmed.str.to_date(strict=False).is_not_null()
        case r.LogicalType.TIME:
            return trimmed.str.to_time(strict=False).is_not_null()
        case _:
            return pl.lit(True)


_NATIVE: dict[r.LogicalType, Callable[[pl.DataType], bool]] = {
    r.LogicalType.STRING: lambda d: d == pl.String,
    r.LogicalType.INTEGER: lambda d: d.is_integer(),
    r.LogicalType.NUMBER: lambda d: d.is_numeric(),
    r.LogicalType.DECIMAL: lambda d: d.is_numeric(),
    r.LogicalType.BOOLEAN: lambda d: d == pl.Boolean,
    r.LogicalType.DATE: lambda d: d == pl.Date,
    r.LogicalType.TIMESTAMP: lambda d: isinstance(d, pl.Datetime) or d == pl.Date,
    r.LogicalType.TIME: lambda d: d == pl.Time,
    r.LogicalType.OBJECT: lambda d: isinstance(d, pl.Struct),
    r.LogicalType.ARRAY: lambda d: isinstance(d, (pl.List, pl.Array)),
}


def type_(rule: r.TypeRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    dtype = env.dtype(columns[0])
    if _NATIVE[rule.params.logical_type](dtype):
        return pl.lit(False)
    if dtype == pl.String:
        return ~_parses_as(pl.col(columns[0]), rule.params.logical_type)
    return pl.lit(True)  # a typed column of another type: every value fails


def date_parseable(rule: r.DateParseableRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    if env.is_temporal(columns[0]):
        return pl.lit(False)
    text = as_text(env, columns[0]).str.strip_chars()
    parsed = [text.str.strptime(pl.Datetime("us"), fmt, strict=False).is_null() for fmt in rule.params.formats]
    return pl.all_horizontal(parsed)


def not_future(rule: r.NotFutureRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    column = columns[0]
    if env.dtype(column) == pl.Date:
        return pl.col(column) > pl.lit(env.now.date(), dtype=pl.Date)
    return (env.naive_datetime(column) > pl.lit(naive_utc(env.now), dtype=pl.Datetime("us"))).fill_null(False)


def date_range(rule: r.DateRangeRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    value = env.naive_datetime(columns[0])
    fails = pl.lit(False)
    if rule.params.min is not None:
        fails = fails | (value < pl.lit(naive_utc(env.moment(rule.params.min)), dtype=pl.Datetime("us")))
    if rule.params.max is not None:
        fails = fails | (value > pl.lit(naive_utc(env.moment(rule.params.max)), dtype=pl.Datetime("us")))
    return fails.fill_null(True)  # unparseable dates are outside every range


def code_list(rule: r.CodeListRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    listed = env.code_lists.get(rule.params.code_list)
    if listed is None:
        msg = f"code list {rule.params.code_list!r} is not in the bundle"
        raise RuleCompileError(msg)
    codes = [str(code) for code in listed.values() if code is not None]
    text = as_text(env, columns[0])
    if rule.params.case_sensitive:
        return ~text.is_in(codes)
    return ~text.str.to_lowercase().is_in([code.lower() for code in codes])


_COMPARE: dict[r.Comparison, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    r.Comparison.EQ: lambda a, b: a == b,
    r.Comparison.NE: lambda a, b: a != b,
    r.Comparison.LT: lambda a, b: a < b,
    r.Comparison.LE: lambda a, b: a <= b,
    r.Comparison.GT: lambda a, b: a > b,
    r.Comparison.GE: lambda a, b: a >= b,
}


def column_comparison(rule: r.ColumnComparisonRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    left, right = rule.params.left, rule.params.right
    if env.is_temporal(left) or env.is_temporal(right):
        a, b = env.naive_datetime(left), env.naive_datetime(right)
    else:
        a, b = pl.col(left), pl.col(right)
    return ~_COMPARE[rule.params.op](a, b)


def row_expression(rule: r.RowExpressionRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    try:
        predicate = pl.sql_expr(rule.params.expression)
    except Exception as exc:  # noqa: BLE001 - polars raises several types for bad expressions
        shown = safe_error(exc, allowed=allowed_words(rule.params.expression, names=env.schema.names()))
        msg = f"expression cannot be compiled: {shown}"
        raise RuleCompileError(msg) from None
    return ~predicate


def referential(rule: r.ReferentialRule, columns: tuple[str, ...], env: CompileEnv) -> pl.Expr:
    name, column = rule.params.reference_dataset, rule.params.reference_column
    if name in env.reference_errors:
        raise RuleCompileError(f"reference dataset {name!r} cannot be read: {env.reference_errors[name]}")
    reference = env.reference_data.get(reference_key(name, column), env.reference_data.get(name))
    if reference is None:
        msg = f"reference dataset {name!r} was not provided to the run"
        if any(key.startswith(f"{name}.") for key in env.reference_data):
            msg = f"column {column!r} is not a key column of reference dataset {name!r}"
        raise RuleCompileError(msg)
    values = reference.drop_nulls()
    if env.is_string(columns[0]) and values.dtype != pl.String:
        values = values.cast(pl.String)
    elif values.dtype != env.dtype(columns[0]):
        values = values.cast(env.dtype(columns[0]), strict=False).drop_nulls()
    return ~pl.col(columns[0]).is_in(values.implode())


ROW_LOCAL: dict[str, FailsBuilder] = {
    "not_null": not_null,
    "in_set": in_set,
    "not_in_set": not_in_set,
    "regex": regex,
    "not_regex": not_regex,
    "range": range_,
    "length": length,
    "type": type_,
    "date_parseable": date_parseable,
    "not_future": not_future,
    "date_range": date_range,
    "code_list": code_list,
    "column_comparison": column_comparison,
    "row_expression": row_expression,
    "referential": referential,
}
"""Rule type → builder of its failure expression."""


def checked_columns(rule: r.RuleCommon, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns whose nulls take a row out of a rule's reach."""
    if isinstance(rule, r.ColumnComparisonRule):
        return (rule.params.left, rule.params.right)
    if isinstance(rule, (r.RowExpressionRule, r.NotNullRule)):
        return ()
    return columns
