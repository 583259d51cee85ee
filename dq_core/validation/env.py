"""Compile-time environment of the rule implementations: schema, clock, reference values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from dq_core.libraries.schemas import CodeList

_RELATIVE = re.compile(r"^(today|now)\s*(?:([+-])\s*(\d+)\s*([dhm]))?$")


class RuleCompileError(Exception):
    """A rule cannot be compiled against this data (unknown column, bad bound, bad SQL)."""


def reference_key(dataset: str, column: str) -> str:
    """The key of one reference column's distinct values in ``reference_data`` (``airports.faa``)."""
    return f"{dataset}.{column}"


@dataclass(frozen=True)
class CompileEnv:
    schema: pl.Schema
    now: datetime
    code_lists: Mapping[str, CodeList]
    reference_data: Mapping[str, pl.Series]  # reference_key(dataset, column), or a dataset's only column
    reference_errors: Mapping[str, str] = field(default_factory=dict)  # dataset -> why it could not be read

    def dtype(self, column: str) -> pl.DataType:
        try:
            return self.schema[column]
        except KeyError:
            msg = f"column {column!r} is not in the data"
            raise RuleCompileError(msg) from None

    def is_string(self, column: str) -> bool:
        return self.dtype(column) == pl.String

    def is_temporal(self, column: str) -> bool:
        return self.dtype(column).is_temporal()

    def is_numeric(self, column: str) -> bool:
        return self.dtype(column).is_numeric()

    def moment(self, text: str) -> datetime:
        """An ISO date/time, or a bound relative to the run's clock (``today-30d``, ``now+1h``)."""
        match = _RELATIVE.match(text.strip().lower())
        if match:
            anchor, sign, amount, unit = match.groups()
            base = (
                self.now if anchor == "now" else datetime.combine(self.now.date(), datetime.min.time(), self.now.tzinfo)
            )
            if sign:
                delta = timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: int(amount)})
                base = base + delta if sign == "+" else base - delta
            return base
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            msg = f"{text!r} is not an ISO date/time or a relative bound like today-30d"
            raise RuleCompileError(msg) from None
        return parsed if parsed.tzinfo or self.now.tzinfo is None else parsed.replace(tzinfo=self.now.tzinfo)

    def naive_datetime(self, column: str) -> pl.Expr:
        """The column as a naive UTC datetime; text is parsed (unparseable text becomes null)."""
        dtype = self.dtype(column)
        expr = pl.col(column)
        if dtype == pl.Date:
            return expr.cast(pl.Datetime("us"))
        if isinstance(dtype, pl.Datetime):
            return expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else expr
        if dtype == pl.String:
            return parse_timestamp_text(expr)
        msg = f"column {column!r} holds {dtype}, not dates"
        raise RuleCompileError(msg)


_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")
_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ")


def parse_timestamp_text(expr: pl.Expr) -> pl.Expr:
    """ISO timestamps or dates as naive UTC: offsets are applied, text without one is UTC."""
    aware = [expr.str.strptime(pl.Datetime("us", "UTC"), f, strict=False).dt.replace_time_zone(None) for f in _AWARE]
    naive = [expr.str.strptime(pl.Datetime("us"), f, strict=False) for f in _NAIVE]
    day = expr.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
    return pl.coalesce([*aware, *naive, day])


def naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def values_for(env: CompileEnv, column: str, values: Sequence[Any]) -> pl.Series:
    """The set's values in the column's type, converted exactly, so ``is_in`` compares like
    with like. A value that cannot exist in the column (1.5 in an integer column) is left
    out: it could never match."""
    present = [v for v in values if v is not None]
    dtype = env.dtype(column)
    if dtype == pl.String:
        return pl.Series([str(v).lower() if isinstance(v, bool) else str(v) for v in present], dtype=pl.String)
    if dtype.is_integer():
        ints = [i for i in (_as_int(v) for v in present) if i is not None]
        return pl.Series(ints, dtype=pl.Int64).cast(dtype, strict=False).drop_nulls()
    if dtype.is_float():
        return pl.Series([f for f in (_as_float(v) for v in present) if f is not None], dtype=dtype)
    if dtype == pl.Boolean:
        truth = {"true": True, "false": False}
        bools = [v if isinstance(v, bool) else truth.get(str(v).strip().lower()) for v in present]
        return pl.Series([b for b in bools if b is not None], dtype=pl.Boolean)
    text = pl.Series([str(v) for v in present], dtype=pl.String)
    if dtype == pl.Date:
        return text.str.to_date(strict=False).drop_nulls()
    if isinstance(dtype, pl.Datetime):
        return text.str.to_datetime(strict=False, time_unit=dtype.time_unit).drop_nulls().cast(dtype)
    return text.cast(dtype, strict=False).drop_nulls()


def as_text(env: CompileEnv, column: str) -> pl.Expr:
    return pl.col(column) if env.is_string(column) else pl.col(column).cast(pl.String)
