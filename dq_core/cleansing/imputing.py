"""The filling values of ``impute`` (mean, median, mode), from value counts that add up.

A value count table (each non-null value once, with how many rows hold it) can be
computed per chunk and merged by summing, so a chunked run computes exactly the value
the whole-dataset engine computes: both go through :func:`finish_fill` over the same
merged table (ordered by value, so the arithmetic runs in the same order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from dq_core.errors import ConfigError
from dq_core.libraries.cleansing import ImputeStep, ImputeStrategy

AGGREGATED = frozenset({ImputeStrategy.MEAN, ImputeStrategy.MEDIAN, ImputeStrategy.MODE})
"""Strategies whose filling value depends on every row of the column."""

COUNT = "__dq_n"


def value_counts(frame: pl.DataFrame, step: ImputeStep) -> dict[str, pl.DataFrame]:
    """Per imputed column: its non-null values and their counts (mergeable across chunks)."""
    tables = {}
    for column in step.columns:
        if column not in frame.columns:
            raise ConfigError(f"cleansing step impute: column(s) not in the data: {column}")
        if step.strategy is not ImputeStrategy.MODE and not frame.schema[column].is_numeric():
            msg = f"cleansing step impute: {step.strategy.value} needs a number column; cast {column} first"
            raise ConfigError(msg)
        tables[column] = frame.select(pl.col(column).drop_nulls()).group_by(column).agg(pl.len().alias(COUNT))
    return tables


def merge_counts(column: str, tables: Iterable[pl.DataFrame]) -> pl.DataFrame:
    parts = [table for table in tables if table.height]
    if not parts:
        return pl.DataFrame(schema={column: pl.Null, COUNT: pl.UInt32})
    merged = pl.concat(parts, how="vertical_relaxed")
    return merged.group_by(column).agg(pl.col(COUNT).sum()).sort(column)


def finish_fill(column: str, counts: pl.DataFrame, strategy: ImputeStrategy) -> Any:
    """The filling value from a merged value count table; None when the column has no value."""
    counts = counts.sort(column)
    total = int(counts[COUNT].sum()) if counts.height else 0
    if total == 0:
        return None
    values, weights = counts[column], counts[COUNT].cast(pl.Int64)
    if strategy is ImputeStrategy.MEAN:
        return float((values.cast(pl.Float64) * weights).sum()) / total
    if strategy is ImputeStrategy.MEDIAN:
        ends = weights.cum_sum()
        low = int(ends.search_sorted((total - 1) // 2 + 1))  # the value holding position (total-1)//2
        high = int(ends.search_sorted(total // 2 + 1))
        return (float(values[low]) + float(values[high])) / 2
    return counts.filter(pl.col(COUNT) == pl.col(COUNT).max())[column][0]  # the smallest of tied modes


def fill_values(frame: pl.DataFrame, step: ImputeStep) -> dict[str, Any]:
    """The filling values over ``frame`` alone (the whole-dataset engine)."""
    return {
        column: finish_fill(column, merge_counts(column, [table]), step.strategy)
        for column, table in value_counts(frame, step).items()
    }
