"""Retention: which of a tenant's stored files are past the time they may be kept.

Pure: it is given the tenant's run records (the lineage store's), the retention periods of
each run (read from the bundle stored with it) and the names of the blobs stored under
``runs/`` and ``uploads/``, and answers what is due for deletion at a moment. The service
(:mod:`services.retention`) reads those through the ports, deletes and audits.

What a run leaves, and how long it is kept (docs/retention.md):

* ``runs/{run_id}/`` — the run folder: the bundle, result.json, the reports, the cleansed
  rows, rejects.parquet. Deleted whole ``outputs_days`` after the run.
* ``runs/{run_id}/ingested/``, ``work/``, ``cleanse/`` and ``validate/`` — the unmasked
  working files. A run deletes them itself when it finalises; a run that never finalised
  leaves them, deleted ``raw_days`` after the run.
* ``uploads/{dataset}/{time}-{id}/`` — the raw copy of an uploaded file. Deleted ``raw_days``
  after the last run that read it; an upload no run record names, ``raw_days`` (of the
  defaults) after the time in its folder name.

Precedence: the governance profile's ``retention_days`` is a ceiling (data under that profile
is kept no longer, whatever the infra profile says); the infra profile's ``retention``
shortens it per kind; raw copies are never kept longer than the run's outputs (they exist
for the run only). So ``outputs = min(outputs_days, retention_days)`` and
``raw = min(raw_days, outputs)``. A run whose bundle cannot be read (it stopped before its
bundle was stored) is kept as the profiles' defaults say.

Clock: from the run's ``finished_at`` (else its ``started_at``: a run that never recorded an
end). A file is due once *more than* its days have passed: at exactly ``N`` days it is kept.

Not deleted here: the lineage entities (runs, steps, audit events, metric points: the audit
trail, whose ``lineage_days`` this clean-up does not apply), files the tenant landed itself,
the drift baselines under ``profiles/`` and run folders no run record names (their age is
unknown).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from dq_core.errors import InputError
from dq_core.libraries.governance import GovernanceProfile
from dq_core.libraries.infra import Retention
from dq_core.lineage.models import RunRecord
from dq_core.payloads import Payload
from dq_core.runs import RUNS_PREFIX
from dq_core.runs.files import WORKING_FOLDERS

UPLOADS_PREFIX: Final = "uploads/"
UPLOAD_FOLDER: Final = re.compile(r"^uploads/[^/]+/(\d{8}T\d{6})-[0-9a-f]{8}/")
"""``uploads/{dataset}/{UTC time}-{uuid8}/``, as services.run_starts.upload_folder names it."""
_UPLOAD_TIME: Final = "%Y%m%dT%H%M%S"


class Purpose(StrEnum):
    """What a deleted prefix held (the ``detail`` of its audit event says it too)."""

    RUN_FOLDER = "run_folder"  # runs/{id}/ whole: outputs, rejects, reports, bundle
    WORKING_FILES = "working_files"  # runs/{id}/ working folders (files.WORKING_FOLDERS) of a run that never finalised
    UPLOAD = "upload"  # uploads/{dataset}/{time}-{id}/: a raw copy


@dataclass(frozen=True)
class RetentionPeriods:
    """How many days a run's raw copies and its outputs are kept (raw never longer)."""

    raw_days: int
    outputs_days: int

    @classmethod
    def of(cls, retention: Retention, governance_days: int) -> RetentionPeriods:
        """The governance days are a ceiling; the infra profile's days shorten them per kind."""
        outputs = min(retention.outputs_days, governance_days)
        return cls(raw_days=min(retention.raw_days, outputs), outputs_days=outputs)


DEFAULT_PERIODS: Final = RetentionPeriods.of(Retention(), GovernanceProfile.model_fields["retention_days"].default)
"""The periods of a run whose bundle is not there to say (the profiles' defaults: 30 and 90 days)."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Infra(_Loose):
    retention: Retention = Retention()


class _Governance(_Loose):
    retention_days: int


class _BundleRetention(_Loose):
    """The two parts of a stored ``dq.bundle/v1`` that say how long its run is kept."""

    infra: _Infra
    governance: _Governance


def periods_of_bundle(data: bytes) -> RetentionPeriods:
    """The periods a stored bundle.json sets; InputError when it is not a bundle."""
    try:
        bundle = _BundleRetention.model_validate_json(data)
    except ValidationError as exc:
        raise InputError(f"not a bundle with retention settings ({exc.error_count()} problems)") from None
    return RetentionPeriods.of(bundle.infra.retention, bundle.governance.retention_days)


class DueDeletion(Payload):
    """One folder of a tenant's container whose keeping time is over."""

    tenant: str
    prefix: str  # a folder: ends with '/'
    purpose: Purpose
    run_ids: tuple[str, ...] = ()  # the runs it belongs to (none: an upload no run names)
    environment: str | None = None  # of those runs
    days: int  # how long it was to be kept
    since: datetime  # the moment its time began (the run's end, the upload's time)
    blobs: int  # how many blobs were stored under it when the plan was made

    def describe(self) -> str:
        """One line for the audit event and the CLI: what, why."""
        runs = f" of run {', '.join(self.run_ids)}" if self.run_ids else " named by no run"
        return f"{self.purpose.value}{runs}: kept {self.days} days from {self.since.isoformat()}"


def run_end(run: RunRecord) -> datetime:
    """Where a run's keeping time starts: when it finished, else when it started."""
    return run.finished_at or run.started_at


def is_past(since: datetime, days: int, now: datetime) -> bool:
    """More than ``days`` days have passed since ``since`` (exactly ``days``: not yet)."""
    return now - since > timedelta(days=days)


def upload_folder_of(path: str) -> str | None:
    """The upload folder of a blob path, when the path is a raw copy the app stored."""
    match = UPLOAD_FOLDER.match(path)
    return match.group(0) if match else None


def _upload_time(folder: str) -> datetime | None:
    match = UPLOAD_FOLDER.match(folder)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), _UPLOAD_TIME).replace(tzinfo=UTC)
    except ValueError:  # 20261399T...: not a time the app wrote
        return None


def _count(names: Sequence[str], prefix: str) -> int:
    """How many of the sorted ``names`` start with ``prefix`` (two binary searches)."""
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string past every name under prefix
    return bisect_left(names, after) - bisect_left(names, prefix)


def due_deletions(
    tenant: str,
    runs: Iterable[RunRecord],
    periods: Mapping[str, RetentionPeriods],
    stored: Iterable[str],
    now: datetime,
) -> list[DueDeletion]:
    """What is due at ``now`` (see the module doc), in a stable order: run folders and working
    files by run id, then uploads by folder. ``periods`` by run id (a run missing there keeps
    :data:`DEFAULT_PERIODS`); ``stored`` the blob names under ``runs/`` and ``uploads/``: only
    folders that still hold blobs are due, so a second pass finds nothing to do."""
    names = sorted(set(stored))
    due: list[DueDeletion] = []
    uploads: dict[str, list[tuple[RunRecord, RetentionPeriods]]] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        kept = periods.get(run.run_id, DEFAULT_PERIODS)
        end = run_end(run)
        folder = f"{RUNS_PREFIX}{run.run_id}/"
        if is_past(end, kept.outputs_days, now):
            wanted = [(folder, Purpose.RUN_FOLDER, kept.outputs_days)]
        elif is_past(end, kept.raw_days, now):
            wanted = [(folder + working, Purpose.WORKING_FILES, kept.raw_days) for working in WORKING_FOLDERS]
        else:
            wanted = []
        for prefix, purpose, days in wanted:
            if count := _count(names, prefix):
                due.append(
                    DueDeletion(
                        tenant=tenant,
                        prefix=prefix,
                        purpose=purpose,
                        run_ids=(run.run_id,),
                        environment=run.environment,
                        days=days,
                        since=end,
                        blobs=count,
                    )
                )
        upload = upload_folder_of(run.input_uri)
        if upload is not None:
            uploads.setdefault(upload, []).append((run, kept))
    stored_uploads = sorted({found for name in names if (found := upload_folder_of(name)) is not None})
    for folder in stored_uploads:
        readers = uploads.get(folder, [])
        if readers:
            # kept until the last run that read it is past its raw days
            run, kept = max(readers, key=lambda pair: run_end(pair[0]) + timedelta(days=pair[1].raw_days))
            since, days = run_end(run), kept.raw_days
            ids = tuple(sorted(r.run_id for r, _ in readers))
            environment: str | None = run.environment
        else:
            uploaded = _upload_time(folder)
            if uploaded is None:
                continue
            since, days, ids, environment = uploaded, DEFAULT_PERIODS.raw_days, (), None
        if is_past(since, days, now):
            due.append(
                DueDeletion(
                    tenant=tenant,
                    prefix=folder,
                    purpose=Purpose.UPLOAD,
                    run_ids=ids,
                    environment=environment,
                    days=days,
                    since=since,
                    blobs=_count(names, folder),
                )
            )
    return due
