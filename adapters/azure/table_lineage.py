"""LineageStore over Azure Table Storage.

Key design
----------
Four tables, created lazily on first use: ``{prefix}runs``, ``{prefix}steps``,
``{prefix}audit`` and ``{prefix}metrics``. Every PartitionKey starts with the tenant
followed by ``|`` (or is exactly the tenant), and a tenant may contain neither ``|`` nor
any character Azure forbids in keys, so every query below is a single-partition query, or
a PartitionKey range whose bounds share the prefix ``{tenant}|`` and therefore cannot
reach another tenant's partitions. Nothing is ever a table scan.

* runs: PartitionKey ``{tenant}``, RowKey ``{inverted start time, 19 digits}_{run_id}``.
  The inverted time is ``10**19 - 1 - microseconds since 0001-01-01 UTC``, so ascending
  RowKey order is newest first and ``list_runs(since, until)`` is one RowKey range.
  A lookup entity, PartitionKey ``{tenant}|run``, RowKey ``{run_id}``, holds the run's
  RowKey (property ``run_row``) for ``get_run`` by id. ``put_run`` is an upsert: it writes
  the run, then the lookup, then removes the run's old entity if a retry moved its
  start time (so a retry overwrites instead of duplicating).
* steps: PartitionKey ``{tenant}|{run_id}``, RowKey ``{step}``; upsert.
* audit: PartitionKey ``{tenant}|{yyyy-mm}`` (UTC month of the event), RowKey
  ``{ISO timestamp, UTC, microseconds}_{event_id}``. ``audit(since, until)`` queries each
  month partition in the range with a RowKey range; above 36 months it sends a single
  PartitionKey range query inside the tenant instead of hundreds of point queries.
* metrics: PartitionKey ``{tenant}|{key}``, RowKey ``{inverted timestamp}_{run_id}``.
  (Inverted rather than ISO: "the last ``limit`` points" are then the first ``limit``
  entities of the partition, read with one page instead of the whole history.)

Key parts other than the tenant (run ids, steps, event ids, metric keys) are
percent-encoded for ``/ \\ # ? %`` and control characters, which Azure forbids in keys
(``%`` is encoded too, so the encoding stays one-to-one). Timestamps in keys are UTC;
naive datetimes are taken as UTC.

Every entity stores its record as compact ASCII JSON (``model_dump(mode="json")``) in the
string property ``doc``. A string property holds at most 64 KiB, so longer JSON is split
over ``doc``, ``doc_1``, ``doc_2``, ... (``doc_parts`` says how many); records beyond
what one entity can hold (about 450 000 characters) are refused with a StorageError.
A few plain properties (status, start time, step, action, value) are kept beside it for
ad-hoc queries in Storage Explorer; the adapter itself reads only ``doc``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode
from pydantic import BaseModel

from adapters.azure._errors import StorageError, azure_errors
from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.lineage.models import AuditEvent, MetricPoint, RunRecord, StepRecord

_M = TypeVar("_M", bound=BaseModel)

_CHUNK: Final = 30_000  # ASCII characters: 60 000 bytes as UTF-16, under the 64 KiB limit
_MAX_CHUNKS: Final = 15  # 900 000 bytes, leaving room for keys and properties under 1 MiB
_MAX_KEY_BYTES: Final = 1024  # Azure: PartitionKey and RowKey at most 1 KiB each
_MAX_TENANT: Final = 128
_MONTHS_BY_PARTITION: Final = 36
_PAGE: Final = 1000  # the service returns at most 1000 entities per page
_INVERT_BASE: Final = 10**19 - 1
_EPOCH: Final = datetime(1, 1, 1, tzinfo=UTC)
_TENANT_FORBIDDEN = re.compile(r"[/\\#?|%\x00-\x1f\x7f-\x9f]")
_KEY_UNSAFE = re.compile(r"[/\\#?%\x00-\x1f\x7f-\x9f]")
_PREFIX_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*)?$")
_TABLES: Final = ("runs", "steps", "audit", "metrics")


# --- keys ---------------------------------------------------------------------------------


def check_tenant(tenant: str) -> str:
    """The tenant as used in PartitionKeys; ConfigError when it could reach other partitions."""
    if not isinstance(tenant, str) or not tenant:
        msg = f"tenant must be a non-empty string, not {tenant!r}"
        raise ConfigError(msg)
    if len(tenant) > _MAX_TENANT:
        msg = f"tenant {tenant[:40]!r}... is longer than {_MAX_TENANT} characters"
        raise ConfigError(msg)
    bad = _TENANT_FORBIDDEN.search(tenant)
    if bad:
        msg = f"tenant {tenant!r} contains {bad.group()!r}, which is not allowed in a tenant id"
        raise ConfigError(msg)
    return tenant


def escape_key(value: str) -> str:
    """Percent-encode what Azure forbids in keys (and ``%`` itself, to stay one-to-one)."""
    return _KEY_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), value)


def _key_part(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        msg = f"{what} must be a non-empty string, not {value!r}"
        raise ConfigError(msg)
    return escape_key(value)


def _checked(key: str, what: str) -> str:
    if len(key.encode("utf-16-le")) > _MAX_KEY_BYTES:
        msg = f"{what} is too long for an Azure Table key (at most {_MAX_KEY_BYTES} bytes): {key[:60]!r}..."
        raise ConfigError(msg)
    return key


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _micros(moment: datetime) -> int:
    return (_utc(moment) - _EPOCH) // timedelta(microseconds=1)


def _inverted(moment: datetime) -> int:
    return _INVERT_BASE - _micros(moment)


def _iso(moment: datetime) -> str:
    d = _utc(moment)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond:06d}Z"


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _months(since: datetime, until: datetime) -> list[str]:
    """UTC months touched by [since, until), oldest first (until > since)."""
    first = _utc(since)
    last = _utc(until) - timedelta(microseconds=1)
    year, month = first.year, first.month
    found: list[str] = []
    while (year, month) <= (last.year, last.month):
        found.append(_month(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)  # noqa: PLR2004 - December
    return found


# --- documents ----------------------------------------------------------------------------


def _doc_properties(record: BaseModel, what: str) -> dict[str, Any]:
    text = json.dumps(record.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":"))
    chunks = [text[start : start + _CHUNK] for start in range(0, len(text), _CHUNK)] or [""]
    if len(chunks) > _MAX_CHUNKS:
        msg = (
            f"{what} is too large for Azure Table Storage: {len(text)} characters of JSON, "
            f"at most {_CHUNK * _MAX_CHUNKS} fit in one entity"
        )
        raise StorageError(msg)
    properties: dict[str, Any] = {"doc": chunks[0], "doc_parts": len(chunks)}
    for number, chunk in enumerate(chunks[1:], start=1):
        properties[f"doc_{number}"] = chunk
    return properties


def _record(entity: Mapping[str, Any], model: type[_M]) -> _M:
    parts = int(entity.get("doc_parts", 1))
    text = "".join([str(entity["doc"]), *(str(entity[f"doc_{n}"]) for n in range(1, parts))])
    return model.model_validate_json(text)


# --- the store ----------------------------------------------------------------------------


class TableLineageStore:
    """Runs, steps, audit events and metric history in four Azure tables (see module doc)."""

    def __init__(self, service: TableServiceClient, *, prefix: str = "dq") -> None:
        if not _PREFIX_RE.match(prefix) or len(prefix) + len("metrics") > 63:  # noqa: PLR2004 - Azure's limit
            msg = f"table prefix {prefix!r} must be a letter then letters or digits, at most 56 characters"
            raise ConfigError(msg)
        self._service = service
        self._prefix = prefix
        self._tables: dict[str, TableClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, conn: str, *, prefix: str = "dq") -> TableLineageStore:
        """A store on the account of ``conn``; nothing is contacted until the first call."""
        return cls(TableServiceClient.from_connection_string(conn), prefix=prefix)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(self._prefix + suffix for suffix in _TABLES)

    def _table(self, suffix: str) -> TableClient:
        name = self._prefix + suffix
        with self._lock:
            client = self._tables.get(name)
        if client is None:
            with azure_errors(f"creating table {name}"):
                client = self._service.create_table_if_not_exists(name)
            with self._lock:
                self._tables[name] = client
        return client

    @staticmethod
    def _query(
        table: TableClient, query: str, parameters: dict[str, Any], page: int = _PAGE
    ) -> Iterator[Mapping[str, Any]]:
        return iter(table.query_entities(query, parameters=parameters, results_per_page=page))

    # runs ----------------------------------------------------------------------------

    def _run_row(self, table: TableClient, tenant: str, run_key: str) -> str | None:
        try:
            entity = table.get_entity(f"{tenant}|run", run_key)
        except ResourceNotFoundError:
            return None
        return str(entity["run_row"])

    def put_run(self, run: RunRecord) -> None:
        tenant = check_tenant(run.tenant)
        run_key = _checked(_key_part(run.run_id, "run_id"), "run_id")
        row = f"{_inverted(run.started_at):019d}_{run_key}"
        entity = {
            "PartitionKey": tenant,
            "RowKey": _checked(row, "run_id"),
            "run_id": run.run_id,
            "status": run.status,
            "environment": run.environment,
            "started_at": _iso(run.started_at),
            **_doc_properties(run, f"run {run.run_id}"),
        }
        table = self._table("runs")
        with azure_errors(f"writing run {run.run_id} of tenant {tenant}"):
            previous = self._run_row(table, tenant, run_key)
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            table.upsert_entity(
                {"PartitionKey": f"{tenant}|run", "RowKey": run_key, "run_row": row}, mode=UpdateMode.REPLACE
            )
            if previous is not None and previous != row:  # a retry with another start time
                table.delete_entity(tenant, previous)

    def get_run(self, tenant: str, run_id: str) -> RunRecord:
        tenant = check_tenant(tenant)
        run_key = _checked(_key_part(run_id, "run_id"), "run_id")
        table = self._table("runs")
        what = f"run {run_id} of tenant {tenant}"
        with azure_errors(what):
            row = self._run_row(table, tenant, run_key)
            if row is None:
                msg = f"{what}: not found"
                raise ObjectNotFound(msg)
            entity = table.get_entity(tenant, row)
        return _record(entity, RunRecord)

    def list_runs(self, tenant: str, since: datetime, until: datetime, limit: int = 100) -> list[RunRecord]:
        """Runs started in [since, until), newest first: one RowKey range in one partition."""
        tenant = check_tenant(tenant)
        if limit <= 0 or _micros(until) <= _micros(since):
            return []
        table = self._table("runs")
        parameters = {
            "pk": tenant,
            "lo": f"{_inverted(until) + 1:019d}",  # started at most 1 µs before until
            "hi": f"{_inverted(since) + 1:019d}",  # exclusive: started at or after since
        }
        query = "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi"
        runs: list[RunRecord] = []
        with azure_errors(f"listing runs of tenant {tenant}"):
            for entity in self._query(table, query, parameters, page=min(limit, _PAGE)):
                runs.append(_record(entity, RunRecord))
                if len(runs) >= limit:
                    break
        return runs

    # steps ---------------------------------------------------------------------------

    def put_step(self, step: StepRecord) -> None:
        tenant = check_tenant(step.tenant)
        partition = _checked(f"{tenant}|{_key_part(step.run_id, 'run_id')}", "run_id")
        entity = {
            "PartitionKey": partition,
            "RowKey": _checked(_key_part(step.step, "step"), "step"),
            "status": step.status,
            "started_at": _iso(step.started_at),
            **_doc_properties(step, f"step {step.step} of run {step.run_id}"),
        }
        table = self._table("steps")
        with azure_errors(f"writing step {step.step} of run {step.run_id} of tenant {tenant}"):
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def steps(self, tenant: str, run_id: str) -> list[StepRecord]:
        """The run's steps in the order they started."""
        tenant = check_tenant(tenant)
        partition = _checked(f"{tenant}|{_key_part(run_id, 'run_id')}", "run_id")
        table = self._table("steps")
        with azure_errors(f"reading steps of run {run_id} of tenant {tenant}"):
            found = [_record(e, StepRecord) for e in self._query(table, "PartitionKey eq @pk", {"pk": partition})]
        return sorted(found, key=lambda s: (_micros(s.started_at), s.step))

    # audit ---------------------------------------------------------------------------

    def put_audit(self, event: AuditEvent) -> None:
        tenant = check_tenant(event.tenant)
        at = _utc(event.at)
        entity = {
            "PartitionKey": f"{tenant}|{_month(at.year, at.month)}",
            "RowKey": _checked(f"{_iso(at)}_{_key_part(event.event_id, 'event_id')}", "event_id"),
            "actor": event.actor,
            "action": event.action,
            "object": event.object,
            **_doc_properties(event, f"audit event {event.event_id}"),
        }
        table = self._table("audit")
        with azure_errors(f"writing audit event {event.event_id} of tenant {tenant}"):
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def audit(self, tenant: str, since: datetime, until: datetime) -> list[AuditEvent]:
        """Audit events in [since, until), oldest first."""
        tenant = check_tenant(tenant)
        if _micros(until) <= _micros(since):
            return []
        months = _months(since, until)
        table = self._table("audit")
        rows = {"lo": _iso(since), "hi": _iso(until)}
        queries: Iterable[tuple[str, dict[str, Any]]]
        if len(months) <= _MONTHS_BY_PARTITION:
            queries = [
                ("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi", {"pk": f"{tenant}|{month}", **rows})
                for month in months
            ]
        else:  # one range: both bounds start with "{tenant}|", so does every partition between
            queries = [
                (
                    "PartitionKey ge @pklo and PartitionKey le @pkhi and RowKey ge @lo and RowKey lt @hi",
                    {"pklo": f"{tenant}|{months[0]}", "pkhi": f"{tenant}|{months[-1]}", **rows},
                )
            ]
        events: list[AuditEvent] = []
        with azure_errors(f"reading audit events of tenant {tenant}"):
            for query, parameters in queries:
                events.extend(_record(e, AuditEvent) for e in self._query(table, query, parameters))
        return sorted(events, key=lambda e: (_micros(e.at), e.event_id))

    # metrics -------------------------------------------------------------------------

    def append_metric(self, point: MetricPoint) -> None:
        tenant = check_tenant(point.tenant)
        entity = {
            "PartitionKey": _checked(f"{tenant}|{_key_part(point.key, 'metric key')}", "metric key"),
            "RowKey": _checked(f"{_inverted(point.at):019d}_{_key_part(point.run_id, 'run_id')}", "run_id"),
            "at": _iso(point.at),
            "value": float(point.value),
            **_doc_properties(point, f"metric point {point.key}"),
        }
        table = self._table("metrics")
        with azure_errors(f"writing metric {point.key} of tenant {tenant}"):
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def metric_history(self, tenant: str, key: str, limit: int = 50) -> list[MetricPoint]:
        """The last ``limit`` points of one metric, oldest first."""
        tenant = check_tenant(tenant)
        partition = _checked(f"{tenant}|{_key_part(key, 'metric key')}", "metric key")
        if limit <= 0:
            return []
        table = self._table("metrics")
        points: list[MetricPoint] = []
        with azure_errors(f"reading metric {key} of tenant {tenant}"):
            for entity in self._query(table, "PartitionKey eq @pk", {"pk": partition}, page=min(limit, _PAGE)):
                points.append(_record(entity, MetricPoint))
                if len(points) >= limit:
                    break
        return sorted(points, key=lambda p: (_micros(p.at), p.run_id))
