"""Cleansing steps: one function per step type, in one registry.

Each takes the frame (only rows not rejected so far) and returns the new frame and,
where the step can refuse a row, the reason per row (null = kept). Steps that need a
library (phone numbers, e-mail syntax, hashing) call it once per *distinct* value and
map the answers back in polars.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from functools import partial as partial_apply
from typing import Any

import polars as pl

from dq_core.cleansing.context import CleansingContext
from dq_core.errors import ConfigError
from dq_core.libraries import cleansing as c
from dq_core.libraries.governance import Masking
from dq_core.libraries.rules import LogicalType
from dq_core.validation.context import ROW
from dq_core.validation.env import parse_timestamp_text
from dq_core.validation.masking import MASK
from dq_core.validation.sql_runtime import allowed_words, safe_error


@dataclass(frozen=True)
class StepResult:
    frame: pl.DataFrame
    reasons: pl.Series | None = None  # one per row; null where the row is kept
    touched: tuple[str, ...] = ()


Step = Callable[[pl.DataFrame, Any, CleansingContext], StepResult]


def _data_columns(frame: pl.DataFrame) -> list[str]:
    return [name for name in frame.columns if not name.startswith("_dq_")]


def _require(frame: pl.DataFrame, columns: tuple[str, ...], step: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ConfigError(f"cleansing step {step}: column(s) not in the data: {', '.join(missing)}")


def _text_columns(frame: pl.DataFrame, columns: tuple[str, ...], step: str) -> tuple[str, ...]:
    if not columns:
        return tuple(name for name in _data_columns(frame) if frame.schema[name] == pl.String)
    _require(frame, columns, step)
    return columns


def _map_distinct(series: pl.Series, convert: Callable[[Any], Any]) -> pl.Series:
    """``convert`` applied once per distinct non-null value; None marks a failure."""
    distinct = series.drop_nulls().unique()
    answers = {value: convert(value) for value in distinct.to_list()}
    return series.replace_strict(answers, default=None, return_dtype=pl.String)


def _failure_reasons(
    frame: pl.DataFrame,
    columns: tuple[str, ...],
    results: dict[str, pl.Series],
    what: str,
    hidden: frozenset[str] = frozenset(),
) -> pl.Series:
    """'column phone: not available is not a valid phone number; ...' per failing row.

    The value of a ``hidden`` column (governance: sensitive, and not raw for readers) is
    never written: 'column email: *** is not a valid e-mail address'."""
    parts = [
        pl.when(pl.col(column).is_not_null() & results[column].is_null()).then(
            pl.lit(f"column {column}: {MASK} {what}")
            if column in hidden
            else pl.format(f"column {column}: {{}} {what}", pl.col(column).cast(pl.String))
        )
        for column in columns
    ]
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return frame.select(pl.when(joined != "").then(joined).alias("r")).to_series()


def _apply_failures(
    frame: pl.DataFrame,
    columns: tuple[str, ...],
    results: dict[str, pl.Series],
    on_error: str,
    what: str,
    hidden: frozenset[str] = frozenset(),
) -> StepResult:
    reasons = _failure_reasons(frame, columns, results, what, hidden) if on_error == "reject" else None
    updates = []
    for column in columns:
        converted = results[column]
        if on_error == "keep":
            converted = pl.Series(column, converted).fill_null(frame[column].cast(pl.String))
        updates.append(converted.alias(column))
    return StepResult(frame.with_columns(updates), reasons, columns)


# --- standardisation ---------------------------------------------------------------------


def trim(frame: pl.DataFrame, step: c.TrimStep, ctx: CleansingContext) -> StepResult:
    """Strip, collapse inner whitespace; text that is only whitespace becomes null."""
    columns = _text_columns(frame, step.columns, "trim")
    exprs = []
    for column in columns:
        text = pl.col(column).str.strip_chars()
        if step.collapse_whitespace:
            text = text.str.replace_all(r"\s+", " ")
        exprs.append(pl.when(text == "").then(None).otherwise(text).alias(column))
    return StepResult(frame.with_columns(exprs), None, columns)


def null_values(frame: pl.DataFrame, step: c.NullValuesStep, ctx: CleansingContext) -> StepResult:
    """A cell whose text, stripped (and case-folded unless ``case_sensitive``), is a marker becomes null."""
    columns = _text_columns(frame, step.columns, "null_values")
    for column in columns:
        if frame.schema[column].is_nested() or frame.schema[column] == pl.Binary:
            raise ConfigError(f"cleansing step null_values: column {column!r} is {frame.schema[column]}, not text")
    markers = [v.strip() if step.case_sensitive else v.strip().lower() for v in step.values]
    exprs = []
    for column in columns:
        text = pl.col(column).cast(pl.String).str.strip_chars()
        key = text if step.case_sensitive else text.str.to_lowercase()
        exprs.append(pl.when(key.is_in(markers)).then(None).otherwise(pl.col(column)).alias(column))
    return StepResult(frame.with_columns(exprs), None, columns)


def case(frame: pl.DataFrame, step: c.CaseStep, ctx: CleansingContext) -> StepResult:
    columns = _text_columns(frame, step.columns, "case")
    method = {"lower": "to_lowercase", "upper": "to_uppercase", "title": "to_titlecase"}[step.mode]
    return StepResult(frame.with_columns(getattr(pl.col(col).str, method)() for col in columns), None, columns)


def parse_dates(frame: pl.DataFrame, step: c.ParseDatesStep, ctx: CleansingContext) -> StepResult:
    _require(frame, step.columns, "parse_dates")
    target = pl.Date if step.output == "date" else pl.Datetime("us")
    results = {}
    for column in step.columns:
        if frame.schema[column] == target:
            results[column] = frame[column]
            continue
        if frame.schema[column].is_temporal():
            results[column] = frame[column].cast(target)
            continue
        text = pl.col(column).cast(pl.String).str.strip_chars()
        attempts = [text.str.strptime(target, fmt, strict=False, exact=True) for fmt in step.formats]
        results[column] = frame.select(pl.coalesce(attempts).alias(column)).to_series()
    if step.on_error == "keep":
        iso = {col: results[col].cast(pl.String) for col in step.columns}
        return _apply_failures(frame, step.columns, iso, "keep", "")
    updates = [results[col].alias(col) for col in step.columns]
    reasons = (
        _failure_reasons(frame, step.columns, results, "is not a date in " + ", ".join(step.formats), ctx.hidden)
        if step.on_error == "reject"
        else None
    )
    return StepResult(frame.with_columns(updates), reasons, step.columns)


def phone(frame: pl.DataFrame, step: c.PhoneStep, ctx: CleansingContext) -> StepResult:
    import phonenumbers  # noqa: PLC0415 - a large module, loaded when a policy uses it

    _require(frame, step.columns, "phone")
    region = step.default_region or ctx.bundle.default_phone_region or "US"

    def e164(value: Any) -> str | None:
        try:
            number = phonenumbers.parse(str(value), region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    results = {col: _map_distinct(frame[col].cast(pl.String), e164) for col in step.columns}
    what = f"is not a valid phone number (region {region})"
    return _apply_failures(frame, step.columns, results, step.on_error, what, ctx.hidden)


def email(frame: pl.DataFrame, step: c.EmailStep, ctx: CleansingContext) -> StepResult:
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    _require(frame, step.columns, "email")

    def normalise(value: Any) -> str | None:
        try:
            return validate_email(str(value).strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            return None

    results = {col: _map_distinct(frame[col].cast(pl.String), normalise) for col in step.columns}
    return _apply_failures(frame, step.columns, results, step.on_error, "is not a valid e-mail address", ctx.hidden)


def map_values(frame: pl.DataFrame, step: c.MapValuesStep, ctx: CleansingContext) -> StepResult:
    _require(frame, step.columns, "map_values")
    code_list = next((cl for cl in ctx.bundle.code_lists if cl.id == step.code_list), None)
    if code_list is None:
        raise ConfigError(f"cleansing step map_values: code list {step.code_list!r} is not in the bundle")

    def key(text: str) -> str:
        return " ".join(text.split()) if step.case_sensitive else " ".join(text.split()).casefold()

    mapping: dict[str, str] = {}
    for code in code_list.codes:
        for spelling in (str(code.code), code.label, *code.synonyms):
            if spelling:
                mapping.setdefault(key(spelling), str(code.code))
    results = {
        col: _map_distinct(frame[col].cast(pl.String), lambda v: mapping.get(key(str(v)))) for col in step.columns
    }
    on_error = {"keep": "keep", "set_null": "set_null", "reject": "reject"}[step.unmapped]
    what = f"is not in code list {step.code_list}"
    return _apply_failures(frame, step.columns, results, on_error, what, ctx.hidden)


_CAST: dict[LogicalType, pl.DataType] = {
    LogicalType.STRING: pl.String(),
    LogicalType.INTEGER: pl.Int64(),
    LogicalType.NUMBER: pl.Float64(),
    LogicalType.DECIMAL: pl.Float64(),
    LogicalType.BOOLEAN: pl.Boolean(),
    LogicalType.DATE: pl.Date(),
    LogicalType.TIMESTAMP: pl.Datetime("us"),
    LogicalType.TIME: pl.Time(),
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
"""The date formats a cast to date accepts, in order: named, never guessed from a column's first
value (polars' guess differs between chunks, so a chunked run would not equal the whole file)."""
_TRUE = ["true", "1", "yes", "y", "t"]
_FALSE = ["false", "0", "no", "n", "f"]


def cast_expr(column: str, dtype: pl.DataType, source: pl.DataType) -> pl.Expr:
    """Text (or another type) to ``dtype``; what does not convert *exactly* becomes null.

    A typed value converts only when converting it back gives the same value: 1.5 is
    not an integer, 5 is not a boolean, a number is never a date.
    """
    col = pl.col(column)
    if source == dtype:
        return col
    if source != pl.String:
        if dtype.is_temporal() and not source.is_temporal():
            return pl.repeat(None, pl.len(), dtype=dtype)
        converted = col.cast(dtype, strict=False)
        return pl.when(converted.cast(source, strict=False) == col).then(converted)
    text = col.str.strip_chars()
    if dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)
    if dtype == pl.Date:
        moment = parse_timestamp_text(text)  # dates, or timestamps at midnight (Excel date cells)
        dates = [text.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS]
        return pl.coalesce(*dates, pl.when(moment.dt.time() == time(0)).then(moment.dt.date()))
    if isinstance(dtype, pl.Datetime):
        return parse_timestamp_text(text).cast(dtype)
    if dtype == pl.Time:
        return text.str.to_time(strict=False)
    return text.cast(dtype, strict=False)


def cast(frame: pl.DataFrame, step: c.CastStep, ctx: CleansingContext) -> StepResult:
    _require(frame, step.columns, "cast")
    dtype = _CAST.get(step.logical_type)
    if dtype is None:
        raise ConfigError(f"cleansing step cast: cannot cast to {step.logical_type.value}")
    results = {
        col: frame.select(cast_expr(col, dtype, frame.schema[col]).alias(col)).to_series() for col in step.columns
    }
    reasons = (
        _failure_reasons(frame, step.columns, results, f"is not {step.logical_type.value}", ctx.hidden)
        if step.on_error == "reject"
        else None
    )
    return StepResult(frame.with_columns(results[col] for col in step.columns), reasons, step.columns)


def impute(frame: pl.DataFrame, step: c.ImputeStep, ctx: CleansingContext) -> StepResult:
    _require(frame, (*step.columns, *step.partition_by, *step.order_by), "impute")
    exprs = []
    for column in step.columns:
        col = pl.col(column)
        match step.strategy:
            case c.ImputeStrategy.CONSTANT:
                fill = pl.lit(step.value).cast(frame.schema[column], strict=False)
                exprs.append(col.fill_null(fill))
            case c.ImputeStrategy.MEAN | c.ImputeStrategy.MEDIAN | c.ImputeStrategy.MODE:
                from dq_core.cleansing.imputing import fill_values  # noqa: PLC0415 - imputing imports this module

                exprs.append(col.fill_null(pl.lit(fill_values(frame, step)[column])))
            case c.ImputeStrategy.FORWARD_FILL:
                order = list(step.order_by) or [ROW]
                filled = col.forward_fill()
                exprs.append(
                    filled.over(list(step.partition_by), order_by=order)
                    if step.partition_by
                    else filled.over(pl.lit(0), order_by=order)
                )
    return StepResult(
        frame.with_columns(e.alias(col) for e, col in zip(exprs, step.columns, strict=True)), None, step.columns
    )


def quarantine(frame: pl.DataFrame, step: c.QuarantineStep, ctx: CleansingContext) -> StepResult:
    try:
        hit = frame.select(pl.sql_expr(step.predicate).fill_null(False).alias("q")).to_series()
    except Exception as exc:  # noqa: BLE001 - polars raises several types for bad SQL
        shown = safe_error(exc, allowed=allowed_words(step.predicate, names=frame.columns))
        raise ConfigError(f"cleansing step quarantine: predicate {step.predicate!r} fails: {shown}") from None
    reasons = pl.Series("r", [None] * frame.height, dtype=pl.String).set(hit, step.reason) if frame.height else None
    return StepResult(frame, reasons, ())


HASH_PREFIX = "sha256:"
KEEP_VISIBLE = 4  # partial masking keeps the last characters


def _hash(value: Any, salt: bytes) -> str:
    """Salted SHA-256; an already hashed value stays as it is, so masking is idempotent."""
    text = str(value)
    if text.startswith(HASH_PREFIX) and len(text) == len(HASH_PREFIX) + 64:
        return text
    return HASH_PREFIX + hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


def mask(frame: pl.DataFrame, step: c.MaskStep, ctx: CleansingContext) -> StepResult:
    """Mask per governance: hash (salted SHA-256), redact, or keep the last 4 characters."""
    rules = {col.name: col.masking for col in ctx.bundle.dataset.columns if col.masking is not Masking.NONE}
    columns = step.columns or tuple(name for name in rules if name in frame.columns)
    _require(frame, columns, "mask")
    exprs = []
    for column in columns:
        how = rules.get(column, Masking.REDACT)
        text = pl.col(column).cast(pl.String)
        if how is Masking.HASH:
            if ctx.salt is None:
                raise ConfigError(
                    f"cleansing step mask: hashing {column} needs the tenant salt "
                    f"({ctx.bundle.governance.salt_secret}) from the secret store"
                )
            hashed = _map_distinct(frame[column].cast(pl.String), partial_apply(_hash, salt=ctx.salt))
            exprs.append(pl.lit(hashed).alias(column))
        elif how is Masking.PARTIAL:
            partial = text.str.slice(-KEEP_VISIBLE).str.pad_start(text.str.len_chars(), "*")
            exprs.append(pl.when(text.str.len_chars() > KEEP_VISIBLE).then(partial).otherwise(text).alias(column))
        else:
            exprs.append(pl.when(text.is_not_null()).then(pl.lit("[redacted]")).alias(column))
    return StepResult(frame.with_columns(exprs), None, columns)


STEPS: dict[str, Step] = {
    "trim": trim,
    "null_values": null_values,
    "case": case,
    "parse_dates": parse_dates,
    "phone": phone,
    "email": email,
    "map_values": map_values,
    "cast": cast,
    "impute": impute,
    "quarantine": quarantine,
    "mask": mask,
}
"""Step type → implementation; ``deduplicate`` lives in ``cleansing.dedup`` (it removes rows)."""
