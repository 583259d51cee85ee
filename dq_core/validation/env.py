"""Compile-time environment of the rule implementations: schema, clock, reference values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from dq_core.libraries.schemas import CodeList

_RELATIVE = re.compile(r"^(today|now)\s*(?:([+-])\s*(\d+)\s*([dhm]))?$")


class RuleCompileError(Exception):
    """A rule cannot be compiled against this data (unknown column, bad bound, bad SQL)."""


@dataclass(frozen=True)
class CompileEnv:
    schema: pl.Schema
    now: datetime
    code_lists: Mapping[str, CodeList]
    reference_data: Mapping[str, pl.Series]

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
            return pl.coalesce(
                expr.str.to_datetime(strict=False, time_unit="us"),
                expr.str.to_date(strict=False).cast(pl.Datetime("us")),
            )
        msg = f"column {column!r} holds {dtype}, not dates"
        raise RuleCompileError(msg)


def naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def values_for(env: CompileEnv, column: str, values: Sequence[Any]) -> pl.Series:
    """The set's values in the column's type, so ``is_in`` compares like with like."""
    non_null = [v for v in values if v is not None]
    if env.is_string(column):
        return pl.Series([str(v) if not isinstance(v, bool) else str(v).lower() for v in non_null], dtype=pl.String)
    dtype = env.dtype(column)
    if dtype.is_numeric():
        numbers = [v for v in non_null if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return pl.Series(numbers, dtype=pl.Float64).cast(dtype, strict=False).drop_nulls()
    if dtype == pl.Boolean:
        return pl.Series([v for v in non_null if isinstance(v, bool)], dtype=pl.Boolean)
    return pl.Series([str(v) for v in non_null], dtype=pl.String).cast(dtype, strict=False).drop_nulls()


def as_text(env: CompileEnv, column: str) -> pl.Expr:
    return pl.col(column) if env.is_string(column) else pl.col(column).cast(pl.String)
