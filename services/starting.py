"""Starting runs: the one place entry points reach the Durable client, and the instance id rules.

An entry point (HTTP, upload, Event Grid, timer) decides *what* to run and under which
instance id, then calls :func:`start_run` with whatever starts orchestrations: the
Durable client the Functions host binds (``DurableOrchestrationClient``), the local
extension's client, or a fake in a unit test. Anything with the two coroutines of
:class:`Starter` will do.

Instance ids are deterministic, so a repeated event cannot start a second run:

* ``{tenant}:{job}:{etag}`` for a blob event, an upload and an HTTP start that names an
  ETag (the ETag without its quotes);
* ``{tenant}:{job}:{slot}`` for a schedule, the slot being the due minute in UTC
  (``20261125T0600``).

:func:`start_run` first asks for the instance's status: when it exists and is not
Failed, Terminated or Canceled it starts nothing and says "already started"; otherwise it
starts ``run_job``. Two callers racing past the status check are settled by the task
hub (host.json ``overridableExistingInstanceStates: NonRunningStates`` refuses to
replace a running instance): the loser's refusal is read back as "already started".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from dq_core.errors import ConfigError, TransientError
from dq_core.identifiers import ID_RULE, TENANT_RULE, is_id, is_tenant
from dq_core.jobs.matching import minute_of
from dq_core.ports import ConfigReader, ContractStore
from dq_core.runs.payloads import OrchestratorName, RunRequest

log = logging.getLogger("dq.starting")

RESTARTABLE: Final = frozenset({"Failed", "Terminated", "Canceled"})
"""Runtime statuses under which an instance id may be used again (a new run replaces it)."""

MAX_INSTANCE_ID: Final = 256
_UNSAFE: Final = re.compile(r"[/\\#?%\s\x00-\x1f\x7f]")  # forbidden in Durable ids, or unsafe in URLs


class Starter(Protocol):
    """What starts and looks up orchestrations (``DurableOrchestrationClient`` has both)."""

    async def get_status(self, instance_id: str) -> Any: ...

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any | None = None
    ) -> Any: ...


class StartsFailed(TransientError):
    """Some runs an event or a tick asked for could not be started (each named in the message).
    Raised after every other start was tried; the caller's retry starts only what is missing."""

    code = "start_failed"


@dataclass(frozen=True)
class StartOutcome:
    started: bool
    instance_id: str
    reason: str  # "started", "restarted after Failed", "already started (Running)", ...


# --- instance ids ------------------------------------------------------------------------------


def _key(value: str, what: str) -> str:
    cleaned = _UNSAFE.sub("_", value.strip())
    if not cleaned:
        msg = f"{what} is empty: it cannot name a run"
        raise ConfigError(msg)
    return cleaned


def etag_key(etag: str) -> str:
    """An ETag as an instance id part: without its quotes (and weak ``W/`` marker), sanitised."""
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return _key(value.strip('"'), "the ETag")


def slot_key(slot: datetime) -> str:
    """The due minute of a schedule, in UTC: ``20261125T0600``."""
    return minute_of(slot).strftime("%Y%m%dT%H%M")


def instance_id(tenant: str, job_id: str, key: str) -> str:
    """``{tenant}:{job}:{key}``; the tenant and job must be a tenant id and an id
    (:mod:`dq_core.identifiers`), the key is sanitised: Durable instance ids must not contain
    ``/ \\ # ?`` (nor, since the SDK puts them in URLs unquoted, ``%`` or spaces), each becomes ``_``."""
    if not is_tenant(tenant):
        msg = f"tenant {tenant!r} is not a tenant id ({TENANT_RULE})"
        raise ConfigError(msg)
    if not is_id(job_id):
        msg = f"job {job_id!r} is not an id ({ID_RULE})"
        raise ConfigError(msg)
    made = f"{tenant}:{job_id}:{_key(key, 'the instance key')}"
    if len(made) > MAX_INSTANCE_ID:
        msg = f"instance id {made[:40]}... is longer than {MAX_INSTANCE_ID} characters"
        raise ConfigError(msg)
    return made


# --- starting ----------------------------------------------------------------------------------


async def instance_status(client: Starter, instance_id: str) -> str | None:
    """The runtime status of an instance (``Running``, ``Completed``, ...), None when it does not exist."""
    status = await client.get_status(instance_id)
    if not status:  # DurableOrchestrationStatus is falsy for an unknown instance
        return None
    runtime = getattr(status, "runtime_status", None)
    if runtime is None:
        return "Unknown"
    return str(getattr(runtime, "value", runtime))


async def start_run(client: Starter, instance_id: str, request: RunRequest) -> StartOutcome:
    """Start ``run_job`` for ``request`` under ``instance_id``, unless that instance already exists."""
    existing = await instance_status(client, instance_id)
    if existing is not None and existing not in RESTARTABLE:
        log.info("%s: already started (%s)", instance_id, existing)
        return StartOutcome(started=False, instance_id=instance_id, reason=f"already started ({existing})")
    try:
        await client.start_new(OrchestratorName.RUN_JOB.value, instance_id, request.model_dump(mode="json"))
    except Exception:
        # the task hub refuses to replace a running instance: someone started it since we looked
        now = await instance_status(client, instance_id)
        if now is not None and now not in RESTARTABLE:
            log.info("%s: already started (%s), by a concurrent caller", instance_id, now)
            return StartOutcome(started=False, instance_id=instance_id, reason=f"already started ({now})")
        raise
    reason = "started" if existing is None else f"restarted after {existing}"
    log.info("%s: %s (%s, job %s)", instance_id, reason, request.ingestion_mode.value, request.job_id)
    return StartOutcome(started=True, instance_id=instance_id, reason=reason)


def job_registry(contracts: ConfigReader) -> ContractStore:
    """The registry behind the ports, as a ContractStore (entry points list job definitions
    and tenants); ConfigError when the configured reader is not a whole registry (``dq run``'s
    in-memory index reads objects only)."""
    if not isinstance(contracts, ContractStore):
        msg = f"{type(contracts).__name__} cannot list job definitions and tenants: configure a contract registry"
        raise ConfigError(msg)
    return contracts
