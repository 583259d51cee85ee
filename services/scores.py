"""A dataset's quality scores over time: one point per finished run of the dataset, newest first.

Built on :func:`services.runs.list_runs` (the tenant's runs, newest first, through the tenant-scoped
lineage store) and each run's ``result.json`` (the tenant's blob store): a run belongs to the dataset
its result's contract stamp names. A result written before runs carried scores is scored from its
validation (:func:`dq_core.results.run.scores_of`: the same numbers a new run stores).

Paging is the runs list's: ``next`` is a cursor signed the same way (tenant and time filters bound),
given back as ``cursor``. One page reads at most :data:`RESULT_BUDGET` results; a page may hold fewer
points than asked for and still have a ``next``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import Field

from dq_core.errors import ObjectNotFound
from dq_core.lineage.evidence import run_prefix
from dq_core.lineage.models import RunRecord
from dq_core.payloads import Payload
from dq_core.ports import BlobStore, LineageStore
from dq_core.results.run import RunResult, scores_of
from services.runs import DEFAULT_PAGE, FINISHED, MAX_PAGE, Cursors, RunQuery, list_runs, run_key

RESULT_BUDGET: Final = 500
"""Results read at most for one page of a score history."""


class ScoreQuery(Payload):
    since: datetime | None = None  # runs started at or after (default: the beginning)
    until: datetime | None = None  # runs started before (default: now)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = None  # ``next`` of the previous page


class ScorePoint(Payload):
    """One run of the dataset: when, its verdict, its rows and its scores (null scores: it stopped before
    validating)."""

    run_id: str
    job_id: str | None
    contract_id: str
    contract_version: str
    started_at: datetime
    finished_at: datetime
    status: str  # passed | failed | error
    rows: int | None  # the rows validated: after cleansing, else the input's
    overall: float | None
    dimensions: dict[str, float | None]  # completeness, validity, uniqueness, consistency, timeliness, accuracy


class ScoreHistory(Payload):
    dataset: str
    points: list[ScorePoint]
    next: str | None = None  # give it back as ``cursor`` for the next page; null on the last page


def _rows(result: RunResult) -> int | None:
    if result.cleansing is not None:
        return result.cleansing.rows_out
    return result.input.rows if result.input is not None else None


def score_point(result: RunResult, run: RunRecord) -> ScorePoint:
    scores = scores_of(result)
    return ScorePoint(
        run_id=run.run_id,
        job_id=run.job_id,
        contract_id=run.contract_id,
        contract_version=run.contract_version,
        started_at=run.started_at,
        finished_at=result.finished_at,
        status=result.status.value,
        rows=_rows(result),
        overall=scores.overall if scores else None,
        dimensions={name: d.score for name, d in scores.dimensions.items()} if scores else {},
    )


def _result(blobs: BlobStore, tenant: str, run: RunRecord) -> RunResult | None:
    try:
        return RunResult.model_validate_json(blobs.get(tenant, run_prefix(run.run_id) + "result.json")[0])
    except ObjectNotFound:
        return None


def score_history(
    lineage: LineageStore,
    blobs: BlobStore,
    tenant: str,
    dataset: str,
    query: ScoreQuery,
    *,
    cursor_key: bytes,
    now: datetime | None = None,
) -> ScoreHistory:
    """The scores of the tenant's finished runs of ``dataset`` started in [since, until), newest first."""
    listing = RunQuery(since=query.since, until=query.until, limit=MAX_PAGE, cursor=query.cursor)
    cursors = Cursors(cursor_key, tenant, listing)
    points: list[ScorePoint] = []
    last: RunRecord | None = None  # the run of the last point
    read = 0
    while True:
        page = list_runs(lineage, tenant, listing, cursor_key=cursor_key, now=now)
        for run in page.runs:
            if run.status not in FINISHED:
                continue
            result = _result(blobs, tenant, run)
            read += 1
            if result is not None and result.contract is not None and result.contract.dataset == dataset:
                if last is not None and len(points) == query.limit:  # one more exists: this page is full
                    return ScoreHistory(dataset=dataset, points=points, next=cursors.encode(run_key(last)))
                points.append(score_point(result, run))
                last = run
            if read >= RESULT_BUDGET:
                return ScoreHistory(dataset=dataset, points=points, next=cursors.encode(run_key(run)))
        if page.next is None:
            return ScoreHistory(dataset=dataset, points=points)
        listing = listing.model_copy(update={"cursor": page.next})
