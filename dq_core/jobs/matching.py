"""Which published job definitions an event starts: a blob path, a schedule minute, an upload's dataset.

The entry points (``triggers/``) load a tenant's job definitions once per event and ask
this module which of them fire; everything here is pure except :func:`published_jobs`
and :func:`job_dataset`, which read through the registry port.

* Only **published** versions start by themselves, and of a job only its newest
  published version (an older published one is superseded, a draft is not yet live).
* Blob patterns are globs relative to the tenant's container, matched segment by
  segment: ``*``, ``?`` and ``[...]`` never cross a ``/``; a ``**`` segment matches any
  number of segments (zero included). Matching is case-sensitive, as blob names are.
* Blobs the app writes itself (:data:`APP_WRITTEN_PREFIXES`) never start a job.
* A schedule's five-field cron is read in its ``timezone``: a slot (a UTC minute) is due
  when its wall-clock time there matches. Around a DST change a wall-clock time that
  does not exist is skipped and one that happens twice is due twice, as with cron.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from dq_core.config.base import Kind, ObjectKey, Status
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError
from dq_core.identifiers import semver_key
from dq_core.jobs.models import BlobTrigger, JobDefinition, ScheduleTrigger
from dq_core.ports import ConfigReader, ContractStore
from dq_core.registry.models import StoredObject

APP_WRITTEN_PREFIXES: Final = ("runs/", "uploads/", "profiles/", "bundles/")
"""Folders of a tenant's container the app writes itself: a blob there is an output
(or, for ``uploads/``, a file whose run the upload endpoint already started)."""

MAX_CATCH_UP: Final = timedelta(minutes=15)
_TIMEZONE_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


@dataclass(frozen=True)
class BlobMatch:
    job: JobDefinition
    trigger: BlobTrigger


@dataclass(frozen=True)
class ScheduleMatch:
    job: JobDefinition
    trigger: ScheduleTrigger
    slot: datetime  # the due minute, UTC


@dataclass(frozen=True)
class DueJobs:
    """The schedules due in a slot, and the ones that could not be evaluated (one line each)."""

    due: list[ScheduleMatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- which job definitions are live ---------------------------------------------------------


def latest_published(stored: Iterable[StoredObject]) -> list[JobDefinition]:
    """The newest published version of every job definition, ordered by job id."""
    newest: dict[str, StoredObject] = {}
    for item in stored:
        if item.key.kind is not Kind.JOB_DEFINITION or item.status is not Status.PUBLISHED:
            continue
        current = newest.get(item.key.id)
        if current is None or semver_key(item.key.version) > semver_key(current.key.version):
            newest[item.key.id] = item
    jobs = []
    for job_id in sorted(newest):
        job = newest[job_id].to_object()
        assert isinstance(job, JobDefinition)  # noqa: S101 - filtered by kind
        jobs.append(job)
    return jobs


def published_jobs(store: ContractStore, tenant: str, environment: str) -> list[JobDefinition]:
    """The live job definitions of one tenant in one environment (see :func:`latest_published`)."""
    return latest_published(store.list(tenant, environment, Kind.JOB_DEFINITION))


# --- blob paths ------------------------------------------------------------------------------


def is_app_written(path: str) -> bool:
    """True for blobs under the folders the app writes itself."""
    return path.startswith(APP_WRITTEN_PREFIXES)


def path_matches(pattern: str, path: str) -> bool:
    """``/``-aware glob match of a blob path (see module doc)."""
    return _match_segments(tuple(pattern.split("/")), tuple(path.split("/")))


def _match_segments(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_segments(rest, path[skip:]) for skip in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _match_segments(rest, path[1:])


def jobs_for_blob(jobs: Sequence[JobDefinition], path: str) -> list[BlobMatch]:
    """The jobs one of whose blob triggers matches ``path`` (each job once: its first matching trigger).
    Blobs the app writes itself match nothing."""
    if is_app_written(path):
        return []
    matches = []
    for job in jobs:
        trigger = next(
            (t for t in job.triggers if isinstance(t, BlobTrigger) and path_matches(t.path_pattern, path)), None
        )
        if trigger is not None:
            matches.append(BlobMatch(job=job, trigger=trigger))
    return matches


# --- schedules -------------------------------------------------------------------------------


def minute_of(moment: datetime) -> datetime:
    """The UTC minute ``moment`` falls in (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def slots_to_check(now: datetime, last: datetime | None = None) -> list[datetime]:
    """The minutes a timer tick at ``now`` answers for, oldest first: the current one, and
    the ones since the previous tick ``last`` that were missed (at most :data:`MAX_CATCH_UP`).
    Checking a minute twice is harmless: its runs have deterministic instance ids."""
    current = minute_of(now)
    if last is None:
        return [current]
    start = max(minute_of(last) + timedelta(minutes=1), current - MAX_CATCH_UP)
    slots = []
    moment = start
    while moment < current:
        slots.append(moment)
        moment += timedelta(minutes=1)
    return [*slots, current]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ConfigError when there is none."""
    if not _TIMEZONE_RE.match(name):
        msg = f"time zone {name!r} is not an IANA name like Europe/Paris"
        raise ConfigError(msg)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"time zone {name!r} is unknown"
        raise ConfigError(msg) from exc


def is_due(trigger: ScheduleTrigger, slot: datetime) -> bool:
    """Whether the schedule fires in the minute ``slot`` (its cron read in its time zone)."""
    local = minute_of(slot).astimezone(zone(trigger.timezone))
    return bool(croniter.match(trigger.cron, local.replace(tzinfo=None)))


def due_jobs(jobs: Sequence[JobDefinition], slots: Sequence[datetime]) -> DueJobs:
    """Every (job, schedule, slot) due among ``slots``; a schedule that cannot be read is a
    problem, reported, and never stops the others."""
    found = DueJobs()
    for job in jobs:
        for trigger in job.triggers:
            if not isinstance(trigger, ScheduleTrigger):
                continue
            try:
                found.due.extend(
                    ScheduleMatch(job=job, trigger=trigger, slot=minute_of(slot))
                    for slot in slots
                    if is_due(trigger, slot)
                )
            except (ConfigError, ValueError, TypeError) as exc:  # croniter's errors are ValueError/TypeError
                found.problems.append(f"job {job.id}@{job.version}: schedule {trigger.cron!r}: {exc}")
    return found


# --- datasets (uploads) ----------------------------------------------------------------------


def job_dataset(job: JobDefinition, reader: ConfigReader) -> str:
    """The dataset a job runs: its own ``dataset``, else its contract's first dataset."""
    if job.dataset:
        return job.dataset
    contract = reader.get(
        job.tenant,
        job.environment.value,
        ObjectKey(kind=Kind.CONTRACT, id=job.contract.id, version=job.contract.version),
    )
    if not isinstance(contract, DataContract) or not contract.datasets:
        msg = f"job {job.id}@{job.version}: contract {job.contract.id}@{job.contract.version} has no dataset"
        raise ConfigError(msg)
    return contract.datasets[0].name


def jobs_for_dataset(jobs: Sequence[JobDefinition], dataset: str, reader: ConfigReader) -> list[JobDefinition]:
    """The jobs that run ``dataset``. A job whose contract cannot be read is left out."""
    bound = []
    for job in jobs:
        try:
            if job_dataset(job, reader) == dataset:
                bound.append(job)
        except ConfigError:
            continue
    return bound
