"""The configuration facade: what the CLI and (later) the HTTP API both call.

It works over any :class:`~dq_core.ports.ConfigReader`; the CLI builds one from a
directory of authoring files (:func:`workspace_from_directory`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dq_core.bundle.check import check_index
from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.base import Kind, ObjectKey, Status, Versioned
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError, LoadError, ObjectNotFound
from dq_core.jobs.models import JobDefinition
from dq_core.lineage.models import AuditEvent
from dq_core.loading.loader import load_directory
from dq_core.ports import ConfigReader, ContractStore, LineageStore
from dq_core.registry.models import ConflictError, PutOutcome


@dataclass
class Workspace:
    """Configuration loaded from authoring files, with the problems found on the way."""

    root: Path
    index: InMemoryConfigIndex = field(default_factory=InMemoryConfigIndex)
    problems: list[LoadError] = field(default_factory=list)

    def summary(self) -> str:
        counts = Counter(f"{obj.tenant}/{obj.environment.value}" for obj in self.index)
        scopes = ", ".join(f"{scope}: {count}" for scope, count in sorted(counts.items()))
        return f"{len(self.index)} objects ({scopes})" if scopes else "0 objects"


def workspace_from_directory(root: Path) -> Workspace:
    if not root.exists():
        raise ConfigError(f"{root}: no such file or directory")
    base = root if root.is_dir() else root.parent
    report = load_directory(root, relative_to=base.parent if base.parent != base else None)
    workspace = Workspace(root=root, problems=list(report.problems))
    for loaded in report.objects:
        try:
            workspace.index.add(loaded.obj, loaded.source)
        except ConfigError as exc:
            workspace.problems.append(LoadError(loaded.source, "", exc.message))
    return workspace


def check_workspace(workspace: Workspace) -> list[LoadError]:
    """Every file valid, every reference resolvable, every contract and job bundles."""
    if workspace.problems:
        return workspace.problems
    return check_index(workspace.index)


@dataclass(frozen=True)
class Scope:
    tenant: str
    environment: str


def default_scope(index: InMemoryConfigIndex, tenant: str | None, environment: str | None) -> Scope:
    """The tenant and environment asked for, or the only one present."""
    scopes = {(obj.tenant, obj.environment.value) for obj in index}
    tenants = {t for t, _ in scopes if environment is None or _ == environment}
    if tenant is None:
        if len(tenants) != 1:
            raise ConfigError(f"give --tenant (found {', '.join(sorted(tenants)) or 'none'})")
        tenant = tenants.pop()
    environments = {e for t, e in scopes if t == tenant}
    if environment is None:
        if len(environments) != 1:
            raise ConfigError(f"give --env for tenant {tenant!r} (found {', '.join(sorted(environments)) or 'none'})")
        environment = environments.pop()
    return Scope(tenant, environment)


def pick_version(index: ConfigReader, scope: Scope, kind: Kind, object_id: str, version: str | None) -> Versioned:
    """The version asked for; else the newest published one; else the newest one."""
    object_id = object_id.strip().lower()
    if version is not None:
        return index.get(scope.tenant, scope.environment, ObjectKey(kind=kind, id=object_id, version=version))
    versions = index.versions(scope.tenant, scope.environment, kind, object_id)
    if not versions:
        raise ObjectNotFound(f"{kind.value} {object_id!r} does not exist in {scope.tenant}/{scope.environment}")
    candidates = [
        index.get(scope.tenant, scope.environment, ObjectKey(kind=kind, id=object_id, version=v)) for v in versions
    ]
    published = [obj for obj in candidates if obj.status is Status.PUBLISHED]
    return (published or candidates)[-1]


def contract_bundle(
    workspace: Workspace,
    scope: Scope,
    contract_id: str,
    *,
    version: str | None = None,
    dataset: str | None = None,
) -> ResolvedBundle:
    contract = pick_version(workspace.index, scope, Kind.CONTRACT, contract_id, version)
    assert isinstance(contract, DataContract)  # noqa: S101 - asked for by kind
    return resolve_bundle(workspace.index, contract, dataset=dataset, location=workspace.index.source(contract))


def job_bundle(workspace: Workspace, scope: Scope, job_id: str, *, version: str | None = None) -> ResolvedBundle:
    job = pick_version(workspace.index, scope, Kind.JOB_DEFINITION, job_id, version)
    assert isinstance(job, JobDefinition)  # noqa: S101
    contract = workspace.index.get(
        scope.tenant, scope.environment, ObjectKey(kind=Kind.CONTRACT, id=job.contract.id, version=job.contract.version)
    )
    assert isinstance(contract, DataContract)  # noqa: S101
    return resolve_bundle(workspace.index, contract, dataset=job.dataset, job=job, location=workspace.index.source(job))


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.unchanged)} unchanged, "
            f"{len(self.updated)} updated, {len(self.conflicting)} conflicting"
        )


def sync_to_store(
    workspace: Workspace,
    store: ContractStore,
    *,
    actor: str,
    lineage: LineageStore | None = None,
    correlation_id: str | None = None,
) -> SyncReport:
    """Files -> store, idempotent. Every version enters the store as a draft: approval and
    publishing go through the lifecycle, whatever status the file says. With ``lineage``
    each draft written is audited as ``create`` (sha256 before and after) and each refused
    one as ``denied``, under one correlation id for the whole sync."""
    return store_objects(workspace.index, store, actor=actor, lineage=lineage, correlation_id=correlation_id)


def store_objects(
    objects: Iterable[Versioned],
    store: ContractStore,
    *,
    actor: str,
    lineage: LineageStore | None = None,
    correlation_id: str | None = None,
) -> SyncReport:
    """Store each object as a draft (see :func:`sync_to_store`), audited when ``lineage`` is given."""
    report = SyncReport()
    correlation_id = correlation_id or uuid.uuid4().hex
    for obj in sorted(objects, key=lambda o: (o.tenant, o.environment.value, o.kind.value, o.id, o.version)):
        label = f"{obj.tenant}/{obj.environment.value} {obj.key}"
        before = _stored_sha256(store, obj)
        try:
            outcome = store.put(obj, actor=actor)
        except ConflictError as exc:
            report.conflicting.append(f"{label}: {exc.message}")
            if lineage is not None:
                _audit(lineage, obj, actor, "denied", correlation_id, before, None, f"sync: {exc.message}")
            continue
        getattr(report, outcome.value).append(label)
        if lineage is not None and outcome is not PutOutcome.UNCHANGED:
            after = _stored_sha256(store, obj)
            _audit(lineage, obj, actor, "create", correlation_id, before, after, f"draft {outcome.value} by sync")
    return report


def _stored_sha256(store: ContractStore, obj: Versioned) -> str | None:
    try:
        return store.record(obj.tenant, obj.environment.value, obj.key).sha256
    except ObjectNotFound:
        return None


def _audit(
    lineage: LineageStore,
    obj: Versioned,
    actor: str,
    action: str,
    correlation_id: str,
    before: str | None,
    after: str | None,
    detail: str,
) -> None:
    lineage.put_audit(
        AuditEvent.record(
            tenant=obj.tenant,
            environment=obj.environment.value,
            actor=actor,
            action=action,
            what=str(obj.key),
            correlation_id=correlation_id,
            before_sha256=before,
            after_sha256=after,
            detail=detail,
        )
    )


def sync_from_store(store: ContractStore, tenant: str, environment: str, directory: Path) -> list[Path]:
    """Store -> files: one YAML file per object, under ``tenant/environment/kind/``."""
    from dq_core.loading.writers import write_object  # noqa: PLC0415

    written = []
    for stored in store.list(tenant, environment):
        path = directory / tenant / environment / stored.key.kind.value / f"{stored.key.id}-{stored.key.version}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_object(stored.to_object(), path)
        written.append(path)
    return written
