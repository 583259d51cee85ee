"""Mergeable profile states.

``profile_state`` turns some rows (a chunk) into a :class:`ProfileState`;
``merge_profile_states`` adds any number of states; ``finish_profile`` (in
``profiling.finish``) turns a state into the profile. Merging the states of the
chunks gives the same profile as profiling the whole dataset: counts, nulls,
min/max, lengths and exact value counts add up exactly; mean and standard
deviation merge with Chan's formulas (equal to float rounding); the distinct
count keeps the smallest ``DISTINCT_K`` value hashes, and the smallest hashes of
a union are the smallest of the parts' smallest, so merged equals whole; above
``EXACT_VALUES`` distinct values top values are kept with a bound on their
undercount, and quantiles come from a KLL sketch with its rank error reported.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl
from datasketches import kll_doubles_sketch

from dq_core.profiling.models import (
    DISTINCT_K,
    EXACT_VALUES,
    KLL_K,
    TOP_K,
    ColumnKind,
    ColumnState,
    ProfileState,
    Value,
)

HASH_SEED = 0x5EED
SKIP = "_dq_"  # technical columns (_dq_source_row, ...) are not profiled


def kind_of(dtype: pl.DataType) -> ColumnKind:
    if dtype == pl.Boolean:
        return ColumnKind.BOOLEAN
    if dtype.is_numeric():
        return ColumnKind.NUMERIC
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return ColumnKind.TEMPORAL
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return ColumnKind.STRING
    return ColumnKind.OTHER


def _value_expr(name: str, kind: ColumnKind, dtype: pl.DataType) -> pl.Expr:
    """The column as the values a state stores: epoch microseconds for dates, text for text."""
    column = pl.col(name)
    if kind is ColumnKind.TEMPORAL:
        return column.cast(pl.Datetime("us")).dt.epoch("us") if dtype == pl.Date else column.dt.epoch("us")
    if kind is ColumnKind.STRING:
        return column.cast(pl.String)
    return column


def _aggregations(name: str, kind: ColumnKind, value: pl.Expr, dtype: pl.DataType) -> list[pl.Expr]:
    if kind is ColumnKind.OTHER:  # lists, structs, durations: counts only
        exprs = [pl.col(name).null_count().alias("nulls"), pl.lit(0).alias("distinct"), pl.lit(None).alias("counts")]
        exprs.append(pl.lit(None).alias("hashes"))
        return [expr.alias(f"{name}\x1f{expr.meta.output_name()}") for expr in exprs]
    present = value.drop_nulls()
    # NaN and infinities are values, but not for min, max, mean and spread
    finite = present.filter(present.is_finite()) if dtype.is_float() else present
    counts = present.value_counts(name="count")
    ordered = counts.sort_by([counts.struct.field("count"), counts.struct.field(name)], descending=[True, False])
    exprs = [
        pl.col(name).null_count().alias("nulls"),
        present.n_unique().alias("distinct"),
        ordered.head(EXACT_VALUES + 1).implode().alias("counts"),
        present.hash(seed=HASH_SEED).unique().bottom_k(DISTINCT_K).sort().implode().alias("hashes"),
    ]
    if kind in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL):
        number = finite.cast(pl.Float64)
        exprs += [
            finite.min().alias("min"),
            finite.max().alias("max"),
            number.mean().alias("mean"),
            number.var(ddof=0).alias("var"),
            number.len().alias("finite"),
        ]
    elif kind is ColumnKind.STRING:
        lengths = present.str.len_chars()
        exprs += [
            present.min().alias("min"),
            present.max().alias("max"),
            lengths.min().alias("len_min"),
            lengths.max().alias("len_max"),
            lengths.sum().alias("len_sum"),
        ]
    elif kind is ColumnKind.BOOLEAN:
        exprs += [present.min().alias("min"), present.max().alias("max")]
    return [expr.alias(f"{name}\x1f{expr.meta.output_name()}") for expr in exprs]


def _kll(values: np.ndarray[Any, Any]) -> str | None:
    if values.size == 0:
        return None
    sketch = kll_doubles_sketch(KLL_K)
    sketch.update(np.array(values, dtype=np.float64))  # a writable copy: the binding refuses read-only views
    return base64.b64encode(sketch.serialize()).decode("ascii")


def profile_state(frame: pl.DataFrame | pl.LazyFrame) -> ProfileState:
    """Profile some rows in one query over their columns (plus a KLL pass for numbers)."""
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    plans = [(name, kind_of(dtype), dtype) for name, dtype in data.schema.items() if not name.startswith(SKIP)]
    values = {name: _value_expr(name, kind, dtype) for name, kind, dtype in plans}
    exprs = [expr for name, kind, dtype in plans for expr in _aggregations(name, kind, values[name].alias(name), dtype)]
    row = data.select(exprs).row(0, named=True) if exprs else {}
    columns = []
    for name, kind, dtype in plans:
        parts = {key.split("\x1f", 1)[1]: item for key, item in row.items() if key.split("\x1f", 1)[0] == name}
        kll = None
        if kind in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL):
            numbers = data.select(values[name].drop_nulls().cast(pl.Float64)).to_series()
            kll = _kll(numbers.filter(numbers.is_finite()).to_numpy())
        columns.append(_column_state(name, kind, str(dtype), data.height, parts, kll))
    return ProfileState(rows=data.height, columns=columns)


def _column_state(
    name: str, kind: ColumnKind, dtype: str, rows: int, parts: dict[str, Any], kll: str | None
) -> ColumnState:
    counted = [(item[name], int(item["count"])) for item in parts["counts"] or []]
    if kind is ColumnKind.NUMERIC and dtype.startswith("Float"):
        counted = [(value, count) for value, count in counted if value is None or math.isfinite(value)]
    exact = int(parts["distinct"]) <= EXACT_VALUES
    present = rows - int(parts["nulls"])
    state: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "count": rows,
        "nulls": int(parts["nulls"]),
        "min": parts.get("min"),
        "max": parts.get("max"),
        "hashes": sorted(int(h) for h in parts["hashes"] or []),
        "kll": kll,
    }
    if exact:
        state["values"] = counted
    else:
        state["top"] = counted[:TOP_K]
        state["top_error"] = counted[TOP_K][1] if len(counted) > TOP_K else 0
    if kind in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL) and parts.get("finite"):
        n = int(parts["finite"])  # finite values only: NaN and infinities have no mean
        state.update(n=n, mean=float(parts["mean"]), m2=float(parts["var"] or 0.0) * n)
    if kind is ColumnKind.STRING and present:
        state.update(len_min=parts["len_min"], len_max=parts["len_max"], len_sum=int(parts["len_sum"]))
    return ColumnState.model_validate(state)


# --- merging -----------------------------------------------------------------------------


def _pick(a: Value | None, b: Value | None, choose: Any) -> Value | None:
    if a is None:
        return b
    if b is None:
        return a
    return choose(a, b)  # type: ignore[no-any-return]


def _moments(a: ColumnState, b: ColumnState) -> tuple[int, float, float]:
    n = a.n + b.n
    if n == 0:
        return 0, 0.0, 0.0
    delta = b.mean - a.mean
    mean = a.mean + delta * b.n / n
    m2 = a.m2 + b.m2 + delta * delta * a.n * b.n / n
    return n, mean, m2


def _ranked(counter: Counter[Any]) -> list[tuple[Any, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))  # as polars orders them


def _merge_counts(a: ColumnState, b: ColumnState) -> dict[str, Any]:
    if a.values is not None and b.values is not None:
        merged: Counter[Any] = Counter(dict(a.values))
        merged.update(dict(b.values))
        if len(merged) <= EXACT_VALUES:
            return {"values": _ranked(merged), "top": [], "top_error": 0}
        ranked = _ranked(merged)
        return {"values": None, "top": ranked[:TOP_K], "top_error": ranked[TOP_K][1] if len(ranked) > TOP_K else 0}
    counter: Counter[Any] = Counter()
    error = 0
    for part in (a, b):
        if part.values is not None:
            counter.update(dict(part.values))
        else:
            counter.update(dict(part.top))
            # a value missing from a truncated part may have up to its cut-off count there
            error += max(part.top_error, part.top[-1][1] if len(part.top) >= TOP_K else part.top_error)
    ranked = _ranked(counter)
    return {"values": None, "top": ranked[:TOP_K], "top_error": error}


def _merge_kll(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    sketch = kll_doubles_sketch.deserialize(base64.b64decode(a))
    sketch.merge(kll_doubles_sketch.deserialize(base64.b64decode(b)))
    return base64.b64encode(sketch.serialize()).decode("ascii")


def _merge_column(a: ColumnState, b: ColumnState) -> ColumnState:
    if (a.name, a.kind) != (b.name, b.kind):
        msg = f"cannot merge column {a.name} ({a.kind}) with {b.name} ({b.kind})"
        raise ValueError(msg)
    n, mean, m2 = _moments(a, b)
    return ColumnState(
        name=a.name,
        kind=a.kind,
        dtype=a.dtype,
        count=a.count + b.count,
        nulls=a.nulls + b.nulls,
        min=_pick(a.min, b.min, min),
        max=_pick(a.max, b.max, max),
        n=n,
        mean=mean,
        m2=m2,
        len_min=_pick(a.len_min, b.len_min, min),
        len_max=_pick(a.len_max, b.len_max, max),
        len_sum=a.len_sum + b.len_sum,
        hashes=sorted(set(a.hashes) | set(b.hashes))[:DISTINCT_K],
        kll=_merge_kll(a.kll, b.kll),
        **_merge_counts(a, b),
    )


def merge_profile_states(states: Iterable[ProfileState]) -> ProfileState:
    """Add profile states of disjoint rows of the same columns (in any grouping)."""
    merged: ProfileState | None = None
    for state in states:
        if merged is None:
            merged = state
            continue
        by_name = {column.name: column for column in merged.columns}
        if set(by_name) != {column.name for column in state.columns}:
            msg = "profile states have different columns"
            raise ValueError(msg)
        columns = [_merge_column(by_name[column.name], column) for column in state.columns]
        merged = ProfileState(rows=merged.rows + state.rows, columns=columns)
    if merged is None:
        msg = "nothing to merge"
        raise ValueError(msg)
    return merged


def profile_in_chunks(frame: pl.LazyFrame, chunk_rows: int) -> ProfileState:
    """Profile a lazy frame chunk by chunk and merge: memory bounded by the chunk, not the data."""
    if chunk_rows < 1:
        msg = "chunk_rows must be at least 1"
        raise ValueError(msg)
    states: list[ProfileState] = []
    offset = 0
    while True:
        chunk = frame.slice(offset, chunk_rows).collect()
        if chunk.height or not states:
            states.append(profile_state(chunk))
        offset += chunk.height
        if chunk.height < chunk_rows:
            return merge_profile_states(states)
