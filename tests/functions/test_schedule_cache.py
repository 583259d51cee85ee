"""The timer does not read the registry every minute (triggers/schedule_cache.py).

The registered ``start_scheduled_runs`` is called with real ``TimerRequest`` objects, minute by
minute, with a real Durable client on the local extension, over the demo registry (SQLite)
wrapped in a store that counts every call. Before the cache, each tick listed the tenants and
read every tenant's job definitions: 60 ticks made 60 ``tenants`` calls and 60 reads per tenant.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from azure.functions.timer import TimerRequest

from adapters.local.sqlite_contracts import SqliteContractStore
from app.runtime import use_ports
from dq_core.config.base import Kind, ObjectKey, Status
from dq_core.jobs.matching import is_due
from dq_core.jobs.models import ScheduleTrigger
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.functions.conftest import call
from tests.registry_support import APPROVER, job, publish
from triggers import schedules
from triggers.schedule_cache import HORIZON, next_due

# customers_daily (tenant contoso): cron '0 6 * * 1-5' (UTC). 2026-11-25 is a Wednesday.
WEDNESDAY = datetime(2026, 11, 25, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class CountingRegistry:
    """The real registry; every read counted by (method, tenant)."""

    def __init__(self, inner: SqliteContractStore) -> None:
        self.inner = inner
        self.calls: Counter[tuple[str, str]] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in ("tenants", "list", "get", "versions", "record"):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[(name, "*" if name == "tenants" else str(args[0]))] += 1
            return attribute(*args, **kwargs)

        return counted


@pytest.fixture
def counting(ports: RunPorts, registry: SqliteContractStore) -> Iterator[CountingRegistry]:
    """Tenants contoso (a schedule), fabrikam (a manual job) and northwind (a blob-triggered job)."""
    publish(registry, job("adhoc", tenant="fabrikam"))
    publish(registry, job("drops", {"type": "blob", "path_pattern": "in/*.csv"}, tenant="northwind"))
    wrapped = CountingRegistry(registry)
    use_ports(dataclasses.replace(ports, contracts=wrapped))
    schedules.CACHE.clear()
    yield wrapped
    schedules.CACHE.clear()


def ticks(
    functions: dict[str, Any], client: Any, monkeypatch: pytest.MonkeyPatch, first: datetime, last: datetime
) -> None:
    """One on-time tick a minute, from ``first`` to ``last`` included (second 0 of each minute)."""
    moment = first
    while moment <= last:
        monkeypatch.setattr(schedules, "now", lambda at=moment: at)
        call(functions["start_scheduled_runs"].get_user_function().client_function(TimerRequest(), client))
        moment += MINUTE


def test_an_hour_of_ticks_reads_each_tenant_at_refreshes_and_due_minutes_only(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    counting: CountingRegistry,
) -> None:
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=31), WEDNESDAY.replace(hour=6, minute=30))
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
    # refreshes at 05:31, 05:41, 05:51, 06:01, 06:11, 06:21; contoso once more, at its due minute 06:00
    assert counting.calls[("tenants", "*")] == 6
    assert counting.calls[("list", "fabrikam")] == counting.calls[("list", "northwind")] == 6
    assert counting.calls[("list", "contoso")] == 7
    assert sum(counting.calls.values()) == 6 + 6 + 6 + 7  # was 60 + 3 x 60


def test_a_schedule_published_between_refreshes_starts_at_the_next_refresh(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    counting: CountingRegistry,
    registry: SqliteContractStore,
) -> None:
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=51), WEDNESDAY.replace(hour=5, minute=52))
    schedule = {"type": "schedule", "cron": "55 5 * * *", "input_uri": "in/f.csv"}
    publish(registry, job("morning", schedule, tenant="fabrikam"))  # after the 05:51 refresh
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=53), WEDNESDAY.replace(hour=6, minute=0))
    assert "fabrikam:morning:20261125T0555" not in extension.instance_ids()  # not seen yet
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=6, minute=1), WEDNESDAY.replace(hour=6, minute=1))
    assert "fabrikam:morning:20261125T0555" in extension.instance_ids()  # the refresh caught its minute up
    # and tomorrow it starts on time, from the cache
    ticks(
        functions,
        client,
        monkeypatch,
        WEDNESDAY + timedelta(days=1, hours=5, minutes=50),
        WEDNESDAY + timedelta(days=1, hours=5, minutes=55),
    )
    assert "fabrikam:morning:20261126T0555" in extension.instance_ids()


def test_a_job_deprecated_before_its_due_minute_does_not_start(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    counting: CountingRegistry,
    registry: SqliteContractStore,
) -> None:
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=51), WEDNESDAY.replace(hour=5, minute=55))
    key = ObjectKey(kind=Kind.JOB_DEFINITION, id="customers_daily", version="1.0.0")
    registry.transition("contoso", "dev", key, Status.DEPRECATED, actor=APPROVER)
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=56), WEDNESDAY.replace(hour=6, minute=0))
    assert extension.instance_ids() == []  # read again at its due minute: no longer published


def test_a_past_due_tick_still_catches_up_through_the_cache(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    counting: CountingRegistry,
) -> None:
    ticks(functions, client, monkeypatch, WEDNESDAY.replace(hour=5, minute=55), WEDNESDAY.replace(hour=5, minute=58))
    late = TimerRequest(past_due=True, schedule_status={"Last": "2026-11-25T05:58:00+00:00"})
    monkeypatch.setattr(schedules, "now", lambda: WEDNESDAY.replace(hour=6, minute=3))
    call(functions["start_scheduled_runs"].get_user_function().client_function(late, client))
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]


# --- next_due against the brute force of is_due, across DST changes ------------------------------

ZONES_AND_CHANGES = [
    ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),  # 02:00 -> 03:00
    ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),  # 03:00 -> 02:00: 02:xx twice
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),  # a half-hour change
    ("UTC", datetime(2026, 11, 25, tzinfo=UTC)),
]
CRONS = ["30 2 * * *", "0 6 * * 1-5", "*/20 * * * *", "15 1,2 * * 0", "0 0 1 * *"]


def _due_minutes(trigger: ScheduleTrigger, start: datetime, end: datetime) -> list[datetime]:
    minutes, moment = [], start
    while moment <= end:
        if is_due(trigger, moment):
            minutes.append(moment)
        moment += MINUTE
    return minutes


@pytest.mark.parametrize(("timezone", "change"), ZONES_AND_CHANGES)
def test_next_due_is_never_later_than_the_first_due_minute_and_exact_between_offset_changes(
    timezone: str, change: datetime
) -> None:
    window_start, window_end = change - timedelta(hours=30), change + timedelta(hours=30)
    tz = ZoneInfo(timezone)

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(tz).utcoffset()

    for cron in CRONS:
        trigger = ScheduleTrigger(type="schedule", cron=cron, timezone=timezone, input_uri="in/x.csv")
        due = _due_minutes(trigger, window_start, window_end)
        start = window_start
        while start < change + timedelta(hours=6):
            index = bisect_left(due, start)
            first = due[index] if index < len(due) else None
            found = next_due(trigger, start)
            assert start <= found <= start + HORIZON, (cron, start, found)
            if first is not None:
                assert found <= first, (cron, timezone, start, found, first)
                if first - start <= HORIZON and offset(start) == offset(first) and not start < change <= first:
                    assert found == first, (cron, timezone, start, found, first)
            start += timedelta(minutes=13)
        # following the looks from one to the next visits every due minute, and little else
        looks, moment = [], window_start
        while moment < window_end - HORIZON:
            moment = next_due(trigger, moment)
            looks.append(moment)
            moment += MINUTE
        seen = set(looks)
        assert all(m in seen for m in due if m < looks[-1]), (cron, timezone)
        assert len(looks) <= len([m for m in due if m <= looks[-1]]) + 3, (cron, timezone, len(looks))
