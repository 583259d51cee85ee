"""Retention clean-up: delete what is past its keeping time, one audit event per deletion.

What the daily timer (``triggers/retention.py``) and ``dq retention apply`` call. For one
tenant it reads every run record (the lineage store), the names of the blobs under
``runs/`` and ``uploads/`` and the bundle of every run whose folder still holds one; asks
:func:`dq_core.retention.due_deletions` what is due; deletes each due folder through the
BlobStore port and records an :class:`~dq_core.lineage.models.AuditEvent` (action
``purge``, the folder as object, how many blobs and why as detail, one correlation id per
pass). The lineage entities themselves are kept: the audit trail outlives the files.

A dry run plans and reports, and neither deletes nor audits. A folder that could not be
deleted is reported and the others are still deleted; :class:`RetentionFailed` is for the
caller to raise at the end of a pass over several tenants.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from dq_core.errors import DQError, ObjectNotFound, TransientError
from dq_core.lineage.models import AuditEvent, RunRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.retention import (
    UPLOADS_PREFIX,
    DueDeletion,
    RetentionPeriods,
    due_deletions,
    periods_of_bundle,
)
from dq_core.runs import RUNS_PREFIX

log = logging.getLogger("dq.retention")

SYSTEM_ACTOR: Final = "system:retention"
PURGE: Final = "purge"  # the audit action of a retention deletion
PAGE: Final = 500  # run records read per lineage query
_BEGINNING: Final = datetime(1970, 1, 1, tzinfo=UTC)  # before any run
_TICK: Final = timedelta(microseconds=1)
_INSTANT: Final = 100_000  # runs read at most for one microsecond of start times


class RetentionFailed(TransientError):
    """Some folders (or tenants) could not be cleaned; each named in the message. Raised
    after everything else was done: the next pass deletes only what is still there."""

    code = "retention_failed"


@dataclass(frozen=True)
class Purged:
    """One due folder and what became of it."""

    due: DueDeletion
    deleted: int  # blobs deleted (a dry run: how many would be)
    error: str | None = None


@dataclass(frozen=True)
class RetentionOutcome:
    tenant: str
    dry_run: bool
    purged: list[Purged] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        return sum(item.deleted for item in self.purged if item.error is None)

    @property
    def problems(self) -> list[str]:
        return [f"{self.tenant}/{item.due.prefix}: {item.error}" for item in self.purged if item.error]


def all_runs(lineage: LineageStore, tenant: str, until: datetime) -> Iterator[RunRecord]:
    """Every run of ``tenant`` started before ``until``, newest first, page by page."""
    seen: set[str] = set()

    def fresh(runs: list[RunRecord]) -> list[RunRecord]:
        new = [run for run in runs if run.run_id not in seen]
        seen.update(run.run_id for run in new)
        return new

    while True:
        page = lineage.list_runs(tenant, _BEGINNING, until, limit=PAGE)
        yield from fresh(page)
        if len(page) < PAGE:
            return
        # a full page may have cut the runs of its oldest microsecond short: read that instant whole,
        # then go on strictly before it (so every page makes progress)
        oldest = min(run.started_at for run in page)
        yield from fresh(lineage.list_runs(tenant, oldest, oldest + _TICK, limit=_INSTANT))
        until = oldest


class RetentionService:
    """The clean-up of one deployment's (or one laptop's) stores, audited as ``actor``."""

    def __init__(self, lineage: LineageStore, blobs: BlobStore, environment: str, *, actor: str = SYSTEM_ACTOR) -> None:
        self.lineage = lineage
        self.blobs = blobs
        self.environment = environment  # of the audit events of uploads no run names
        self.actor = actor

    def plan(self, tenant: str, now: datetime) -> list[DueDeletion]:
        """What is due for ``tenant`` at ``now`` (reads only)."""
        runs = list(all_runs(self.lineage, tenant, now))
        stored = [*self.blobs.list(tenant, RUNS_PREFIX), *self.blobs.list(tenant, UPLOADS_PREFIX)]
        present = set(stored)
        periods = {
            run.run_id: kept
            for run in runs
            if f"{RUNS_PREFIX}{run.run_id}/bundle.json" in present
            and (kept := self._periods(tenant, run.run_id)) is not None
        }
        return due_deletions(tenant, runs, periods, stored, now)

    def _periods(self, tenant: str, run_id: str) -> RetentionPeriods | None:
        path = f"{RUNS_PREFIX}{run_id}/bundle.json"
        try:
            return periods_of_bundle(self.blobs.get(tenant, path)[0])
        except ObjectNotFound:
            return None  # deleted meanwhile: the defaults apply
        except DQError as exc:
            if not exc.terminal:
                raise
            log.warning("tenant %s: %s: %s; the default retention applies", tenant, path, exc.message)
            return None

    def apply(
        self, tenant: str, now: datetime, *, dry_run: bool = False, correlation_id: str | None = None
    ) -> RetentionOutcome:
        """Delete (or, dry, count) what is due; one audit event per folder deleted."""
        correlation_id = correlation_id or uuid.uuid4().hex
        outcome = RetentionOutcome(tenant=tenant, dry_run=dry_run)
        for due in self.plan(tenant, now):
            if dry_run:
                outcome.purged.append(Purged(due=due, deleted=due.blobs))
                continue
            try:
                deleted = self.blobs.delete_prefix(tenant, due.prefix)
            except DQError as exc:
                log.error("tenant %s: %s not deleted: %s", tenant, due.prefix, exc.one_line())
                outcome.purged.append(Purged(due=due, deleted=0, error=exc.one_line()))
                continue
            if deleted:
                self.lineage.put_audit(self._event(due, deleted, now, correlation_id))
                log.info("tenant %s: deleted %d blobs under %s (%s)", tenant, deleted, due.prefix, due.describe())
            outcome.purged.append(Purged(due=due, deleted=deleted))
        return outcome

    def _event(self, due: DueDeletion, deleted: int, now: datetime, correlation_id: str) -> AuditEvent:
        return AuditEvent.record(
            tenant=due.tenant,
            environment=due.environment or self.environment,
            actor=self.actor,
            action=PURGE,
            what=due.prefix,
            correlation_id=correlation_id,
            detail=f"deleted {deleted} blobs: {due.describe()}; due as of {now.isoformat()}",
        )
