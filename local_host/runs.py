"""The local host of ``dq run`` and ``dq serve``: the same ``run_job`` orchestrator and activities, in-process.

The replay driver (:mod:`local_host.durable`) replays the orchestrator and runs its
activities on a thread pool, with the ports installed here (the embedded stores unless
settings name Azure services), or in the worker processes of a
:class:`~local_host.workers.WorkerPool` (``dq run``), each with the ports it composed itself.
Activities may read the ``file://`` input.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

from activities.blueprint import execute
from app.runtime import use_ports
from dq_core.results.run import RunError
from dq_core.runs.payloads import ActivityName, Envelope, JobSummary, OrchestratorName, RunRequest
from dq_core.runs.stages import RunPorts
from local_host.durable import Activity, ActivityPool, Outcome, ReplayDriver
from monitoring.telemetry import STAGE_OF
from orchestrators.blueprint import ORCHESTRATORS

INTERRUPTED: Final = "interrupted"
"""The error code of a run whose host stopped (``dq serve`` killed, the machine restarted) mid-run."""

CLOSING: Final = frozenset({ActivityName.BUILD_RESULT, ActivityName.FINALISE_RUN})
"""What still runs when an interrupted run is continued: its verdict and its close."""


def run_activity(name: str, payload: str) -> Any:
    return execute(ActivityName(name), payload)


def interrupted_reason(name: ActivityName) -> str:
    if name is ActivityName.RUN_ACTION:
        return "interrupted: dq serve stopped during the run; its actions were not run"
    return f"interrupted: dq serve stopped while the run was in stage {STAGE_OF[name].value}"


def interrupting(activity: Activity) -> Activity:
    """The activities of a run continued after ``dq serve`` stopped in the middle of it.

    ``build_result`` and ``finalise_run`` run; every other activity (the one in flight when the
    host stopped and whatever the orchestrator asks for next) answers a terminal ``interrupted``
    error, with the stage, so the run ends as any run whose stage failed: status ``error``, the
    reason in result.json and on the run, the stage's lineage step ``error``, the working files
    deleted. Nothing is redone and no action fires at start-up."""

    def answer(name: str, payload: str) -> Any:
        which = ActivityName(name)
        if which in CLOSING:
            return activity(name, payload)
        error = RunError(code=INTERRUPTED, message=interrupted_reason(which))
        return Envelope(error=error).model_dump(mode="json")

    return answer


def run_locally(
    request: RunRequest,
    ports: RunPorts | None,
    *,
    workers: int = 4,
    on_status: Callable[[str, Any], None] | None = None,
    instance_id: str | None = None,
    pool: ActivityPool | None = None,
) -> tuple[JobSummary | None, Outcome]:
    """Drive ``run_job`` to its end; the job summary, or None when the orchestration itself failed.

    The activities run on ``workers`` threads of this process with ``ports``, or in ``pool``
    (worker processes with ports of their own: ``ports`` may then be None, and the threads
    only drive sub-orchestrations)."""
    use_ports(ports)
    try:
        driver = ReplayDriver(ORCHESTRATORS, run_activity, workers=workers, on_status=on_status, pool=pool)
        instance = instance_id or f"{request.tenant}:local:{uuid.uuid4()}"
        outcome = driver.run(OrchestratorName.RUN_JOB.value, request.model_dump(mode="json"), instance)
    finally:
        use_ports(None)
    summary = None if outcome.failed else JobSummary.model_validate(outcome.output)
    return summary, outcome
