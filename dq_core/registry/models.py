"""What a ContractStore keeps beside each object, and the lifecycle rules every store applies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from dq_core.config.base import Environment, ObjectKey, Status, Versioned
from dq_core.errors import ConfigError, TerminalError
from dq_core.payloads import Payload

PROMOTION = {Environment.DEV: Environment.TEST, Environment.TEST: Environment.PROD}
TRANSITIONS = {
    Status.DRAFT: {Status.APPROVED},
    Status.APPROVED: {Status.PUBLISHED, Status.DRAFT},
    Status.PUBLISHED: {Status.DEPRECATED},
    Status.DEPRECATED: set(),
}


class LifecycleError(TerminalError):
    """A lifecycle change the rules forbid (self-approval, editing a published version, ...)."""

    code = "lifecycle_refused"


class ConflictError(ConfigError):
    """The same tenant / environment / kind / id / version already holds other content."""

    code = "version_conflict"


class PutOutcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"  # the same content was already stored
    UPDATED = "updated"  # a draft replaced with new content


class Approval(Payload):
    actor: str
    at: datetime


class StoredObject(Payload):
    """An object as the registry keeps it: canonical content plus lifecycle columns."""

    tenant: str
    environment: str
    key: ObjectKey
    status: Status
    sha256: str  # content hash (dq_core.config.canonical.content_hash)
    created_by: str
    created_at: datetime
    modified_by: str = ""  # who last changed the content (the author, unless someone edited the draft)
    approvals: tuple[Approval, ...] = ()
    document: dict[str, Any]  # the canonical JSON, parsed

    def to_object(self) -> Versioned:
        from dq_core.config.objects import CONFIG_OBJECT_ADAPTER  # noqa: PLC0415 - avoids an import cycle

        return CONFIG_OBJECT_ADAPTER.validate_python({**self.document, "status": self.status.value})


def check_transition(stored: StoredObject, target: Status, actor: str) -> None:
    """The lifecycle rules, the same in every store (PostgreSQL also enforces them in SQL)."""
    if target not in TRANSITIONS[stored.status]:
        msg = f"{stored.key} is {stored.status.value}; it cannot become {target.value}"
        raise LifecycleError(msg)
    if target is Status.APPROVED and actor in (stored.created_by, stored.modified_by or stored.created_by):
        msg = f"{stored.key} was written by {actor}: someone else must approve it"
        raise LifecycleError(msg)
    if target is Status.PUBLISHED and not stored.approvals:
        msg = f"{stored.key} has no approval: approve it before publishing"
        raise LifecycleError(msg)


def check_replace(stored: StoredObject, new_sha256: str, expected_sha256: str | None = None) -> None:
    """Only a draft may take new content under the same version, and, when the writer says
    which content it started from (``expected_sha256``), only if nobody changed it since."""
    if stored.sha256 != new_sha256 and stored.status is not Status.DRAFT:
        msg = f"{stored.key} is {stored.status.value}: its content is immutable; publish a new version"
        raise ConflictError(msg)
    if expected_sha256 is not None and stored.sha256 != expected_sha256:
        msg = f"{stored.key} changed since it was read (sha256 {stored.sha256[:12]}, expected {expected_sha256[:12]})"
        raise ConflictError(msg)


def check_same_content(key: object, source_sha256: str, target: StoredObject, source_environment: str) -> None:
    """A reference in the next environment must hold what it held where it was promoted from."""
    copy = target.to_object().model_copy(update={"environment": Environment(source_environment)})
    from dq_core.config.canonical import content_hash  # noqa: PLC0415

    if content_hash(copy) != source_sha256:
        msg = f"{key} in {target.environment} differs from {source_environment}: promote that version first"
        raise LifecycleError(msg)


def next_environment(environment: str) -> Environment:
    current = Environment(environment)
    if current not in PROMOTION:
        msg = f"objects are promoted dev -> test -> prod; {environment} has no next environment"
        raise LifecycleError(msg)
    return PROMOTION[current]
