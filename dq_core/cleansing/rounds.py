"""Cleansing fanned out: the policy cut into rounds that each run on one chunk at a time.

Most steps are row-local: a row's outcome depends on that row alone, so every chunk is
cleansed on its own. Two kinds of step need more than one chunk, and each starts a new
round (a *barrier*):

- **shuffle** (``deduplicate``, and ``impute`` with ``forward_fill``): the rows that must
  meet (equal normalised keys; one ``partition_by`` group) are sent to the same partition.
  At the end of the round before, every unit writes its rows split into ``N`` partitions
  by a hash of the key; unit ``p`` of the next round reads partition ``p`` from every unit
  and applies the step to it. Rows whose key has a null part are never merged, so they are
  spread by row number instead (a column of nulls would otherwise pile into one unit). A
  ``forward_fill`` without ``partition_by`` orders the whole column: it has one partition.
- **aggregate** (``impute`` with ``mean``, ``median``, ``mode``): every unit writes the
  value counts of the imputed columns (:mod:`dq_core.cleansing.imputing`); they are merged
  once into the filling values, which the next round's units apply.

Every round has as many units as the run has ingested chunks. What each unit did
(:class:`UnitReport`) adds up to the whole-dataset engine's report, step by step
(:func:`merge_reports`); the property tests compare the two on random data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import polars as pl

from dq_core.cleansing.context import STEP, CleansingContext
from dq_core.cleansing.dedup import ANCHOR, DedupReport, _normalised, no_folds
from dq_core.cleansing.engine import (
    CleansingReport,
    ColumnDelta,
    StepMetrics,
    apply_step,
    cleansing_report,
    combine_dedup,
    fold_duplicates,
    folded_rows,
    mask_output,
    masked_columns,
    policy_steps,
)
from dq_core.cleansing.imputing import AGGREGATED
from dq_core.cleansing.steps import STEPS
from dq_core.errors import ConfigError
from dq_core.libraries.cleansing import CleansingStepSpec, DeduplicateStep, ImputeStep, ImputeStrategy
from dq_core.payloads import Payload
from dq_core.validation.context import ROW

PARTITION = "__dq_partition"


class Barrier(StrEnum):
    SHUFFLE = "shuffle"
    AGGREGATE = "aggregate"


def barrier_of(spec: CleansingStepSpec | None) -> Barrier | None:
    if isinstance(spec, DeduplicateStep):
        return Barrier.SHUFFLE
    if isinstance(spec, ImputeStep):
        if spec.strategy is ImputeStrategy.FORWARD_FILL:
            return Barrier.SHUFFLE
        if spec.strategy in AGGREGATED:
            return Barrier.AGGREGATE
    return None


@dataclass(frozen=True)
class Round:
    steps: tuple[tuple[str, CleansingStepSpec | None], ...]
    opens_with: Barrier | None = None  # the first step is the barrier step

    @property
    def barrier_step(self) -> CleansingStepSpec | None:
        return self.steps[0][1] if self.opens_with else None


def plan_rounds(ctx: CleansingContext) -> list[Round]:
    rounds: list[Round] = []
    current: list[tuple[str, CleansingStepSpec | None]] = []
    opening: Barrier | None = None
    for name, spec in policy_steps(ctx):
        kind = barrier_of(spec)
        if kind is not None:
            rounds.append(Round(tuple(current), opening))
            current, opening = [], kind
        current.append((name, spec))
    rounds.append(Round(tuple(current), opening))
    return rounds


def barriers(ctx: CleansingContext) -> list[Barrier]:
    """What separates the rounds: ``len(barriers) + 1`` rounds (the orchestrator's plan)."""
    return [r.opens_with for r in plan_rounds(ctx)[1:] if r.opens_with is not None]


# --- partitions ---------------------------------------------------------------------------------


def _require(frame: pl.DataFrame, columns: Iterable[str], step: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ConfigError(f"cleansing step {step}: column {missing[0]!r} is not in the data")


def partition_expr(frame: pl.DataFrame, spec: CleansingStepSpec | None, partitions: int) -> pl.Expr:
    """Which partition each row goes to, for the shuffle that ``spec`` opens."""
    count = pl.lit(partitions, pl.UInt64)
    spread = pl.col(ROW).hash() % count
    if isinstance(spec, DeduplicateStep):
        data = [c for c in frame.columns if not c.startswith("_dq_")]
        keys = list(spec.key) or data
        _require(frame, keys, "deduplicate")
        if not spec.key:
            return pl.struct([pl.col(c) for c in keys]).hash() % count
        usable = pl.all_horizontal([pl.col(c).is_not_null() for c in keys])
        return pl.when(usable).then(pl.struct(_normalised(frame, keys)).hash() % count).otherwise(spread)
    if isinstance(spec, ImputeStep):
        _require(frame, (*spec.columns, *spec.partition_by, *spec.order_by), "impute")
        if not spec.partition_by:
            return pl.lit(0, pl.UInt64)
        return pl.struct([pl.col(c) for c in spec.partition_by]).hash() % count
    return spread


def partition(frame: pl.DataFrame, spec: CleansingStepSpec | None, partitions: int) -> list[pl.DataFrame]:
    """``frame`` split into ``partitions`` frames (some possibly empty), each in row order."""
    keyed = frame.with_columns(partition_expr(frame, spec, partitions).alias(PARTITION))
    return _split(keyed, frame.clear(), partitions)


def _split(keyed: pl.DataFrame, empty: pl.DataFrame, partitions: int) -> list[pl.DataFrame]:
    parts = {key[0]: part.drop(PARTITION) for key, part in keyed.partition_by(PARTITION, as_dict=True).items()}
    return [parts.get(index, empty) for index in range(partitions)]


@dataclass(frozen=True)
class Shuffled:
    rows: list[pl.DataFrame]  # one frame per partition
    folded: list[pl.DataFrame]  # per partition, the rows folded into the rows sent (deduplicate only)


def shuffle(frame: pl.DataFrame, spec: CleansingStepSpec | None, partitions: int, ctx: CleansingContext) -> Shuffled:
    """One unit's rows split for the shuffle that ``spec`` opens. Before a deduplicate step the
    unit first folds its duplicates (:func:`dq_core.cleansing.dedup.fold`): a partition then holds
    a few rows per key from each unit, however many rows share the key."""
    if not isinstance(spec, DeduplicateStep):
        return Shuffled(partition(frame, spec, partitions), [])
    sent, folded = fold_duplicates(frame, spec, ctx)
    keyed = sent.with_columns(partition_expr(sent, spec, partitions).alias(PARTITION))
    if folded.height:  # a folded row goes where the row it folds into goes
        folded = folded.join(keyed.select(pl.col(ROW).alias(ANCHOR), PARTITION), on=ANCHOR, maintain_order="left")
    else:
        folded = folded.with_columns(pl.lit(0, pl.UInt64).alias(PARTITION))
    return Shuffled(_split(keyed, sent.clear(), partitions), _split(folded, no_folds(), partitions))


# --- one unit of one round ---------------------------------------------------------------------


class UnitReport(Payload):
    """What one unit of one round did: metrics that add up across units."""

    round: int
    unit: int
    rows_in: int  # after a deduplicate shuffle, with the rows the units folded into this unit's
    rows_out: int
    steps: list[StepMetrics]
    dedup: dict[str, DedupReport] = {}  # step name -> the clusters found in this unit
    rejects: dict[str, int] = {}  # step -> rows refused here
    masking: dict[str, StepMetrics] = {}  # final round: the deferred mask steps over this unit's rows


@dataclass(frozen=True)
class UnitOutput:
    frame: pl.DataFrame  # the rows kept, in row order
    rejects: pl.DataFrame | None  # the rows refused in this unit (text, with reason and step)
    report: UnitReport


def run_unit(
    frame: pl.DataFrame,
    rounds: Sequence[Round],
    index: int,
    unit: int,
    ctx: CleansingContext,
    fills: Mapping[str, Any] | None = None,
    folded: pl.DataFrame | None = None,
) -> UnitOutput:
    """Round ``index`` over one unit's rows (a chunk, or one partition from every chunk).
    ``folded``: after a shuffle to a deduplicate step, the rows the units folded (:func:`shuffle`)."""
    rnd = rounds[index]
    frame = frame.sort(ROW)
    rows_in = frame.height + folded_rows(folded)
    masked = masked_columns(ctx, rnd.steps[0][0])
    metrics: list[StepMetrics] = []
    refused: list[pl.DataFrame] = []
    dedup: dict[str, DedupReport] = {}
    for position, (name, spec) in enumerate(rnd.steps):
        first = position == 0
        applied = apply_step(frame, name, spec, ctx, masked, fills if first else None, folded if first else None)
        frame = applied.frame
        metrics.append(applied.metric)
        if applied.dedup is not None:
            dedup[name] = applied.dedup
        if applied.rejects is not None:
            refused.append(applied.rejects)
    rejects = pl.concat(refused, how="diagonal_relaxed") if refused else None
    counts: dict[str, int] = {}
    if rejects is not None:
        for (step,), part in rejects.group_by(STEP):
            counts[str(step)] = part.height
    report = UnitReport(
        round=index, unit=unit, rows_in=rows_in, rows_out=frame.height, steps=metrics, dedup=dedup, rejects=counts
    )
    return UnitOutput(frame=frame, rejects=rejects, report=report)


def mask_unit(output: UnitOutput, ctx: CleansingContext) -> tuple[pl.DataFrame, UnitOutput]:
    """The last round's unit, masked for publishing: (masked rows, the unit with its mask metrics
    and its masked rejects). Validation reads the unmasked rows (``output.frame``)."""
    deferred = [
        StepMetrics(step=name, type="mask", rows_in=0, rows_out=0, deferred=True)
        for name, spec in policy_steps(ctx)
        if spec is not None and spec.type == "mask"
    ]
    shell = cleansing_report(0, 0, deferred, {}, None)
    masked, _, report = mask_output(output.frame, pl.DataFrame(), shell, ctx)
    rejects = mask_rejects(output.rejects, ctx) if output.rejects is not None else None
    unit = output.report.model_copy(update={"masking": {m.step: m for m in report.steps}})
    return masked, UnitOutput(frame=output.frame, rejects=rejects, report=unit)


def mask_rejects(rejects: pl.DataFrame, ctx: CleansingContext) -> pl.DataFrame:
    """The deferred mask steps over refused rows (what ``mask_output`` does to the run's rejects)."""
    for spec in ctx.bundle.cleansing:
        if spec.type == "mask" and rejects.height:
            rejects = STEPS["mask"](rejects, spec, ctx).frame
    return rejects


# --- merging --------------------------------------------------------------------------------


def merge_metrics(parts: Sequence[StepMetrics]) -> StepMetrics:
    first = parts[0]
    changed: dict[str, int] = {}
    deltas: dict[str, dict[str, int]] = {}
    for part in parts:
        for column, count in part.cells_changed.items():
            changed[column] = changed.get(column, 0) + count
        for column, delta in part.deltas.items():
            into = deltas.setdefault(column, {"nulls_before": 0, "nulls_after": 0})
            into["nulls_before"] += delta.nulls_before
            into["nulls_after"] += delta.nulls_after
    return first.model_copy(
        update={
            "rows_in": sum(p.rows_in for p in parts),
            "rows_out": sum(p.rows_out for p in parts),
            "rows_rejected": sum(p.rows_rejected for p in parts),
            "duplicates_removed": sum(p.duplicates_removed for p in parts),
            "cells_changed": changed,
            "deltas": {column: ColumnDelta(**delta) for column, delta in deltas.items()},
        }
    )


def merge_dedup(parts: Sequence[DedupReport], sample_clusters: int) -> DedupReport:
    sizes: dict[str, int] = {}
    for part in parts:
        for size, count in part.sizes.items():
            sizes[size] = sizes.get(size, 0) + count
    examples = sorted((c for part in parts for c in part.examples), key=lambda cluster: cluster.survivor_row)
    return DedupReport(
        clusters=sum(p.clusters for p in parts),
        duplicates_removed=sum(p.duplicates_removed for p in parts),
        sizes={size: sizes[size] for size in sorted(sizes, key=int)},
        examples=examples[:sample_clusters],
    )


def merge_reports(reports: Iterable[UnitReport], ctx: CleansingContext) -> CleansingReport:
    """The run's cleansing report from every unit's: equal to the whole-dataset engine's."""
    by_round: dict[int, list[UnitReport]] = {}
    for report in reports:
        by_round.setdefault(report.round, []).append(report)
    rounds = [sorted(by_round[i], key=lambda r: r.unit) for i in sorted(by_round)]
    metrics: list[StepMetrics] = []
    found: list[DedupReport | None] = []
    rejects: dict[str, int] = {}
    masking: dict[str, list[StepMetrics]] = {}
    for unit in rounds[-1]:
        for name, metric in unit.masking.items():
            masking.setdefault(name, []).append(metric)
    for units in rounds:
        for position in range(len(units[0].steps)):
            step = units[0].steps[position]
            merged = merge_metrics([u.steps[position] for u in units])
            if step.step in masking:
                applied = merge_metrics(masking[step.step])
                merged = merged.model_copy(update={"cells_changed": applied.cells_changed, "deltas": applied.deltas})
            metrics.append(merged)
            clusters = [u.dedup[step.step] for u in units if step.step in u.dedup]
            found.append(merge_dedup(clusters, ctx.sample_clusters) if clusters else None)
        for unit in units:
            for step_name, count in unit.rejects.items():
                rejects[step_name] = rejects.get(step_name, 0) + count
    ordered = {name: rejects[name] for name, _ in policy_steps(ctx) if name in rejects}
    rows_in = sum(u.rows_in for u in rounds[0])
    rows_out = sum(u.rows_out for u in rounds[-1])
    return cleansing_report(rows_in, rows_out, metrics, ordered, combine_dedup(found))
