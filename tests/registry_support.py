"""A registry as the entry points see it: the demo libraries synced into SQLite and published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.local.sqlite_contracts import SqliteContractStore
from dq_core.config.base import Status, Versioned
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.ports import ContractStore
from services import workspace as service
from tests.conftest import LIBRARIES

AUTHOR, APPROVER = "author", "approver"


def publish(store: ContractStore, obj: Versioned) -> None:
    """Store ``obj`` and take it through the lifecycle to published (approved by someone else)."""
    store.put(obj, actor=AUTHOR)
    for target in (Status.APPROVED, Status.PUBLISHED):
        store.transition(obj.tenant, obj.environment.value, obj.key, target, actor=APPROVER)


def demo_registry(path: Path) -> SqliteContractStore:
    """Every object of the demo libraries (tenant contoso, environment dev), published."""
    store = SqliteContractStore(path)
    report = service.sync_to_store(service.workspace_from_directory(LIBRARIES), store, actor=AUTHOR)
    assert report.created and not report.conflicting, report.summary()
    for stored in store.list("contoso", "dev"):
        for target in (Status.APPROVED, Status.PUBLISHED):
            store.transition("contoso", "dev", stored.key, target, actor=APPROVER)
    return store


def job(job_id: str, *triggers: dict[str, Any], tenant: str = "contoso", **fields: Any) -> Versioned:
    """A job definition on the demo contract, with the given triggers."""
    document = {
        "kind": "job_definition",
        "tenant": tenant,
        "environment": "dev",
        "id": job_id,
        "version": "1.0.0",
        "contract": "customers@1.0.0",
        "triggers": list(triggers) or [{"type": "manual"}],
        **fields,
    }
    return CONFIG_OBJECT_ADAPTER.validate_python(document)
