"""Dataset-level rules without the whole dataset in one place.

- **Uniqueness** (``unique``, ``compound_unique``): each chunk counts its in-scope rows and
  its rows with a missing key part (counts that add up), and writes the keys of its other
  rows split into ``N`` partitions by a hash of the key (:func:`chunk_keys`). Equal keys
  meet in one partition, so each partition finds its own duplicates
  (:func:`partition_duplicates`, reading its parts one at a time, twice: a key in every row
  of a file costs a part's memory), and the partitions' counts add up; the samples, each
  partition's first in row order, merge into the dataset's first (:func:`merge_unique`).
- **Every other dataset rule** (row count, freshness, statistics, metrics, anomalies,
  custom SQL) reads only the columns it names (:func:`columns_needed`), from every chunk:
  a column at a time, not the rows.

What comes out goes into :func:`dq_core.validation.engine.validate` as ``unique=`` and
gives the same results as the engine over the whole dataset (property tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import JsonValue

from dq_core.bundle.models import ResolvedBundle
from dq_core.libraries import rules as r
from dq_core.libraries.sql_guard import columns_read
from dq_core.payloads import Payload
from dq_core.validation.attribution import TOUCHED_KEY, merge_touched, row_mask
from dq_core.validation.context import ROW, ValidationContext, touched_column, touched_columns
from dq_core.validation.engine import Check, KeyCounts, _compile_all, _env, _scope, plan
from dq_core.validation.env import RuleCompileError
from dq_core.validation.results import jsonable
from dq_core.validation.rowlocal import ROW_LOCAL
from dq_core.validation.special import SPECIAL
from dq_core.validation.sql_runtime import safe_error

UNIQUE = frozenset({"unique", "compound_unique"})
CHECK = "__dq_check"
PARTITION = "__dq_partition"
SIZE = "__dq_size"


def unique_checks(bundle: ResolvedBundle) -> list[Check]:
    return [check for check in plan(bundle) if check.type in UNIQUE]


def _present(columns: tuple[str, ...]) -> pl.Expr:
    return pl.all_horizontal([pl.col(c).is_not_null() for c in columns]) if columns else pl.lit(True)


def chunk_keys(
    frame: pl.DataFrame, bundle: ResolvedBundle, ctx: ValidationContext, partitions: int
) -> tuple[dict[str, KeyCounts], dict[str, str], list[pl.DataFrame]]:
    """One chunk's part of every uniqueness rule: (counts per check, errors per check, the
    keys to check, one frame per partition). A rule that breaks (an unknown column, a bad
    filter) is that rule's error; the others still count."""
    env = _env(frame.schema, bundle, ctx)
    found: dict[str, KeyCounts] = {}
    errors: dict[str, str] = {}
    keys: list[pl.DataFrame] = []
    for index, check in enumerate(unique_checks(bundle)):
        try:
            for column in check.columns:
                env.dtype(column)
            scope = _scope(check, ctx, index, {})
            present = _present(check.columns)
            usable = scope.mask & present if scope.filtered else present
            key = pl.struct([pl.col(c) for c in check.columns]).hash() % pl.lit(partitions, pl.UInt64)
            counted, kept = pl.collect_all(
                [
                    frame.lazy().select(scope.rows().alias("element"), (scope.mask & ~present).sum().alias("missing")),
                    frame.lazy()
                    .filter(usable)
                    .select(
                        pl.lit(index, pl.Int32).alias(CHECK),
                        key.alias(PARTITION),
                        pl.col(ROW),
                        *[pl.col(c) for c in check.columns],
                        *[pl.col(touched_column(c)) for c in check.columns if touched_column(c) in frame.columns],
                    ),
                ]
            )
        except RuleCompileError as exc:
            errors[check.id] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - polars raises several types for a broken filter
            errors[check.id] = safe_error(exc, allowed=frame.columns)
            continue
        found[check.id] = KeyCounts(element=int(counted["element"][0]), missing=int(counted["missing"][0]))
        keys.append(kept)
    collected = pl.concat(keys, how="diagonal_relaxed") if keys else _no_keys()
    by_partition = {
        key[0]: part.drop(PARTITION) for key, part in collected.partition_by(PARTITION, as_dict=True).items()
    }
    empty = collected.drop(PARTITION).clear()
    return found, errors, [by_partition.get(p, empty) for p in range(partitions)]


def _no_keys() -> pl.DataFrame:
    return pl.DataFrame(schema={CHECK: pl.Int32, PARTITION: pl.UInt64, ROW: pl.Int64})


class UniquePartial(Payload):
    """One partition's duplicates of one uniqueness rule."""

    unexpected: int
    samples: list[dict[str, JsonValue]] = []
    touched: dict[int, int] = {}  # duplicated rows per cleansing mask (dq_core.validation.attribution)


Parts = Callable[[], Iterable[pl.DataFrame]]
"""One key partition's parts (one per chunk), read afresh at each call: a partition is read twice,
a part at a time, so a key held by every row of a file costs a part's memory, not the file's."""


@dataclass
class _Found:
    """What one uniqueness rule has found so far in a partition, a part at a time."""

    unexpected: int = 0
    touched: Counter[int] = field(default_factory=Counter)
    samples: pl.DataFrame | None = None  # the first duplicated rows by row number
    first: pl.DataFrame | None = None  # the first duplicated row numbers (failed rows)


def _check_rows(part: pl.DataFrame, index: int, check: Check) -> pl.DataFrame | None:
    if CHECK not in part.columns or any(c not in part.columns for c in check.columns):
        return None
    marks = [touched_column(c) for c in check.columns if touched_column(c) in part.columns]
    return part.filter(pl.col(CHECK) == index).select(ROW, *check.columns, *marks)


def _smallest(kept: pl.DataFrame | None, more: pl.DataFrame, limit: int) -> pl.DataFrame:
    """The first ``limit`` rows by row number of ``kept`` and ``more`` together."""
    both = more if kept is None else pl.concat([kept, more], how="diagonal_relaxed")
    return both.bottom_k(limit, by=ROW).sort(ROW)


def partition_duplicates(
    parts: Parts, bundle: ResolvedBundle, sample_limit: int, failed_cap: int = 0
) -> tuple[dict[str, UniquePartial], dict[str, pl.Series]]:
    """Every uniqueness rule's duplicated rows among one partition's keys (from every chunk), and
    per rule the first ``failed_cap`` of their row numbers (the failed rows). The first pass counts
    the rows under each key (one row per distinct key: about a part's rows for a partition of
    distinct keys, one row for a key in every row); the second takes each part's rows whose key
    more than one row holds. Every part is read twice."""
    checks = unique_checks(bundle)
    counts: dict[int, list[pl.DataFrame]] = {}
    marks: dict[int, set[str]] = {}
    for part in parts():
        for index, check in enumerate(checks):
            rows = _check_rows(part, index, check)
            if rows is None:
                continue
            marks.setdefault(index, set()).update(touched_columns(rows.columns))
            if rows.height:
                counts.setdefault(index, []).append(rows.group_by(check.columns).agg(pl.len().alias(SIZE)))
    repeated = {
        index: pl.concat(tables, how="vertical_relaxed")
        .group_by(checks[index].columns)
        .agg(pl.col(SIZE).sum())
        .filter(pl.col(SIZE) > 1)
        .drop(SIZE)
        for index, tables in counts.items()
    }
    found = {index: _Found() for index in marks}
    for part in parts() if any(table.height for table in repeated.values()) else ():
        for index, keys in repeated.items():
            rows = _check_rows(part, index, checks[index])
            if rows is None or not rows.height or not keys.height:
                continue
            columns = checks[index].columns
            missing = [pl.lit(None, pl.UInt64).alias(m) for m in sorted(marks[index] - set(rows.columns))]
            typed = [pl.col(c).cast(keys.schema[c]) for c in columns]  # the parts' common type, as the counts
            duplicated = rows.with_columns(*missing, *typed).join(keys, on=columns, how="semi")
            into = found[index]
            into.unexpected += duplicated.height
            mask = row_mask(columns, list(duplicated.columns))
            if mask is not None:  # a row without a mask (a part without the column) is not attributed
                counted = duplicated.group_by(mask).len().iter_rows()
                into.touched.update({value: rows for value, rows in counted if value is not None})
            into.samples = _smallest(into.samples, duplicated.drop(touched_columns(duplicated.columns)), sample_limit)
            if failed_cap:
                into.first = _smallest(into.first, duplicated.select(ROW), failed_cap)
    partials = {
        check.id: UniquePartial(
            unexpected=found[index].unexpected,
            samples=_samples(found[index].samples),
            touched=dict(found[index].touched),
        )
        if index in found
        else UniquePartial(unexpected=0)
        for index, check in enumerate(checks)
    }
    first_rows = {
        checks[index].id: f.first[ROW] for index, f in found.items() if f.first is not None and f.first.height
    }
    return partials, first_rows


def _samples(rows: pl.DataFrame | None) -> list[dict[str, JsonValue]]:
    if rows is None:
        return []
    return [{name: jsonable(value) for name, value in row.items()} for row in rows.to_dicts()]


def merge_unique(
    counts: Mapping[str, KeyCounts], partials: Iterable[Mapping[str, UniquePartial]], sample_limit: int
) -> dict[str, dict[str, Any]]:
    """Each uniqueness rule's values as the engine's fused query gives them over the whole dataset."""
    merged: dict[str, dict[str, Any]] = {
        check_id: {"element": c.element, "missing": c.missing, "unexpected": 0, "samples": [], TOUCHED_KEY: {}}
        for check_id, c in counts.items()
    }
    for partial in partials:
        for check_id, part in partial.items():
            if check_id in merged:
                merged[check_id]["unexpected"] += part.unexpected
                merged[check_id]["samples"].extend(part.samples)
                merged[check_id][TOUCHED_KEY] = merge_touched([merged[check_id][TOUCHED_KEY], part.touched])
    for values in merged.values():
        values["samples"] = sorted(values["samples"], key=lambda s: s[ROW])[:sample_limit]
    return merged


def columns_needed(bundle: ResolvedBundle, schema: pl.Schema, ctx: ValidationContext) -> list[str] | None:
    """The columns the dataset-level rules other than uniqueness read; None: every column."""
    env = _env(schema, bundle, ctx)
    checks = [c for c in plan(bundle) if c.type not in ROW_LOCAL and c.type not in UNIQUE]
    needed: set[str] = {ROW}
    for check in checks:
        if check.rule.where:
            read = columns_read(check.rule.where)
            if read is None:
                return None
            needed |= read
        if isinstance(check.rule, r.CustomSqlRule):
            read = columns_read(
                check.rule.params.query.replace("{property}", check.columns[0] if check.columns else "")
            )
            if read is None:
                return None
            needed |= read
        needed |= set(check.columns)
    compiled, _ = _compile_all([c for c in checks if c.type not in SPECIAL], env, ctx)
    for parts in (*compiled.aggregations.values(), *compiled.masks.values()):
        for expr in parts.values():
            needed |= set(expr.meta.root_names())
    return [name for name in schema.names() if name in needed]
