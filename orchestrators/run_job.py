"""``run_job``: one run, step by step (docs/orchestration.md).

resolve → ingest → cleanse (rounds of one activity per chunk, shuffled by key hash or
given merged filling values between rounds, then merged) → profile (fan-out per chunk,
merge) → validate (fan-out per chunk for row-local rules, per key partition for
uniqueness, then the other dataset-level rules over the columns they read) → anomaly check
→ result → actions (fan-out by outcome) → finalise. A job with several input files runs one
``run_file`` sub-orchestration per file.

Deterministic: no I/O, no clock but ``context.current_utc_datetime``, no randomness but
``context.new_uuid()``; only activity names and payload models.

Every activity is a plain ``call_activity``, waited for with ``task_all``: the activity
retries its own transient errors (``dq_core.runs.retrying``), because the SDK's
``call_activity_with_retry`` waited on with ``task_any`` can leave a run in Running
forever (Azure/azure-functions-durable-python#603) and SDK 1.7.0 drops
``RetryOptions.backoff_coefficient``. A terminal error (or retries run out) comes back
from an activity as an error envelope, an activity that failed in the host as a failed
task; either ends the run with status ``error``, its reason recorded by ``build_result``.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from dq_core.libraries.actions import Trigger
from dq_core.results.run import ActionOutcome, RunError
from dq_core.runs import payloads as p

Steps = Generator[Any, Any, Any]


class StageFailed(Exception):
    def __init__(self, stage: p.Stage, error: RunError) -> None:
        super().__init__(error.message)
        self.stage = stage
        self.error = error


def _failure(exc: BaseException) -> RunError:
    """The reason of an activity that failed in the host (the SDK passes only text)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return RunError(code="activity_failed", message=text[:500])


def _unwrap(stage: p.Stage, raw: Any) -> dict[str, Any]:
    if isinstance(raw, Exception):
        raise StageFailed(stage, _failure(raw))
    envelope = p.Envelope.model_validate(raw)
    if envelope.error is not None:
        raise StageFailed(stage, envelope.error)
    return dict(envelope.value or {})


def _call(context: df.DurableOrchestrationContext, stage: p.Stage, name: p.ActivityName, payload: Any) -> Steps:
    try:
        raw = yield context.call_activity(name.value, payload.model_dump(mode="json"), expected_type=dict)
    except Exception as exc:  # noqa: BLE001 - the SDK flattens every activity failure to Exception
        raise StageFailed(stage, _failure(exc)) from None
    return _unwrap(stage, raw)


class Progress:
    """The custom status (Durable status API, the app's run API): stage, chunk progress,
    rules failed so far."""

    def __init__(self, context: df.DurableOrchestrationContext, run_id: str) -> None:
        self.context, self.run_id = context, run_id
        self.stage = p.Stage.RESOLVE
        self.done = self.total = 0
        self.failing: set[str] = set()

    def at(self, stage: p.Stage, total: int = 0) -> None:
        self.stage, self.done, self.total = stage, 0, total
        self.show()

    def show(self) -> None:
        self.context.set_custom_status(
            {
                "run_id": self.run_id,
                "stage": self.stage.value,
                "chunks_done": self.done,
                "chunks_total": self.total,
                "rules_failed": len(self.failing),
            }
        )


def _fan_out(
    context: df.DurableOrchestrationContext,
    progress: Progress,
    name: p.ActivityName,
    payloads: Sequence[Any],
    limit: int,
) -> Steps:
    """One activity per payload, in windows of ``limit`` waited for with ``task_all``; results in
    payload order. The first failed chunk (a failed task, or an error envelope) fails the stage."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(payloads), limit):
        window = [
            context.call_activity(name.value, payload.model_dump(mode="json"), expected_type=dict)
            for payload in payloads[start : start + limit]
        ]
        try:
            raws = yield context.task_all(window)
        except Exception as exc:  # noqa: BLE001 - the SDK flattens every activity failure to Exception
            raise StageFailed(progress.stage, _failure(exc)) from None
        for raw in raws:
            value = _unwrap(progress.stage, raw)
            results.append(value)
            progress.failing.update(value.get("failing", []))
        progress.done += len(window)
        progress.show()
    return results


def _action_outcome(item: p.ActionInput, raw: Any) -> ActionOutcome:
    try:
        if isinstance(raw, Exception):
            raise raw
        return ActionOutcome.model_validate(_unwrap(p.Stage.ACT, raw))
    except Exception as exc:  # noqa: BLE001 - an action's failure never loses the run's result
        return ActionOutcome(
            action_id=item.action_id,
            type="unknown",
            trigger=item.trigger,
            status="failed",
            attempts=1,
            detail=_failure(exc).message,
        )


def _run_actions(context: df.DurableOrchestrationContext, inputs: Sequence[p.ActionInput]) -> Steps:
    """Every fired action at once; each outcome on its own, so one action's failure (an activity
    that failed, or a terminal error) is that action's outcome alone and never another's.

    ``task_all`` fails at the first failed task: the tasks still running are then waited for
    again (the same tasks, nothing scheduled anew) until every one has an outcome."""
    tasks = [
        context.call_activity(p.ActivityName.RUN_ACTION.value, item.model_dump(mode="json"), expected_type=dict)
        for item in inputs
    ]
    outcomes: dict[int, ActionOutcome] = {}
    waiting = list(range(len(tasks)))
    while waiting:
        failure: Exception | None = None
        try:
            yield context.task_all([tasks[i] for i in waiting])
        except Exception as exc:  # noqa: BLE001 - one action's activity failed: each task is read below
            failure = exc
        stuck = failure is not None and not any(tasks[i].is_completed for i in waiting)  # never seen
        for i in waiting:
            if tasks[i].is_completed or stuck:
                outcomes[i] = _action_outcome(inputs[i], tasks[i].result if tasks[i].is_completed else failure)
        waiting = [i for i in waiting if i not in outcomes]
    return [outcomes[i] for i in range(len(inputs))]


def actions_for(resolved: p.ResolveOutput, status: str, anomalies: int) -> list[tuple[str, str]]:
    """(action id, trigger) pairs that fire for a verdict; each action at most once."""
    fired = [Trigger.ALWAYS, {"passed": Trigger.ON_SUCCESS, "failed": Trigger.ON_FAILURE}.get(status, Trigger.ON_ERROR)]
    if anomalies:
        fired.append(Trigger.ON_ANOMALY)
    chosen: dict[str, str] = {}
    for trigger in fired:
        for action_id in resolved.action_ids.get(trigger.value, []):
            chosen.setdefault(action_id, trigger.value)
    return sorted(chosen.items())


def _chunk_inputs(run: p.RunRef, resolved: p.ResolveOutput, chunks: list[str], now: datetime) -> list[p.ChunkInput]:
    return [
        p.ChunkInput(run=run, bundle_path=resolved.bundle_path, chunk=chunk, index=i, now=now)
        for i, chunk in enumerate(chunks)
    ]


def _cleanse(
    context: df.DurableOrchestrationContext,
    run: p.RunRef,
    resolved: p.ResolveOutput,
    ingested: p.IngestOutput,
    progress: Progress,
) -> Steps:
    """Cleansing in rounds (dq_core.cleansing.rounds): every round one activity per unit, the
    rows shuffled into key partitions or given merged filling values between rounds, then the
    merged report. Returns the CleanseOutput."""
    started = context.current_utc_datetime
    barriers = resolved.cleanse_barriers
    partitions = p.partitions_for(ingested.report.rows, resolved.chunk_rows)
    units = [len(ingested.chunks)]
    for barrier in barriers:
        units.append(partitions if barrier == "shuffle" else units[-1])
    progress.at(p.Stage.CLEANSE, sum(units))
    for round_, count in enumerate(units):
        fills: str | None = None
        if round_ and barriers[round_ - 1] == "aggregate":
            fills_input = p.MergeFillsInput(
                run=run, bundle_path=resolved.bundle_path, round=round_, sources=units[round_ - 1]
            )
            value = yield from _call(context, p.Stage.CLEANSE, p.ActivityName.MERGE_FILLS, fills_input)
            fills = p.MergeFillsOutput.model_validate(value).fills_path
        inputs = [
            p.CleanseChunkInput(
                run=run,
                bundle_path=resolved.bundle_path,
                round=round_,
                unit=unit,
                sources=units[round_ - 1] if round_ else 1,
                partitions=partitions,
                chunk=ingested.chunks[unit] if round_ == 0 else None,
                fills_path=fills,
            )
            for unit in range(count)
        ]
        yield from _fan_out(context, progress, p.ActivityName.CLEANSE_CHUNK, inputs, resolved.max_parallelism)
    merge = p.MergeCleansingInput(run=run, bundle_path=resolved.bundle_path, units=units, started_at=started)
    value = yield from _call(context, p.Stage.CLEANSE, p.ActivityName.MERGE_CLEANSING, merge)
    return p.CleanseOutput.model_validate(value)


def _validate(
    context: df.DurableOrchestrationContext,
    run: p.RunRef,
    resolved: p.ResolveOutput,
    cleansed: p.CleanseOutput,
    profile: p.MergeProfileOutput,
    now: datetime,
    progress: Progress,
) -> Steps:
    """Row-local rules per chunk; uniqueness per key partition; the other dataset rules over the
    columns they read. States travel as blob paths. Returns the ValidateDatasetOutput."""
    started = context.current_utc_datetime
    chunks = cleansed.work_chunks
    partitions = p.partitions_for(cleansed.rows_out, resolved.chunk_rows) if resolved.unique_rules else 0
    progress.at(p.Stage.VALIDATE, len(chunks) + partitions)
    chunk_inputs = [
        p.ChunkInput(run=run, bundle_path=resolved.bundle_path, chunk=chunk, index=i, now=now, partitions=partitions)
        for i, chunk in enumerate(chunks)
    ]
    outputs = yield from _fan_out(
        context, progress, p.ActivityName.VALIDATE_CHUNK, chunk_inputs, resolved.max_parallelism
    )
    partition_inputs = [
        p.PartitionInput(run=run, bundle_path=resolved.bundle_path, partition=i, now=now) for i in range(partitions)
    ]
    partials = yield from _fan_out(
        context, progress, p.ActivityName.VALIDATE_PARTITION, partition_inputs, resolved.max_parallelism
    )
    dataset_input = p.ValidateDatasetInput(
        run=run,
        bundle_path=resolved.bundle_path,
        chunks=chunks,
        states=[p.ValidateChunkOutput.model_validate(o).state_path for o in outputs],
        unique=[p.PartitionOutput.model_validate(o).partial_path for o in partials],
        published=cleansed.cleansed_chunks,
        profile_path=profile.profile_path,
        now=now,
        started_at=started,
    )
    value = yield from _call(context, p.Stage.VALIDATE, p.ActivityName.VALIDATE_DATASET, dataset_input)
    return p.ValidateDatasetOutput.model_validate(value)


class _Parts:
    """What the stages returned so far (what build_result needs, even after an error)."""

    def __init__(self) -> None:
        self.resolved: p.ResolveOutput | None = None
        self.ingested: p.IngestOutput | None = None
        self.cleansed: p.CleanseOutput | None = None
        self.profile: p.MergeProfileOutput | None = None
        self.validation: p.ValidateDatasetOutput | None = None


def _stages(
    context: df.DurableOrchestrationContext, run: p.RunRef, file_run: p.FileRun, parts: _Parts, progress: Progress
) -> Steps:
    request = file_run.request
    now = request.overrides.now or file_run.started_at

    progress.at(p.Stage.RESOLVE)
    value = yield from _call(
        context,
        p.Stage.RESOLVE,
        p.ActivityName.RESOLVE_RUN,
        p.ResolveInput(run=run, request=request, started_at=context.current_utc_datetime),
    )
    resolved = parts.resolved = p.ResolveOutput.model_validate(value)

    progress.at(p.Stage.INGEST)
    ingest_input = p.IngestInput(
        run=run,
        bundle_path=resolved.bundle_path,
        input=request.inputs[0],
        options=request.overrides.ingest,
        chunk_rows=resolved.chunk_rows,
        started_at=context.current_utc_datetime,
    )
    value = yield from _call(context, p.Stage.INGEST, p.ActivityName.INGEST_FILE, ingest_input)
    ingested = parts.ingested = p.IngestOutput.model_validate(value)

    cleansed = yield from _cleanse(context, run, resolved, ingested, progress)
    parts.cleansed = cleansed

    started = context.current_utc_datetime
    progress.at(p.Stage.PROFILE, len(cleansed.cleansed_chunks))
    chunk_inputs = _chunk_inputs(run, resolved, cleansed.cleansed_chunks, now)
    states = yield from _fan_out(
        context, progress, p.ActivityName.PROFILE_CHUNK, chunk_inputs, resolved.max_parallelism
    )
    merge_input = p.MergeProfileInput(
        run=run, states=[p.ProfileChunkOutput.model_validate(s).state_path for s in states], started_at=started
    )
    value = yield from _call(context, p.Stage.PROFILE, p.ActivityName.MERGE_PROFILE, merge_input)
    profile = parts.profile = p.MergeProfileOutput.model_validate(value)

    validation = yield from _validate(context, run, resolved, cleansed, profile, now, progress)
    parts.validation = validation

    progress.at(p.Stage.ANOMALY_CHECK)
    anomaly_input = p.AnomalyInput(
        run=run,
        bundle_path=resolved.bundle_path,
        validation_path=validation.validation_path,
        rows=cleansed.rows_out,
        now=now,
        started_at=context.current_utc_datetime,
    )
    yield from _call(context, p.Stage.ANOMALY_CHECK, p.ActivityName.CHECK_ANOMALIES, anomaly_input)


def run_file_steps(context: df.DurableOrchestrationContext, file_run: p.FileRun) -> Steps:
    """The whole run of one input file; always ends with a result, whatever failed."""
    request = file_run.request
    run = p.RunRef(
        tenant=request.tenant,
        environment=request.environment,
        run_id=file_run.run_id,
        correlation_id=request.correlation_id or file_run.run_id,
        job_id=request.job_id,
    )
    parts, error, error_stage = _Parts(), None, None
    progress = Progress(context, run.run_id)
    try:
        yield from _stages(context, run, file_run, parts, progress)
    except StageFailed as failed:
        error, error_stage = failed.error, failed.stage

    progress.at(p.Stage.RESULT)
    build = p.BuildResultInput(
        run=run,
        request=request,
        started_at=file_run.started_at,
        finished_at=context.current_utc_datetime,
        resolved=parts.resolved,
        ingested=parts.ingested,
        cleansed=parts.cleansed,
        profile=parts.profile,
        validation=parts.validation,
        error=error,
        error_stage=error_stage,
    )
    try:
        value = yield from _call(context, p.Stage.RESULT, p.ActivityName.BUILD_RESULT, build)
    except StageFailed as failed:  # nothing left to record with: say so in the output
        return p.RunSummary(run_id=run.run_id, status="error", error=failed.error)
    verdict = p.BuildResultOutput.model_validate(value)

    actions: list[ActionOutcome] = []
    act_started = context.current_utc_datetime
    fired = actions_for(parts.resolved, verdict.status, verdict.anomalies) if parts.resolved else []
    if fired:
        assert parts.resolved is not None  # noqa: S101 - fired only when resolved
        progress.at(p.Stage.ACT)
        action_inputs = [
            p.ActionInput(
                run=run,
                bundle_path=parts.resolved.bundle_path,
                action_id=action_id,
                trigger=trigger,
                status=verdict.status,
                result_path=verdict.result_path,
            )
            for action_id, trigger in fired
        ]
        actions = yield from _run_actions(context, action_inputs)

    progress.at(p.Stage.FINALISE)
    finalise = p.FinaliseInput(
        run=run,
        result_path=verdict.result_path,
        actions=actions,
        started_at=act_started,
        finished_at=context.current_utc_datetime,
    )
    try:
        yield from _call(context, p.Stage.FINALISE, p.ActivityName.FINALISE_RUN, finalise)
    except StageFailed as failed:
        return p.RunSummary(
            run_id=run.run_id, status=verdict.status, result_path=verdict.result_path, error=failed.error
        )
    return p.RunSummary(
        run_id=run.run_id, status=verdict.status, result_path=verdict.result_path, error=error, actions=actions
    )


def _started(context: df.DurableOrchestrationContext) -> datetime:
    moment: datetime = context.current_utc_datetime
    return moment


def run_job(context: df.DurableOrchestrationContext) -> Steps:
    request = p.RunRequest.model_validate(context.get_input(expected_type=dict))
    if len(request.inputs) == 1:
        file_run = p.FileRun(request=request, run_id=str(context.new_uuid()), started_at=_started(context))
        summary = yield from run_file_steps(context, file_run)
        return p.JobSummary(runs=[summary]).model_dump(mode="json")
    tasks = []
    for index, item in enumerate(request.inputs):
        file_run = p.FileRun(
            request=request.model_copy(update={"inputs": (item,)}),
            run_id=str(context.new_uuid()),
            started_at=_started(context),
        )
        tasks.append(
            context.call_sub_orchestrator(
                p.OrchestratorName.RUN_FILE.value,
                file_run.model_dump(mode="json"),
                instance_id=f"{context.instance_id}:{index}",
                expected_type=dict,
            )
        )
    results = yield context.task_all(tasks)
    return p.JobSummary(runs=[p.RunSummary.model_validate(r) for r in results]).model_dump(mode="json")


def run_file(context: df.DurableOrchestrationContext) -> Steps:
    file_run = p.FileRun.model_validate(context.get_input(expected_type=dict))
    summary = yield from run_file_steps(context, file_run)
    return summary.model_dump(mode="json")
