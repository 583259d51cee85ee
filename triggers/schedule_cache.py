"""What the timer remembers between ticks: each tenant's next due minute.

The timer ticks every minute. Reading every tenant's job definitions at every tick costs one
registry query per tenant per minute (1,440 a day each), almost all of them for tenants with
nothing due, or with no schedule at all. :class:`ScheduleCache` keeps, per tenant of the
deployment's environment, the first minute one of its published schedules can be due, and
goes to the registry only

* for a tenant, in a minute at which one of its schedules is due: its job definitions are
  read again then, so a job deprecated, replaced or rescheduled meanwhile is honoured;
* for everything (the tenant list, then every tenant's job definitions) every
  :data:`REFRESH`, so a schedule published, changed or deprecated is seen within that time.
  A refresh also checks the minutes ticked since the previous one (at most
  :data:`dq_core.jobs.matching.MAX_CATCH_UP`): a schedule published less than
  :data:`REFRESH` before its first due minute starts up to that much late, never not at all.
  Checking a minute twice starts nothing twice (deterministic instance ids). Minutes in
  which the timer did not tick at all are the host's to report (a past-due tick), as before.

A tenant whose job definitions could not be read is read again at the next tick; a
schedule that cannot be read (an unknown time zone) is reported at each refresh. The cache
belongs to one worker process: a restarted host or a second instance starts with an empty
one, and refreshes at its first tick. Pure apart from the registry it is given; the timer
calls it off the worker's event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from croniter import croniter

from dq_core.errors import ConfigError, DQError
from dq_core.jobs.matching import DueJobs, due_jobs, minute_of, published_jobs, slots_to_check, zone
from dq_core.jobs.models import JobDefinition, ScheduleTrigger
from dq_core.ports import ContractStore

REFRESH: Final = timedelta(minutes=10)
"""How long the tenant list and each tenant's next due minute are trusted without a look."""
HORIZON: Final = timedelta(days=1)
"""The furthest ahead a next due minute is computed: a tenant is read at least once a day."""
_MINUTE: Final = timedelta(minutes=1)

log = logging.getLogger("dq.triggers.schedules")


# --- when a schedule is next due -------------------------------------------------------------


def _offset(moment: datetime, trigger: ScheduleTrigger) -> timedelta | None:
    return moment.astimezone(zone(trigger.timezone)).utcoffset()


def next_due(trigger: ScheduleTrigger, after: datetime) -> datetime:
    """The first UTC minute, from the minute of ``after`` on (at most :data:`HORIZON` ahead),
    at which the timer must look at ``trigger``: never later than the first minute
    :func:`dq_core.jobs.matching.is_due` says it is due, and that very minute unless the time
    zone's UTC offset changes before it (a DST change: then the minute of the change, where
    the timer looks and computes again). ConfigError or ValueError for a schedule that cannot
    be read."""
    start = minute_of(after)
    tz = zone(trigger.timezone)
    local = start.astimezone(tz).replace(tzinfo=None)
    wall: datetime = croniter(trigger.cron, local - _MINUTE).get_next(datetime)  # due wall-clock time >= local
    candidate = wall.replace(tzinfo=tz).astimezone(UTC)
    if candidate < start:  # a wall-clock time that happens twice: its second occurrence is the one ahead
        candidate = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    candidate = min(max(candidate, start), start + HORIZON)
    offset = _offset(start, trigger)
    if _offset(candidate, trigger) == offset:
        return candidate
    low, high = start, candidate  # the offset changes in (low, high]: find the minute it does
    while high - low > _MINUTE:
        middle = low + (high - low) // 2
        middle = minute_of(middle)
        if _offset(middle, trigger) == offset:
            low = middle
        else:
            high = middle
    return high


def tenant_next_due(jobs: Sequence[JobDefinition], after: datetime) -> datetime | None:
    """The earliest :func:`next_due` of the tenant's schedules; None when it has none (that can
    be read)."""
    found: list[datetime] = []
    for job in jobs:
        for trigger in job.triggers:
            if isinstance(trigger, ScheduleTrigger):
                try:
                    found.append(next_due(trigger, after))
                except (ConfigError, ValueError, TypeError, KeyError):
                    continue  # due_jobs reports it when the tenant is read
    return min(found, default=None)


# --- the cache ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantDue:
    """What one tenant has due in the slots of a tick, or why it could not be read."""

    tenant: str
    found: DueJobs = field(default_factory=DueJobs)
    error: str | None = None


class ScheduleCache:
    """Each tenant's next due minute, and when to read everything again (see the module doc)."""

    def __init__(self, refresh: timedelta = REFRESH) -> None:
        self._refresh = refresh
        self._lock = threading.Lock()
        self._registry: ContractStore | None = None
        self._environment: str | None = None
        self._refreshed_at: datetime | None = None
        self._last_tick: datetime | None = None
        self._next: dict[str, datetime | None] = {}

    def clear(self) -> None:
        """Forget everything: the next tick reads the registry again (a restarted host)."""
        with self._lock:
            self._registry = self._environment = self._refreshed_at = self._last_tick = None
            self._next = {}

    def due(
        self, registry: ContractStore, environment: str, moment: datetime, last: datetime | None = None
    ) -> list[TenantDue]:
        """What is due at the tick ``moment`` (and in the minutes missed since ``last``), tenant
        by tenant, reading the registry only as the module doc says. DQError when the tenant
        list cannot be read."""
        with self._lock:
            current = minute_of(moment)
            stale = (
                registry is not self._registry
                or environment != self._environment
                or self._refreshed_at is None
                or current >= self._refreshed_at + self._refresh
                or current < self._refreshed_at  # the clock went back
            )
            if stale:
                answers = self._refresh_all(registry, environment, moment, last)
            else:
                slots = slots_to_check(moment, last)
                answers = [
                    self._read(registry, environment, tenant, slots)
                    for tenant, when in list(self._next.items())
                    if when is not None and when <= slots[-1]
                ]
            self._last_tick = current
            return answers

    def _refresh_all(
        self, registry: ContractStore, environment: str, moment: datetime, last: datetime | None
    ) -> list[TenantDue]:
        slots = slots_to_check(moment, last)
        since, ticked = self._refreshed_at, self._last_tick
        if registry is self._registry and environment == self._environment and since and ticked:
            # the minutes ticked since the previous refresh saw only the schedules known then
            slots = sorted({*(m for m in slots_to_check(ticked, since) if m > since), *slots})
        tenants = registry.tenants(environment)  # raises: nothing cached, the next tick tries again
        self._registry, self._environment, self._next = registry, environment, {}
        answers = [self._read(registry, environment, tenant, slots) for tenant in tenants]
        self._refreshed_at = minute_of(moment)
        scheduled = sum(when is not None for when in self._next.values())
        log.info("schedules: %d of %d tenants have one; next look in %s", scheduled, len(tenants), self._refresh)
        return answers

    def _read(self, registry: ContractStore, environment: str, tenant: str, slots: list[datetime]) -> TenantDue:
        try:
            jobs = published_jobs(registry, tenant, environment)
        except DQError as exc:
            self._next[tenant] = slots[-1] + _MINUTE  # read again at the next tick
            return TenantDue(tenant, error=exc.one_line())
        self._next[tenant] = tenant_next_due(jobs, slots[-1] + _MINUTE)
        return TenantDue(tenant, found=due_jobs(jobs, slots))
