"""The orchestrators, registered under the names of ``OrchestratorName``."""

from __future__ import annotations

import azure.durable_functions as df

from dq_core.runs.payloads import OrchestratorName
from orchestrators.run_job import run_file, run_job

bp = df.Blueprint()
bp.orchestration_trigger(context_name="context", orchestration=OrchestratorName.RUN_JOB.value)(run_job)
bp.orchestration_trigger(context_name="context", orchestration=OrchestratorName.RUN_FILE.value)(run_file)

ORCHESTRATORS = {OrchestratorName.RUN_JOB.value: run_job, OrchestratorName.RUN_FILE.value: run_file}
