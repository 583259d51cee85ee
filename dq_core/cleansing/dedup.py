"""Deduplication with survivorship.

Duplicates are rows with equal keys: every data column (exact duplicates) or the
step's key columns, normalised (text trimmed and case-folded) after the steps before
it standardised them. Rows with a null key part are never merged. In each cluster
the survivor is the best-ranked row: ``most_recent`` (largest ``order_column``),
``most_complete`` (most non-null fields) or ``source_priority`` (position of
``order_column``'s value in ``source_order``); ties go to the earliest source row.
With ``field_level`` each empty field of the survivor is filled from the best-ranked
row of its cluster that has it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dq_core.libraries.cleansing import DeduplicateStep, Survivorship
from dq_core.payloads import Payload
from dq_core.validation.context import ROW

KEY, USABLE, SURVIVOR, SIZE = "__dq_key", "__dq_usable", "__dq_survivor", "__dq_size"


class Cluster(Payload):
    key: dict[str, Any]
    size: int
    survivor_row: int
    merged_rows: list[int]


class DedupReport(Payload):
    clusters: int
    duplicates_removed: int
    sizes: dict[str, int]  # cluster size -> how many clusters of that size
    examples: list[Cluster]


def _ranking(step: DeduplicateStep, data_columns: list[str], order: pl.Expr | None) -> tuple[list[pl.Expr], list[bool]]:
    if step.survivorship is Survivorship.MOST_RECENT:
        assert order is not None  # noqa: S101 - the model requires order_column for most_recent
        return [order.is_null(), order, pl.col(ROW)], [False, True, False]
    if step.survivorship is Survivorship.SOURCE_PRIORITY:
        priority = {source: rank for rank, source in enumerate(step.source_order)}
        rank = (
            pl.col(str(step.order_column))
            .cast(pl.String)
            .replace_strict(priority, default=len(priority), return_dtype=pl.Int64)
        )
        return [rank, pl.col(ROW)], [False, False]
    filled = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Int32) for c in data_columns])
    return [filled, pl.col(ROW)], [True, False]


def _normalised(frame: pl.DataFrame, columns: list[str]) -> list[pl.Expr]:
    return [
        pl.col(c).str.strip_chars().str.to_lowercase() if frame.schema[c] == pl.String else pl.col(c) for c in columns
    ]


def deduplicate(
    frame: pl.DataFrame, step: DeduplicateStep, sample_clusters: int, order: pl.Expr | None = None
) -> tuple[pl.DataFrame, DedupReport]:
    """``order``: the ranking column in its contract type (text "9" must not beat "10").

    Only the rows of clusters are ranked, so ``order`` must be row-local (a window such as a forward
    fill would see other rows) and the source row numbers unique (they put the rows back in order)."""
    data_columns = [c for c in frame.columns if not c.startswith("_dq_")]
    key_columns = list(step.key) or data_columns
    for column in (*key_columns, *([step.order_column] if step.order_column else [])):
        if column not in frame.columns:
            from dq_core.errors import ConfigError  # noqa: PLC0415

            raise ConfigError(f"cleansing step deduplicate: column {column!r} is not in the data")
    if order is None and step.order_column:
        order = pl.col(step.order_column)
    ranks, descending = _ranking(step, data_columns, order)
    usable = pl.all_horizontal([pl.col(c).is_not_null() for c in key_columns]) if step.key else pl.lit(True)
    keyed = frame.with_columns(  # a key is normalised (trimmed, case-folded); exact duplicates are exact
        pl.struct(_normalised(frame, key_columns) if step.key else [pl.col(c) for c in key_columns]).alias(KEY),
        usable.alias(USABLE),
    ).with_columns(pl.when(pl.col(USABLE)).then(pl.len().over(KEY)).otherwise(1).alias(SIZE))
    # A row alone under its key survives as it is: only the rows of clusters are ranked and merged.
    alone = keyed.filter(pl.col(SIZE) == 1)
    work = (
        keyed.filter(pl.col(SIZE) > 1)
        .sort(ranks, descending=descending, nulls_last=True, maintain_order=True)
        .with_columns(pl.col(KEY).is_first_distinct().alias(SURVIVOR))
    )
    if step.field_level:
        others = [c for c in data_columns if c not in key_columns]
        work = work.with_columns(pl.col(c).drop_nulls().first().over(KEY).alias(c) for c in others)
    report = _report(work, key_columns, sample_clusters)
    survivors = work.filter(pl.col(SURVIVOR)).drop(SURVIVOR)
    kept = pl.concat([alone, survivors]).sort(ROW, maintain_order=True).drop(KEY, USABLE, SIZE)
    return kept, report


def _report(clustered: pl.DataFrame, key_columns: list[str], sample_clusters: int) -> DedupReport:
    """``clustered``: the rows of clusters of two or more, best-ranked first in each cluster."""
    groups = (
        clustered.group_by(KEY, maintain_order=True)
        .agg(
            pl.col(ROW).first().alias("survivor"),
            pl.col(ROW).slice(1).sort().alias("merged"),
            pl.len().alias("size"),
            *[pl.col(c).first().alias(f"__key_{c}") for c in key_columns],
        )
        .sort("survivor")
    )
    sizes = groups.group_by("size").len().sort("size")
    examples = [
        Cluster(
            key={name: _plain(row[f"__key_{name}"]) for name in key_columns},
            size=row["size"],
            survivor_row=row["survivor"],
            merged_rows=row["merged"],
        )
        for row in groups.head(sample_clusters).iter_rows(named=True)
    ]
    return DedupReport(
        clusters=groups.height,
        duplicates_removed=int(groups["size"].sum() - groups.height) if groups.height else 0,
        sizes={str(size): count for size, count in sizes.iter_rows()},
        examples=examples,
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
