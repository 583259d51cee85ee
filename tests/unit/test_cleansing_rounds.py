"""Cleansing fanned out in rounds gives exactly what the whole-dataset engine gives.

Random data whose duplicates cross chunk boundaries, every kind of barrier (deduplicate
with each survivorship and field-level merging, forward fill within groups and over the
whole column, mean/median/mode imputation), row-local steps that reject rows, and masking
deferred to the outputs. The driver below composes the rounds the way the orchestrator
does (dq_core/runs/stages.py), in memory.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import cleanse, mask_output
from dq_core.cleansing.imputing import finish_fill, merge_counts, value_counts
from dq_core.cleansing.rounds import (
    Barrier,
    barriers,
    mask_rejects,
    mask_unit,
    merge_reports,
    partition,
    plan_rounds,
    run_unit,
    shuffle,
)
from dq_core.libraries.cleansing import ImputeStep
from dq_core.validation.context import ROW, touched_columns
from tests.unit.cleansing_support import bundle_with

COLUMNS = [
    {"name": "name"},
    {"name": "email"},
    {"name": "segment"},
    {"name": "amount", "logical_type": "number"},
]
MASKING = [
    {"attribute": "e.email", "classification": "pii", "masking": "hash"},
    {"attribute": "e.name", "classification": "pii", "masking": "partial"},
]
NAMES = ["ann", " Ann", "ANN ", "bob", "Bob", "cy", None, "dee", "eve ", "=HYPERLINK(1)"]
EMAILS = ["a@x.org", "b@x.org", "not-an-email", None, "c@y.com"]
SEGMENTS = ["x", "y", "z", None]
AMOUNTS = ["1", "2.5", "-3", "abc", None, "10", "7.25"]

POLICIES: dict[str, list[dict[str, Any]]] = {
    "row_local_only": [
        {"type": "trim"},
        {"type": "case", "columns": ["name"], "mode": "lower"},
        {"type": "quarantine", "predicate": "segment = 'z'", "reason": "segment z"},
    ],
    "dedup_most_complete_field_level": [
        {"type": "trim"},
        {"type": "deduplicate", "key": ["name"], "survivorship": "most_complete", "field_level": True},
        {"type": "case", "columns": ["segment"], "mode": "upper"},
    ],
    "dedup_most_recent_then_exact": [
        {"type": "cast", "columns": ["amount"], "logical_type": "number", "on_error": "set_null"},
        {"type": "deduplicate", "key": ["name", "segment"], "survivorship": "most_recent", "order_column": "amount"},
        {"type": "deduplicate"},
    ],
    "dedup_recent_and_priority_field_level": [
        {"type": "cast", "columns": ["amount"], "logical_type": "number", "on_error": "set_null"},
        {
            "type": "deduplicate",
            "key": ["segment"],
            "survivorship": "most_recent",
            "order_column": "amount",
            "field_level": True,
        },
        {"type": "trim"},
        {
            "type": "deduplicate",
            "key": ["email"],
            "survivorship": "source_priority",
            "order_column": "segment",
            "source_order": ["y", "x"],
            "field_level": True,
        },
    ],
    "impute_aggregates": [
        {"type": "cast", "columns": ["amount"], "logical_type": "number"},
        {"type": "impute", "columns": ["amount"], "strategy": "median"},
        {"type": "quarantine", "predicate": "amount > 9", "reason": "big"},
        {"type": "impute", "columns": ["segment"], "strategy": "mode"},
    ],
    "impute_mean_and_forward_fill": [
        {"type": "cast", "columns": ["amount"], "logical_type": "number", "on_error": "set_null"},
        {"type": "impute", "columns": ["amount"], "strategy": "forward_fill", "partition_by": ["segment"]},
        {"type": "impute", "columns": ["amount"], "strategy": "mean"},
        {"type": "impute", "columns": ["email"], "strategy": "forward_fill"},
        {"type": "email", "columns": ["email"], "on_error": "reject"},
    ],
    "masked_outputs": [
        {"type": "trim"},
        {"type": "email", "columns": ["email"], "on_error": "reject"},
        {"type": "deduplicate", "key": ["email"], "survivorship": "most_complete"},
        {"type": "mask"},
    ],
}


def fanned_out(
    frame: pl.DataFrame, ctx: CleansingContext, units: int, unmasked: list[pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    """Rounds over ``units`` chunks, composed as the orchestrator composes the activities."""
    rounds = plan_rounds(ctx)
    size = -(-frame.height // units) or 1
    inputs = [frame.slice(i * size, size) for i in range(units)]
    reports, rejects, fills = [], [], None
    folded: list[pl.DataFrame | None] = [None] * units
    outputs = []
    for index in range(len(rounds)):
        outputs = [run_unit(rows, rounds, index, unit, ctx, fills, folded[unit]) for unit, rows in enumerate(inputs)]
        if index + 1 == len(rounds):
            break
        reports += [out.report for out in outputs]
        rejects += [mask_rejects(out.rejects, ctx) for out in outputs if out.rejects is not None]
        following = rounds[index + 1]
        if following.opens_with is Barrier.SHUFFLE:
            parts = [shuffle(out.frame, following.barrier_step, units, ctx) for out in outputs]
            inputs = [pl.concat([p.rows[k] for p in parts], how="diagonal_relaxed") for k in range(units)]
            folded = [pl.concat([p.folded[k] for p in parts]) if parts[0].folded else None for k in range(units)]
            fills = None
        else:
            step = following.barrier_step
            assert isinstance(step, ImputeStep)
            tables = [value_counts(out.frame, step) for out in outputs]
            fills = {c: finish_fill(c, merge_counts(c, [t[c] for t in tables]), step.strategy) for c in step.columns}
            inputs = [out.frame for out in outputs]
            folded = [None] * units
    published = []
    for out in outputs:
        if unmasked is not None:
            unmasked.append(out.frame)
        masked, finished = mask_unit(out, ctx)
        published.append(masked)
        reports.append(finished.report)
        if finished.rejects is not None:
            rejects.append(finished.rejects)
    report = merge_reports(reports, ctx)
    cleansed = pl.concat(published).sort(ROW)
    reject_frame = pl.concat(rejects, how="diagonal_relaxed").sort(ROW) if rejects else None
    return cleansed, reject_frame, report


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(("name", "email", "segment", "amount"), pl.String), orient="row")
    return frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


def _whole(
    frame: pl.DataFrame, ctx: CleansingContext, touched: list[pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame | None, Any]:
    output = cleanse(frame, ctx)
    if touched is not None:
        touched.append(output.cleansed.select(ROW, *touched_columns(output.cleansed.columns)))
    cleansed, rejects, report = mask_output(output.cleansed, output.rejects, output.report, ctx)
    return cleansed.sort(ROW), (rejects.sort(ROW) if rejects.height else None), report


def _same_rows(a: pl.DataFrame | None, b: pl.DataFrame | None) -> None:
    if a is None or b is None:
        assert (a is None or a.height == 0) and (b is None or b.height == 0)
        return
    assert set(a.columns) == set(b.columns)
    assert a.select(sorted(a.columns)).equals(b.select(sorted(b.columns)))


rows_strategy = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(EMAILS), st.sampled_from(SEGMENTS), st.sampled_from(AMOUNTS)),
    min_size=0,
    max_size=60,
)


@pytest.mark.parametrize("policy", sorted(POLICIES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, units=st.integers(min_value=1, max_value=5))
def test_rounds_equal_the_whole_dataset_engine(policy: str, rows: list[tuple[Any, ...]], units: int) -> None:
    bundle = bundle_with(POLICIES[policy], COLUMNS, classifications=MASKING)
    ctx = CleansingContext(bundle=bundle, salt=b"s", defer_masking=True, sample_clusters=3, merged_listed=2)
    frame = _frame(rows)
    unmasked: list[pl.DataFrame] = []
    touched: list[pl.DataFrame] = []
    cleansed, rejects, report = fanned_out(frame, ctx, units, unmasked)
    whole_cleansed, whole_rejects, whole_report = _whole(frame, ctx, touched)
    assert cleansed.columns == whole_cleansed.columns
    assert cleansed.equals(whole_cleansed)
    # which steps changed each row (what attributes a failing rule to cleansing) is the same too
    marks = pl.concat(unmasked)
    assert marks.select(ROW, *touched_columns(marks.columns)).sort(ROW).equals(touched[0].sort(ROW))
    _same_rows(rejects, whole_rejects)
    assert report.model_dump() == whole_report.model_dump()


def test_each_barrier_starts_a_round() -> None:
    bundle = bundle_with(POLICIES["impute_mean_and_forward_fill"], COLUMNS)
    ctx = CleansingContext(bundle=bundle, defer_masking=True)
    assert barriers(ctx) == [Barrier.SHUFFLE, Barrier.AGGREGATE, Barrier.SHUFFLE]
    assert len(plan_rounds(ctx)) == 4
    assert barriers(CleansingContext(bundle=bundle_with(POLICIES["row_local_only"], COLUMNS))) == []


def test_rows_whose_key_is_null_spread_over_the_partitions() -> None:
    """A column of nulls is never merged, so it must not pile into one partition."""
    bundle = bundle_with([{"type": "deduplicate", "key": ["name"]}], COLUMNS)
    frame = _frame([(None, "a@x.org", "x", "1")] * 400)
    step = bundle.cleansing[0]
    sizes = [part.height for part in partition(frame, step, 4)]
    assert sum(sizes) == 400
    assert max(sizes) < 200


def test_equal_normalised_keys_meet_in_one_partition() -> None:
    bundle = bundle_with([{"type": "deduplicate", "key": ["name"]}], COLUMNS)
    frame = _frame([(" Ann", None, None, None), ("ann", None, None, None), ("ANN ", None, None, None)] * 5)
    parts = partition(frame, bundle.cleansing[0], 7)
    assert sorted(part.height for part in parts if part.height) == [15]


def test_dates_convert_the_same_whatever_the_first_value_of_a_chunk() -> None:
    """polars guesses a date format from a column's first value; a chunk starting with another
    format would convert differently from the whole file. cast_expr names its formats instead."""
    columns = [{"name": "name"}, {"name": "day", "logical_type": "date"}]
    bundle = bundle_with([{"type": "trim"}], columns)
    ctx = CleansingContext(bundle=bundle, defer_masking=True)
    days = ["2024-01-05", "2024-01-06", "05/01/2024", "31.12.2023", "2024-13-01"]
    frame = (
        pl.DataFrame({"name": list("abcde"), "day": days}).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    )
    cleansed, rejects, report = fanned_out(frame, ctx, 3)  # the second chunk starts with 05/01/2024
    whole_cleansed, whole_rejects, whole_report = _whole(frame, ctx)
    assert cleansed.equals(whole_cleansed) and report.model_dump() == whole_report.model_dump()
    _same_rows(rejects, whole_rejects)
    assert cleansed["day"].to_list()[2:] == [date(2024, 1, 5), date(2023, 12, 31)]
    assert rejects is not None and rejects["day"].to_list() == ["2024-13-01"]


@pytest.mark.parametrize("field_level", [False, True])
def test_one_key_in_every_row_moves_a_few_rows_per_chunk(field_level: bool) -> None:
    """A file whose rows all share one key: each chunk folds its rows before the shuffle and
    sends at most its best-ranked row and, field-level, one row per other column; the
    partition that gets the key deduplicates those, and the outcome is the whole engine's."""
    step = {"type": "deduplicate", "key": ["segment"], "survivorship": "most_recent", "order_column": "amount"}
    bundle = bundle_with([{**step, "field_level": field_level}], COLUMNS)
    ctx = CleansingContext(bundle=bundle, defer_masking=True, sample_clusters=3, merged_listed=5)
    rows = [
        (NAMES[i % 3] if i % 7 else None, EMAILS[i % 5], "x", str(i % 997) if i % 11 else None) for i in range(20_000)
    ]
    frame = _frame(rows)
    chunks = [frame.slice(offset, 1_000) for offset in range(0, frame.height, 1_000)]
    rounds = plan_rounds(ctx)
    sent = [
        shuffle(run_unit(chunk, rounds, 0, u, ctx).frame, rounds[1].barrier_step, 4, ctx)
        for u, chunk in enumerate(chunks)
    ]
    per_chunk = max(sum(part.height for part in s.rows) for s in sent)
    assert per_chunk <= (1 + 3 if field_level else 1)  # the best row, and one per other column (name, email, amount)
    folded = sum(int(part["__dq_folded"].sum()) for s in sent for part in s.folded if part.height)
    assert folded + sum(part.height for s in sent for part in s.rows) == 20_000
    cleansed, _, report = fanned_out(frame, ctx, 20)
    whole_cleansed, _, whole_report = _whole(frame, ctx)
    assert cleansed.equals(whole_cleansed) and cleansed.height == 1
    assert report.model_dump() == whole_report.model_dump()
    assert report.deduplication is not None
    cluster = report.deduplication.examples[0]
    assert cluster.size == 20_000 and len(cluster.merged_rows) == 5
    assert cluster.merged_rows == sorted(set(range(20_000)) - {cluster.survivor_row})[:5]
