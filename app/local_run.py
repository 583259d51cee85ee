"""The local host of ``dq run``: the same ``run_job`` orchestrator and activities, in-process.

The replay driver (:mod:`app.local_durable`) replays the orchestrator and runs its
activities on a thread pool; the activities use the ports installed here (the embedded
stores unless settings name Azure services), and may read the ``file://`` input.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from activities.blueprint import execute
from app.local_durable import Outcome, ReplayDriver
from app.runtime import use_ports
from dq_core.runs.payloads import ActivityName, JobSummary, OrchestratorName, RunRequest
from dq_core.runs.stages import RunPorts
from orchestrators.blueprint import ORCHESTRATORS


def run_activity(name: str, payload: str) -> Any:
    return execute(ActivityName(name), payload)


def run_locally(
    request: RunRequest,
    ports: RunPorts,
    *,
    workers: int = 4,
    on_status: Callable[[str, Any], None] | None = None,
    instance_id: str | None = None,
) -> tuple[JobSummary | None, Outcome]:
    """Drive ``run_job`` to its end; the job summary, or None when the orchestration itself failed."""
    use_ports(ports)
    try:
        driver = ReplayDriver(ORCHESTRATORS, run_activity, workers=workers, on_status=on_status)
        instance = instance_id or f"{request.tenant}:local:{uuid.uuid4()}"
        outcome = driver.run(OrchestratorName.RUN_JOB.value, request.model_dump(mode="json"), instance)
    finally:
        use_ports(None)
    summary = None if outcome.failed else JobSummary.model_validate(outcome.output)
    return summary, outcome
