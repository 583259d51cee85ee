"""Finish a profile state into the reported profile (``dq.profile/v1``), and export it."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from datasketches import kll_doubles_sketch

from dq_core.profiling.models import (
    DISTINCT_K,
    HISTOGRAM_BINS,
    LOW_CARDINALITY,
    QUANTILES,
    TOP_N,
    Bin,
    ColumnKind,
    ColumnProfile,
    ColumnState,
    Count,
    Lengths,
    ProfileResult,
    ProfileState,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_DAY = 86_400_000_000


def _render(state: ColumnState, value: Any) -> Any:
    """Stored values as people read them: temporal epoch microseconds become ISO text."""
    if value is None or state.kind is not ColumnKind.TEMPORAL:
        return value
    moment = _EPOCH + timedelta(microseconds=round(float(value)))
    return moment.date().isoformat() if state.dtype == "Date" else moment.replace(tzinfo=None).isoformat()


def _distinct(state: ColumnState) -> tuple[int, bool, float | None]:
    if state.values is not None:
        return len(state.values), True, None
    if len(state.hashes) < DISTINCT_K:
        return len(state.hashes), True, None
    kth = state.hashes[DISTINCT_K - 1]
    estimate = (DISTINCT_K - 1) / ((kth + 1) / 2**64)
    return round(estimate), False, 1 / math.sqrt(DISTINCT_K - 2)


def _nearest_rank(pairs: list[tuple[Any, int]], fraction: float, total: int) -> Any:
    """The smallest value whose cumulative count reaches ceil(fraction × total)."""
    target = max(1, math.ceil(fraction * total))
    seen = 0
    for value, count in pairs:
        seen += count
        if seen >= target:
            return value
    return pairs[-1][0]


def _kll(state: ColumnState) -> Any:
    return kll_doubles_sketch.deserialize(base64.b64decode(state.kll)) if state.kll else None


def _quantiles(state: ColumnState) -> tuple[dict[str, Any] | None, bool | None, float | None]:
    if state.kind not in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL) or state.n == 0:
        return None, None, None
    if state.values is not None:
        pairs = sorted(state.values)
        total = sum(count for _, count in pairs)
        found = {f"p{round(q * 100):02d}": _render(state, _nearest_rank(pairs, q, total)) for q in QUANTILES}
        return found, True, None
    sketch = _kll(state)
    if sketch is None:
        return None, None, None
    found = {f"p{round(q * 100):02d}": _render(state, sketch.get_quantile(q)) for q in QUANTILES}
    return found, sketch.is_estimation_mode() is False, sketch.normalized_rank_error(False)


def _histogram(state: ColumnState) -> tuple[list[Bin] | None, bool | None]:
    if state.kind not in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL) or state.n == 0 or state.min is None:
        return None, None
    low, high = float(state.min), float(state.max)  # type: ignore[arg-type]
    width = (high - low) / HISTOGRAM_BINS if high > low else 1.0
    edges = [low + width * i for i in range(HISTOGRAM_BINS + 1)]
    if state.values is not None:
        counts = [0.0] * HISTOGRAM_BINS
        for value, count in state.values:
            index = min(int((float(value) - low) / width), HISTOGRAM_BINS - 1) if high > low else 0
            counts[index] += count
        exact = True
    else:
        sketch = _kll(state)
        if sketch is None:
            return None, None
        masses = sketch.get_pmf(edges[1:-1])  # HISTOGRAM_BINS masses between the inner edges
        counts = [round(mass * state.n, 1) for mass in masses]
        exact = False
    bins = [
        Bin(lower=_render(state, edges[i]), upper=_render(state, edges[i + 1]), count=counts[i])
        for i in range(HISTOGRAM_BINS)
    ]
    return bins, exact


def _counts(state: ColumnState, pairs: list[tuple[Any, int]]) -> list[Count]:
    return [
        Count(value=_render(state, value), count=count, percent=100 * count / state.count if state.count else 0.0)
        for value, count in pairs
    ]


def _moments(state: ColumnState) -> tuple[Any, Any]:
    if state.kind not in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL) or state.n == 0:
        return None, None
    stddev = math.sqrt(state.m2 / (state.n - 1)) if state.n > 1 else None
    if state.kind is ColumnKind.TEMPORAL:  # mean as a moment, spread in days
        return _render(state, state.mean), None if stddev is None else stddev / _MICROS_PER_DAY
    return state.mean, stddev


def finish_column(state: ColumnState) -> ColumnProfile:
    distinct, distinct_exact, distinct_error = _distinct(state)
    quantiles, quantiles_exact, rank_error = _quantiles(state)
    histogram, histogram_exact = _histogram(state)
    mean, stddev = _moments(state)
    pairs = state.values if state.values is not None else state.top
    lengths = None
    if state.kind is ColumnKind.STRING and state.len_min is not None and state.len_max is not None:
        lengths = Lengths(min=state.len_min, max=state.len_max, mean=state.len_sum / max(state.count - state.nulls, 1))
    return ColumnProfile(
        name=state.name,
        kind=state.kind,
        dtype=state.dtype,
        row_count=state.count,
        null_count=state.nulls,
        null_percent=100 * state.nulls / state.count if state.count else 0.0,
        distinct_count=distinct,
        distinct_exact=distinct_exact,
        distinct_relative_error=distinct_error,
        min=_render(state, state.min),
        max=_render(state, state.max),
        mean=mean,
        stddev=stddev,
        quantiles=quantiles,
        quantiles_exact=quantiles_exact,
        quantile_rank_error=rank_error,
        lengths=lengths,
        top_values=_counts(state, pairs[:TOP_N]),
        top_values_exact=state.values is not None,
        top_values_max_undercount=state.top_error,
        histogram=histogram,
        histogram_exact=histogram_exact,
        value_counts=_counts(state, state.values)
        if state.values is not None and len(state.values) <= LOW_CARDINALITY
        else None,
    )


def finish_profile(state: ProfileState) -> ProfileResult:
    return ProfileResult(row_count=state.rows, columns=[finish_column(column) for column in state.columns])


def profile(frame: pl.DataFrame | pl.LazyFrame) -> ProfileResult:
    """Profile a whole dataset in one piece (the same code path as one chunk)."""
    from dq_core.profiling.state import profile_state  # noqa: PLC0415 - keeps this module light

    return finish_profile(profile_state(frame))


CSV_FIELDS = (
    "name",
    "kind",
    "dtype",
    "row_count",
    "null_count",
    "null_percent",
    "distinct_count",
    "distinct_exact",
    "min",
    "max",
    "mean",
    "stddev",
    "p01",
    "p05",
    "p25",
    "p50",
    "p75",
    "p95",
    "p99",
    "length_min",
    "length_max",
    "length_mean",
    "top_values",
)


def profile_to_csv(result: ProfileResult) -> str:
    """One row per column: the scalar statistics, quantiles, lengths and top values (as JSON)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for column in result.columns:
        row: dict[str, Any] = {name: getattr(column, name) for name in CSV_FIELDS[:12]}
        row.update(column.quantiles or {})
        if column.lengths:
            row.update(length_min=column.lengths.min, length_max=column.lengths.max, length_mean=column.lengths.mean)
        row["top_values"] = json.dumps([[c.value, c.count] for c in column.top_values], ensure_ascii=False)
        writer.writerow(row)
    return buffer.getvalue()
