"""The activities: one thin function per stage, registered under the names of ``ActivityName``.

Each one validates its payload, calls the stage in ``dq_core.runs.stages`` with the
app's ports, and answers with an ``Envelope``. A transient error is retried here, under
the deployment's policy (``dq_core.runs.retrying``, ``DQ_ACTIVITY_RETRY_*``): the
orchestrator calls each activity once. A terminal error (bad input, bad configuration,
an invalid payload), or transient errors until the attempts ran out, come back as the
envelope's error and end the run; anything else (a bug) raises.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel, ValidationError

from app.runtime import run_ports
from app.settings import get_settings
from dq_core.errors import ConfigError, TerminalError, TransientError
from dq_core.results.run import RunError
from dq_core.runs import cleansing_stages, closing, stages
from dq_core.runs import payloads as p
from dq_core.runs.retrying import ActivityRetry, retry_transient
from monitoring import telemetry

bp = df.Blueprint()
log = logging.getLogger("dq.activities")

Stage = Callable[[stages.RunPorts, Any], BaseModel]

ACTIVITIES: dict[p.ActivityName, tuple[Stage, type[BaseModel]]] = {
    p.ActivityName.RESOLVE_RUN: (stages.resolve_run, p.ResolveInput),
    p.ActivityName.INGEST_FILE: (stages.ingest_file, p.IngestInput),
    p.ActivityName.CLEANSE_CHUNK: (cleansing_stages.cleanse_chunk, p.CleanseChunkInput),
    p.ActivityName.MERGE_FILLS: (cleansing_stages.merge_fills, p.MergeFillsInput),
    p.ActivityName.MERGE_CLEANSING: (cleansing_stages.merge_cleansing, p.MergeCleansingInput),
    p.ActivityName.PROFILE_CHUNK: (stages.profile_chunk, p.ChunkInput),
    p.ActivityName.MERGE_PROFILE: (stages.merge_profile, p.MergeProfileInput),
    p.ActivityName.VALIDATE_CHUNK: (stages.validate_chunk, p.ChunkInput),
    p.ActivityName.VALIDATE_PARTITION: (stages.validate_partition, p.PartitionInput),
    p.ActivityName.VALIDATE_DATASET: (stages.validate_dataset, p.ValidateDatasetInput),
    p.ActivityName.CHECK_ANOMALIES: (stages.check_anomalies, p.AnomalyInput),
    p.ActivityName.BUILD_RESULT: (stages.build_result, p.BuildResultInput),
    p.ActivityName.RUN_ACTION: (closing.run_action, p.ActionInput),
    p.ActivityName.FINALISE_RUN: (closing.finalise_run, p.FinaliseInput),
}
"""Activity name -> (stage function, input model): every name has exactly one."""


def execute(name: p.ActivityName, payload: Any) -> dict[str, Any]:
    """Run one activity on a JSON payload; the host-independent body of every activity.

    Inside its log context and ``dq.stage`` span (``monitoring.telemetry``, docs/monitoring.md)."""
    if isinstance(payload, (str, bytes)):
        payload = json.loads(payload)
    with telemetry.activity(name, payload) as scope:
        return scope.answer(_answer(name, payload))


def retry_policy() -> ActivityRetry:
    """The deployment's retry policy (``DQ_ACTIVITY_RETRY_*``); a ConfigError when it is inconsistent."""
    settings = get_settings()
    try:
        return ActivityRetry(
            attempts=settings.activity_retry_attempts,
            first_interval_seconds=settings.activity_retry_first_seconds,
            max_interval_seconds=settings.activity_retry_max_seconds,
        )
    except ValidationError as exc:
        raise ConfigError(f"DQ_ACTIVITY_RETRY_*: {exc.errors()[0]['msg']}") from None


def _answer(name: p.ActivityName, payload: Any) -> dict[str, Any]:
    stage, model = ACTIVITIES[name]
    try:
        retried = retry_transient(retry_policy(), what=name.value)(lambda inp: stage(run_ports(), inp))
        value = retried(model.model_validate(payload))
    except (TerminalError, TransientError) as exc:
        log.warning("activity %s: %s", name.value, exc.one_line())
        return p.Envelope(error=RunError(code=exc.code, message=" ".join(exc.message.split()))).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = f"{name.value}: invalid payload at {where}: {first['msg']}"
        return p.Envelope(error=RunError(code="payload_invalid", message=message)).model_dump(mode="json")
    return p.Envelope(value=value.model_dump(mode="json")).model_dump(mode="json")


def _register(name: p.ActivityName) -> None:
    def activity(payload: Any) -> dict[str, Any]:
        return execute(name, payload)

    activity.__name__ = activity.__qualname__ = name.value
    bp.function_name(name.value)(bp.activity_trigger(input_name="payload", activity=name.value)(activity))


for _name in p.ActivityName:
    _register(_name)
