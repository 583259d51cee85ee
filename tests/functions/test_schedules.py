"""The timer trigger, called with real ``TimerRequest`` objects at chosen moments."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest  # the worker's concrete class (func.TimerRequest is abstract)

from dq_core.ports import ContractStore
from local_host.extension import LocalDurableExtension
from tests.functions.conftest import call, started
from tests.registry_support import job, publish
from triggers import schedules

# customers_daily: cron '0 6 * * 1-5' (UTC), input landing/crm/customers_latest.csv
WEDNESDAY_0600 = datetime(2026, 11, 25, 6, 0, 0, 140_000, tzinfo=UTC)


def tick(
    functions: dict[str, Any],
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    at: datetime,
    timer: func.TimerRequest | None = None,
) -> None:
    monkeypatch.setattr(schedules, "now", lambda: at)
    call(functions["start_scheduled_runs"].get_user_function().client_function(timer or TimerRequest(), client))


def test_a_due_schedule_starts_its_job_on_its_input(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    tick(functions, client, monkeypatch, WEDNESDAY_0600)
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
    request = started(extension, "contoso:customers_daily:20261125T0600")
    assert request["ingestion_mode"] == "timer"
    assert (request["tenant"], request["environment"], request["job_version"]) == ("contoso", "dev", "1.0.0")
    assert request["inputs"] == [{"uri": "landing/crm/customers_latest.csv", "etag": None}]
    assert request["trigger"] == {
        "type": "schedule",
        "cron": "0 6 * * 1-5",
        "timezone": "UTC",
        "slot": "2026-11-25T06:00:00+00:00",
    }


def test_a_second_tick_in_the_same_minute_starts_nothing(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tick(functions, client, monkeypatch, WEDNESDAY_0600)
    extension.wait("contoso:customers_daily:20261125T0600")
    schedules.CACHE.clear()  # a restarted host, or a second instance: it knows nothing of the first tick
    with caplog.at_level(logging.INFO, logger="dq"):
        tick(functions, client, monkeypatch, WEDNESDAY_0600.replace(second=40))
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
    assert "contoso:customers_daily:20261125T0600: already started (Completed)" in caplog.text


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 25, 6, 1, tzinfo=UTC),  # a minute late
        datetime(2026, 11, 25, 5, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 28, 6, 0, tzinfo=UTC),  # Saturday
    ],
)
def test_nothing_starts_outside_the_schedule(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    at: datetime,
) -> None:
    tick(functions, client, monkeypatch, at)
    assert extension.instance_ids() == []


def test_schedules_are_read_in_their_time_zone_for_every_tenant(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    registry: ContractStore,
) -> None:
    berlin = {"type": "schedule", "cron": "30 8 * * *", "timezone": "Europe/Berlin", "input_uri": "landing/b.csv"}
    publish(registry, job("berlin_morning", berlin))
    publish(registry, job("fabrikam_morning", {**berlin, "input_uri": "in/f.csv"}, tenant="fabrikam"))
    tick(functions, client, monkeypatch, datetime(2026, 11, 25, 7, 30, tzinfo=UTC))  # 08:30 CET
    assert sorted(extension.instance_ids()) == [
        "contoso:berlin_morning:20261125T0730",
        "fabrikam:fabrikam_morning:20261125T0730",
    ]
    assert started(extension, "fabrikam:fabrikam_morning:20261125T0730")["inputs"][0]["uri"] == "in/f.csv"
    tick(functions, client, monkeypatch, datetime(2026, 7, 1, 6, 30, tzinfo=UTC))  # 08:30 CEST, a Wednesday
    assert "contoso:berlin_morning:20260701T0630" in extension.instance_ids()


def test_a_broken_schedule_never_stops_the_others(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    registry: ContractStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mars = {"type": "schedule", "cron": "0 6 * * *", "timezone": "Mars/Olympus", "input_uri": "landing/m.csv"}
    publish(registry, job("on_mars", mars))
    with caplog.at_level(logging.ERROR, logger="dq"):
        tick(functions, client, monkeypatch, WEDNESDAY_0600)
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
    assert "job on_mars@1.0.0: schedule '0 6 * * *': time zone 'Mars/Olympus' is unknown" in caplog.text


def test_a_past_due_tick_catches_up_the_minutes_it_missed(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = TimerRequest(past_due=True, schedule_status={"Last": "2026-11-25T05:58:00.1234567+00:00"})
    tick(functions, client, monkeypatch, datetime(2026, 11, 25, 6, 3, 12, tzinfo=UTC), late)
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
    on_time = TimerRequest(past_due=False, schedule_status={"Last": "2026-11-25T05:58:00+00:00"})
    tick(functions, client, monkeypatch, datetime(2026, 11, 26, 6, 3, tzinfo=UTC), on_time)  # on time: no catch-up
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]
