"""A dataset's quality history under ``/api/tenants/{tenant}``: one self-contained HTML page
over the dataset's runs that the tenant's stores hold (:mod:`services.history`, which
``dq report --history`` calls too). Readers read; the page's runs link to their own reports.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api.context import Reader
from api.problems import problems
from api.routes_runs import REPORT_HEADERS
from services.history import DEFAULT_LIMIT, MAX_LIMIT, HistoryQuery, history_html
from services.run_starts import DATASET_PATTERN

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["runs"])

Dataset = Annotated[str, Path(pattern=DATASET_PATTERN, description="the dataset (as its contract names it)")]


def _report_link(run_id: str) -> str:
    """A run's report, relative to ``.../datasets/{dataset}/history``: the page works behind any prefix."""
    return f"../../runs/{run_id}/report"


@router.get(
    "/datasets/{dataset}/history",
    operation_id="get_dataset_history",
    response_class=HTMLResponse,
    responses={**problems(), 200: {"description": "the dataset's history page", "content": {"text/html": {}}}},
    summary="A dataset's quality history: its runs, verdicts, rows, scores and anomaly bands as one HTML page",
)
def get_dataset_history(
    dataset: Dataset,
    access: Reader,
    env: Annotated[str | None, Query(max_length=63, description="only runs of this environment")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="the newest N runs")] = DEFAULT_LIMIT,
) -> HTMLResponse:
    ports = access.ctx.ports
    query = HistoryQuery(dataset, environment=env, limit=limit)
    html = history_html(ports.lineage, ports.blobs, access.tenant, query, run_link=_report_link)
    return HTMLResponse(content=html, headers=REPORT_HEADERS)
