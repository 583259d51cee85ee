"""Profiles are mergeable: chunk states merged in any split equal the whole-data profile."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.libraries.rules import DriftMethod
from dq_core.profiling.drift import drift
from dq_core.profiling.finish import finish_profile, profile, profile_to_csv
from dq_core.profiling.models import DISTINCT_K, EXACT_VALUES, ProfileResult
from dq_core.profiling.state import merge_profile_states, profile_state

SCHEMA = {"n": pl.Int64, "x": pl.Float64, "s": pl.String, "d": pl.Date, "b": pl.Boolean}

rows = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.one_of(st.none(), st.integers(-50, 50)),
            "x": st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            "s": st.one_of(st.none(), st.text(alphabet="abcxyz", max_size=5)),
            "d": st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1))),
            "b": st.one_of(st.none(), st.booleans()),
        }
    ),
    min_size=1,
    max_size=60,
)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.lists(st.integers(0, 60), max_size=4))
def test_merged_chunks_equal_the_whole(data: list[dict[str, Any]], cuts: list[int]) -> None:
    frame = pl.DataFrame(data, schema=SCHEMA)
    bounds = sorted({0, frame.height, *(c for c in cuts if c < frame.height)})
    chunks = [frame[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    merged = finish_profile(merge_profile_states(profile_state(chunk) for chunk in chunks))
    whole = profile(frame)
    assert _close(merged.model_dump(mode="json"), whole.model_dump(mode="json"))


def test_statistics_agree_with_plain_python() -> None:
    rng = np.random.default_rng(7)
    values = [None if i % 10 == 0 else int(v) for i, v in enumerate(rng.integers(0, 200, 500))]
    result = profile(pl.DataFrame({"v": values}, schema={"v": pl.Int64})).column("v")
    present = [v for v in values if v is not None]
    assert result is not None
    assert (result.row_count, result.null_count, result.null_percent) == (500, 50, 10.0)
    assert result.distinct_count == len(set(present)) and result.distinct_exact
    assert (result.min, result.max) == (min(present), max(present))
    assert math.isclose(result.mean, statistics.fmean(present))
    assert math.isclose(result.stddev, statistics.stdev(present))
    ordered = sorted(present)
    assert result.quantiles is not None
    assert result.quantiles["p50"] == ordered[math.ceil(0.5 * len(ordered)) - 1]  # nearest rank
    assert result.histogram is not None and sum(b.count for b in result.histogram) == len(present)
    top = result.top_values[0]
    assert top.count == max(present.count(v) for v in set(present))


def test_text_lengths_top_values_and_low_cardinality_counts() -> None:
    result = profile(pl.DataFrame({"c": ["GB", "GB", "US", None, "NL", "GB"]})).column("c")
    assert result is not None and result.lengths is not None
    assert (result.lengths.min, result.lengths.max) == (2, 2)
    assert [(c.value, c.count) for c in result.top_values] == [("GB", 3), ("NL", 1), ("US", 1)]
    assert result.value_counts is not None and result.top_values[0].percent == 50.0


def test_high_cardinality_switches_to_sketches_with_error_bounds() -> None:
    size = 60_000
    frame = pl.DataFrame({"id": [f"c{i}" for i in range(size)], "x": np.linspace(0, 1, size)})
    chunks = [frame[i : i + 20_000] for i in range(0, size, 20_000)]
    merged = finish_profile(merge_profile_states(profile_state(chunk) for chunk in chunks))
    whole = profile(frame)
    ids = merged.column("id")
    assert ids is not None and not ids.distinct_exact and ids.distinct_relative_error is not None
    assert abs(ids.distinct_count - size) / size < 4 * ids.distinct_relative_error
    assert ids.distinct_count == whole.column("id").distinct_count  # type: ignore[union-attr]  # bottom-k merges exactly
    x = merged.column("x")
    assert x is not None and x.quantiles is not None and not x.quantiles_exact
    assert abs(x.quantiles["p50"] - 0.5) < 0.02
    assert x.histogram is not None and abs(sum(b.count for b in x.histogram) - size) < size * 0.01
    assert size > EXACT_VALUES and size > DISTINCT_K


def test_drift_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(3)
    base = profile(pl.DataFrame({"x": rng.normal(0, 1, 4000)}))
    same = profile(pl.DataFrame({"x": rng.normal(0, 1, 4000)}))
    moved = profile(pl.DataFrame({"x": rng.normal(1.5, 1, 4000)}))
    for method in DriftMethod:
        small, large = drift(base, same, "x", method), drift(base, moved, "x", method)
        assert small is not None and large is not None and small < large, method
    assert drift(base, moved, "x", DriftMethod.PSI) > 0.25  # type: ignore[operator]
    assert drift(base, same, "missing", DriftMethod.PSI) is None


def test_exports_to_json_and_csv() -> None:
    result = profile(pl.DataFrame({"x": [1.0, 2.0, None], "s": ["a", "b", "b"]}))
    again = ProfileResult.model_validate_json(result.model_dump_json())
    assert again == result
    lines = profile_to_csv(result).splitlines()
    assert lines[0].startswith("name,kind,dtype,row_count,null_count")
    assert lines[1].startswith("x,numeric,Float64,3,1,") and lines[2].startswith("s,string,String,3,0,")


@pytest.mark.parametrize(
    "empty",
    [pl.DataFrame({"x": []}, schema={"x": pl.Float64}), pl.DataFrame({"s": [None, None]}, schema={"s": pl.String})],
)
def test_empty_and_all_null_columns(empty: pl.DataFrame) -> None:
    column = profile(empty).columns[0]
    assert column.distinct_count == 0 and column.min is None and column.quantiles is None


def test_profiling_in_chunks_equals_profiling_at_once() -> None:
    from dq_core.profiling.state import profile_in_chunks

    frame = pl.DataFrame({"n": list(range(1000)), "s": [f"v{i % 37}" for i in range(1000)]})
    chunked = finish_profile(profile_in_chunks(frame.lazy(), chunk_rows=128))
    assert _close(chunked.model_dump(mode="json"), profile(frame).model_dump(mode="json"))
    empty = finish_profile(profile_in_chunks(frame.clear().lazy(), chunk_rows=128))
    assert empty.row_count == 0


def test_nan_infinities_and_nested_columns_do_not_break_profiles() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), float("inf"), 3.0, None], "tags": [["a"], [], None, ["b"], ["c"]]})
    result = profile(frame)
    x = result.column("x")
    assert x is not None and (x.min, x.max, x.mean) == (1.0, 3.0, 2.0)
    tags = result.column("tags")
    assert tags is not None and tags.kind.value == "other" and tags.null_count == 1
