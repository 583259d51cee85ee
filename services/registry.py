"""The registry facade: list, read, draft, lifecycle, diff and audit of configuration objects.

One facade for every caller: the ``dq contracts`` commands and the HTTP API's configuration
routes call the same methods, so a draft, an approval or a promotion behaves (and is
audited) the same whichever way it arrives. It knows no transport: the caller says who
acts (``actor``) and under which correlation id; the environment is the deployment's.

Every privileged change leaves an :class:`~dq_core.lineage.models.AuditEvent` with the
actor, the correlation id and the content sha256 before and after; a refused change
leaves a ``denied`` event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from dq_core.config.base import Kind, ObjectKey, Status
from dq_core.errors import ConfigError, DQError, ObjectNotFound
from dq_core.identifiers import semver_key
from dq_core.lineage.models import AuditEvent
from dq_core.loading.loader import parse_object
from dq_core.payloads import Payload
from dq_core.ports import ContractStore, LineageStore
from dq_core.registry.lifecycle import Action, change
from dq_core.registry.models import PutOutcome, StoredObject

__all__ = ["Action", "Change", "Created", "ObjectDiff", "RegistryService", "diff_documents"]


class Change(Payload):
    """One difference between two documents, at a JSON pointer (RFC 6901)."""

    op: Literal["add", "remove", "replace"]
    path: str
    before: Any = None
    after: Any = None


class ObjectDiff(Payload):
    kind: Kind
    id: str
    from_version: str
    to_version: str
    from_sha256: str
    to_sha256: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Created:
    outcome: PutOutcome
    stored: StoredObject
    before_sha256: str | None  # the draft's content before, when one was replaced


def _short(value: object, limit: int = 60) -> str:
    """A value from a caller, quoted and cut short enough for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pointer(parent: str, token: str | int) -> str:
    return f"{parent}/{str(token).replace('~', '~0').replace('/', '~1')}"


def diff_documents(before: Any, after: Any, path: str = "") -> list[Change]:
    """The changes turning ``before`` into ``after`` (plain JSON values), by JSON pointer:
    mappings key by key, lists index by index, anything else replaced whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in sorted(before.keys() | after.keys()):
            where = _pointer(path, key)
            if key not in after:
                changes.append(Change(op="remove", path=where, before=before[key]))
            elif key not in before:
                changes.append(Change(op="add", path=where, after=after[key]))
            else:
                changes.extend(diff_documents(before[key], after[key], where))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for index in range(max(len(before), len(after))):
            where = _pointer(path, index)
            if index >= len(after):
                changes.append(Change(op="remove", path=where, before=before[index]))
            elif index >= len(before):
                changes.append(Change(op="add", path=where, after=after[index]))
            else:
                changes.extend(diff_documents(before[index], after[index], where))
        return changes
    if before == after and type(before) is type(after):
        return []
    return [Change(op="replace", path=path, before=before, after=after)]


class RegistryService:
    """The registry of one deployment's environment, over a ContractStore and the audit log."""

    def __init__(self, store: ContractStore, lineage: LineageStore, environment: str) -> None:
        self.store = store
        self.lineage = lineage
        self.environment = environment

    # --- reading ---------------------------------------------------------------------

    def objects(
        self, tenant: str, kind: Kind, *, status: Status | None = None, object_id: str | None = None
    ) -> list[StoredObject]:
        """Every version of every object of ``kind`` (oldest version first per id), filtered."""
        found = self.store.list(tenant, self.environment, kind)
        return [
            stored
            for stored in found
            if (status is None or stored.status is status) and (object_id is None or stored.key.id == object_id)
        ]

    def versions(self, tenant: str, kind: Kind, object_id: str) -> list[StoredObject]:
        """Every version of one object, oldest first; ObjectNotFound when it has none."""
        found = self.objects(tenant, kind, object_id=object_id)
        if not found:
            raise ObjectNotFound(f"{kind.value} {object_id!r} does not exist in {tenant}/{self.environment}")
        return sorted(found, key=lambda stored: semver_key(stored.key.version))

    def get(self, tenant: str, kind: Kind, object_id: str, version: str | None = None) -> StoredObject:
        """The version asked for; else the newest published one; else the newest one."""
        if version is not None:
            return self.store.record(tenant, self.environment, ObjectKey(kind=kind, id=object_id, version=version))
        candidates = self.versions(tenant, kind, object_id)
        published = [stored for stored in candidates if stored.status is Status.PUBLISHED]
        return (published or candidates)[-1]

    def diff(self, tenant: str, kind: Kind, object_id: str, from_version: str, to_version: str) -> ObjectDiff:
        """What changed between two versions of one object, on their canonical JSON."""
        before = self.get(tenant, kind, object_id, from_version)
        after = self.get(tenant, kind, object_id, to_version)
        return ObjectDiff(
            kind=kind,
            id=object_id,
            from_version=from_version,
            to_version=to_version,
            from_sha256=before.sha256,
            to_sha256=after.sha256,
            changes=tuple(diff_documents(before.document, after.document)),
        )

    def audit_log(self, tenant: str, since: datetime, until: datetime) -> list[AuditEvent]:
        """Audit events of one tenant in [since, until), oldest first."""
        if until < since:
            raise ConfigError(f"until ({until.isoformat()}) is before since ({since.isoformat()})")
        return self.lineage.audit(tenant, since, until)

    # --- changing ----------------------------------------------------------------------

    def scoped(self, tenant: str, kind: Kind, document: Mapping[str, Any]) -> dict[str, Any]:
        """``document`` with the caller's tenant, this environment and ``kind`` filled in.

        A document may leave them out; one naming another tenant, environment or kind is
        refused (ConfigError). The authored status is dropped: every version is stored as a
        draft and goes through approval.
        """
        data = dict(document)
        for field, expected in (("tenant", tenant), ("environment", self.environment), ("kind", kind.value)):
            named = data.get(field)
            if named is not None and (not isinstance(named, str) or named.strip().lower() != expected):
                raise ConfigError(f"{field}: the body names {_short(named)}, but this request is for {expected!r}")
            data[field] = expected
        data.pop("status", None)
        return data

    def create(
        self,
        tenant: str,
        kind: Kind,
        document: Mapping[str, Any],
        *,
        actor: str,
        correlation_id: str | None = None,
        expected_sha256: str | None = None,
    ) -> Created:
        """Store ``document`` as a draft: CREATED, UPDATED (a draft's content replaced) or
        UNCHANGED (nothing written, nothing audited). A created or updated draft is audited
        as ``create``; a refused write (another tenant or environment named, other content
        for a version that is no longer a draft, a stale ``expected_sha256``) as ``denied``.
        An invalid document is a LoadError naming the field."""
        correlation_id = correlation_id or uuid.uuid4().hex
        try:
            data = self.scoped(tenant, kind, document)
        except ConfigError as exc:
            what = f"{kind.value} {_short(document.get('id'))}@{_short(document.get('version'))}"
            self._audit(tenant, actor, "denied", what, correlation_id, None, None, f"create: {exc.message}")
            raise
        obj = parse_object(data, "body")
        before = self._sha256(tenant, obj.key)
        try:
            outcome = self.store.put(obj, actor=actor, expected_sha256=expected_sha256)
        except DQError as exc:
            self._audit(tenant, actor, "denied", str(obj.key), correlation_id, before, None, f"create: {exc.message}")
            raise
        stored = self.store.record(tenant, self.environment, obj.key)
        if outcome is not PutOutcome.UNCHANGED:
            detail = f"draft {outcome.value}"
            self._audit(tenant, actor, "create", str(obj.key), correlation_id, before, stored.sha256, detail)
        return Created(outcome=outcome, stored=stored, before_sha256=before)

    def act(
        self, tenant: str, key: ObjectKey, action: Action, *, actor: str, correlation_id: str | None = None
    ) -> StoredObject:
        """approve / publish / deprecate / promote one version (audited, refusals too)."""
        return change(
            self.store,
            self.lineage,
            tenant=tenant,
            environment=self.environment,
            key=key,
            action=action,
            actor=actor,
            correlation_id=correlation_id,
        )

    # --- helpers -----------------------------------------------------------------------

    def _sha256(self, tenant: str, key: ObjectKey) -> str | None:
        try:
            return self.store.record(tenant, self.environment, key).sha256
        except ObjectNotFound:
            return None

    def _audit(
        self,
        tenant: str,
        actor: str,
        action: str,
        what: str,
        correlation_id: str,
        before: str | None,
        after: str | None,
        detail: str,
    ) -> None:
        self.lineage.put_audit(
            AuditEvent.record(
                tenant=tenant,
                environment=self.environment,
                actor=actor,
                action=action,
                what=what,
                correlation_id=correlation_id,
                before_sha256=before,
                after_sha256=after,
                detail=detail,
            )
        )
