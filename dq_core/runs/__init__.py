"""Running checks and jobs."""

from typing import Final

RUNS_PREFIX: Final = "runs/"  # a run's folder in the tenant's store: runs/<run_id>/
