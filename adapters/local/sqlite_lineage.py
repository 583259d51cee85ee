"""SQLite LineageStore: runs, steps, audit events and metric history on a laptop."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime

from pydantic import BaseModel

from dq_core.errors import ObjectNotFound
from dq_core.lineage.models import AuditEvent, MetricPoint, RunRecord, StepRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (tenant TEXT, run_id TEXT, started_at TEXT, doc TEXT, PRIMARY KEY (tenant, run_id));
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (tenant, started_at);
CREATE TABLE IF NOT EXISTS steps (tenant TEXT, run_id TEXT, step TEXT, doc TEXT, PRIMARY KEY (tenant, run_id, step));
CREATE TABLE IF NOT EXISTS audit (tenant TEXT, at TEXT, event_id TEXT, doc TEXT, PRIMARY KEY (tenant, at, event_id));
CREATE TABLE IF NOT EXISTS metrics (
    tenant TEXT, key TEXT, at TEXT, run_id TEXT, doc TEXT, PRIMARY KEY (tenant, key, at, run_id)
);
"""


def _at(moment: datetime) -> str:
    return moment.isoformat()


def _wal(db: sqlite3.Connection, seconds: float = 30.0) -> None:
    """Turn WAL on. Several processes opening a new file at once race to change its journal
    mode, and SQLite answers that race "database is locked" at once, without waiting for the
    busy timeout: so wait here, as the timeout would."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteLineageStore:
    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            _wal(db)
            self._local.db = db
        return db

    def _upsert(self, table: str, columns: tuple[str, ...], values: tuple[str, ...], record: BaseModel) -> None:
        names = ", ".join((*columns, "doc"))
        marks = ", ".join("?" * (len(columns) + 1))
        self._db().execute(
            f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 - fixed table and column names
            (*values, record.model_dump_json()),
        )

    def put_run(self, run: RunRecord) -> None:
        self._upsert("runs", ("tenant", "run_id", "started_at"), (run.tenant, run.run_id, _at(run.started_at)), run)

    def get_run(self, tenant: str, run_id: str) -> RunRecord:
        row = self._db().execute("SELECT doc FROM runs WHERE tenant=? AND run_id=?", (tenant, run_id)).fetchone()
        if row is None:
            msg = f"run {run_id} does not exist for tenant {tenant}"
            raise ObjectNotFound(msg)
        return RunRecord.model_validate_json(row[0])

    def list_runs(self, tenant: str, since: datetime, until: datetime, limit: int = 100) -> list[RunRecord]:
        rows = self._db().execute(
            "SELECT doc FROM runs WHERE tenant=? AND started_at>=? AND started_at<? ORDER BY started_at DESC LIMIT ?",
            (tenant, _at(since), _at(until), limit),
        )
        return [RunRecord.model_validate_json(r[0]) for r in rows]

    def put_step(self, step: StepRecord) -> None:
        self._upsert("steps", ("tenant", "run_id", "step"), (step.tenant, step.run_id, step.step), step)

    def steps(self, tenant: str, run_id: str) -> list[StepRecord]:
        rows = self._db().execute("SELECT doc FROM steps WHERE tenant=? AND run_id=?", (tenant, run_id))
        return sorted((StepRecord.model_validate_json(r[0]) for r in rows), key=lambda s: (s.started_at, s.step))

    def put_audit(self, event: AuditEvent) -> None:
        self._upsert("audit", ("tenant", "at", "event_id"), (event.tenant, _at(event.at), event.event_id), event)

    def audit(self, tenant: str, since: datetime, until: datetime) -> list[AuditEvent]:
        rows = self._db().execute(
            "SELECT doc FROM audit WHERE tenant=? AND at>=? AND at<? ORDER BY at", (tenant, _at(since), _at(until))
        )
        return [AuditEvent.model_validate_json(r[0]) for r in rows]

    def append_metric(self, point: MetricPoint) -> None:
        self._upsert(
            "metrics", ("tenant", "key", "at", "run_id"), (point.tenant, point.key, _at(point.at), point.run_id), point
        )

    def metric_history(self, tenant: str, key: str, limit: int = 50) -> list[MetricPoint]:
        rows = (
            self._db()
            .execute("SELECT doc FROM metrics WHERE tenant=? AND key=? ORDER BY at DESC LIMIT ?", (tenant, key, limit))
            .fetchall()
        )
        return [MetricPoint.model_validate_json(r[0]) for r in reversed(rows)]
