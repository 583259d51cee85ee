"""Run one action of a run: look up its executor by type, never let it change the verdict.

``EXECUTORS`` maps an action type to the function that delivers it. An action whose
type has no executor yet is recorded as ``skipped`` with that reason, so the run's
result always lists every action that fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dq_core.bundle.models import ResolvedAction, ResolvedBundle
from dq_core.errors import ConfigError
from dq_core.ports import BlobStore, SecretStore
from dq_core.results.run import ActionOutcome


@dataclass(frozen=True)
class ActionContext:
    """What an executor may use: the run, its verdict and result, and the tenant's secrets."""

    bundle: ResolvedBundle
    run_id: str
    trigger: str
    status: str
    result_path: str | None
    blobs: BlobStore
    secrets: SecretStore


Executor = Callable[[ResolvedAction, ActionContext], ActionOutcome]

EXECUTORS: dict[str, Executor] = {}


def find_action(bundle: ResolvedBundle, action_id: str) -> ResolvedAction:
    for resolved in bundle.actions:
        if resolved.action.id == action_id:
            return resolved
    raise ConfigError(f"action {action_id!r} is not in the bundle's action libraries")


def run_action(resolved: ResolvedAction, ctx: ActionContext) -> ActionOutcome:
    action = resolved.action
    executor = EXECUTORS.get(action.type)
    if executor is None:
        return ActionOutcome(
            action_id=action.id,
            type=action.type,
            trigger=ctx.trigger,
            status="skipped",
            attempts=0,
            detail=f"no executor for {action.type} actions in this version",
        )
    try:
        return executor(resolved, ctx)
    except Exception as exc:  # noqa: BLE001 - an action never loses the run's result
        return ActionOutcome(
            action_id=action.id,
            type=action.type,
            trigger=ctx.trigger,
            status="failed",
            attempts=1,
            detail=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
        )
