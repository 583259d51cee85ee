"""Privileged changes to the registry, each leaving an audit event (refusals too)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from dq_core.config.base import ObjectKey, Status
from dq_core.errors import DQError
from dq_core.lineage.models import AuditEvent
from dq_core.ports import ContractStore, LineageStore
from dq_core.registry.models import StoredObject, next_environment


class Action(StrEnum):
    APPROVE = "approve"
    PUBLISH = "publish"
    DEPRECATE = "deprecate"
    PROMOTE = "promote"


TARGET = {Action.APPROVE: Status.APPROVED, Action.PUBLISH: Status.PUBLISHED, Action.DEPRECATE: Status.DEPRECATED}


def change(
    store: ContractStore,
    lineage: LineageStore,
    *,
    tenant: str,
    environment: str,
    key: ObjectKey,
    action: Action,
    actor: str,
    correlation_id: str | None = None,
) -> StoredObject:
    """Apply one lifecycle action and record it; a refused action is recorded as denied."""
    correlation_id = correlation_id or uuid.uuid4().hex
    before = store.record(tenant, environment, key)

    def audit(name: str, after: str | None, detail: str, env: str) -> None:
        lineage.put_audit(
            AuditEvent.record(
                tenant=tenant,
                environment=env,
                actor=actor,
                action=name,
                what=str(key),
                correlation_id=correlation_id,
                before_sha256=before.sha256,
                after_sha256=after,
                detail=detail,
            )
        )

    try:
        if action is Action.PROMOTE:
            after = store.promote(tenant, environment, key, actor=actor)
        else:
            after = store.transition(tenant, environment, key, TARGET[action], actor=actor)
    except DQError as exc:
        audit("denied", None, f"{action.value}: {exc.message}", environment)
        raise
    target_env = next_environment(environment).value if action is Action.PROMOTE else environment
    audit(action.value, after.sha256, f"{before.status.value} -> {after.status.value} in {target_env}", target_env)
    return after
