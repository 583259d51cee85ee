"""The validation engine.

``validate(frame, bundle, context)`` evaluates every rule of a bundle. Row-local
rules and every dataset rule that is an aggregation compile into ONE lazy polars
``select``: a single pass over the data. For chunked runs, ``row_local_state``
evaluates the row-local rules of one chunk into a small mergeable state,
``merge_states`` adds states up, and ``validate(..., row_local=merged)`` runs only
the dataset-level rules over the whole dataset. Whatever goes wrong with one rule
(an unknown column, a bad bound, SQL that does not parse) becomes that rule's
``error`` result; the other rules still run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from dq_core.bundle.models import ResolvedBundle, ResolvedRule
from dq_core.libraries import rules as r
from dq_core.libraries.sql_guard import columns_read
from dq_core.payloads import Payload
from dq_core.validation import dataset as ds
from dq_core.validation.attribution import (
    TOUCHED_KEY,
    attribution_of,
    merge_touched,
    parse_touched,
    row_mask,
    touched_counts,
)
from dq_core.validation.context import ROW, ValidationContext
from dq_core.validation.env import CompileEnv, RuleCompileError
from dq_core.validation.hints import hint_template, with_hint
from dq_core.validation.masking import mask_samples
from dq_core.validation.results import RuleResult, RuleStatus, Sample, ValidationResult, jsonable
from dq_core.validation.rowlocal import ROW_LOCAL, checked_columns
from dq_core.validation.special import SPECIAL
from dq_core.validation.sql_runtime import allowed_words, ensure_reads_only, safe_error

ERROR = "\x00error"  # the key of a check's values when its query failed
PROBES = "\x00probes"  # the caller's aggregations, computed in the same query (validate's probes)

# --- the plan: one check per rule and column -----------------------------------------------


@dataclass(frozen=True)
class Check:
    id: str
    resolved: ResolvedRule
    columns: tuple[str, ...]

    @property
    def rule(self) -> r.RuleCommon:
        return self.resolved.rule

    @property
    def type(self) -> str:
        return self.rule.type

    @property
    def row_local(self) -> bool:
        return self.type in ROW_LOCAL


def plan(bundle: ResolvedBundle) -> list[Check]:
    """A column rule bound to several columns is one check per column (``id:column``)."""
    checks: list[Check] = []
    for resolved in bundle.rules:
        if (
            resolved.rule.scope is r.Scope.COLUMN
            and len(resolved.columns) > 1
            and not isinstance(resolved.rule, r.MetricRule)
        ):
            checks += [Check(f"{resolved.id}:{column}", resolved, (column,)) for column in resolved.columns]
        else:
            checks.append(Check(resolved.id, resolved, resolved.columns))
    return checks


# --- mergeable row-local state ---------------------------------------------------------


class CheckCounts(Payload):
    element: int
    missing: int
    unexpected: int
    samples: tuple[Sample, ...] = ()
    touched: dict[int, int] = {}  # failing rows per cleansing mask (dq_core.validation.attribution)


class KeyCounts(Payload):
    """A uniqueness rule over some rows: rows in scope, rows with a missing key part (they add up)."""

    element: int
    missing: int


class RowLocalState(Payload):
    """Counts and samples of the row-local rules over some rows, and the uniqueness rules'
    counts (their duplicates are found per key partition, dq_core.validation.fanout); states add up."""

    bundle_sha256: str
    checks: dict[str, CheckCounts] = {}
    keys: dict[str, KeyCounts] = {}
    errors: dict[str, str] = {}


def merge_states(states: Iterable[RowLocalState], sample_limit: int) -> RowLocalState:
    states = list(states)
    if not states:
        msg = "nothing to merge"
        raise ValueError(msg)
    if len({state.bundle_sha256 for state in states}) != 1:
        msg = "row-local states come from different bundles"
        raise ValueError(msg)
    merged: dict[str, CheckCounts] = {}
    for state in states:
        for check_id, counts in state.checks.items():
            previous = merged.get(check_id)
            if previous is None:
                merged[check_id] = counts
                continue
            samples = sorted((*previous.samples, *counts.samples), key=lambda s: (s.row is None, s.row or 0))
            merged[check_id] = CheckCounts(
                element=previous.element + counts.element,
                missing=previous.missing + counts.missing,
                unexpected=previous.unexpected + counts.unexpected,
                samples=tuple(samples[:sample_limit]),
                touched=merge_touched([previous.touched, counts.touched]),
            )
    keys: dict[str, KeyCounts] = {}
    errors: dict[str, str] = {}
    for state in states:
        errors.update(state.errors)
        for check_id, counted in state.keys.items():
            before = keys.get(check_id)
            keys[check_id] = (
                counted
                if before is None
                else KeyCounts(element=before.element + counted.element, missing=before.missing + counted.missing)
            )
    return RowLocalState(bundle_sha256=states[0].bundle_sha256, checks=merged, keys=keys, errors=errors)


# --- compiling ----------------------------------------------------------------------------


def _scope(check: Check, ctx: ValidationContext, number: int, masks: dict[str, pl.Expr]) -> ds.Scope:
    where = check.rule.where
    mask = pl.col(ROW).is_not_null()  # every row: a column, so sums count rows (a literal would not)
    if where:
        try:
            mask = mask & pl.sql_expr(where).fill_null(False)
        except Exception as exc:  # noqa: BLE001 - polars raises several types for bad SQL
            msg = f"where {where!r} is not a valid SQL predicate: {safe_error(exc, allowed=allowed_words(where))}"
            raise RuleCompileError(msg) from None
    return ds.Scope(
        mask=mask, row=ROW, sample_limit=ctx.sample_limit, prefix=str(number), filtered=bool(where), masks=masks
    )


def _row_local_aggs(check: Check, env: CompileEnv, scope: ds.Scope) -> dict[str, pl.Expr]:
    for column in check.columns:
        env.dtype(column)
    fails = ROW_LOCAL[check.type](check.rule, check.columns, env)
    nullable = checked_columns(check.rule, check.columns)
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in nullable]) if nullable else None
    missing = (scope.mask & ~present) if present is not None else pl.lit(0)
    failing = fails.fill_null(False) if present is None else (present & fails).fill_null(False)
    unexpected = scope.materialise("fails", scope.mask & failing if scope.filtered else failing)
    shown = tuple(dict.fromkeys((*check.columns, *nullable)))
    return {
        "element": scope.rows(),
        "missing": missing.sum(),
        "unexpected": unexpected.sum(),
        "samples": ds.samples(scope, shown, unexpected),
    }


@dataclass
class Compiled:
    """Aggregations per check, over boolean columns (per check) computed once in the query."""

    aggregations: dict[str, dict[str, pl.Expr]]
    masks: dict[str, dict[str, pl.Expr]]

    def only(self, check_id: str) -> Compiled:
        return Compiled({check_id: self.aggregations[check_id]}, {check_id: self.masks.get(check_id, {})})


def _compile(
    check: Check, env: CompileEnv, ctx: ValidationContext, number: int, masks: dict[str, pl.Expr]
) -> dict[str, pl.Expr]:
    scope = _scope(check, ctx, number, masks)
    if check.row_local:
        aggregations = _row_local_aggs(check, env, scope)
    else:
        aggregations = ds.DATASET_EXPRESSIONS[check.type].aggregations(check.rule, check.columns, env, scope)
    mask = row_mask(_columns_checked(check), env.schema.names())
    # failing rows: a metric's duplicateValues counts keys, not rows, so its rows are not attributed
    failing = [name for name in masks if name.endswith("_fails") or (name.endswith("_dup") and check.type != "metric")]
    if mask is not None and failing:  # cleansed rows: count the failing ones per cleansing mask
        aggregations[TOUCHED_KEY] = touched_counts(pl.col(failing[0]), mask)
    return aggregations


def _columns_checked(check: Check) -> tuple[str, ...]:
    """The columns a check reads, for attribution: its columns, those it compares, or those of its row expression."""
    if isinstance(check.rule, r.RowExpressionRule):
        read = columns_read(check.rule.params.expression)
        return tuple(sorted(read)) if read else check.columns
    return tuple(dict.fromkeys((*check.columns, *checked_columns(check.rule, check.columns))))


def _with_rows(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    return frame if ROW in schema else frame.with_row_index(ROW)


def _collect(frame: pl.LazyFrame, compiled: Compiled, *, isolate: bool = True) -> dict[str, dict[str, Any]]:
    """Run every compiled check in one query; if it fails, run the checks one by one so
    that only the broken ones become errors (``isolate``; else the query's error is raised)."""
    exprs = [
        expr.alias(f"{check_id}\x1f{name}")
        for check_id, parts in compiled.aggregations.items()
        for name, expr in parts.items()
    ]
    if not exprs:
        return {}
    masks = {name: expr for per_check in compiled.masks.values() for name, expr in per_check.items()}
    query = frame.with_columns(**masks).select(exprs)
    try:
        ensure_reads_only(query, frame)
        row = query.collect().row(0, named=True)
    except Exception as exc:
        if not isolate:
            raise
        if len(compiled.aggregations) == 1:
            return {check_id: {ERROR: _short(exc, frame)} for check_id in compiled.aggregations}
        values: dict[str, dict[str, Any]] = {}
        rows = _read_once(frame)
        for check_id in compiled.aggregations:
            values.update(_collect(rows, compiled.only(check_id)))
        return values
    values = {}
    for key, value in row.items():
        check_id, name = key.split("\x1f", 1)
        values.setdefault(check_id, {})[name] = value
    return values


def _read_once(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The rows in memory, so that checking the rules one by one reads a scanned file once, not once
    per rule; the frame as it is when reading it fails (each rule then fails alike, in its own words)."""
    try:
        return frame.collect().lazy()
    except Exception:  # noqa: BLE001 - the rules one by one say what is wrong
        return frame


def _short(exc: BaseException, frame: pl.LazyFrame) -> str:
    """One line for a rule that broke; quotes column names, never values (sql_runtime.safe_error)."""
    return safe_error(exc, allowed=frame.collect_schema().names())


def _env(schema: pl.Schema, bundle: ResolvedBundle, ctx: ValidationContext) -> CompileEnv:
    return CompileEnv(
        schema=schema,
        now=ctx.now,
        code_lists={code_list.id: code_list for code_list in bundle.code_lists},
        reference_data=ctx.reference_data,
        reference_errors=ctx.reference_errors,
    )


def _compile_all(checks: list[Check], env: CompileEnv, ctx: ValidationContext) -> tuple[Compiled, dict[str, str]]:
    compiled = Compiled({}, {})
    errors: dict[str, str] = {}
    for number, check in enumerate(checks):
        masks: dict[str, pl.Expr] = {}
        try:
            compiled.aggregations[check.id] = _compile(check, env, ctx, number, masks)
        except RuleCompileError as exc:
            errors[check.id] = str(exc)
            continue
        compiled.masks[check.id] = masks
    return compiled, errors


def row_local_state(frame: pl.LazyFrame, bundle: ResolvedBundle, ctx: ValidationContext) -> RowLocalState:
    """Row-local rules over one chunk (or any rows) in one query: a mergeable state."""
    schema = frame.collect_schema()
    checks = [check for check in plan(bundle) if check.row_local]
    compiled, errors = _compile_all(checks, _env(schema, bundle, ctx), ctx)
    values = _collect(_with_rows(frame, schema), compiled)
    counts: dict[str, CheckCounts] = {}
    for check_id, parts in values.items():
        if ERROR in parts:
            errors[check_id] = parts[ERROR]
            continue
        counts[check_id] = _counts(parts)
    return RowLocalState(bundle_sha256=bundle.sha256, checks=counts, errors=errors)


def _counts(parts: Mapping[str, Any]) -> CheckCounts:
    samples = tuple(
        Sample(row=item.pop(ROW, None), values={k: jsonable(v) for k, v in item.items()})
        for item in parts["samples"] or []
    )
    return CheckCounts(
        element=int(parts["element"]),
        missing=int(parts["missing"]),
        unexpected=int(parts["unexpected"]),
        samples=samples,
        touched=parse_touched(parts.get(TOUCHED_KEY)),
    )


# --- results --------------------------------------------------------------------------------


def _metric(check: Check) -> str | None:
    rule = check.rule
    column = f":{check.columns[0]}" if check.columns else ""
    if isinstance(rule, r.AnomalyRule):
        return ds.anomaly_key(rule, check.columns)
    if isinstance(rule, r.ColumnStatisticRule):
        return f"{rule.params.statistic.value}{column}"
    if isinstance(rule, r.DistributionDriftRule):
        return f"distribution_{rule.params.method.value}{column}"
    if isinstance(rule, r.MetricRule):
        return f"{rule.params.metric.value}{column}"
    return None


def _result(check: Check, status: RuleStatus, **fields: Any) -> RuleResult:
    rule = check.rule
    defaults: dict[str, Any] = {
        "rule_id": check.id,
        "type": check.type,
        "columns": check.columns,
        "severity": rule.severity,
        "mostly": rule.mostly,
        "message": rule.message,
        "dimension": rule.dimension.value if rule.dimension else None,
        "origin": check.resolved.origin,
        "template": check.resolved.template,
        "odcs_id": check.resolved.odcs_id,
        "metric": _metric(check),
        "params": rule.params.model_dump(mode="json", exclude_none=True),
    }
    return RuleResult(status=status, **{**defaults, **fields})


def _row_local_result(check: Check, counts: CheckCounts) -> RuleResult:
    base = counts.element if check.type == "not_null" else counts.element - counts.missing
    fraction_ok = 1 - counts.unexpected / base if base else 1.0
    percent = 100 * counts.unexpected / base if base else None
    return _result(
        check,
        RuleStatus.PASSED if fraction_ok + 1e-12 >= check.rule.mostly else RuleStatus.FAILED,
        element_count=counts.element,
        missing_count=counts.missing,
        unexpected_count=counts.unexpected,
        unexpected_percent=percent,
        observed_value=percent,
        unexpected_samples=counts.samples,
    )


def _samples(items: list[dict[str, Any]] | None) -> tuple[Sample, ...]:
    return tuple(
        Sample(row=item.pop(ROW, None), values={k: jsonable(v) for k, v in item.items()}) for item in items or []
    )


def _finished_result(check: Check, finished: ds.Finished) -> RuleResult:
    note = {"message": f"{check.rule.message} ({finished.note})" if check.rule.message else finished.note}
    return _result(
        check,
        finished.status,
        observed_value=jsonable(finished.observed_value),
        element_count=finished.element_count,
        missing_count=finished.missing_count,
        unexpected_count=finished.unexpected_count,
        unexpected_percent=finished.unexpected_percent,
        unexpected_samples=_samples(finished.samples),
        band=finished.band,
        **(note if finished.note else {}),
    )


def _dataset_result(check: Check, parts: Mapping[str, Any], env: CompileEnv, ctx: ValidationContext) -> RuleResult:
    if check.type == "anomaly":
        assert isinstance(check.rule, r.AnomalyRule)  # noqa: S101 - the type says so
        value = parts["value"]
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        history = list(ctx.history.get(ds.anomaly_key(check.rule, check.columns), []))
        return _finished_result(check, ds.anomaly_finish(check.rule, value, history, ctx.now))
    finish = ds.DATASET_EXPRESSIONS[check.type].finish
    assert finish is not None  # noqa: S101
    return _finished_result(check, finish(check.rule, parts, env))


def validate(
    frame: pl.LazyFrame | pl.DataFrame,
    bundle: ResolvedBundle,
    ctx: ValidationContext | None = None,
    *,
    row_local: RowLocalState | None = None,
    unique: Mapping[str, Mapping[str, Any]] | None = None,
    schema: pl.Schema | None = None,
    probes: Mapping[str, pl.Expr] | None = None,
    probed: dict[str, Any] | None = None,
) -> ValidationResult:
    """Evaluate every rule of the bundle. Pass ``row_local`` when the chunks were already done,
    ``unique`` with the uniqueness rules' merged values when they were found per key partition
    (dq_core.validation.fanout), and ``schema`` (the dataset's) when ``frame`` holds only the
    columns the other rules read, or more. ``probes``: aggregations to compute in the same query,
    their values put in ``probed``; with probes, a query that fails raises its error."""
    ctx = ctx or ValidationContext()
    unique = unique or {}
    lazy = frame.lazy()
    schema = schema or lazy.collect_schema()
    env = _env(schema, bundle, ctx)
    checks = plan(bundle)
    fused = [
        c for c in checks if c.type not in SPECIAL and (row_local is None or not c.row_local) and c.id not in unique
    ]
    compiled, errors = _compile_all(fused, env, ctx)
    if probes:
        compiled.aggregations[PROBES] = dict(probes)
    # with probes (a file read in the same query), a query that fails is the caller's to redo: a cell the
    # parser refuses would otherwise fail every rule again, one scan each
    values = _collect(_with_rows(lazy, lazy.collect_schema()), compiled, isolate=not probes)
    found = values.pop(PROBES, {})
    if probed is not None and ERROR not in found:
        probed.update(found)
    values.update({check_id: dict(parts) for check_id, parts in unique.items()})
    state = row_local or RowLocalState(bundle_sha256=bundle.sha256)
    if row_local is not None:
        errors.update(row_local.errors)

    results: list[RuleResult] = []
    for check in checks:
        try:
            if check.id in errors:
                results.append(_result(check, RuleStatus.ERROR, error=errors[check.id]))
            elif check.type in SPECIAL:
                finished = SPECIAL[check.type](check.rule, check.columns, lazy, bundle, env, ctx)
                results.append(_finished_result(check, finished))
            elif check.row_local and row_local is not None:
                counts = state.checks.get(check.id)
                results.append(
                    _row_local_result(check, counts)
                    if counts
                    else _result(check, RuleStatus.ERROR, error="no chunk state")
                )
            elif ERROR in values.get(check.id, {}):
                results.append(_result(check, RuleStatus.ERROR, error=values[check.id][ERROR]))
            elif check.row_local:
                results.append(_row_local_result(check, _counts(values[check.id])))
            else:
                results.append(_dataset_result(check, values[check.id], env, ctx))
        except RuleCompileError as exc:
            results.append(_result(check, RuleStatus.ERROR, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - one rule's failure must not lose the others
            results.append(_result(check, RuleStatus.ERROR, error=_short(exc, lazy)))
    if ctx.cleansing_steps:
        results = _attributed(results, checks, values, state, ctx.cleansing_steps)
    masked = [mask_samples(result, bundle, ctx.caller_roles) for result in results]
    return ValidationResult.of(with_hints(masked, checks, bundle))


def with_hints(results: list[RuleResult], checks: list[Check], bundle: ResolvedBundle) -> list[RuleResult]:
    """Each failing result with its rule's hint (the binding's, else the template's, else the type's), rendered from
    the masked samples."""
    return [
        with_hint(
            result,
            hint_template(check.type, check.rule.hint),
            dataset=bundle.dataset.name,
            default_phone_region=bundle.default_phone_region,
        )
        for result, check in zip(results, checks, strict=True)
    ]


def _attributed(
    results: list[RuleResult],
    checks: list[Check],
    values: Mapping[str, Mapping[str, Any]],
    state: RowLocalState,
    steps: tuple[str, ...],
) -> list[RuleResult]:
    """Failing rules with their failing rows split by what cleansing did to them."""
    attributed = []
    for check, result in zip(checks, results, strict=True):
        counts: Mapping[int, int] | None = None
        if check.id in state.checks:
            counts = state.checks[check.id].touched
        elif TOUCHED_KEY in values.get(check.id, {}):
            raw = values[check.id][TOUCHED_KEY]
            counts = raw if isinstance(raw, dict) else parse_touched(raw)
        if result.status is RuleStatus.FAILED and counts:
            attributed.append(result.model_copy(update={"attribution": attribution_of(counts, steps)}))
        else:
            attributed.append(result)
    return attributed
