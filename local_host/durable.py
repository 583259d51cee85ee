"""An in-process host for Durable orchestrators: the replay driver behind ``dq run`` and the tests.

It does what the Durable Task framework does, on one machine: it keeps the
orchestration's history (OrchestratorStarted, ExecutionStarted, TaskScheduled,
TaskCompleted / TaskFailed, TimerFired, sub-orchestration events), replays the
orchestrator generator over it with the SDK's own executor
(``Orchestrator(fn).handle(context)``), runs the activities the replay asks for on a
thread pool (or hands them to an :class:`ActivityPool`: the worker processes of ``dq run``,
:mod:`local_host.workers`), appends their outcomes as a new episode, and repeats until the
orchestration is done. Retries, ``task_all`` / ``task_any``, custom status and
``new_uuid`` therefore behave as in Azure, and replaying the same history gives the
same actions.

With a :class:`Journal` the driver saves each (sub-)orchestration's history after every
episode, and :meth:`ReplayDriver.run` continues an instance whose history the journal
holds: what completed stays completed, and what was in flight when the host stopped
(activities, sub-orchestrations, timers) is dispatched again — at least once, as the
Durable Task framework does after a worker dies.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from azure.durable_functions import Orchestrator
from azure.durable_functions.constants import DATETIME_STRING_FORMAT
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as Ev

Activity = Callable[[str, str], Any]  # (activity name, JSON input) -> JSON-able result
StatusHook = Callable[[str, Any], None]  # (instance id, custom status)
History = list[dict[str, Any]]

_OUTCOMES: Final = frozenset(
    {Ev.TASK_COMPLETED, Ev.TASK_FAILED, Ev.SUB_ORCHESTRATION_INSTANCE_COMPLETED, Ev.SUB_ORCHESTRATION_INSTANCE_FAILED}
)


class Journal(Protocol):
    """Where the driver keeps the history of each (sub-)orchestration instance while it runs."""

    def save(self, instance_id: str, history: History) -> None: ...

    def load(self, instance_id: str) -> History | None: ...


class ActivityPool(Protocol):
    """Where activities run when not on the driver's threads: ``submit`` answers a future of the JSON result."""

    def submit(self, name: str, payload: str) -> Future[str]: ...


class OrchestrationStuck(RuntimeError):
    """The orchestrator waits for something this host cannot deliver (an external event)."""


@dataclass
class Outcome:
    instance_id: str
    output: Any = None
    failed: bool = False
    error: str | None = None
    custom_status: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    actions: list[list[dict[str, Any]]] = field(default_factory=list)  # what the last replay asked for


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_STRING_FORMAT)


def _only(actions: Any) -> Any:
    return actions[0] if isinstance(actions, list) else actions


def replay(
    fn: Callable[..., Any], history: list[dict[str, Any]], instance_id: str, input_json: str
) -> tuple[DurableOrchestrationContext, dict[str, Any] | None, str | None]:
    """Run the orchestrator once over ``history``: its context, its state, or the error it raised."""
    context = DurableOrchestrationContext(
        history=history, instanceId=instance_id, isReplaying=False, parentInstanceId=None, input=input_json
    )
    try:
        return context, json.loads(Orchestrator(fn).handle(context)), None
    except Exception as exc:  # noqa: BLE001 - the SDK raises the orchestrator's own failure
        return context, None, str(exc)


class ReplayDriver:
    def __init__(
        self,
        orchestrators: Mapping[str, Callable[..., Any]],
        activity: Activity,
        *,
        workers: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        on_status: StatusHook | None = None,
        journal: Journal | None = None,
        pool: ActivityPool | None = None,
    ) -> None:
        """``workers`` threads run the activities (and sub-orchestrations); with ``pool`` the
        activities go to it instead and the threads only drive sub-orchestrations."""
        self._orchestrators = orchestrators
        self._pool = pool
        self._journal = journal
        self._activity = activity
        self._workers = workers
        self._clock = clock
        self._sleep = sleep
        self._on_status = on_status
        self._sequence = 0
        self._lock = threading.Lock()

    def _event(self, kind: Ev, moment: datetime, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self._sequence += 1
            number = self._sequence
        return {"EventType": int(kind), "EventId": fields.pop("EventId", number), "IsPlayed": False,
                "Timestamp": _stamp(moment), **fields}  # fmt: skip

    def run(self, name: str, input_: Any, instance_id: str) -> Outcome:
        """Drive one orchestration to its end (from where its journaled history stopped, if any)."""
        pool = ThreadPoolExecutor(self._workers, thread_name_prefix="dq-activity")
        try:
            outcome = self._drive(name, input_, instance_id, pool)
        except BaseException:
            # With worker processes, whoever stops the run (Ctrl-C, an error) closes their pool,
            # which answers every activity future: waiting here first would wait for that forever.
            pool.shutdown(wait=self._pool is None, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return outcome

    def _call_activity(self, name: str, input_json: str) -> str:
        return json.dumps(self._activity(name, input_json))

    def _submit_activity(self, pool: ThreadPoolExecutor, name: str, input_json: str) -> Future[str]:
        if self._pool is not None:
            return self._pool.submit(name, input_json)
        return pool.submit(self._call_activity, name, input_json)

    def _call_orchestrator(self, name: str, input_json: str, instance_id: str) -> str:
        outcome = self.run(name, json.loads(input_json), instance_id)
        if outcome.failed:
            raise RuntimeError(outcome.error or "sub-orchestration failed")
        return json.dumps(outcome.output)

    def _drive(self, name: str, input_: Any, instance_id: str, pool: ThreadPoolExecutor) -> Outcome:
        fn = self._orchestrators[name]
        input_json = json.dumps(input_)
        running: dict[Future[str], tuple[int, str]] = {}  # future -> (task id, kind)
        timers: dict[int, datetime] = {}
        seen: set[int] = set()
        history = self._journal.load(instance_id) if self._journal is not None else None
        if history is None:
            now = self._clock()
            history = [
                self._event(Ev.ORCHESTRATOR_STARTED, now),
                self._event(Ev.EXECUTION_STARTED, now, Name=name, Version="", Input=input_json),
            ]
        else:
            self._redispatch(history, running, timers, seen, pool)
        collect = bool(running or timers)  # a resumed episode waits for what was in flight first
        while True:
            if collect:
                episode = next(e for e in reversed(history) if e["EventType"] == Ev.ORCHESTRATOR_STARTED)
                self._collect(history, running, timers)
                episode["Timestamp"] = _stamp(self._clock())  # the episode starts when its outcomes are in
                self._save(instance_id, history)
            context, state, error = replay(fn, history, instance_id, input_json)
            if error is not None:
                return Outcome(instance_id, failed=True, error=error, history=history)
            assert state is not None  # noqa: S101 - replay returns one or the other
            if self._on_status is not None and state.get("customStatus") is not None:
                self._on_status(instance_id, state["customStatus"])
            if state.get("isDone"):
                return Outcome(
                    instance_id,
                    output=state.get("output"),
                    custom_status=state.get("customStatus"),
                    history=history,
                    actions=state.get("actions", []),
                )
            now = self._clock()
            for task_id, task in list(context.open_tasks.items()):
                if task_id in seen:
                    continue
                seen.add(task_id)
                self._schedule(task_id, task, now, history, running, timers, pool)
            if not running and not timers:
                raise OrchestrationStuck(f"{instance_id}: waiting for an event this host cannot deliver")
            history.append(self._event(Ev.ORCHESTRATOR_COMPLETED, now))
            history.append(self._event(Ev.ORCHESTRATOR_STARTED, now))  # the SDK reads it as the episode boundary
            self._save(instance_id, history)
            collect = True

    def _save(self, instance_id: str, history: History) -> None:
        if self._journal is not None:
            self._journal.save(instance_id, history)

    def _redispatch(
        self,
        history: History,
        running: dict[Future[str], tuple[int, str]],
        timers: dict[int, datetime],
        seen: set[int],
        pool: ThreadPoolExecutor,
    ) -> None:
        """Dispatch again what a journaled history scheduled and never got the outcome of."""
        with self._lock:
            self._sequence = max([self._sequence, *(int(e["EventId"]) for e in history)])
        answered = {e.get("TaskScheduledId") for e in history if e["EventType"] in _OUTCOMES}
        fired = {e.get("TimerId") for e in history if e["EventType"] == Ev.TIMER_FIRED}
        for event in history:
            kind, task_id = Ev(event["EventType"]), int(event["EventId"])
            if kind is Ev.TASK_SCHEDULED and task_id not in answered:
                running[self._submit_activity(pool, event["Name"], event["Input"])] = (task_id, "activity")
            elif kind is Ev.SUB_ORCHESTRATION_INSTANCE_CREATED and task_id not in answered:
                future = pool.submit(self._call_orchestrator, event["Name"], event["Input"], event["InstanceId"])
                running[future] = (task_id, "orchestration")
            elif kind is Ev.TIMER_CREATED and task_id not in fired:
                timers[task_id] = datetime.strptime(event["FireAt"], DATETIME_STRING_FORMAT).replace(tzinfo=UTC)
            else:
                continue
            seen.add(task_id)

    def _schedule(
        self,
        task_id: int,
        task: Any,
        now: datetime,
        history: list[dict[str, Any]],
        running: dict[Future[str], tuple[int, str]],
        timers: dict[int, datetime],
        pool: ThreadPoolExecutor,
    ) -> None:
        action = _only(task.action_repr)
        parent = getattr(task, "parent", None)
        if isinstance(action, NoOpAction):
            if parent is not None and getattr(parent, "is_waiting_on_timer", False):  # a retry's back-off
                options = parent.retry_options
                delay_ms = options.first_retry_interval_in_milliseconds * (
                    getattr(options, "backoff_coefficient", 1) or 1
                ) ** (parent.num_attempts - 1)
                timers[task_id] = now + timedelta(milliseconds=delay_ms)
                history.append(self._event(Ev.TIMER_CREATED, now, EventId=task_id, FireAt=_stamp(timers[task_id])))
                return
            assert parent is not None  # noqa: S101 - a NoOp task belongs to a retry
            action = _only(parent.actions)  # a retry's next attempt: the original call
        fire_at = getattr(action, "fire_at", None)
        if fire_at is not None:
            timers[task_id] = fire_at
            history.append(self._event(Ev.TIMER_CREATED, now, EventId=task_id, FireAt=_stamp(fire_at)))
        elif hasattr(action, "instance_id") and hasattr(action, "_input"):
            history.append(self._event(Ev.SUB_ORCHESTRATION_INSTANCE_CREATED, now, EventId=task_id,
                                       Name=action.function_name, InstanceId=action.instance_id,
                                       Input=action._input))  # fmt: skip
            future = pool.submit(self._call_orchestrator, action.function_name, action._input, action.instance_id)
            running[future] = (task_id, "orchestration")
        else:
            history.append(self._event(Ev.TASK_SCHEDULED, now, EventId=task_id, Name=action.function_name,
                                       Input=action.input_))  # fmt: skip
            running[self._submit_activity(pool, action.function_name, action.input_)] = (task_id, "activity")

    def _collect(
        self, history: list[dict[str, Any]], running: dict[Future[str], tuple[int, str]], timers: dict[int, datetime]
    ) -> None:
        """Wait for the next outcome (an activity, a sub-orchestration or a due timer) and record it."""
        due = min(timers.values()) if timers else None
        timeout = None if due is None else max(0.0, (due - self._clock()).total_seconds())
        if running and (timeout is None or timeout > 0):
            done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            done = set()
        if not done and due is not None:
            wait_for = (due - self._clock()).total_seconds()
            if wait_for > 0:
                self._sleep(wait_for)
        now = self._clock()
        for future in done:
            task_id, kind = running.pop(future)
            sub = kind == "orchestration"
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a failed task is an event, not a crash
                event = Ev.SUB_ORCHESTRATION_INSTANCE_FAILED if sub else Ev.TASK_FAILED
                details = getattr(exc, "details", None) or type(exc).__name__  # a worker's: what it raised
                history.append(self._event(event, now, TaskScheduledId=task_id, Reason=str(exc),
                                           Details=details))  # fmt: skip
                continue
            event = Ev.SUB_ORCHESTRATION_INSTANCE_COMPLETED if sub else Ev.TASK_COMPLETED
            history.append(self._event(event, now, TaskScheduledId=task_id, Result=result))
        for task_id, fire_at in sorted(timers.items(), key=lambda item: item[1]):
            if fire_at <= now:
                del timers[task_id]
                history.append(self._event(Ev.TIMER_FIRED, now, TimerId=task_id, FireAt=_stamp(fire_at)))
