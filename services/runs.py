"""Runs as callers read them: list with filters and paging, one run with its result, its
lineage steps, its evidence pack and its report. Transport-agnostic: the HTTP API's runs
routes call these, a CLI could too. Starting runs needs the Durable client and lives in
``services.run_starts``.

Every function takes the tenant and reads only through the tenant-scoped ports, so no
call can reach another tenant's run.

Paging: runs come newest first, ordered by ``(started_at, run_id)``. A page's ``next`` is an
opaque cursor naming the last run the page examined; the next page starts after it. The
lineage store lists by time range only, so the job and status filters are applied here,
scanning at most :data:`SCAN_BUDGET` runs per page: a page may hold fewer runs than asked
for and still have a ``next`` (keep following it until ``next`` is null).

Cursors are signed: HMAC-SHA256, with the deployment's key (the caller passes it: the API
host's, from its settings or its home folder), over the position, the tenant and the
filters. A cursor the API never gave, one changed by a byte, one given to another tenant or
sent with other filters is refused (:class:`InvalidRunQuery`) before anything is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pydantic import Field

from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.lineage.evidence import export_evidence, run_prefix
from dq_core.lineage.models import RunRecord, StepRecord
from dq_core.payloads import Payload
from dq_core.ports import BlobStore, LineageStore
from dq_core.registry.models import ConflictError
from dq_core.results.run import FAILED_ROWS_FILE as FAILED_ROWS
from dq_core.results.run import RunResult, scores_of
from dq_core.results.scores import QualityScores

MAX_PAGE: Final = 200
DEFAULT_PAGE: Final = 50
SCAN_BUDGET: Final = 5000
"""Runs examined at most for one page (filters are applied after the store's time-range read)."""

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
RUN_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
_RUN_ID: Final = re.compile(RUN_ID_PATTERN)
_MICRO: Final = timedelta(microseconds=1)
_FIRST_BATCH: Final = 100
CURSOR_VERSION: Final = "c1"
MIN_CURSOR_KEY_BYTES: Final = 32

RunState = Literal["running", "passed", "failed", "error"]
FINISHED: Final = frozenset({"passed", "failed", "error"})


class InvalidRunQuery(ConfigError):
    """A list query that cannot be answered: a cursor this API did not give, an empty time range."""

    code = "invalid_query"


class RunNotFinished(ConflictError):
    """The run is still running: its result, evidence pack or report is not there yet."""

    code = "run_not_finished"


class RunQuery(Payload):
    job_id: str | None = None
    status: RunState | None = None
    since: datetime | None = None  # started at or after (default: the beginning)
    until: datetime | None = None  # started before (default: now, and a day's margin)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = None  # ``next`` of the previous page


class RunPage(Payload):
    runs: list[RunRecord]
    next: str | None = None  # give it back as ``cursor`` for the next page; null on the last page


class RunDetail(Payload):
    run: RunRecord
    result: RunResult | None = None  # result.json, once the run has one
    scores: QualityScores | None = None  # the result's quality scores (docs/scores.md), once it has one


class RunLineage(Payload):
    run: RunRecord
    steps: list[StepRecord]


# --- paging ------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Key = tuple[datetime, str]


def _key(run: RunRecord) -> Key:
    return _utc(run.started_at), run.run_id


def run_key(run: RunRecord) -> Key:
    """A run's place in the newest-first order of a listing (what a cursor names)."""
    return _key(run)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _moment(value: datetime | None) -> str | None:
    return None if value is None else _utc(value).isoformat()


@dataclass(frozen=True)
class Cursors:
    """The cursors of one listing: signed with the deployment's ``secret``, bound to the tenant
    and the query's filters (not to the page size, which may change from page to page)."""

    secret: bytes = field(repr=False)
    tenant: str
    query: RunQuery

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_CURSOR_KEY_BYTES:
            msg = f"the cursor key must be at least {MIN_CURSOR_KEY_BYTES} bytes"
            raise ConfigError(msg)

    def _mac(self, position: str) -> bytes:
        query = self.query
        bound = [CURSOR_VERSION, self.tenant, query.job_id, query.status, _moment(query.since), _moment(query.until)]
        message = json.dumps([*bound, position], separators=(",", ":")).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).digest()

    def encode(self, key: Key) -> str:
        """``c1.{position}.{signature}``: the position (start time, run id) as base64url JSON and
        its HMAC-SHA256."""
        raw = json.dumps({"at": key[0].isoformat(), "run": key[1]}, separators=(",", ":")).encode("utf-8")
        position = _b64(raw)
        return f"{CURSOR_VERSION}.{position}.{_b64(self._mac(position))}"

    def decode(self, cursor: str) -> Key:
        """The position of a cursor this API gave for this tenant and these filters; InvalidRunQuery
        for anything else, before the position is even parsed."""
        refused = InvalidRunQuery(
            "cursor is not one this API gave for this query: use the 'next' of a page as it is, with the same filters"
        )
        version, _, rest = cursor.partition(".")
        position, _, signature = rest.partition(".")
        try:
            given = _unb64(signature)
        except (binascii.Error, ValueError):
            raise refused from None
        if version != CURSOR_VERSION or not hmac.compare_digest(given, self._mac(position)):
            raise refused
        try:  # signed with our key: this parses unless the key leaked
            data = json.loads(_unb64(position))
            at, run_id = datetime.fromisoformat(data["at"]), data["run"]
            if not isinstance(run_id, str):
                raise TypeError(run_id)
            key = _utc(at), run_id
        except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
            raise refused from None
        return key


def _matches(run: RunRecord, query: RunQuery) -> bool:
    return (query.job_id is None or run.job_id == query.job_id) and (query.status is None or run.status == query.status)


def list_runs(
    lineage: LineageStore, tenant: str, query: RunQuery, *, cursor_key: bytes, now: datetime | None = None
) -> RunPage:
    """One page of the tenant's runs started in [since, until) that match the filters, newest first;
    cursors signed with ``cursor_key`` (see the module doc)."""
    try:
        since = _utc(query.since) if query.since else EPOCH
        until = _utc(query.until) if query.until else _utc(now or datetime.now(UTC)) + timedelta(days=1)
    except OverflowError:
        raise InvalidRunQuery("since and until must be times between the years 1 and 9999 in UTC") from None
    if since >= until:
        raise InvalidRunQuery(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    cursors = Cursors(cursor_key, tenant, query)
    after = cursors.decode(query.cursor) if query.cursor else None
    upper = until if after is None or after[0] >= until else after[0] + _MICRO
    batch = max(_FIRST_BATCH, 2 * query.limit)
    found: list[RunRecord] = []
    examined = 0
    while since < upper:
        rows = sorted(lineage.list_runs(tenant, since, upper, limit=batch), key=_key, reverse=True)
        exhausted = len(rows) < batch
        if exhausted:
            settled = rows
        else:
            # every run newer than the oldest one read is in hand; those started in that
            # same microsecond may not all be: they are read again with the next window
            oldest = _key(rows[-1])[0]
            settled = [run for run in rows if _key(run)[0] > oldest]
            if not settled:  # a whole batch started in one microsecond: read more at once
                batch *= 2
                continue
            upper = oldest + _MICRO
        for run in settled:
            key = _key(run)
            if after is not None and key >= after:
                continue
            if _matches(run, query):
                if len(found) == query.limit:  # one more exists: this page is full and not the last
                    return RunPage(runs=found, next=cursors.encode(_key(found[-1])))
                found.append(run)
            examined += 1
            if examined >= SCAN_BUDGET:
                return RunPage(runs=found, next=cursors.encode(key))
        if exhausted:
            break
    return RunPage(runs=found, next=None)


# --- one run -----------------------------------------------------------------------------------


def _checked_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ObjectNotFound(f"run {run_id!r} not found")
    return run_id


def get_run(lineage: LineageStore, tenant: str, run_id: str) -> RunRecord:
    """The run; ObjectNotFound when the tenant has none with this id."""
    return lineage.get_run(tenant, _checked_run_id(run_id))


def _finished(run: RunRecord) -> bool:
    return run.status in FINISHED


def _require_finished(run: RunRecord, what: str) -> None:
    if not _finished(run):
        raise RunNotFinished(f"run {run.run_id} is {run.status}: its {what} is there once it has finished")


def result_bytes(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> bytes:
    """result.json as stored (its sha256 is the run's ``result_sha256``)."""
    run = get_run(lineage, tenant, run_id)
    try:
        return blobs.get(tenant, run_prefix(run.run_id) + "result.json")[0]
    except ObjectNotFound:
        _require_finished(run, "result")
        raise ObjectNotFound(f"run {run.run_id} has no result.json") from None


def run_detail(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> RunDetail:
    """The run and, once it has finished, its result."""
    run = get_run(lineage, tenant, run_id)
    result = None
    if _finished(run):
        try:
            result = RunResult.model_validate_json(blobs.get(tenant, run_prefix(run.run_id) + "result.json")[0])
        except ObjectNotFound:
            result = None
    return RunDetail(run=run, result=result, scores=scores_of(result) if result is not None else None)


def run_lineage(lineage: LineageStore, tenant: str, run_id: str) -> RunLineage:
    """The run and its steps (resolve, ingest, cleanse, ...), in the order they started."""
    run = get_run(lineage, tenant, run_id)
    return RunLineage(run=run, steps=lineage.steps(tenant, run.run_id))


def evidence_pack(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> bytes:
    """The run's evidence pack (zip; see :mod:`dq_core.lineage.evidence`), once it has finished."""
    run = get_run(lineage, tenant, run_id)
    _require_finished(run, "evidence pack")
    return export_evidence(lineage, blobs, tenant, run.run_id)


def failed_rows_parquet(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> bytes:
    """``runs/{run_id}/failed_rows.parquet`` (masked when it was written, as every run output);
    ObjectNotFound when the run wrote none (no failing row, the cap 0, or not finished yet)."""
    run = get_run(lineage, tenant, run_id)
    try:
        return blobs.get(tenant, run_prefix(run.run_id) + FAILED_ROWS)[0]
    except ObjectNotFound:
        _require_finished(run, "failed rows")
        raise ObjectNotFound(f"run {run.run_id} wrote no {FAILED_ROWS}") from None


def report_html(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> bytes:
    """``runs/{run_id}/report.html``; ObjectNotFound when the run has none (yet)."""
    run = get_run(lineage, tenant, run_id)
    try:
        return blobs.get(tenant, run_prefix(run.run_id) + "report.html")[0]
    except ObjectNotFound:
        raise ObjectNotFound(f"run {run.run_id} has no report.html (yet)") from None
