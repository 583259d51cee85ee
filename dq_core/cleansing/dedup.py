"""Deduplication with survivorship.

Duplicates are rows with equal keys: every data column (exact duplicates) or the
step's key columns, normalised (text trimmed and case-folded) after the steps before
it standardised them. Rows with a null key part are never merged. In each cluster
the survivor is the best-ranked row: ``most_recent`` (largest ``order_column``),
``most_complete`` (most non-null fields) or ``source_priority`` (position of
``order_column``'s value in ``source_order``); ties go to the earliest source row.
With ``field_level`` each empty field of the survivor is filled from the best-ranked
row of its cluster that has it.

A fanned-out run folds each chunk's clusters before the shuffle (:func:`fold`): a chunk
sends on, per key, only the rows that can still decide something (its best-ranked row,
and with ``field_level`` its best-ranked row holding each other column) and counts the
rest, so one key held by every row of a file moves a handful of rows, not the file.
:func:`deduplicate` then takes the folded rows' counts and row numbers into its report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from dq_core.errors import ConfigError
from dq_core.libraries.cleansing import DeduplicateStep, Survivorship
from dq_core.payloads import Payload
from dq_core.validation.context import ROW

KEY, USABLE, SURVIVOR, SIZE = "__dq_key", "__dq_usable", "__dq_survivor", "__dq_size"
ANCHOR, FOLDED, FOLDED_ROWS = "__dq_anchor", "__dq_folded", "__dq_folded_rows"
LISTED = 100  # merged row numbers an example cluster lists (its size counts them all)


class Cluster(Payload):
    key: dict[str, Any]
    size: int
    survivor_row: int
    merged_rows: list[int]  # the first by row number (``CleansingContext.merged_listed``; ``size`` counts them all)


class DedupReport(Payload):
    clusters: int
    duplicates_removed: int
    sizes: dict[str, int]  # cluster size -> how many clusters of that size
    examples: list[Cluster]


def no_folds() -> pl.DataFrame:
    """What :func:`fold` leaves for the shuffle's far side, when nothing: per kept row (``ANCHOR``, a
    chunk's best-ranked row of a key), how many other rows of the key the chunk folded into it
    (``FOLDED``), and up to ``listed`` of their row numbers, the smallest (``FOLDED_ROWS``)."""
    return pl.DataFrame(schema={ANCHOR: pl.Int64(), FOLDED: pl.Int64(), FOLDED_ROWS: pl.List(pl.Int64())})


@dataclass(frozen=True)
class _Plan:
    key_columns: list[str]
    ranks: list[pl.Expr]
    descending: list[bool]
    others: list[str]  # the columns field-level survivorship fills


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


def _plan(frame: pl.DataFrame, step: DeduplicateStep, order: pl.Expr | None) -> _Plan:
    data_columns = [c for c in frame.columns if not c.startswith("_dq_")]
    key_columns = list(step.key) or data_columns
    for column in (*key_columns, *([step.order_column] if step.order_column else [])):
        if column not in frame.columns:
            raise ConfigError(f"cleansing step deduplicate: column {column!r} is not in the data")
    if order is None and step.order_column:
        order = pl.col(step.order_column)
    ranks, descending = _ranking(step, data_columns, order)
    others = [c for c in data_columns if c not in key_columns] if step.field_level else []
    return _Plan(key_columns, ranks, descending, others)


def _keyed(frame: pl.DataFrame, step: DeduplicateStep, plan: _Plan, weight: pl.Expr | None = None) -> pl.DataFrame:
    """``frame`` with its normalised key, whether the key is usable, and its cluster's size
    (``weight``: how many rows each row stands for; one each when None)."""
    keys = plan.key_columns
    size = pl.len() if weight is None else weight.sum()
    usable = pl.all_horizontal([pl.col(c).is_not_null() for c in keys]) if step.key else pl.lit(True)
    return frame.with_columns(  # a key is normalised (trimmed, case-folded); exact duplicates are exact
        pl.struct(_normalised(frame, keys) if step.key else [pl.col(c) for c in keys]).alias(KEY),
        usable.alias(USABLE),
    ).with_columns(pl.when(pl.col(USABLE)).then(size.over(KEY)).otherwise(1).alias(SIZE))


def _ranked(keyed: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """The rows of clusters, best-ranked first in each, the first of each marked ``SURVIVOR``."""
    return (
        keyed.filter(pl.col(SIZE) > 1)
        .sort(plan.ranks, descending=plan.descending, nulls_last=True, maintain_order=True)
        .with_columns(pl.col(KEY).is_first_distinct().alias(SURVIVOR))
    )


def fold(
    frame: pl.DataFrame, step: DeduplicateStep, order: pl.Expr | None = None, listed: int = LISTED
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One chunk's rows before the shuffle to ``step``: (the rows sent on, the folded rows).

    Per key the chunk keeps its best-ranked row and, with ``field_level``, its best-ranked
    row holding each other column. The cluster's survivor and each of its field-level fills
    is the best-ranked row of some kind across the chunks, so it is kept by its own chunk,
    and deduplicating the kept rows of every chunk gives the rows :func:`deduplicate` gives
    over them all. The other rows become a count and their first ``listed`` row numbers on
    the chunk's best-ranked row of their key (:func:`no_folds`), for the report.

    The ranking runs in this chunk's column types, so every chunk must hold the partition's types:
    they do in a run, where every unit ran the same steps on chunks read with the contract's types."""
    plan = _plan(frame, step, order)
    work = _ranked(_keyed(frame, step, plan), plan)
    if not work.height:
        return frame, no_folds()
    keep = pl.col(SURVIVOR)
    for column in plan.others:
        keep = keep | (pl.col(column).is_not_null() & pl.struct(KEY, pl.col(column).is_null()).is_first_distinct())
    anchored = work.with_columns(pl.col(ROW).first().over(KEY).alias(ANCHOR))
    dropped = anchored.filter(~keep).select(ANCHOR, ROW)
    if not dropped.height:
        return frame, no_folds()
    folded = (
        dropped.group_by(ANCHOR)
        .agg(pl.len().cast(pl.Int64).alias(FOLDED), pl.col(ROW).sort().head(listed).alias(FOLDED_ROWS))
        .sort(ANCHOR)
    )
    return frame.filter(~pl.col(ROW).is_in(dropped[ROW])), folded  # the rows sent keep their order


def deduplicate(
    frame: pl.DataFrame,
    step: DeduplicateStep,
    sample_clusters: int,
    order: pl.Expr | None = None,
    folded: pl.DataFrame | None = None,
    listed: int = LISTED,
) -> tuple[pl.DataFrame, DedupReport]:
    """``order``: the ranking column in its contract type (text "9" must not beat "10").
    ``folded``: the rows :func:`fold` left out of ``frame``, by the kept row they fold into; every
    anchor is a row of ``frame`` (the shuffle sends a folded row where its anchor goes).

    Only the rows of clusters are ranked, so ``order`` must be row-local (a window such as a forward
    fill would see other rows) and the source row numbers unique (they put the rows back in order)."""
    plan = _plan(frame, step, order)
    weight = None
    if folded is not None and folded.height:
        frame = frame.join(folded, left_on=ROW, right_on=ANCHOR, how="left", maintain_order="left")
        weight = pl.col(FOLDED).fill_null(0) + 1
    keyed = _keyed(frame, step, plan, weight)
    # A row alone under its key survives as it is: only the rows of clusters are ranked and merged.
    alone = keyed.filter(pl.col(SIZE) == 1)
    work = _ranked(keyed, plan)
    if plan.others:
        work = work.with_columns(pl.col(c).drop_nulls().first().over(KEY).alias(c) for c in plan.others)
    report = _report(work, plan.key_columns, sample_clusters, listed)
    survivors = work.filter(pl.col(SURVIVOR)).drop(SURVIVOR)
    kept = pl.concat([alone, survivors]).sort(ROW, maintain_order=True)
    return kept.drop(KEY, USABLE, SIZE, FOLDED, FOLDED_ROWS, strict=False), report


def _report(clustered: pl.DataFrame, key_columns: list[str], sample_clusters: int, listed: int) -> DedupReport:
    """``clustered``: the rows of clusters of two or more, best-ranked first in each cluster."""
    merged = pl.col(ROW).slice(1)
    if FOLDED_ROWS in clustered.columns:
        merged = merged.append(pl.col(FOLDED_ROWS).list.explode(keep_nulls=False, empty_as_null=False))
    groups = (
        clustered.group_by(KEY, maintain_order=True)
        .agg(
            pl.col(ROW).first().alias("survivor"),
            merged.sort().head(listed).alias("merged"),
            pl.col(SIZE).first().alias("size"),
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
