"""Daily: delete what is past its retention, for every tenant. A timer trigger.

The schedule is the app setting ``DQ_RETENTION_SCHEDULE`` (NCRONTAB, six fields; default
``0 0 3 * * *``, 03:00 UTC every day), which the host reads through the ``%...%`` binding
expression. For each tenant with objects in the deployment's environment,
:class:`services.retention.RetentionService` deletes the run folders, working files and raw
upload copies past their retention and audits each deletion as ``system:retention``
(docs/retention.md). One tenant's failure never stops another's clean-up; the invocation
fails at the end (so the host logs it) and the next tick deletes what is still there.

A plain ``def``: the worker runs it in its thread pool, off the event loop that the
asynchronous triggers and the Durable client share; the clean-up is blocking I/O throughout.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Final

import azure.durable_functions as df
import azure.functions as func

from app.runtime import run_ports
from app.settings import get_settings
from services.retention import RetentionFailed, RetentionOutcome, RetentionService
from services.starting import job_registry

bp = df.Blueprint()  # the app's other blueprints are Durable ones; this timer needs no client
log = logging.getLogger("dq.triggers.retention")

SCHEDULE: Final = "%DQ_RETENTION_SCHEDULE%"  # resolved by the host from the app setting


def now() -> datetime:
    """The tick's time (a function, so tests can move the clock)."""
    return datetime.now(UTC)


def clean_up(moment: datetime) -> list[RetentionOutcome]:
    """Apply retention to every tenant of the deployment's environment, as of ``moment``."""
    environment = get_settings().environment.value
    ports = run_ports()
    service = RetentionService(ports.lineage, ports.blobs, environment)
    correlation_id = uuid.uuid4().hex  # one per tick: the audit events of one clean-up group together
    outcomes: list[RetentionOutcome] = []
    failures: list[str] = []
    for tenant in job_registry(ports.contracts).tenants(environment):
        try:
            outcome = service.apply(tenant, moment, correlation_id=correlation_id)
        except Exception as exc:  # a tenant's broken store never stops the others' clean-up
            log.exception("tenant %s: retention not applied", tenant)
            failures.append(f"{tenant}: {' '.join(str(exc).split())[:200]}")
            continue
        log.info(
            "tenant %s: %d blobs deleted in %d folders past retention", tenant, outcome.deleted, len(outcome.purged)
        )
        failures += outcome.problems
        outcomes.append(outcome)
    if failures:
        raise RetentionFailed("; ".join(failures))
    return outcomes


@bp.function_name("apply_retention")
@bp.timer_trigger(schedule=SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
def apply_retention(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.warning("the retention timer is past due: cleaning up now")
    clean_up(now())
