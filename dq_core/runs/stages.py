"""The stages of an orchestrated run, one function per activity, over the ports.

Each function takes its payload and the ports, reads and writes the run's files in the
tenant's container (:class:`~dq_core.runs.files.RunFiles`), writes the lineage step of
the stage it closes, and returns a small payload. The activities in ``activities/`` are
thin wrappers over these; ``dq run`` calls the same ones through the same orchestrator.
The stages after the verdict (``run_action``, ``finalise_run``) are in
:mod:`dq_core.runs.closing`.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import polars as pl
from pydantic import JsonValue

from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import CleansingReport, step_names
from dq_core.cleansing.rounds import (
    barriers,
)
from dq_core.config.base import Environment, Kind, ObjectKey, Status, Versioned
from dq_core.config.canonical import canonical_json
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError, IngestError, InputError, ObjectNotFound
from dq_core.ingest.stream import ChunkedRead
from dq_core.jobs.models import JobDefinition
from dq_core.libraries.governance import Masking
from dq_core.libraries.infra import IngestLimits, StorageTiers
from dq_core.lineage.models import MetricPoint, RunRecord, StepRecord
from dq_core.ports import (
    BlobStore,
    ConfigReader,
    HttpSender,
    LineageStore,
    MailSender,
    OpenLineageEmitter,
    QueueSender,
    RowExporter,
    SecretStore,
)
from dq_core.profiling.finish import finish_profile
from dq_core.profiling.models import ProfileResult, ProfileState
from dq_core.profiling.state import merge_profile_states, profile_state
from dq_core.results.run import (
    ContractStamp,
    FailedRows,
    InputStamp,
    JobStamp,
    RunResult,
    RunStatus,
    anomalies_of,
)
from dq_core.runs import payloads as p
from dq_core.runs.files import RunFiles
from dq_core.runs.references import (
    check_overrides,
    load_references,
    read_references,
    referenced_names,
    write_references,
)
from dq_core.validation.anomaly import HistoryPoint, history_limit, outside_their_bands
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import RowLocalState, merge_states, plan, row_local_state, validate
from dq_core.validation.failed_rows import FILE as FAILED_FILE
from dq_core.validation.failed_rows import (
    duplicate_failures,
    merge_failures,
    published_failures,
    row_local_failures,
)
from dq_core.validation.fanout import chunk_keys, columns_needed, merge_unique, partition_duplicates, unique_checks
from dq_core.validation.results import ValidationResult


@dataclass(frozen=True)
class RunPorts:
    """What the stages need from outside: the four ports, and whether local files may be read."""

    contracts: ConfigReader
    lineage: LineageStore
    blobs: BlobStore
    secrets: SecretStore
    allow_local_files: bool = False  # only the local host (dq run) reads file:// inputs
    queues: QueueSender | None = None  # queue actions; None: such an action is recorded failed
    rows: RowExporter | None = None  # table exports; None: such an action is recorded failed
    http: HttpSender | None = None  # webhook, Teams, Slack, ticket and OpenLineage actions
    mail: MailSender | None = None  # e-mail actions
    openlineage: OpenLineageEmitter | None = None  # the OpenLineage client of openlineage actions
    allow_private_networks: bool = False  # actions may reach non-public addresses (the deployment's setting)

    def files(self, run: p.RunRef, storage: StorageTiers | None = None) -> RunFiles:
        """The run's files; with ``storage`` (the bundle's infra.storage) written in its access tiers."""
        return RunFiles(self.blobs, run.tenant, storage)


def _now() -> datetime:
    return datetime.now(UTC)


def record_step(
    ports: RunPorts,
    run: p.RunRef,
    stage: p.Stage,
    started_at: datetime,
    *,
    status: str = "succeeded",
    metrics: dict[str, JsonValue] | None = None,
    outputs: dict[str, str] | None = None,
    versions: dict[str, str] | None = None,
) -> None:
    ports.lineage.put_step(
        StepRecord(
            tenant=run.tenant,
            run_id=run.run_id,
            step=stage.value,
            status=status,
            started_at=started_at,
            finished_at=_now(),
            metrics=metrics or {},
            outputs=outputs or {},
            versions=versions or {},
            correlation_id=run.correlation_id,
        )
    )


_BUNDLES: dict[str, ResolvedBundle] = {}
_BUNDLE_CACHE_SIZE = 8
FAILED_PARTS = "validate/failed/"  # each chunk's and key partition's first failing rows (working files)


def parsed_bundle(data: bytes) -> ResolvedBundle:
    """The bundle in ``data``, validated once per process for each distinct content.

    Validating a bundle parses every SQL text of its rules (the allow-list) and checks its own
    sha256; every activity of a run reads the same bytes, so a worker that ran one of the run's
    activities reuses the frozen model instead of validating it again. The key is the sha256 of
    the bytes read now: different bytes are validated afresh, whatever they claim."""
    key = hashlib.sha256(data).hexdigest()
    bundle = _BUNDLES.get(key)
    if bundle is None:
        bundle = ResolvedBundle.model_validate_json(data)
        if len(_BUNDLES) >= _BUNDLE_CACHE_SIZE:
            _BUNDLES.pop(next(iter(_BUNDLES), ""), None)  # threads may race here: never a KeyError
        _BUNDLES[key] = bundle
    return bundle


def load_bundle(ports: RunPorts, run: p.RunRef, path: str) -> ResolvedBundle:
    """The run's bundle, its sha256 checked again on the way in (once per process per content)."""
    bundle = parsed_bundle(ports.files(run).read_bytes(path))
    if bundle.tenant != run.tenant:
        raise ConfigError(f"bundle {path} belongs to tenant {bundle.tenant}, not {run.tenant}")
    return bundle


# --- resolve ---------------------------------------------------------------------------------


def _pick(reader: ConfigReader, run: p.RunRef, kind: Kind, object_id: str, version: str | None) -> Versioned:
    """The version asked for, else the newest published one. Outside ``local`` only published
    versions run: a draft is never what production data is checked against."""
    if version is None:
        versions = reader.versions(run.tenant, run.environment, kind, object_id)
        objects = [
            reader.get(run.tenant, run.environment, ObjectKey(kind=kind, id=object_id, version=v)) for v in versions
        ]
        published = [obj for obj in objects if obj.status is Status.PUBLISHED]
        if not objects:
            raise ObjectNotFound(f"{kind.value} {object_id!r} does not exist in {run.tenant}/{run.environment}")
        chosen = (published or objects)[-1]
    else:
        chosen = reader.get(run.tenant, run.environment, ObjectKey(kind=kind, id=object_id, version=version))
    if run.environment != Environment.LOCAL.value and chosen.status is not Status.PUBLISHED:
        raise ConfigError(
            f"{kind.value} {object_id}@{chosen.version} is {chosen.status.value}: "
            f"only published versions run in {run.environment}"
        )
    return chosen


def _bundle_from_store(ports: RunPorts, inp: p.ResolveInput) -> ResolvedBundle:
    request, run = inp.request, inp.run
    if request.job_id:
        job = _pick(ports.contracts, run, Kind.JOB_DEFINITION, request.job_id, request.job_version)
        assert isinstance(job, JobDefinition)  # noqa: S101 - asked for by kind
        contract = ports.contracts.get(
            run.tenant, run.environment, ObjectKey(kind=Kind.CONTRACT, id=job.contract.id, version=job.contract.version)
        )
        assert isinstance(contract, DataContract)  # noqa: S101
        return resolve_bundle(ports.contracts, contract, dataset=request.dataset or job.dataset, job=job)
    if request.contract_id:
        contract = _pick(ports.contracts, run, Kind.CONTRACT, request.contract_id, request.contract_version)
        assert isinstance(contract, DataContract)  # noqa: S101
        return resolve_bundle(ports.contracts, contract, dataset=request.dataset)
    raise ConfigError("a run names a job, a contract or a materialised bundle")


def resolve_run(ports: RunPorts, inp: p.ResolveInput) -> p.ResolveOutput:
    run, request = inp.run, inp.request
    path = run.folder + "bundle.json"
    bundle = load_bundle(ports, run, request.bundle_path) if request.bundle_path else _bundle_from_store(ports, inp)
    if bundle.environment.value != run.environment:
        raise ConfigError(f"the bundle is for environment {bundle.environment.value}, the run for {run.environment}")
    ports.files(run, bundle.infra.storage).write_bytes(path, canonical_json(bundle))
    references = _stage_references(ports, run, bundle, request.overrides.references, inp.started_at)
    job = JobStamp(id=bundle.job.id, version=bundle.job.version) if bundle.job else None
    contract = ContractStamp.of(bundle)
    ports.lineage.put_run(_run_record(run, request, inp.started_at, "running", contract, job))
    action_ids: dict[str, list[str]] = {}
    for resolved in bundle.actions:
        for trigger in resolved.triggers:
            action_ids.setdefault(trigger.value, []).append(resolved.action.id)
    record_step(
        ports,
        run,
        p.Stage.RESOLVE,
        inp.started_at,
        outputs={"bundle": path} | ({"references": references} if references else {}),
        versions={source.id: source.version for source in bundle.sources} | {"bundle_sha256": bundle.sha256},
    )
    return p.ResolveOutput(
        bundle_path=path,
        contract=contract,
        job=job,
        chunk_rows=request.overrides.chunk_rows or bundle.infra.chunk_rows,
        max_parallelism=request.overrides.max_parallelism or bundle.infra.max_parallelism,
        action_ids=action_ids,
        cleanse_barriers=[kind.value for kind in barriers(CleansingContext(bundle=bundle, defer_masking=True))],
        unique_rules=len(unique_checks(bundle)),
    )


def _stage_references(
    ports: RunPorts, run: p.RunRef, bundle: ResolvedBundle, overrides: dict[str, str], now: datetime
) -> str | None:
    """Load the reference datasets the rules look values up in, once, into the run's folder (for validate_chunk)."""
    check_overrides(bundle, overrides, allow_local_files=ports.allow_local_files)
    needed = referenced_names(bundle)
    if not needed & {spec.name for spec in bundle.reference_datasets}:
        return None
    loaded = load_references(
        bundle.reference_datasets,
        run.tenant,
        ports.blobs,
        ports.lineage,
        overrides=overrides,
        limits=bundle.infra.limits,
        allow_local_files=ports.allow_local_files,
        only=needed,
        now=now,
    )
    return write_references(ports.files(run, bundle.infra.storage), run.folder, loaded)


def _run_record(
    run: p.RunRef,
    request: p.RunRequest,
    started_at: datetime,
    status: str,
    contract: ContractStamp | None,
    job: JobStamp | None,
    **extra: object,
) -> RunRecord:
    source = request.inputs[0]
    return RunRecord(
        tenant=run.tenant,
        run_id=run.run_id,
        environment=run.environment,
        status=status,
        started_at=started_at,
        ingestion_mode=request.ingestion_mode,
        input_uri=source.uri,
        input_etag=source.etag,
        trigger=request.trigger,
        job_id=job.id if job else request.job_id,
        job_version=job.version if job else request.job_version,
        contract_id=contract.id if contract else (request.contract_id or ""),
        contract_version=contract.version if contract else (request.contract_version or ""),
        contract_sha256=contract.sha256 if contract else "",
        bundle_sha256=contract.bundle_sha256 if contract else "",
        **extra,
    )


# --- ingest ----------------------------------------------------------------------------------


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InputError(f"{uri}: only local file URIs can be read")
    return Path(unquote(parsed.path))


@contextmanager
def _raw_file(ports: RunPorts, run: p.RunRef, source: p.InputRef) -> Iterator[tuple[Path, str | None]]:
    """The raw input as a local file to read (never to change), and its ETag."""
    if source.uri.startswith("file:"):
        if not ports.allow_local_files:
            raise InputError(f"{source.uri}: this host reads inputs from the tenant's container only")
        yield _local_path(source.uri), source.etag
        return
    if "://" in source.uri:
        raise InputError(f"{source.uri}: give the input as a path in the tenant's container (landing/...)")
    with tempfile.TemporaryDirectory(prefix="dq-ingest-") as folder:
        local = Path(folder) / PurePosixPath(source.uri).name
        etag = ports.blobs.download_to(run.tenant, source.uri, local)  # streamed: never whole in memory
        if source.etag and etag.strip('"') != source.etag.strip('"'):
            raise InputError(f"{source.uri}: changed since the run was started (ETag {etag}, expected {source.etag})")
        yield local, etag


def _within(chunks: Iterator[pl.DataFrame], limits: IngestLimits, inp: p.IngestInput) -> Iterator[pl.DataFrame]:
    """The chunks, refused (``too_many_chunks``) past ``limits.max_chunks``: each is several
    activities on the task hub every tenant shares."""
    for index, chunk in enumerate(chunks):
        if index >= limits.max_chunks:
            raise IngestError(
                "too_many_chunks",
                f"{inp.input.uri}: more than {limits.max_chunks} chunks of {inp.chunk_rows} rows; "
                "raise chunk_rows or the infra profile's limits.max_chunks",
            )
        yield chunk


def ingest_file(ports: RunPorts, inp: p.IngestInput) -> p.IngestOutput:
    """The raw file through the one streaming reader, written chunk by chunk (``ingested/part-NNNNN``):
    neither the raw file nor the dataset is ever whole in memory. Columns stay text; cleansing's
    ``conform_types`` casts them and turns each failing cell into a reject reason."""
    run, files = inp.run, ports.files(inp.run)
    bundle = load_bundle(ports, run, inp.bundle_path)
    folder = run.folder + "ingested/"
    with (
        _raw_file(ports, run, inp.input) as (path, etag),
        ChunkedRead(path, bundle.infra.limits, inp.options, bundle=bundle) as reading,
    ):
        chunks = [
            files.write_frame(f"{folder}part-{index:05d}.parquet", chunk)
            for index, chunk in enumerate(_within(reading.chunks(inp.chunk_rows), bundle.infra.limits, inp))
        ]
        report, sha256 = reading.report, reading.sha256
    stamp = InputStamp(
        uri=inp.input.uri, etag=etag, sha256=sha256, format=report.format, bytes=report.bytes, rows=report.rows
    )
    record_step(
        ports,
        run,
        p.Stage.INGEST,
        inp.started_at,
        metrics={"rows": report.rows, "bytes": report.bytes, "chunks": len(chunks), "blank_rows": report.blank_rows},
        outputs={"chunks": run.folder + "ingested/", "input": inp.input.uri},
    )
    return p.IngestOutput(chunks=chunks, input=stamp, report=report)


# --- cleanse ---------------------------------------------------------------------------------


def tenant_salt(secrets: SecretStore, bundle: ResolvedBundle) -> bytes | None:
    """The governance salt, when a mask step will hash; None otherwise (or when it is missing:
    the mask step then stops with the secret's name)."""
    hashes = any(column.masking is Masking.HASH for column in bundle.dataset.columns)
    if not hashes or not any(step.type == "mask" for step in bundle.cleansing):
        return None
    try:
        return secrets.get(bundle.tenant, bundle.governance.salt_secret).encode("utf-8")
    except ObjectNotFound:
        return None


# --- profile ---------------------------------------------------------------------------------


def profile_chunk(ports: RunPorts, inp: p.ChunkInput) -> p.ProfileChunkOutput:
    files = ports.files(inp.run)
    state = profile_state(files.read_frame(inp.chunk))
    path = files.write_model(f"{inp.run.folder}profile/state-{inp.index:05d}.json", state)
    return p.ProfileChunkOutput(index=inp.index, state_path=path, rows=state.rows)


def merge_profile(ports: RunPorts, inp: p.MergeProfileInput) -> p.MergeProfileOutput:
    bundle = load_bundle(ports, inp.run, inp.run.folder + "bundle.json")
    files = ports.files(inp.run, bundle.infra.storage)
    states = [ProfileState.model_validate_json(files.read_bytes(path)) for path in inp.states]
    profile = finish_profile(merge_profile_states(states))
    path = files.write_model(inp.run.folder + "profile.json", profile)
    record_step(
        ports,
        inp.run,
        p.Stage.PROFILE,
        inp.started_at,
        metrics={"rows": profile.row_count, "columns": len(profile.columns), "chunks": len(states)},
        outputs={"profile": path},
    )
    return p.MergeProfileOutput(profile_path=path, rows=profile.row_count, columns=len(profile.columns))


# --- validate --------------------------------------------------------------------------------


def baseline_path(bundle: ResolvedBundle) -> str:
    """Where the last finished run of a contract's dataset leaves its profile (drift baseline)."""
    return f"profiles/{bundle.contract.id}/{bundle.dataset.name}/latest.json"


def metric_key(bundle: ResolvedBundle, metric: str) -> str:
    return f"{bundle.contract.id}/{bundle.dataset.name}/{metric}"


def _validation_context(bundle: ResolvedBundle, now: datetime | None) -> ValidationContext:
    return ValidationContext(now=now or _now(), dataset_name=bundle.dataset.name)


def validate_chunk(ports: RunPorts, inp: p.ChunkInput) -> p.ValidateChunkOutput:
    """Row-local rules over one chunk, and its part of the uniqueness rules: their counts, and
    its keys split into the run's key partitions (``validate/keys/pNNNNN/cNNNNN.parquet``)."""
    files = ports.files(inp.run)
    bundle = load_bundle(ports, inp.run, inp.bundle_path)
    references = read_references(files, inp.run.folder)
    ctx = replace(
        _validation_context(bundle, inp.now), reference_data=references.values, reference_errors=references.errors
    )
    frame = files.read_frame(inp.chunk)
    state = row_local_state(frame.lazy(), bundle, ctx)
    if unique_checks(bundle):
        counts, errors, keys = chunk_keys(frame, bundle, ctx, max(inp.partitions, 1))
        state = state.model_copy(update={"keys": counts, "errors": state.errors | errors})
        for index, part in enumerate(keys):
            if part.height or inp.index == 0:  # chunk 0's keep each partition's schema
                files.write_frame(f"{inp.run.folder}validate/keys/p{index:05d}/c{inp.index:05d}.parquet", part)
    path = files.write_model(f"{inp.run.folder}validate/state-{inp.index:05d}.json", state)
    failing = sorted(check_id for check_id, counts in state.checks.items() if counts.unexpected)
    if failing and bundle.infra.max_failed_rows:
        failures = row_local_failures(frame.lazy(), bundle, ctx, failing, bundle.infra.max_failed_rows)
        files.write_frame(f"{inp.run.folder}{FAILED_PARTS}c{inp.index:05d}.parquet", failures)
    return p.ValidateChunkOutput(index=inp.index, state_path=path, failing=failing)


def validate_partition(ports: RunPorts, inp: p.PartitionInput) -> p.PartitionOutput:
    """The uniqueness rules' duplicates among one key partition, from every chunk's keys."""
    files = ports.files(inp.run)
    bundle = load_bundle(ports, inp.run, inp.bundle_path)
    paths = files.part_paths(f"{inp.run.folder}validate/keys/p{inp.partition:05d}/")
    cap = bundle.infra.max_failed_rows
    found, first_rows = partition_duplicates(
        lambda: (files.read_frame(path) for path in paths),
        bundle,
        _validation_context(bundle, inp.now).sample_limit,
        cap + 1 if cap else 0,
    )
    failing = [check_id for check_id, partial in found.items() if partial.unexpected]
    if failing and cap:
        failures = duplicate_failures(first_rows, bundle, failing, cap)
        files.write_frame(f"{inp.run.folder}{FAILED_PARTS}p{inp.partition:05d}.parquet", failures)
    path = files.write_model(
        f"{inp.run.folder}validate/unique-{inp.partition:05d}.json", p.UniquePartials(checks=found)
    )
    return p.PartitionOutput(partition=inp.partition, partial_path=path)


def profile_at(files: RunFiles, path: str | None) -> ProfileResult | None:
    if path is None:
        return None
    try:
        return ProfileResult.model_validate_json(files.read_bytes(path))
    except ObjectNotFound:
        return None


def _history(ports: RunPorts, run: p.RunRef, bundle: ResolvedBundle) -> dict[str, list[HistoryPoint]]:
    """Each anomaly metric's earlier points, as many as its rules may consider (see history_limit)."""
    from dq_core.libraries.rules import AnomalyRule  # noqa: PLC0415
    from dq_core.validation.dataset import anomaly_key  # noqa: PLC0415

    limits: dict[str, int] = {}
    for resolved in bundle.rules:
        if isinstance(resolved.rule, AnomalyRule):
            key = anomaly_key(resolved.rule, resolved.columns)
            limits[key] = max(limits.get(key, 0), history_limit(resolved.rule.params))
    return {
        key: [
            HistoryPoint(value=point.value, at=point.at, anomalous=point.anomalous)
            for point in ports.lineage.metric_history(run.tenant, metric_key(bundle, key), limit=limits[key])
        ]
        for key in sorted(limits)
    }


def validate_dataset(ports: RunPorts, inp: p.ValidateDatasetInput) -> p.ValidateDatasetOutput:
    run = inp.run
    bundle = load_bundle(ports, run, inp.bundle_path)
    files = ports.files(run, bundle.infra.storage)
    base = _validation_context(bundle, inp.now)
    ctx = ValidationContext(
        now=base.now,
        dataset_name=base.dataset_name,
        cleansing_steps=step_names(bundle),
        current_profile=profile_at(files, inp.profile_path),
        baseline_profile=profile_at(files, baseline_path(bundle)),
        history=_history(ports, run, bundle),
    )
    states = [RowLocalState.model_validate_json(files.read_bytes(path)) for path in inp.states]
    merged = merge_states(states, ctx.sample_limit)
    partials = [p.UniquePartials.model_validate_json(files.read_bytes(path)).checks for path in inp.unique]
    unique = merge_unique(merged.keys, partials, ctx.sample_limit) if inp.unique else None
    schema = files.read_schema(inp.chunks[0])
    needed = columns_needed(bundle, schema, ctx)
    # only what the dataset rules read; after a shuffle each chunk is a key partition, so the rows
    # are not in source order: samples and custom SQL put them back in it themselves
    frame = files.read_frames(inp.chunks, columns=needed)
    result = validate(frame.lazy(), bundle, ctx, row_local=merged, unique=unique, schema=schema)
    del frame
    path = files.write_model(run.folder + "validation.json", result)
    failed_rows = _write_failed_rows(files, run, bundle, inp.published) if inp.published else None
    summary = result.summary
    record_step(
        ports,
        run,
        p.Stage.VALIDATE,
        inp.started_at,
        status="passed" if result.passed else "failed",
        metrics=summary.model_dump(mode="json"),
        outputs={"validation": path, **({"failed_rows": failed_rows.path} if failed_rows else {})},
    )
    return p.ValidateDatasetOutput(
        validation_path=path,
        passed=result.passed,
        evaluated=summary.evaluated,
        failed=summary.failed,
        errors=summary.errors,
        failed_rows=failed_rows,
    )


def _write_failed_rows(
    files: RunFiles, run: p.RunRef, bundle: ResolvedBundle, published: list[str]
) -> FailedRows | None:
    """failed_rows.parquet from the chunks' and key partitions' failing rows and the published rows."""
    cap = bundle.infra.max_failed_rows
    if not cap:
        return None
    parts = (files.read_frame(path) for path in sorted(files.blobs.list(run.tenant, run.folder + FAILED_PARTS)))
    failures, capped = merge_failures(parts, cap, [check.id for check in plan(bundle)])
    rows = published_failures((files.read_frame(chunk) for chunk in published), failures, bundle)
    path = files.write_frame(run.folder + FAILED_FILE, rows)
    return FailedRows(path=path, rows=rows.height, cap=cap, capped=capped)


# --- anomaly check ---------------------------------------------------------------------------


def check_anomalies(ports: RunPorts, inp: p.AnomalyInput) -> p.AnomalyOutput:
    """Record this run's metric points (the history of the next runs) and count anomalies."""
    run, files = inp.run, ports.files(inp.run)
    bundle = load_bundle(ports, run, inp.bundle_path)
    validation = ValidationResult.model_validate_json(files.read_bytes(inp.validation_path))
    values: dict[str, float] = {"row_count": float(inp.rows)}
    for rule in validation.rules:
        observed = rule.observed_value
        if (
            rule.type == "anomaly"
            and rule.metric
            and isinstance(observed, (int, float))
            and not isinstance(observed, bool)
        ):
            values[rule.metric] = float(observed)
    outside = outside_their_bands(validation)  # left out of the next runs' bands
    for key, value in values.items():
        ports.lineage.append_metric(
            MetricPoint(
                tenant=run.tenant,
                key=metric_key(bundle, key),
                at=inp.now,
                value=value,
                run_id=run.run_id,
                anomalous=key in outside,
            )
        )
    anomalies = anomalies_of(validation)
    record_step(
        ports,
        run,
        p.Stage.ANOMALY_CHECK,
        inp.started_at,
        metrics={"anomalies": len(anomalies), "metrics_recorded": len(values)},
    )
    return p.AnomalyOutput(anomalies=len(anomalies), metrics_recorded=len(values))


# --- result, actions, finalise ---------------------------------------------------------------


def build_result(ports: RunPorts, inp: p.BuildResultInput) -> p.BuildResultOutput:
    """The verdict: result.json from what the stages left, or the error that stopped the run."""
    run, files = inp.run, ports.files(inp.run)
    validation = (
        ValidationResult.model_validate_json(files.read_bytes(inp.validation.validation_path))
        if inp.validation
        else None
    )
    profile = profile_at(files, inp.profile.profile_path if inp.profile else None)
    cleansing = (
        CleansingReport.model_validate_json(files.read_bytes(inp.cleansed.report_path)) if inp.cleansed else None
    )
    resolved = inp.resolved
    result = RunResult.build(
        run_id=run.run_id,
        tenant=run.tenant,
        environment=run.environment,
        job=resolved.job if resolved else None,
        contract=resolved.contract if resolved else None,
        input_=inp.ingested.input if inp.ingested else None,
        started_at=inp.started_at,
        finished_at=inp.finished_at,
        cleansing=cleansing,
        profile=profile,
        validation=validation,
        error=inp.error,
        failed_rows=inp.validation.failed_rows if inp.validation else None,
    )
    status = result.status
    path = files.write_bytes(run.folder + "result.json", result.to_json().encode("utf-8"))
    if inp.error is not None and inp.error_stage is not None:
        record_step(
            ports,
            run,
            inp.error_stage,
            inp.finished_at,
            status="error",
            metrics={"code": inp.error.code, "message": inp.error.message},
        )
    if profile is not None and resolved is not None and status is not RunStatus.ERROR:
        bundle = load_bundle(ports, run, resolved.bundle_path)
        files.write_model(baseline_path(bundle), profile)  # the next run's drift baseline
    contract = resolved.contract if resolved else None
    record = _run_record(
        run,
        inp.request,
        inp.started_at,
        status.value,
        contract,
        resolved.job if resolved else None,
        finished_at=inp.finished_at,
        input_sha256=inp.ingested.input.sha256 if inp.ingested else None,
        result_sha256=hashlib.sha256(result.to_json().encode("utf-8")).hexdigest(),
        error=inp.error.message if inp.error else None,
    )
    ports.lineage.put_run(record)
    return p.BuildResultOutput(status=status.value, result_path=path, anomalies=len(result.anomalies))
