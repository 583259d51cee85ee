"""Dataset-level rules fanned out give exactly what the engine gives over the whole dataset.

Random chunks whose duplicate keys cross chunk boundaries; uniqueness found per key
partition, row-local rules per chunk, the other dataset rules over only the columns they
read. The driver composes them as the run's activities do (dq_core/runs/stages.py).
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dq_core.validation.context import ROW, TOUCHED, ValidationContext
from dq_core.validation.engine import merge_states, row_local_state, validate
from dq_core.validation.fanout import chunk_keys, columns_needed, merge_unique, partition_duplicates
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 12, 1, tzinfo=UTC)
RULES = [
    check("unique", ["n"], "n_unique"),
    check("unique", ["s"], "s_unique_where", where="x > 0"),
    check("compound_unique", ["s", "d"], "s_d_unique", mostly=0.5),
    check("not_null", ["x"], "x_present"),
    check("in_set", ["code"], "code_set", params={"values": ["a", "b"]}),
    check("row_count", [], "rows", params={"threshold": {"must_be_between": [1, 30]}}),
    check("column_statistic", ["x"], "x_mean", params={"statistic": "mean", "threshold": {"must_be_less_than": 5}}),
    check("column_statistic", ["n"], "n_distinct", params={"statistic": "distinct_count", "threshold": {"must_be": 3}}),
    check("freshness", [], "fresh", params={"column": "d", "max_age": "P30D"}),
    check(
        "custom_sql",
        ["n"],
        "big_n",
        params={"query": "SELECT COUNT(*) FROM {object} WHERE {property} > 4", "threshold": {"must_be_less_than": 3}},
    ),
    check("unique", ["n"], "broken", where="nope > 1"),
    check(
        "metric",
        ["code"],
        "code_invalid",
        params={"metric": "invalidValues", "valid_values": ["a"], "threshold": {"must_be": 0}},
    ),
]
BUNDLE = bundle_of(*RULES)

rows_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 6)),
        st.one_of(st.none(), st.floats(-3, 9, allow_nan=False).map(lambda v: round(v, 2))),
        st.sampled_from(["a", "b", "c", None]),
        st.sampled_from(["a", "b", "z", None]),
        st.one_of(st.none(), st.dates(date(2026, 10, 1), date(2026, 12, 1))),
    ),
    min_size=1,
    max_size=50,
)


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    schema = {"n": pl.Int64, "x": pl.Float64, "s": pl.String, "code": pl.String, "d": pl.Date}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64), pl.lit(None, pl.Date).alias("d2"))


def fanned_out(frame: pl.DataFrame, chunks: int, ctx: ValidationContext) -> Any:
    bundle = BUNDLE
    # chunks as a shuffle leaves them: rows interleaved, each chunk in row order
    parts = [frame.filter(pl.col(ROW) % chunks == i) for i in range(chunks)]
    states, keys = [], []
    for part in parts:
        state = row_local_state(part.lazy(), bundle, ctx)
        counts, errors, partitioned = chunk_keys(part, bundle, ctx, chunks)
        states.append(state.model_copy(update={"keys": counts, "errors": {**state.errors, **errors}}))
        keys.append(partitioned)
    partials = [
        partition_duplicates(lambda p=p: [k[p] for k in keys], bundle, ctx.sample_limit)[0]  # type: ignore[misc]
        for p in range(chunks)
    ]
    merged = merge_states(states, ctx.sample_limit)
    unique = merge_unique(merged.keys, partials, ctx.sample_limit)
    needed = columns_needed(bundle, frame.schema, ctx)
    joined = pl.concat(parts)  # validate_dataset reads the chunks as they are: not in source order
    projected = joined.select(needed) if needed is not None else joined
    return validate(projected, bundle, ctx, row_local=merged, unique=unique, schema=frame.schema)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, chunks=st.integers(1, 5), limit=st.integers(1, 4))
def test_fanned_out_rules_equal_the_whole_dataset_engine(rows: list[tuple[Any, ...]], chunks: int, limit: int) -> None:
    ctx = ValidationContext(now=NOW, dataset_name="data", sample_limit=limit)
    frame = _frame(rows)
    whole = validate(frame, BUNDLE, ctx)
    assert _close(fanned_out(frame, chunks, ctx).model_dump(), whole.model_dump())


def _close(a: Any, b: Any) -> bool:
    """Equal, floats within rounding: a sum over rows in another order differs in the last bits."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_the_other_dataset_rules_read_only_their_columns() -> None:
    ctx = ValidationContext(now=NOW, dataset_name="data")
    schema = _frame([(1, 1.0, "a", "a", None)]).schema
    assert columns_needed(BUNDLE, schema, ctx) == [ROW, "n", "x", "code", "d"]
    star = check("custom_sql", [], "all", params={"query": "SELECT * FROM {object}", "threshold": {"must_be": 0}})
    assert columns_needed(bundle_of(star), schema, ctx) is None


@pytest.mark.parametrize("chunks", [1, 3])
def test_duplicates_across_chunks_are_found_once_each(chunks: int) -> None:
    ctx = ValidationContext(now=NOW, dataset_name="data", sample_limit=2)
    frame = _frame([(1, 1.0, "a", "a", None), (2, 1.0, "b", "a", None), (1, 1.0, "c", "a", None)] * 2)
    result = fanned_out(frame, chunks, ctx)
    n_unique = next(r for r in result.rules if r.rule_id == "n_unique")
    assert n_unique.unexpected_count == 6
    assert [s.row for s in n_unique.unexpected_samples] == [0, 1]
    broken = next(r for r in result.rules if r.rule_id == "broken")
    assert broken.status.value == "error"


@settings(max_examples=40, deadline=None)
@given(
    rows=rows_strategy,
    chunks=st.integers(1, 5),
    masks=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)), min_size=50, max_size=50),
)
def test_attribution_fanned_out_equals_the_whole_dataset_engine(
    rows: list[tuple[Any, ...]], chunks: int, masks: list[tuple[int, int, int]]
) -> None:
    """Cleansing's per-cell masks on n, s and code: every failing rule's split by step is the same."""
    ctx = ValidationContext(now=NOW, dataset_name="data", cleansing_steps=("trim", "case", "impute"))
    frame = _frame(rows)
    marks = {f"{TOUCHED}{name}": [m[i] for m in masks[: frame.height]] for i, name in enumerate(("n", "s", "code"))}
    frame = frame.with_columns(pl.Series(name, values, pl.UInt64) for name, values in marks.items())
    whole = validate(frame, BUNDLE, ctx)
    fanned = fanned_out(frame, chunks, ctx)
    assert _close(fanned.model_dump(), whole.model_dump())
    for rule in whole.rules:
        if rule.status.value == "failed" and rule.rule_id in ("n_unique", "code_set", "s_d_unique"):
            assert rule.attribution is not None
            assert rule.attribution.touched + rule.attribution.untouched == rule.unexpected_count


def test_a_metric_of_duplicate_keys_has_no_row_attribution() -> None:
    """duplicateValues counts keys, not rows: a split of its rows would not add up to its count."""
    ctx = ValidationContext(now=NOW, dataset_name="data", cleansing_steps=("trim",))
    frame = _frame([(1, 1.0, "a", "a", None), (1, 1.0, "a", "b", None), (1, 1.0, "b", "a", None)])
    frame = frame.with_columns(pl.Series(f"{TOUCHED}code", [1, 0, 0], pl.UInt64))
    metric = check("metric", ["code"], "dups", params={"metric": "duplicateValues", "threshold": {"must_be": 0}})
    unique = check("unique", ["code"], "code_unique")
    rules = validate(frame, bundle_of(metric, unique), ctx).by_id()
    assert rules["dups"].status.value == "failed" and rules["dups"].attribution is None
    assert rules["code_unique"].attribution is not None
    assert rules["code_unique"].attribution.touched + rules["code_unique"].attribution.untouched == 2


def test_one_key_in_every_row_is_read_a_part_at_a_time() -> None:
    """A partition holding one key from every row of a file: its parts are read one at a time (twice:
    counting, then taking the duplicated rows), never all held at once; the counts, the samples and the
    first failed rows are those of the rows together."""
    ctx = ValidationContext(now=NOW, dataset_name="data", sample_limit=3)
    bundle = bundle_of(check("unique", ["s"], "s_unique"))
    frame = _frame([(i, 1.0, "same", "a", None) for i in range(20_000)])
    chunks = [frame.slice(offset, 1_000) for offset in range(0, frame.height, 1_000)][::-1]  # any order
    keys = [chunk_keys(chunk, bundle, ctx, 1)[2][0] for chunk in chunks]
    alive: list[weakref.ref[pl.DataFrame]] = []
    most = 0

    def parts() -> Iterator[pl.DataFrame]:
        nonlocal most
        for part in keys:
            copy = part.clone()
            alive.append(weakref.ref(copy))
            gc.collect()
            most = max(most, sum(ref() is not None for ref in alive))
            yield copy
            del copy

    found, first = partition_duplicates(parts, bundle, ctx.sample_limit, 6)
    assert most <= 2  # the part being read, and the one before it until the loop moves on
    assert found["s_unique"].unexpected == 20_000
    assert [sample[ROW] for sample in found["s_unique"].samples] == [0, 1, 2]
    assert first["s_unique"].to_list() == [0, 1, 2, 3, 4, 5]
    whole = validate(frame, bundle, ctx).by_id()["s_unique"]
    assert whole.unexpected_count == 20_000 and [s.row for s in whole.unexpected_samples] == [0, 1, 2]


@pytest.mark.parametrize(
    ("first", "second"),
    [(pl.Int64, pl.Float64), (pl.Int64, pl.String), (pl.String, pl.Categorical)],
)
def test_parts_whose_key_types_differ_meet_in_their_common_type(first: pl.DataType, second: pl.DataType) -> None:
    bundle = bundle_of(check("unique", ["n"], "n_unique"))
    ctx = ValidationContext(now=NOW, dataset_name="data", sample_limit=5)
    chunks = [
        pl.DataFrame({ROW: [0, 1], "n": pl.Series([1, 2]).cast(pl.String if first == pl.String else first)}),
        pl.DataFrame({ROW: [2, 3], "n": pl.Series(["1", "5"]).cast(second)}),
    ]
    parts = [chunk_keys(chunk, bundle, ctx, 1)[2][0] for chunk in chunks]
    found, first_rows = partition_duplicates(lambda: parts, bundle, ctx.sample_limit, 3)
    assert found["n_unique"].unexpected == 2
    assert first_rows["n_unique"].to_list() == [0, 2]


def test_a_part_without_a_mask_column_leaves_its_rows_unattributed() -> None:
    """As the engine over the rows together: a row whose mask is missing is counted, not attributed."""
    bundle = bundle_of(check("unique", ["n"], "n_unique"))
    ctx = ValidationContext(now=NOW, dataset_name="data", cleansing_steps=("trim",))
    marked = pl.DataFrame({ROW: [0], "n": [1], f"{TOUCHED}n": pl.Series([1], dtype=pl.UInt64)})
    plain = pl.DataFrame({ROW: [1], "n": [1]})
    parts = [chunk_keys(chunk, bundle, ctx, 1)[2][0] for chunk in (marked, plain)]
    found, _ = partition_duplicates(lambda: parts, bundle, ctx.sample_limit)
    whole = validate(pl.concat([marked, plain], how="diagonal_relaxed"), bundle, ctx).by_id()["n_unique"]
    assert found["n_unique"].unexpected == whole.unexpected_count == 2
    assert found["n_unique"].touched == {1: 1}
    assert whole.attribution is not None and whole.attribution.touched == 1
