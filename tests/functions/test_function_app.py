"""The Functions app indexes every entry point, orchestrator and activity with the bindings the host reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dq_core.runs.payloads import ActivityName, OrchestratorName
from tests.conftest import ROOT

ENTRY_POINTS = {"api", "on_blob_created", "start_scheduled_runs", "apply_retention"}


def bindings(functions: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    found = json.loads(functions[name].get_function_json())["bindings"]
    by_type = {binding["type"]: binding for binding in found}
    assert len(by_type) == len(found), f"{name}: two bindings of one type"
    return by_type


def test_every_function_is_registered_once(functions: dict[str, Any]) -> None:
    expected = ENTRY_POINTS | {o.value for o in OrchestratorName} | {a.value for a in ActivityName}
    assert set(functions) == expected


def test_blob_events_arrive_through_event_grid(functions: dict[str, Any]) -> None:
    found = bindings(functions, "on_blob_created")
    assert set(found) == {"eventGridTrigger", "durableClient"}
    assert found["eventGridTrigger"]["name"] == "event"
    assert found["durableClient"]["name"] == "client"


def test_the_event_grid_subscription_names_the_event_grid_function(functions: dict[str, Any]) -> None:
    from tests.unit.test_bicep import module_file, section

    name = section(module_file("eventgrid-subscription"), "parameters")["eventGridFunctionName"]["default"]
    assert "eventGridTrigger" in bindings(functions, name)


def test_the_timer_ticks_every_minute(functions: dict[str, Any]) -> None:
    found = bindings(functions, "start_scheduled_runs")
    assert set(found) == {"timerTrigger", "durableClient"}
    timer = found["timerTrigger"]
    assert timer["schedule"] == "0 * * * * *"  # NCRONTAB: six fields, second 0 of every minute
    assert timer["runOnStartup"] is False
    assert timer["useMonitor"] is True


def test_the_retention_timer_runs_on_the_schedule_of_its_setting(functions: dict[str, Any]) -> None:
    from app.settings import AppSettings
    from tests.unit.test_bicep import app_settings

    found = bindings(functions, "apply_retention")
    assert set(found) == {"timerTrigger"}  # no Durable client: it starts no orchestration
    timer = found["timerTrigger"]
    assert timer["schedule"] == "%DQ_RETENTION_SCHEDULE%"  # the host resolves the app setting
    assert (timer["runOnStartup"], timer["useMonitor"]) == (False, True)
    daily = AppSettings.model_fields["retention_schedule"].default
    assert daily == "0 0 3 * * *"  # NCRONTAB: 03:00 UTC every day
    assert app_settings()["DQ_RETENTION_SCHEDULE"] == daily
    sample = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert sample["DQ_RETENTION_SCHEDULE"] == daily  # func start indexes it too


@pytest.mark.parametrize("name", [o.value for o in OrchestratorName])
def test_each_orchestrator_has_an_orchestration_trigger(functions: dict[str, Any], name: str) -> None:
    trigger = bindings(functions, name)["orchestrationTrigger"]
    assert (trigger["name"], trigger["direction"]) == ("context", "IN")
    assert callable(functions[name].get_user_function().orchestrator_function)


@pytest.mark.parametrize("name", [a.value for a in ActivityName])
def test_each_activity_has_an_activity_trigger(functions: dict[str, Any], name: str) -> None:
    found = bindings(functions, name)
    assert set(found) == {"activityTrigger"}
    assert found["activityTrigger"]["name"] == "payload"


def test_host_json_never_replaces_a_running_instance() -> None:
    # start_run checks the status first; the task hub settles two callers racing past that check
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["extensions"]["durableTask"]["overridableExistingInstanceStates"] == "NonRunningStates"
