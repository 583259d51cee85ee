"""Run a cleansing policy: steps in order, rejects with a reason, metrics per step.

After the policy's steps, ``conform_types`` turns every column into the contract's
logical type; a cell that does not convert sends its row to the rejects with the
column and value named. Every row that comes in leaves as cleansed, rejected or a
removed duplicate: ``rows_in == rows_out + rows_rejected + duplicates_removed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.context import REASON, STEP, CleansingContext
from dq_core.cleansing.dedup import FOLDED, DedupReport, deduplicate, fold
from dq_core.cleansing.imputing import AGGREGATED, fill_values
from dq_core.cleansing.steps import _CAST, STEPS, StepResult, _failure_reasons, cast_expr
from dq_core.libraries.cleansing import CastStep, CleansingStepSpec, DeduplicateStep, ImputeStep, MaskStep
from dq_core.libraries.governance import Masking
from dq_core.payloads import Payload
from dq_core.validation.attribution import LAST_BIT
from dq_core.validation.context import ROW, TOUCHED, touched_column, touched_columns
from dq_core.validation.masking import MASK

CONFORM = "conform_types"
UNCHANGED = frozenset({"cast", CONFORM})  # a value in its type is the same value: not a change for attribution
FORMULAS = "reject_formulas"
FORMULA = r"^\s*(=|@[A-Za-z_]+\()"  # spreadsheet formulas: never loaded as data


class ColumnDelta(Payload):
    """Nulls in a touched column before and after a step (counts that add up across chunks)."""

    nulls_before: int
    nulls_after: int


class StepMetrics(Payload):
    step: str
    type: str
    rows_in: int
    rows_out: int
    rows_rejected: int = 0
    duplicates_removed: int = 0
    cells_changed: dict[str, int] = {}
    deltas: dict[str, ColumnDelta] = {}
    deferred: bool = False  # masking applied when outputs are written (validation reads the values)


class CleansingReport(Payload):
    rows_in: int
    rows_out: int
    rows_rejected: int
    duplicates_removed: int
    steps: list[StepMetrics]
    reject_reasons: dict[str, int]  # step -> rows rejected there
    deduplication: DedupReport | None = None


@dataclass(frozen=True)
class CleansingOutput:
    cleansed: pl.DataFrame  # keeps _dq_source_row, and _dq_touched:<column> (which steps changed each cell)
    rejects: pl.DataFrame  # text columns + _dq_reject_reason, _dq_reject_step, _dq_source_row
    report: CleansingReport


def _name(step: CleansingStepSpec, index: int) -> str:
    return step.id or f"{index + 1:02d}_{step.type}"


def _deltas(before: pl.DataFrame, after: pl.DataFrame, columns: tuple[str, ...]) -> dict[str, ColumnDelta]:
    if not columns:
        return {}
    stats = [pl.col(c).null_count().alias(c) for c in columns]
    b, a = before.select(stats).row(0, named=True), after.select(stats).row(0, named=True)
    return {c: ColumnDelta(nulls_before=b[c], nulls_after=a[c]) for c in columns}


def _changed(before: pl.DataFrame, after: pl.DataFrame, columns: tuple[str, ...]) -> dict[str, int]:
    """Cells whose value (compared as text, nulls included) the step changed."""
    return {c: int(flags.sum()) for c, flags in _change_flags(before, after, columns).items()}


def _change_flags(before: pl.DataFrame, after: pl.DataFrame, columns: tuple[str, ...]) -> dict[str, pl.Series]:
    """Per column, which rows' values the step changed, nulls included: as numbers when both sides are
    numbers (an integer column a mean fills becomes float: 3 and 3.0 are the same value), else as text."""
    return {
        c: _comparable(before[c], after[c].dtype).ne_missing(_comparable(after[c], before[c].dtype)) for c in columns
    }


def _comparable(values: pl.Series, other: pl.DataType) -> pl.Series:
    return values.cast(pl.Float64) if values.dtype.is_numeric() and other.is_numeric() else values.cast(pl.String)


def _merged_flags(before: pl.DataFrame, kept: pl.DataFrame) -> dict[str, pl.Series]:
    """Per data column, which kept rows deduplication changed (field-level survivorship)."""
    data = [c for c in kept.columns if not c.startswith("_dq_")]
    if not data or not kept.height:
        return {}
    original = kept.select(ROW).join(before.select(ROW, *data), on=ROW, how="left", maintain_order="left")
    return _change_flags(original, kept, tuple(data))


def step_names(bundle: ResolvedBundle) -> tuple[str, ...]:
    """Every step a run applies, in order, by name: bit ``i`` of ``TOUCHED`` is step ``i``."""
    return (FORMULAS, *(_name(s, i) for i, s in enumerate(bundle.cleansing)), CONFORM)


def _mark(frame: pl.DataFrame, flags: Mapping[str, pl.Series], name: str, bundle: ResolvedBundle) -> pl.DataFrame:
    """Set the step's bit in each changed column's ``TOUCHED`` mask, on the rows it changed there
    (``frame`` is after the step, row-aligned with ``flags``)."""
    names = step_names(bundle)
    bit = pl.lit(1 << min(names.index(name) if name in names else LAST_BIT, LAST_BIT), pl.UInt64)
    marks = []
    for column, changed in flags.items():
        mask = touched_column(column)
        current = pl.col(mask) if mask in frame.columns else pl.lit(0, pl.UInt64)
        marks.append(pl.when(pl.lit(changed)).then(current | bit).otherwise(current).alias(mask))
    return frame.with_columns(marks) if marks else frame


def _as_rejects(rows: pl.DataFrame, reasons: pl.Series, step: str) -> pl.DataFrame:
    kept = [c for c in rows.columns if not c.startswith(TOUCHED)]
    text = rows.select(pl.col(c).cast(pl.String) if c != ROW else pl.col(c) for c in kept)
    return text.with_columns(reasons.alias(REASON), pl.lit(step).alias(STEP))


def _conform(frame: pl.DataFrame, ctx: CleansingContext, masked: set[str]) -> StepResult:
    """Cast every declared column to its logical type; masked columns stay text by design."""
    results = {}
    logical = {}
    for column in ctx.bundle.dataset.columns:
        dtype = _CAST.get(column.logical_type)
        name = column.name
        if dtype is None or name in masked or name not in frame.columns or frame.schema[name] == dtype:
            continue
        results[name] = frame.select(cast_expr(name, dtype, frame.schema[name]).alias(name)).to_series()
        logical[name] = column.logical_type.value
    if not results:
        return StepResult(frame)
    parts = [_failure_reasons(frame, (name,), results, f"is not {logical[name]}", ctx.hidden) for name in results]
    joined = pl.select(pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("r")).to_series()
    reasons = pl.select(pl.when(joined != "").then(joined)).to_series()
    return StepResult(frame.with_columns(results.values()), reasons, tuple(results))


def _typed(frame: pl.DataFrame, column: str | None, ctx: CleansingContext) -> pl.Expr | None:
    """A column as its contract type (for ranking), when the data still holds it as text."""
    if column is None or column not in frame.columns:
        return None
    spec = ctx.bundle.dataset.column(column)
    dtype = _CAST.get(spec.logical_type) if spec else None
    if dtype is None or frame.schema[column] == dtype:
        return pl.col(column)
    return cast_expr(column, dtype, frame.schema[column])


def impute_with(frame: pl.DataFrame, step: ImputeStep, fills: Mapping[str, Any]) -> StepResult:
    """An aggregate impute with its filling values (computed over this frame, or merged from every chunk)."""
    exprs = [pl.col(column).fill_null(pl.lit(fills.get(column))).alias(column) for column in step.columns]
    return StepResult(frame.with_columns(exprs), None, step.columns)


def _hide_keys(report: DedupReport, hidden: frozenset[str]) -> DedupReport:
    """Duplicate-cluster examples keyed by a sensitive column show ``***``, not the value."""
    if not hidden & {name for cluster in report.examples for name in cluster.key}:
        return report
    examples = [
        cluster.model_copy(
            update={"key": {k: MASK if k in hidden and v is not None else v for k, v in cluster.key.items()}}
        )
        for cluster in report.examples
    ]
    return report.model_copy(update={"examples": examples})


def _formulas(frame: pl.DataFrame, hidden: frozenset[str]) -> StepResult:
    """Rows with a formula-looking text cell (``=HYPERLINK(...)``) go to the rejects."""
    text = [c for c in frame.columns if not c.startswith("_dq_") and frame.schema[c] == pl.String]
    if not text:
        return StepResult(frame)
    hits = {c: frame.select(pl.when(~pl.col(c).str.contains(FORMULA)).then(pl.col(c))).to_series() for c in text}
    reasons = _failure_reasons(frame, tuple(text), hits, "looks like a spreadsheet formula", hidden)
    return StepResult(frame, reasons, ())


@dataclass(frozen=True)
class Applied:
    """One step over some rows: the rows kept, its metrics, the rows it refused, its duplicate clusters."""

    frame: pl.DataFrame
    metric: StepMetrics
    rejects: pl.DataFrame | None = None
    dedup: DedupReport | None = None


def policy_steps(ctx: CleansingContext) -> list[tuple[str, CleansingStepSpec | None]]:
    """Every step a run applies, in order: formulas first, the policy's steps, conform_types last."""
    steps: list[tuple[str, CleansingStepSpec | None]] = [(_name(s, i), s) for i, s in enumerate(ctx.bundle.cleansing)]
    return [(FORMULAS, None), *steps, (CONFORM, None)]


def masked_columns(ctx: CleansingContext, until: str) -> set[str]:
    """Columns a (non-deferred) mask step before step ``until`` has masked: conform_types leaves them text."""
    if ctx.defer_masking:
        return set()
    masked: set[str] = set()
    for name, spec in policy_steps(ctx):
        if name == until:
            break
        if isinstance(spec, MaskStep):
            rules = {c.name for c in ctx.bundle.dataset.columns if c.masking is not Masking.NONE}
            masked.update(spec.columns or rules)
    return masked


def apply_step(
    frame: pl.DataFrame,
    name: str,
    spec: CleansingStepSpec | None,
    ctx: CleansingContext,
    masked: set[str],
    fills: Mapping[str, Any] | None = None,
    folded: pl.DataFrame | None = None,
) -> Applied:
    """Apply one step. ``fills``: an impute step's filling values, when they were computed over
    more rows than ``frame`` (a chunked run merges them from every chunk); else from ``frame``.
    ``folded``: for a deduplicate step, the rows each chunk folded before the shuffle (:func:`fold_duplicates`)."""
    before = frame
    if isinstance(spec, DeduplicateStep):
        order = _typed(frame, spec.order_column, ctx)
        frame, found = deduplicate(frame, spec, ctx.sample_clusters, order, folded, ctx.merged_listed)
        if spec.field_level:  # a survivor's empty fields filled from its duplicates
            frame = _mark(frame, _merged_flags(before, frame), name, ctx.bundle)
        rows_in = before.height + folded_rows(folded)
        metric = StepMetrics(
            step=name, type=spec.type, rows_in=rows_in, rows_out=frame.height, duplicates_removed=rows_in - frame.height
        )
        return Applied(frame, metric, dedup=_hide_keys(found, ctx.hidden))
    if spec is not None and spec.type == "mask" and ctx.defer_masking:
        return Applied(
            frame, StepMetrics(step=name, type=spec.type, rows_in=frame.height, rows_out=frame.height, deferred=True)
        )
    if spec is None:
        result = _formulas(frame, ctx.hidden) if name == FORMULAS else _conform(frame, ctx, masked)
    elif isinstance(spec, ImputeStep) and spec.strategy in AGGREGATED:
        result = impute_with(frame, spec, fills if fills is not None else fill_values(frame, spec))
    else:
        result = STEPS[spec.type](frame, spec, ctx)
    if spec is not None and spec.type == "mask":
        masked.update(result.touched)
    after = result.frame
    rejected = 0
    refused = None
    flags = _change_flags(before, after, result.touched)
    changed, deltas = {c: int(f.sum()) for c, f in flags.items()}, _deltas(before, after, result.touched)
    if (spec.type if spec else name) in UNCHANGED:  # a conversion changes only the cells a set_null cast empties
        emptying = isinstance(spec, CastStep) and spec.on_error == "set_null"
        flags = {c: before[c].is_not_null() & after[c].is_null() for c in result.touched} if emptying else {}
    after = _mark(after, flags, name, ctx.bundle)
    if result.reasons is not None and after.height:
        hit = result.reasons.is_not_null()
        rejected = int(hit.sum())
        if rejected:
            refused = _as_rejects(before.filter(hit), result.reasons.filter(hit), name)
            after = after.filter(~hit)
    metric = StepMetrics(
        step=name,
        type=spec.type if spec else name,  # reject_formulas or conform_types
        rows_in=before.height,
        rows_out=after.height,
        rows_rejected=rejected,
        cells_changed=changed,
        deltas=deltas,
    )
    return Applied(after, metric, refused)


def fold_duplicates(
    frame: pl.DataFrame, spec: DeduplicateStep, ctx: CleansingContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A chunk's rows before the shuffle to deduplicate step ``spec``: (the rows that can still
    decide a survivor or a field-level fill, the others folded into counts; :func:`dedup.fold`)."""
    return fold(frame, spec, _typed(frame, spec.order_column, ctx), ctx.merged_listed)


def folded_rows(folded: pl.DataFrame | None) -> int:
    """How many source rows ``fold_duplicates`` left out of the rows it sent on."""
    return int(folded[FOLDED].sum()) if folded is not None and folded.height else 0


def combine_dedup(reports: Iterable[DedupReport | None]) -> DedupReport | None:
    """The run's deduplication report from its deduplicate steps' (the first step's examples)."""
    combined: DedupReport | None = None
    for found in reports:
        if found is None:
            continue
        combined = (
            found if combined is None else combined.model_copy(update={"clusters": combined.clusters + found.clusters})
        )
    return combined


def cleansing_report(
    rows_in: int, rows_out: int, metrics: list[StepMetrics], rejects: dict[str, int], dedup: DedupReport | None
) -> CleansingReport:
    return CleansingReport(
        rows_in=rows_in,
        rows_out=rows_out,
        rows_rejected=sum(rejects.values()),
        duplicates_removed=sum(m.duplicates_removed for m in metrics),
        steps=metrics,
        reject_reasons={step: count for step, count in rejects.items() if count},
        deduplication=dedup,
    )


def cleanse(frame: pl.DataFrame, ctx: CleansingContext) -> CleansingOutput:
    """Apply the bundle's cleansing policy, then conform types. ``frame`` has ``_dq_source_row``."""
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    rows_in = frame.height
    metrics: list[StepMetrics] = []
    rejects: list[pl.DataFrame] = []
    found: list[DedupReport | None] = []
    masked: set[str] = set()
    for name, spec in policy_steps(ctx):
        applied = apply_step(frame, name, spec, ctx, masked)
        frame = applied.frame
        metrics.append(applied.metric)
        found.append(applied.dedup)
        if applied.rejects is not None:
            rejects.append(applied.rejects)
    reject_frame = pl.concat(rejects, how="diagonal_relaxed") if rejects else _empty_rejects(frame)
    counts = dict(Counter(reject_frame[STEP].to_list())) if reject_frame.height else {}
    report = cleansing_report(rows_in, frame.height, metrics, counts, combine_dedup(found))
    return CleansingOutput(cleansed=frame, rejects=reject_frame.sort(ROW), report=report)


def mask_output(
    cleansed: pl.DataFrame, rejects: pl.DataFrame, report: CleansingReport, ctx: CleansingContext
) -> tuple[pl.DataFrame, pl.DataFrame, CleansingReport]:
    """Apply the deferred mask steps to the outputs, in policy order; the report gets their counts.

    Used with ``CleansingContext(defer_masking=True)``: profiling and validation read the
    cleansed values, and only the written outputs (cleansed rows and rejects) are masked.
    """
    steps = {_name(s, i): s for i, s in enumerate(ctx.bundle.cleansing) if s.type == "mask"}
    updated: list[StepMetrics] = []
    for metric in report.steps:
        spec = steps.get(metric.step)
        if spec is None or not metric.deferred:
            updated.append(metric)
            continue
        before = cleansed
        result = STEPS["mask"](cleansed, spec, ctx)
        cleansed = result.frame
        rejects = STEPS["mask"](rejects, spec, ctx).frame if rejects.height else rejects
        updated.append(
            metric.model_copy(
                update={
                    "cells_changed": _changed(before, cleansed, result.touched),
                    "deltas": _deltas(before, cleansed, result.touched),
                }
            )
        )
    published = cleansed.drop(touched_columns(cleansed.columns))  # cleansing's bookkeeping: validation only
    return published, rejects, report.model_copy(update={"steps": updated})


def empty_rejects(bundle: ResolvedBundle) -> pl.DataFrame:
    """No refused rows, with the columns refused rows have (the dataset's, as text)."""
    columns = [column.name for column in bundle.dataset.columns]
    return _empty_rejects(pl.DataFrame(schema=dict.fromkeys([*columns, ROW], pl.String)))


def _empty_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    schema = {c: (pl.Int64 if c == ROW else pl.String) for c in frame.columns} | {REASON: pl.String, STEP: pl.String}
    return pl.DataFrame(schema=schema)
