"""A dataset's quality-score history under ``/api/tenants/{tenant}``: the scores of its runs over time,
newest first (docs/scores.md). Thin over :mod:`services.scores`; Readers read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.context import Reader
from api.problems import problems
from services import scores as service
from services.run_starts import DATASET_PATTERN
from services.runs import DEFAULT_PAGE, MAX_PAGE
from services.scores import ScoreHistory, ScoreQuery

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["runs"])

Dataset = Annotated[str, Path(pattern=DATASET_PATTERN, description="the dataset (its name in the contract)")]


class ScoreList(ScoreHistory):
    next_url: str | None = None  # the next page (null on the last)


@router.get(
    "/datasets/{dataset}/scores",
    operation_id="get_dataset_scores",
    response_model=ScoreList,
    responses=problems(),
    summary="A dataset's quality scores over time: overall and per dimension for each finished run, newest first",
)
def get_dataset_scores(
    dataset: Dataset,
    access: Reader,
    request: Request,
    since: Annotated[datetime | None, Query(description="runs started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="runs started before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="the 'next' of the previous page, with the same filters")
    ] = None,
) -> ScoreList:
    query = ScoreQuery(since=since, until=until, limit=limit, cursor=cursor)
    ports = access.ctx.ports
    history = service.score_history(
        ports.lineage, ports.blobs, access.tenant, dataset, query, cursor_key=access.ctx.cursor_key
    )
    next_url = None if history.next is None else str(request.url.include_query_params(cursor=history.next))
    return ScoreList(**history.model_dump(), next_url=next_url)
