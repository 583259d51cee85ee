"""The action registry covers the authoring union exactly; dispatch runs fallbacks and never raises."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from adapters.local.folder_queue import LocalQueueSender
from dq_core.actions.dispatch import EXECUTORS, run_action
from dq_core.actions.notice import title
from dq_core.bundle.models import ResolvedAction
from dq_core.errors import ConfigError
from dq_core.libraries.actions import ActionSpec, QueueAction, WebhookAction
from tests.action_servers import RUN_ID, action_context, closed_port


def _union_members() -> list[Any]:
    union = typing.get_args(ActionSpec)[0]
    return list(typing.get_args(union))


def test_every_action_type_of_the_union_has_exactly_one_executor() -> None:
    types: dict[str, Any] = {}
    for model in _union_members():
        for literal in typing.get_args(model.model_fields["type"].annotation):
            assert literal not in types, literal
            types[literal] = model
    assert set(EXECUTORS) == set(types)
    for name, model in types.items():
        assert EXECUTORS[name].model is model, name
    assert len(types) >= 8  # webhook, teams, slack, email, openlineage, ticket, storage_export, queue


def _resolved(action: Any) -> ResolvedAction:
    return ResolvedAction(library="t@1.0.0", triggers=(action.trigger,), action=action)


def _unreachable(action_id: str, fallback: str | None = None) -> WebhookAction:
    return WebhookAction.model_validate(
        {
            "id": action_id,
            "type": "webhook",
            "url": f"http://127.0.0.1:{closed_port()}/hook",
            "max_attempts": 2,
            "backoff_seconds": 0.01,
            "fallback": fallback,
        }
    )


def test_a_failing_action_runs_its_fallback_and_records_both(tmp_path: Path) -> None:
    queue = QueueAction.model_validate({"id": "to_queue", "type": "queue", "queue": "dq-alerts"})
    hook = _unreachable("hook", fallback="to_queue")
    queues = LocalQueueSender(tmp_path / "queues")
    ctx = action_context(tmp_path, actions=(hook, queue), queues=queues)
    outcome = run_action(_resolved(hook), ctx)
    assert (outcome.action_id, outcome.type, outcome.status) == ("hook", "webhook", "fallback_delivered")
    assert outcome.attempts == 3  # two webhook attempts, one queue message
    assert outcome.detail.startswith("hook failed (gave up after 2 attempts: ConnectError")
    assert "fallback to_queue delivered (message " in outcome.detail
    (message,) = queues.messages("contoso", "dq-alerts")
    assert json.loads(message)["event_id"] == f"{RUN_ID}:to_queue"


def test_a_fallback_chain_that_fails_throughout_is_recorded_failed(tmp_path: Path) -> None:
    first, second = _unreachable("first", fallback="second"), _unreachable("second", fallback="third")
    third = QueueAction.model_validate({"id": "third", "type": "queue", "queue": "dq-alerts"})
    ctx = action_context(tmp_path, actions=(first, second, third))  # no queue port on this host
    outcome = run_action(_resolved(first), ctx)
    assert (outcome.action_id, outcome.status, outcome.attempts) == ("first", "failed", 4)
    parts = outcome.detail.split("; ")
    assert parts[0].startswith("first failed (gave up after 2 attempts")
    assert parts[1].startswith("fallback second failed (gave up after 2 attempts")
    assert parts[2].startswith("fallback third failed (config_invalid: a queue service")


def test_a_delivered_action_does_not_run_its_fallback(tmp_path: Path) -> None:
    queues = LocalQueueSender(tmp_path / "queues")
    primary = QueueAction.model_validate({"id": "primary", "type": "queue", "queue": "one", "fallback": "backup"})
    backup = QueueAction.model_validate({"id": "backup", "type": "queue", "queue": "two"})
    ctx = action_context(tmp_path, actions=(primary, backup), queues=queues)
    outcome = run_action(_resolved(primary), ctx)
    assert (outcome.status, outcome.attempts) == ("delivered", 1)
    assert len(queues.messages("contoso", "one")) == 1 and queues.messages("contoso", "two") == []


def test_a_disabled_action_is_skipped(tmp_path: Path) -> None:
    action = QueueAction.model_validate({"id": "q", "type": "queue", "queue": "one", "enabled": False})
    outcome = run_action(_resolved(action), action_context(tmp_path, actions=(action,)))
    assert (outcome.status, outcome.attempts, outcome.detail) == ("skipped", 0, "disabled")


def test_an_unexpected_exception_becomes_a_failed_outcome(tmp_path: Path) -> None:
    class Broken:
        def send(self, tenant: str, queue: str, message: str) -> str:
            raise RuntimeError("disk\nfull")

    action = QueueAction.model_validate({"id": "q", "type": "queue", "queue": "one"})
    outcome = run_action(_resolved(action), action_context(tmp_path, actions=(action,), queues=Broken()))
    assert (outcome.status, outcome.attempts, outcome.detail) == ("failed", 1, "RuntimeError: disk full")


def test_title_templates_name_their_unknown_fields(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    assert (
        title("[DQ] {verdict}: {contract} {dataset} ({environment})", ctx) == "[DQ] FAILED: customers customers (dev)"
    )
    with pytest.raises(ConfigError, match=r"\{owner\} is not one of"):
        title("{owner}", ctx)


def test_local_queue_refuses_names_that_leave_the_tenants_folder(tmp_path: Path) -> None:
    queues = LocalQueueSender(tmp_path)
    for tenant, queue in (("../x", "q"), ("contoso", "../q"), ("contoso", "")):
        with pytest.raises(ConfigError):
            queues.send(tenant, queue, "{}")


class FlakyQueue:
    """A QueueSender whose first ``failures`` sends raise ``error``."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.sent = failures, error, 0

    def send(self, tenant: str, queue: str, message: str) -> str:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.sent += 1
        return f"m{self.sent}"


def test_queue_and_export_retry_transient_errors_and_stop_at_a_refusal(tmp_path: Path) -> None:
    from dq_core.actions.queues import run_queue
    from dq_core.errors import TerminalError, TransientError

    action = QueueAction.model_validate({"id": "q", "type": "queue", "queue": "one", "max_attempts": 3})
    waits: list[float] = []
    busy = FlakyQueue(2, TransientError("queue service busy"))
    outcome = run_queue(action, action_context(tmp_path, queues=busy), sleep=waits.append)
    assert (outcome.status, outcome.attempts, outcome.detail) == ("delivered", 3, "message m1 on queue one")
    assert len(waits) == 2
    down = FlakyQueue(5, TransientError("queue service busy"))
    outcome = run_queue(action, action_context(tmp_path, queues=down), sleep=waits.append)
    assert (outcome.status, outcome.attempts) == ("failed", 3)
    assert outcome.detail == "gave up after 3 attempts: transient: queue service busy"
    refused = FlakyQueue(5, TerminalError("queue refused: 403"))
    outcome = run_queue(action, action_context(tmp_path, queues=refused), sleep=waits.append)
    assert (outcome.status, outcome.attempts, outcome.detail) == ("failed", 1, "refused: dq_error: queue refused: 403")
