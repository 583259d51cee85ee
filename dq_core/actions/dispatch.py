"""Run one action of a run: look up its executor by type, run its fallback when it fails, and
never let it change the verdict or raise.

``EXECUTORS`` maps every action type of the authoring union
(:data:`dq_core.libraries.actions.ActionSpec`) to the executor that delivers it; it is
filled here, explicitly (no registration by import side effect). An executor returns an
:class:`ActionOutcome`; whatever it raises (a missing secret, a port this host lacks,
a bug) becomes a ``failed`` outcome with a one-line detail.

Fallback: when an action fails and names a ``fallback`` (another action of the bundle),
the fallback runs (and its own fallback, if it fails too; the library refuses cycles).
The recorded outcome is the first action's, with status ``fallback_delivered`` when a
fallback delivered or ``failed`` when none did, the attempts of every action added up,
and a detail that names each action and what happened to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dq_core.actions.chat import run_chat
from dq_core.actions.context import ActionContext
from dq_core.actions.export import run_export
from dq_core.actions.lineage_events import run_openlineage
from dq_core.actions.mail import run_email
from dq_core.actions.queues import run_queue
from dq_core.actions.tickets import run_ticket
from dq_core.actions.webhook import run_webhook
from dq_core.bundle.models import ResolvedAction, ResolvedBundle
from dq_core.errors import ConfigError, DQError
from dq_core.libraries.actions import (
    ActionCommon,
    ChatAction,
    EmailAction,
    OpenLineageAction,
    QueueAction,
    StorageExportAction,
    TicketAction,
    WebhookAction,
)
from dq_core.results.run import ActionOutcome

__all__ = ["EXECUTORS", "ActionContext", "Executor", "find_action", "run_action"]

A = TypeVar("A", bound=ActionCommon)


@dataclass(frozen=True)
class Executor(Generic[A]):
    """The executor of one action model."""

    model: type[A]
    deliver: Callable[[A, ActionContext], ActionOutcome]

    def __call__(self, action: ActionCommon, ctx: ActionContext) -> ActionOutcome:
        if not isinstance(action, self.model):
            raise ConfigError(f"action {action.id!r} is not a {self.model.__name__}")
        return self.deliver(action, ctx)


EXECUTORS: dict[str, Executor[Any]] = {
    "webhook": Executor(WebhookAction, run_webhook),
    "teams": Executor(ChatAction, run_chat),
    "slack": Executor(ChatAction, run_chat),
    "email": Executor(EmailAction, run_email),
    "openlineage": Executor(OpenLineageAction, run_openlineage),
    "ticket": Executor(TicketAction, run_ticket),
    "storage_export": Executor(StorageExportAction, run_export),
    "queue": Executor(QueueAction, run_queue),
}


def find_action(bundle: ResolvedBundle, action_id: str) -> ResolvedAction:
    for resolved in bundle.actions:
        if resolved.action.id == action_id:
            return resolved
    raise ConfigError(f"action {action_id!r} is not in the bundle's action libraries")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, DQError):
        return exc.one_line()
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def _execute(action: ActionCommon, ctx: ActionContext) -> ActionOutcome:
    action_type = str(getattr(action, "type", "unknown"))
    if not action.enabled:
        return ctx.outcome(action.id, action_type, "skipped", 0, "disabled")
    executor = EXECUTORS.get(action_type)
    if executor is None:
        return ctx.outcome(action.id, action_type, "skipped", 0, f"no executor for {action_type} actions")
    try:
        return executor(action, ctx)
    except DQError as exc:  # configuration (a missing secret or port): nothing was sent
        return ctx.outcome(action.id, action_type, "failed", 0, _one_line(exc))
    except Exception as exc:  # noqa: BLE001 - an action never loses the run's result
        return ctx.outcome(action.id, action_type, "failed", 1, _one_line(exc))


def run_action(resolved: ResolvedAction, ctx: ActionContext) -> ActionOutcome:
    """The outcome of one action and, when it fails, of its fallback chain (see module doc)."""
    action = resolved.action
    first = _execute(action, ctx)
    if first.status != "failed" or action.fallback is None:
        return first
    attempts, notes = first.attempts, [f"{action.id} failed ({first.detail})"]
    current: ActionCommon = action
    while current.fallback is not None:
        try:
            current = find_action(ctx.bundle, current.fallback).action
        except ConfigError as exc:
            notes.append(f"fallback {current.fallback}: {exc.message}")
            break
        outcome = _execute(current, ctx)
        attempts += outcome.attempts
        if outcome.status == "delivered":
            notes.append(f"fallback {current.id} delivered ({outcome.detail})")
            return first.model_copy(
                update={"status": "fallback_delivered", "attempts": attempts, "detail": "; ".join(notes)[:1000]}
            )
        notes.append(f"fallback {current.id} {outcome.status} ({outcome.detail})")
    return first.model_copy(update={"attempts": attempts, "detail": "; ".join(notes)[:1000]})
