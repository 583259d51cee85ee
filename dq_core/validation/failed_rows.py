"""Every failing row, not only samples: ``failed_rows.parquet`` beside a run's ``result.json``.

Each row that fails at least one row-level rule (the row-local rules, and uniqueness: a duplicated
row) once, with the ids of the rules it failed (``_dq_failed_rules``, in the contract's order), its
source row number and its values as the run published them: the cleansed output's (the policy's
mask steps applied), with the columns a reader may not see (``hidden_in_outputs``) as ``***``.
Rules about the whole dataset (row count, freshness, statistics, anomalies, custom SQL) have no
failing rows and are not in it.

The infra profile's ``max_failed_rows`` caps it per run: the first rows by source row number.
Every chunk keeps only its first ``cap`` failing rows, every key partition its first ``cap``
duplicated rows, so no activity holds more than ``cap`` of them whatever the file's size;
:func:`merge_failures` takes the first ``cap`` of those, and :func:`published_failures` joins them
with the published rows, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.results.run import FAILED_ROWS_FILE
from dq_core.validation.context import ROW, ValidationContext, touched_columns
from dq_core.validation.engine import _compile_all, _env, _with_rows, plan
from dq_core.validation.fanout import unique_checks
from dq_core.validation.masking import MASK, hidden_in_outputs

RULES = "_dq_failed_rules"
FILE = FAILED_ROWS_FILE


def no_failures() -> pl.DataFrame:
    return pl.DataFrame(schema={ROW: pl.Int64, RULES: pl.List(pl.String)})


def failing_ids(flags: dict[str, pl.Expr]) -> pl.Expr:
    """The ids of the rules whose flag (a boolean expression per rule id) is true on the row."""
    named = [pl.when(flag.fill_null(False)).then(pl.lit(rule_id)) for rule_id, flag in flags.items()]
    return pl.concat_list(named).list.drop_nulls().alias(RULES)


def first_failures(frame: pl.LazyFrame, flags: dict[str, pl.Expr], cap: int) -> pl.DataFrame:
    """The first ``cap`` rows (by source row number) that fail one of ``flags``, with their rule ids, and
    one more when there is one (so that the merge can tell whether the cap left rows out). The flags
    are row-local (a rule's mask per row): the ids are listed for the kept rows only."""
    if not flags or cap < 1:
        return no_failures()
    failed = pl.any_horizontal([flag.fill_null(False) for flag in flags.values()])
    return (
        frame.filter(failed)
        .bottom_k(cap + 1, by=ROW)  # one more than the cap: the merge knows whether the cap left rows out
        .select(pl.col(ROW), failing_ids(flags))  # the ids of the kept rows only: a list per row costs
        .sort(ROW)
        .collect()
    )


def row_local_failures(
    frame: pl.LazyFrame, bundle: ResolvedBundle, ctx: ValidationContext, failing: Collection[str], cap: int
) -> pl.DataFrame:
    """Some rows' first ``cap`` failing rows under the row-local rules ``failing`` (those whose
    counts found failures: a chunk without any costs nothing more)."""
    schema = frame.collect_schema()
    checks = [check for check in plan(bundle) if check.row_local and check.id in failing]
    compiled, _ = _compile_all(checks, _env(schema, bundle, ctx), ctx)
    masks = {name: expr for per_check in compiled.masks.values() for name, expr in per_check.items()}
    flags = {
        check_id: pl.col(name)
        for check_id, per_check in compiled.masks.items()
        for name in per_check
        if name.endswith("_fails")
    }
    return first_failures(_with_rows(frame, schema).with_columns(**masks), flags, cap)


def duplicate_failures(
    first_rows: Mapping[str, pl.Series], bundle: ResolvedBundle, failing: Collection[str], cap: int
) -> pl.DataFrame:
    """One key partition's first ``cap`` duplicated rows under the uniqueness rules ``failing`` (and one
    more), from each rule's first duplicated row numbers (:func:`dq_core.validation.fanout.partition_duplicates`)."""
    found = [
        pl.DataFrame({ROW: rows.head(cap + 1)}).with_columns(pl.lit([check_id]).alias(RULES))
        for check_id, rows in first_rows.items()
        if check_id in failing
    ]
    return merge_failures(found, cap + 1, [check.id for check in unique_checks(bundle)])[0]


def merge_failures(parts: Iterable[pl.DataFrame], cap: int, order: Sequence[str]) -> tuple[pl.DataFrame, bool]:
    """The parts (chunks' and key partitions', a row possibly in several) as one row per failing
    row, its rule ids merged in ``order`` (the contract's), the first ``cap`` rows; and whether
    there were more. One part at a time, keeping the first ``cap + 1`` rows so far: a row left out
    once has ``cap + 1`` rows before it for good, and a row kept got the ids of every part."""
    rank = {rule_id: index for index, rule_id in enumerate(order)}
    merged = no_failures()
    for part in parts:
        if not part.height:
            continue
        merged = (
            pl.concat([merged, part])
            .explode(RULES)
            .unique()
            .with_columns(pl.col(RULES).replace_strict(rank, default=len(rank), return_dtype=pl.Int64).alias("__rank"))
            .sort(ROW, "__rank")
            .group_by(ROW, maintain_order=True)
            .agg(pl.col(RULES))
            .head(cap + 1)
        )
    return merged.head(cap), merged.height > cap


def published_failures(chunks: Iterable[pl.DataFrame], failures: pl.DataFrame, bundle: ResolvedBundle) -> pl.DataFrame:
    """The failing rows' published values (one chunk at a time), masked as the run's outputs are."""
    hidden = hidden_in_outputs(bundle)
    found = []
    for chunk in chunks:
        rows = chunk.drop(touched_columns(chunk.columns)).join(failures, on=ROW, how="inner")
        if rows.height:
            found.append(rows)
    if not found:
        return failures.clear()
    rows = pl.concat(found, how="diagonal_relaxed").sort(ROW)
    masked = [pl.when(pl.col(c).is_not_null()).then(pl.lit(MASK)).alias(c) for c in rows.columns if c in hidden]
    data = [c for c in rows.columns if c not in (ROW, RULES)]
    return rows.with_columns(masked).select(ROW, RULES, *data)
