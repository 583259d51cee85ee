"""``dq validate`` and ``dq profile``: validate or profile one file, no cleansing.

The same engines the orchestrated run uses, in one process, in one piece.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.errors import InputError
from dq_core.ingest.read import InputFile, describe, scan
from dq_core.libraries.governance import Role
from dq_core.profiling.finish import finish_profile
from dq_core.profiling.models import ProfileResult
from dq_core.profiling.state import profile_in_chunks, profile_state
from dq_core.results.run import ContractStamp, InputStamp, RunResult
from dq_core.runs.references import LoadedReferences
from dq_core.safe_text import safe_error
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate

NEEDS_PROFILE = frozenset({"distribution_drift"})
DEFAULT_CHUNK_ROWS = 250_000  # the infra profile's default


def _collect(frame: pl.LazyFrame, source: InputFile) -> pl.DataFrame:
    try:
        return frame.collect()
    except Exception as exc:  # noqa: BLE001 - a malformed row surfaces only when the data is read
        raise InputError(f"{source.path}: cannot be read as {source.format}: {safe_error(exc)}") from None


def profile_file(path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> ProfileResult:
    """Profile a file chunk by chunk and merge the states.

    Parquet is sliced lazily (memory bounded by the chunk); text formats are parsed once
    and sliced in memory (slicing a CSV scan would re-read it from the start each time).
    """
    source = describe(path)
    frame = scan(source)
    if source.format != "parquet":
        frame = _collect(frame, source).lazy()
    try:
        state = profile_in_chunks(frame, chunk_rows)
    except pl.exceptions.ComputeError as exc:  # malformed rows surface only when a chunk is read
        raise InputError(f"{source.path}: cannot be read as {source.format}: {safe_error(exc)}") from None
    return finish_profile(state)


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
) -> tuple[RunResult, ProfileResult | None]:
    started = datetime.now(UTC)
    source = describe(path, bundle.infra.limits)
    data = _collect(scan(source), source)
    current = None
    if with_profile or any(rule.rule.type in NEEDS_PROFILE for rule in bundle.rules):
        current = finish_profile(profile_state(data))
    ctx = ValidationContext(
        now=now or started,
        baseline_profile=baseline,
        current_profile=current,
        history=history or {},
        caller_roles=roles,
        dataset_name=bundle.dataset.name,
        reference_data=references.values if references else {},
        reference_errors=references.errors if references else {},
    )
    validation = validate(data, bundle, ctx)
    result = RunResult.build(
        run_id=str(uuid.uuid4()),
        tenant=bundle.tenant,
        environment=bundle.environment.value,
        contract=ContractStamp.of(bundle),
        input_=InputStamp(
            uri=path.resolve().as_uri(),
            sha256=source.sha256,
            format=source.format,
            bytes=source.bytes,
            rows=data.height,
        ),
        started_at=started,
        finished_at=datetime.now(UTC),
        profile=current,
        validation=validation,
    )
    return result, current
