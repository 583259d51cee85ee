"""``dq validate`` and ``dq profile``: validate or profile one file, no cleansing.

Both read through the one guarded, streaming, contract-typed reader that ``dq run`` ingests
with (:class:`~dq_core.ingest.stream.ChunkedRead`), and ``dq validate`` builds its result with
the same :meth:`RunResult.build`, so a file gives the same rows, columns and types whichever
command reads it. A cell of a declared column that does not convert to the column's logical
type becomes null for the rules, and the result gets one failing ``type`` check per such
column (``conform:<column>``, severity error: ``dq run`` would reject those rows), with the
count and masked samples.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.base import Severity
from dq_core.ingest.read import input_format
from dq_core.ingest.stream import TEXT, WHOLE, ChunkedRead, Conversion
from dq_core.libraries.governance import Role
from dq_core.libraries.infra import IngestLimits
from dq_core.libraries.rules import Dimension
from dq_core.profiling.models import ProfileResult
from dq_core.results.run import ContractStamp, FailedRows, InputStamp, RunResult
from dq_core.runs.references import LoadedReferences
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate
from dq_core.validation.failed_rows import duplicate_failures, merge_failures, published_failures, row_local_failures
from dq_core.validation.fanout import chunk_keys, partition_duplicates, unique_checks
from dq_core.validation.hints import hint_template, with_hint
from dq_core.validation.masking import mask_samples
from dq_core.validation.results import RuleResult, RuleStatus, Sample, ValidationResult

NEEDS_PROFILE = frozenset({"distribution_drift"})
DEFAULT_CHUNK_ROWS = 250_000  # the infra profile's default
CONFORM_PREFIX = "conform:"
CONFORM_TYPE = "type"


def profile_file(path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, limits: IngestLimits | None = None) -> ProfileResult:
    """Profile a file chunk by chunk and merge the states: memory bounded by the chunk. Without a
    contract, a text column's type is inferred from the first rows of the first chunk."""
    from dq_core.profiling.finish import finish_profile  # noqa: PLC0415 - numpy and sketches: only to profile
    from dq_core.profiling.state import merge_profile_states, profile_state  # noqa: PLC0415

    input_format(path)
    with ChunkedRead(path, limits or IngestLimits(), infer=True) as reading:
        states = [profile_state(chunk) for chunk in reading.chunks(chunk_rows)]
    return finish_profile(merge_profile_states(states))


def conversion_results(
    conversions: dict[str, Conversion], rows: int, bundle: ResolvedBundle, roles: frozenset[Role]
) -> list[RuleResult]:
    """One failing ``type`` check per declared column with cells that do not convert."""
    results = []
    for column, record in conversions.items():
        if not record.count:
            continue
        result = RuleResult(
            rule_id=f"{CONFORM_PREFIX}{column}",
            type=CONFORM_TYPE,
            columns=(column,),
            severity=Severity.ERROR,
            status=RuleStatus.FAILED,
            element_count=rows,
            unexpected_count=record.count,
            unexpected_percent=100.0 * record.count / rows if rows else 0.0,
            unexpected_samples=tuple(Sample(row=row, values={column: value}) for row, value in record.samples),
            message=f"{record.count} value(s) of {column} are not {record.logical_type}",
            dimension=Dimension.CONFORMITY.value,
            origin="contract",
            params={"logical_type": record.logical_type},
        )
        hint = hint_template(CONFORM_TYPE, None)
        masked = mask_samples(result, bundle, roles)
        results.append(
            with_hint(masked, hint, dataset=bundle.dataset.name, default_phone_region=bundle.default_phone_region)
        )
    return results


def validate_file(
    path: Path,
    bundle: ResolvedBundle,
    *,
    now: datetime | None = None,
    roles: frozenset[Role] = frozenset(),
    baseline: ProfileResult | None = None,
    history: dict[str, list[float]] | None = None,
    with_profile: bool = False,
    references: LoadedReferences | None = None,
    failed_rows_to: Path | None = None,
) -> tuple[RunResult, ProfileResult | None]:
    """Validate one file. ``failed_rows_to``: write every failing row there (Parquet, masked as the
    run's outputs are, capped by the infra profile's ``max_failed_rows``; dq_core.validation.failed_rows)."""
    started = datetime.now(UTC)
    input_format(path)
    profiled = with_profile or any(rule.rule.type in NEEDS_PROFILE for rule in bundle.rules)
    ctx = ValidationContext(
        now=now or started,
        baseline_profile=baseline,
        history=history or {},
        caller_roles=roles,
        dataset_name=bundle.dataset.name,
        reference_data=references.values if references else {},
        reference_errors=references.errors if references else {},
    )
    current = None
    written = None
    data: pl.DataFrame | pl.LazyFrame
    with ChunkedRead(path, bundle.infra.limits, bundle=bundle, typed=True) as reading:
        fused = None if profiled else _fused(reading, bundle, ctx)
        if fused is not None:
            validation, data = fused
        else:
            chunks = list(reading.chunks(WHOLE))
            data = chunks[0] if len(chunks) == 1 else pl.concat(chunks)
            if profiled:
                from dq_core.profiling.finish import finish_profile  # noqa: PLC0415 - numpy and sketches: to profile
                from dq_core.profiling.state import profile_state  # noqa: PLC0415

                current = finish_profile(profile_state(data))
                ctx = replace(ctx, current_profile=current)
            validation = validate(data, bundle, ctx)
        report = reading.report
        conversions = reading.conversions
        sha256 = reading.sha256
        if failed_rows_to is not None and bundle.infra.max_failed_rows:
            rows = data.collect() if isinstance(data, pl.LazyFrame) else data  # read again: only for --out
            written = write_failed_rows(rows, bundle, ctx, validation, failed_rows_to)
    failed_types = conversion_results(conversions, report.rows, bundle, roles)
    if failed_types:
        validation = ValidationResult.of([*validation.rules, *failed_types])
    result = RunResult.build(
        run_id=str(uuid.uuid4()),
        tenant=bundle.tenant,
        environment=bundle.environment.value,
        contract=ContractStamp.of(bundle),
        input_=InputStamp(
            uri=path.resolve().as_uri(),
            sha256=sha256,
            format=report.format,
            bytes=report.bytes,
            rows=report.rows,
        ),
        started_at=started,
        finished_at=datetime.now(UTC),
        profile=current,
        validation=validation,
        failed_rows=written,
    )
    return result, current


def _fused(
    reading: ChunkedRead, bundle: ResolvedBundle, ctx: ValidationContext
) -> tuple[ValidationResult, pl.LazyFrame] | None:
    """The file read and validated in one lazy query (what a hand-written polars query does), when
    the reader allows it and its probes say the chunked read would give the same rows: no blank row,
    every cell converted by the fast casts. None: read it chunk by chunk."""
    lazy = reading.lazy()
    if lazy is None:
        return None
    probed: dict[str, Any] = {}
    try:
        validation = validate(lazy.frame, bundle, ctx, schema=lazy.schema, probes=lazy.probes, probed=probed)
    except Exception:  # noqa: BLE001 - the chunked read reads it again and names what is wrong
        reading.settle({})
        return None
    if not reading.settle(probed):
        return None
    return validation, lazy.frame.drop(*(c for c in lazy.frame.collect_schema().names() if c.startswith(TEXT)))


def write_failed_rows(
    data: pl.DataFrame, bundle: ResolvedBundle, ctx: ValidationContext, validation: ValidationResult, path: Path
) -> FailedRows:
    """The file's failing rows as a run writes them (dq_core.validation.failed_rows), from the whole frame."""
    cap = bundle.infra.max_failed_rows
    failing = {rule.rule_id for rule in validation.rules if rule.status is RuleStatus.FAILED and rule.unexpected_count}
    parts = [row_local_failures(data.lazy(), bundle, ctx, failing, cap)]
    if failing & {check.id for check in unique_checks(bundle)}:
        _, _, keys = chunk_keys(data, bundle, ctx, 1)
        _, first_rows = partition_duplicates(lambda: keys, bundle, ctx.sample_limit, cap + 1)
        parts.append(duplicate_failures(first_rows, bundle, failing, cap))
    failures, capped = merge_failures(parts, cap, [rule.rule_id for rule in validation.rules])
    rows = published_failures([data], failures, bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(path)
    return FailedRows(path=path.name, rows=rows.height, cap=cap, capped=capped)
