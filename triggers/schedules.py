"""Every minute: start the scheduled jobs that are due. A timer trigger.

The timer ticks at second 0 of every minute (NCRONTAB ``0 * * * * *``). For each tenant
with objects in the deployment's environment, each published job definition with a
schedule trigger whose five-field cron, read in the trigger's time zone, is due in this
minute starts ``run_job`` on the trigger's ``input_uri`` under ``{tenant}:{job}:{slot}``,
``slot`` being the minute in UTC (``20261125T0600``). A second tick for the same minute
(a host restart, two instances of the app) finds the instance and starts nothing. When
the host reports the tick as past due, the minutes since the previous tick (at most 15)
are checked too, so a late tick does not lose a schedule.

One tenant's broken registry or schedule never stops another's: problems are logged,
and a start that failed makes the invocation fail after every other start was tried.

The registry is not read at every tick: :class:`triggers.schedule_cache.ScheduleCache` keeps
each tenant's next due minute, reads a tenant's job definitions only in a minute one of its
schedules is due, and everything every ten minutes (a new schedule is seen within that time).
The registry reads are blocking I/O: they run in a worker thread (``asyncio.to_thread``), never
on the worker's event loop, which the Durable client's calls and other invocations share.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final

import azure.durable_functions as df
import azure.functions as func

from app.runtime import run_ports
from app.settings import get_settings
from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import InputRef, RunRequest
from services.starting import Starter, StartOutcome, StartsFailed, instance_id, job_registry, slot_key, start_run
from triggers.schedule_cache import ScheduleCache, TenantDue

bp = df.Blueprint()
log = logging.getLogger("dq.triggers.schedules")

SCHEDULE: Final = "0 * * * * *"  # NCRONTAB, six fields: second 0 of every minute
_FRACTION: Final = re.compile(r"(\.\d{6})\d+")
CACHE: Final = ScheduleCache()
"""This worker's memory of when each tenant is next due (see triggers/schedule_cache.py)."""


def now() -> datetime:
    """The tick's time (a function, so tests can move the clock)."""
    return datetime.now(UTC)


def previous_tick(timer: func.TimerRequest) -> datetime | None:
    """The ``Last`` occurrence the host reports in the schedule status, when it has one."""
    status = getattr(timer, "schedule_status", None)  # the worker's TimerRequest has it, the ABC does not
    raw = status.get("Last") if isinstance(status, dict) else None
    if not isinstance(raw, str) or not raw:
        return None
    try:  # .NET writes seven fractional digits; Python reads six
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", raw.strip()))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def due_now(moment: datetime, last: datetime | None = None) -> tuple[str, list[TenantDue]]:
    """The deployment's environment and what is due, tenant by tenant: blocking (settings, the
    ports built on first use, the registry), so the timer calls it in a worker thread."""
    environment = get_settings().environment.value
    return environment, CACHE.due(job_registry(run_ports().contracts), environment, moment, last)


async def handle_tick(client: Starter, moment: datetime, last: datetime | None = None) -> list[StartOutcome]:
    """Start what is due in the minute of ``moment`` (and in the missed minutes after ``last``)."""
    environment, answers = await asyncio.to_thread(due_now, moment, last)
    outcomes: list[StartOutcome] = []
    failures: list[str] = []
    for answer in answers:
        tenant = answer.tenant
        if answer.error is not None:
            log.error("tenant %s: schedules not read: %s", tenant, answer.error)
            failures.append(f"{tenant}: {answer.error}")
            continue
        for problem in answer.found.problems:
            log.error("tenant %s: %s", tenant, problem)
        for match in answer.found.due:
            request = RunRequest(
                tenant=tenant,
                environment=environment,
                job_id=match.job.id,
                job_version=match.job.version,
                inputs=(InputRef(uri=match.trigger.input_uri),),
                ingestion_mode=IngestionMode.TIMER,
                trigger={
                    "type": "schedule",
                    "cron": match.trigger.cron,
                    "timezone": match.trigger.timezone,
                    "slot": match.slot.isoformat(),
                },
            )
            instance = instance_id(tenant, match.job.id, slot_key(match.slot))
            try:
                outcomes.append(await start_run(client, instance, request))
            except Exception as exc:  # the SDK raises bare Exception; the other jobs still start
                log.exception("%s could not be started", instance)
                failures.append(f"{instance}: {' '.join(str(exc).split())[:200]}")
    if failures:
        raise StartsFailed("; ".join(failures))
    return outcomes


@bp.function_name("start_scheduled_runs")
@bp.timer_trigger(schedule=SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def start_scheduled_runs(timer: func.TimerRequest, client: Any) -> None:
    if timer.past_due:
        log.warning("the timer is past due: checking the minutes since its previous tick too")
    await handle_tick(client, now(), previous_tick(timer) if timer.past_due else None)
