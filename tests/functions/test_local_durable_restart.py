"""The local task hub outlives its process: histories journaled per episode, instances in SQLite.

A host that dies leaves its journal as it was after the last episode; a new driver over that
journal keeps what completed and dispatches again only what was in flight (activities,
sub-orchestrations, retry timers), as the Durable Task framework does. The extension keeps
every instance across restarts (status, output, the 409 of an existing id) and continues the
ones that were running through its ``on_restart`` activities.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import ActivityName, Envelope, InputRef, RunRequest
from local_host.durable import History, ReplayDriver
from local_host.extension import Instance, InstanceIndex, LocalDurableExtension
from local_host.runs import interrupting
from services.starting import start_run
from tests.functions.conftest import call

SLOW = "slow"
REQUEST = RunRequest(
    tenant="t",
    environment="dev",
    job_id="j",
    inputs=(InputRef(uri="landing/x.csv", etag="e"),),
    ingestion_mode=IngestionMode.HTTP,
)


class MemoryJournal:
    def __init__(self, saved: dict[str, History] | None = None) -> None:
        self.saved: dict[str, History] = saved or {}
        self.changed = threading.Condition()

    def save(self, instance_id: str, history: History) -> None:
        with self.changed:
            self.saved[instance_id] = copy.deepcopy(history)
            self.changed.notify_all()

    def load(self, instance_id: str) -> History | None:
        return copy.deepcopy(self.saved.get(instance_id))


def pipeline(context: df.DurableOrchestrationContext) -> Any:
    """first, then three ``slow`` at once, then a sub-orchestration, then last."""
    first = yield context.call_activity("first", context.get_input())
    fanned = yield context.task_all([context.call_activity(SLOW, f"{first}-{i}") for i in range(3)])
    sub = yield context.call_sub_orchestrator("child", fanned, instance_id=f"{context.instance_id}:0")
    last = yield context.call_activity("last", sub)
    return {"fanned": fanned, "last": last}


def child(context: df.DurableOrchestrationContext) -> Any:
    values = context.get_input()
    joined = yield context.call_activity("join", values)
    return joined


ORCHESTRATORS = {"pipeline": pipeline, "child": child}


class Activities:
    """The activities, counted; ``slow`` waits for ``release`` (the host 'dies' while it waits)."""

    def __init__(self, *, blocking: bool) -> None:
        self.calls: Counter[str] = Counter()
        self.release = threading.Event()
        self.blocking = blocking

    def __call__(self, name: str, payload: str) -> Any:
        self.calls[name] += 1
        value = json.loads(payload)
        if name == SLOW and self.blocking:
            assert self.release.wait(30)
        return {"first": f"<{value}>", SLOW: f"{value}!", "join": "+".join(value or []), "last": f"[{value}]"}[name]


def in_flight(history: History) -> list[str]:
    answered = {e.get("TaskScheduledId") for e in history if e["EventType"] in (5, 6)}  # TaskCompleted / TaskFailed
    return [e["Name"] for e in history if e["EventType"] == 4 and e["EventId"] not in answered]  # TaskScheduled


def test_a_driver_continues_a_journaled_history_and_redoes_only_what_was_in_flight() -> None:
    straight = ReplayDriver(ORCHESTRATORS, Activities(blocking=False)).run("pipeline", "x", "t:j:straight")
    assert not straight.failed
    expected = {"fanned": ["<x>-0!", "<x>-1!", "<x>-2!"], "last": "[<x>-0!+<x>-1!+<x>-2!]"}
    assert straight.output == expected

    journal, dying = MemoryJournal(), Activities(blocking=True)
    host = threading.Thread(
        target=ReplayDriver(ORCHESTRATORS, dying, journal=journal).run, args=("pipeline", "x", "t:j:1")
    )
    host.start()
    try:
        with journal.changed:  # the host 'dies' while the three slow activities are in flight
            assert journal.changed.wait_for(lambda: in_flight(journal.saved.get("t:j:1", [])) == [SLOW] * 3, 30)
            left_behind = MemoryJournal(copy.deepcopy(journal.saved))
    finally:
        dying.release.set()
        host.join(30)

    again = Activities(blocking=False)
    resumed = ReplayDriver(ORCHESTRATORS, again, journal=left_behind).run("pipeline", "x", "t:j:1")
    assert not resumed.failed and resumed.output == expected
    assert again.calls == Counter({SLOW: 3, "join": 1, "last": 1})  # 'first' completed before: not redone
    assert dying.calls["first"] == 1


def test_an_interrupted_run_job_activity_answers_a_terminal_error_with_its_stage() -> None:
    called: list[str] = []
    answer = interrupting(lambda name, payload: called.append(name) or {"value": {}})
    refused = Envelope.model_validate(answer(ActivityName.VALIDATE_CHUNK.value, "{}"))
    assert refused.error is not None and refused.error.code == "interrupted"
    assert refused.error.message == "interrupted: dq serve stopped while the run was in stage validate"
    action = Envelope.model_validate(answer(ActivityName.RUN_ACTION.value, "{}"))
    assert action.error is not None and "actions were not run" in action.error.message
    assert answer(ActivityName.BUILD_RESULT.value, "{}") == {"value": {}}
    assert answer(ActivityName.FINALISE_RUN.value, "{}") == {"value": {}}
    assert called == ["build_result", "finalise_run"]  # only the verdict and the close run


# --- the extension across restarts --------------------------------------------------------------


def waits(context: df.DurableOrchestrationContext) -> Any:
    context.set_custom_status({"stage": "waiting"})
    value = yield context.call_activity(SLOW, context.get_input())
    return {"value": value}


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"


def test_instances_and_their_409_survive_a_restart(home: Path) -> None:
    activities = Activities(blocking=False)
    with LocalDurableExtension({"waits": waits}, activities, home=home) as first:
        assert first.start_instance("waits", "t:j:done", "a")[0] == 202
        assert first.wait("t:j:done", timeout=30).output == {"value": "a!"}
    assert (home / "durable" / "dqlocal.db").is_file()

    with LocalDurableExtension({"waits": waits}, activities, home=home) as second:
        code, body = second.status("t:j:done", show_input=True)
        assert code == 200 and body is not None
        assert (body["runtimeStatus"], body["output"], body["input"]) == ("Completed", {"value": "a!"}, "a")
        client = df.DurableOrchestrationClient(second.client_binding())
        refused = call(start_run(client, "t:j:done", REQUEST))  # the one starter every entry point uses
        assert (refused.started, refused.reason) == (False, "already started (Completed)")
        assert second.instance_ids() == ["t:j:done"]
    assert activities.calls[SLOW] == 1


def test_an_instance_running_when_its_host_died_is_continued_through_on_restart(home: Path) -> None:
    index = InstanceIndex(home / "durable" / "dqlocal.db")
    index.put(Instance(instance_id="t:j:killed", name="waits", input="k", runtime_status="Running"))
    index.close()  # what a killed host leaves: Running, and no history (it died before the first episode)

    activities, restarted = Activities(blocking=False), []

    def on_restart(activity: Any) -> Any:
        def answer(name: str, payload: str) -> Any:
            restarted.append(name)
            return "stopped"

        return answer

    with LocalDurableExtension({"waits": waits}, activities, home=home, on_restart=on_restart) as extension:
        done = extension.wait("t:j:killed", timeout=30)
        assert (done.runtime_status, done.output) == ("Completed", {"value": "stopped"})
        assert restarted == [SLOW] and activities.calls[SLOW] == 0
        client = df.DurableOrchestrationClient(extension.client_binding())
        assert not call(start_run(client, "t:j:killed", REQUEST)).started
        assert extension.start_instance("waits", "t:j:new", "n")[0] == 202  # a new instance runs normally
        assert extension.wait("t:j:new", timeout=30).output == {"value": "n!"}
    reopened = InstanceIndex(home / "durable" / "dqlocal.db")
    try:
        assert {i.instance_id: i.runtime_status for i in reopened.instances()} == {
            "t:j:killed": "Completed",
            "t:j:new": "Completed",
        }
        assert reopened.load("t:j:killed") is None and reopened.load("t:j:new") is None  # done: no history kept
    finally:
        reopened.close()
