"""A dataset's quality history: its recorded runs read from the tenant's stores and drawn as
one HTML page (:mod:`dq_core.reporting.history`). ``dq report --history`` and
``GET /api/tenants/{tenant}/datasets/{dataset}/history`` both call :func:`history_html`.

The runs are read newest first through the tenant-scoped lineage store (the runs list's
paging, :func:`services.runs.list_runs`), and each finished run's ``result.json`` from the
tenant's container: a run is of the dataset its result names (``contract.dataset``). A run's
bundle names one dataset, so once one result of a bundle is read, the other runs of that
bundle are told apart without reading theirs. At most :data:`SCAN_BUDGET` runs are examined.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from dq_core.errors import ConfigError, ObjectNotFound, OptionError
from dq_core.lineage.evidence import run_prefix
from dq_core.lineage.models import RunRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.reporting.history import NoHistory, collect_history, render_history
from dq_core.results.run import RunResult
from services.run_starts import DATASET_PATTERN
from services.runs import FINISHED, MAX_PAGE, RunQuery, list_runs

DEFAULT_LIMIT: Final = 50  # (cli/report_command.py repeats both for its help: it does not import this module)
MAX_LIMIT: Final = 500
SCAN_BUDGET: Final = 5000
"""Runs of the tenant examined at most for one page (other datasets' runs included)."""

_DATASET: Final = re.compile(DATASET_PATTERN)


class EnvironmentAmbiguous(ConfigError):
    """The dataset's runs are of more than one environment and none was named."""

    code = "environment_ambiguous"


@dataclass(frozen=True)
class HistoryQuery:
    """Which runs make the page: the ``limit`` newest finished runs of ``dataset`` (of
    ``environment`` only, when given). :class:`OptionError` for a name that is not a dataset's
    or a limit out of 1..:data:`MAX_LIMIT`."""

    dataset: str
    environment: str | None = None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if not _DATASET.match(self.dataset):
            raise OptionError(f"{self.dataset!r} is not a dataset name (letters, digits, '_', '.', '-')")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise OptionError(f"the history's limit must be between 1 and {MAX_LIMIT} runs, not {self.limit}")


def _result(blobs: BlobStore, run: RunRecord) -> RunResult | None:
    try:
        return RunResult.model_validate_json(blobs.get(run.tenant, run_prefix(run.run_id) + "result.json")[0])
    except (ObjectNotFound, ValidationError):
        return None  # a finished run without a readable result has nothing to draw


def dataset_results(lineage: LineageStore, blobs: BlobStore, tenant: str, query: HistoryQuery) -> list[RunResult]:
    """The results of the query's runs, newest first. :class:`NoHistory` when there is none,
    :class:`EnvironmentAmbiguous` when they are of several environments and none was given."""
    dataset, environment = query.dataset, query.environment
    key = secrets.token_bytes(32)  # the cursors live only within this call
    datasets: dict[str, str | None] = {}  # bundle sha256 -> the dataset its runs check
    found: list[RunResult] = []
    examined, cursor = 0, None
    while len(found) < query.limit and examined < SCAN_BUDGET:
        page = list_runs(lineage, tenant, RunQuery(limit=MAX_PAGE, cursor=cursor), cursor_key=key)
        for run in page.runs:
            examined += 1
            if run.status not in FINISHED or (environment is not None and run.environment != environment):
                continue
            if datasets.get(run.bundle_sha256, dataset) != dataset:
                continue
            result = _result(blobs, run)
            named = result.contract.dataset if result is not None and result.contract is not None else None
            datasets.setdefault(run.bundle_sha256, named)
            if result is not None and named == dataset:
                found.append(result)
                if len(found) == query.limit:
                    break
        if page.next is None:
            break
        cursor = page.next
    where = f"{tenant}/{environment}" if environment else tenant
    if not found:
        raise NoHistory(f"no recorded run of dataset {dataset!r} for tenant {where} (looked at {examined} runs)")
    environments = sorted({result.environment for result in found})
    if len(environments) > 1:
        raise EnvironmentAmbiguous(
            f"dataset {dataset!r} has runs in environments {', '.join(environments)}: name one (--env, ?env=)"
        )
    return found


def history_html(
    lineage: LineageStore,
    blobs: BlobStore,
    tenant: str,
    query: HistoryQuery,
    *,
    run_link: Callable[[str], str] | None = None,
) -> str:
    """The dataset's history page (``run_link``: the address of a run's report, when there is one)."""
    history = collect_history(dataset_results(lineage, blobs, tenant, query), query.dataset)
    return render_history(history, run_link=run_link)


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "EnvironmentAmbiguous",
    "HistoryQuery",
    "NoHistory",
    "dataset_results",
    "history_html",
]
