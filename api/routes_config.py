"""Configuration routes: contracts, every library kind, catalogs and job definitions, under
``/api/tenants/{tenant}/config/{kind}``; and the tenant's audit log.

Thin over :class:`services.registry.RegistryService`, the facade the ``dq contracts``
commands call too: a route checks tenant and role (the ``Access`` dependencies), reads
its input, calls one method and shapes the answer. The environment is the deployment's
(``ApiContext.environment``), never the caller's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from api.context import Access, Approver, Auditor, Author, Ctx, Promoter, Reader
from api.problems import problems
from dq_core.config.base import Kind, ObjectKey, Status
from dq_core.errors import ConfigError
from dq_core.identifiers import ID_PATTERN, VERSION_PATTERN
from dq_core.lineage.models import AuditEvent
from dq_core.loading.loader import MAX_CONFIG_BYTES
from dq_core.registry.models import Approval, PutOutcome, StoredObject
from services.registry import Action, ObjectDiff, RegistryService

router = APIRouter(tags=["configuration"])

SHA256_PATTERN: Final = r"^[0-9a-f]{64}$"
MAX_BODY_BYTES: Final = MAX_CONFIG_BYTES  # what an authoring file may weigh
AUDIT_WINDOW: Final = timedelta(days=1)


class KindPath(StrEnum):
    """The kinds of configuration object, as they appear in paths."""

    CONTRACTS = "contracts"
    RULE_LIBRARIES = "rule-libraries"
    SCHEMA_LIBRARIES = "schema-libraries"
    INFRA_PROFILES = "infra-profiles"
    GOVERNANCE_PROFILES = "governance-profiles"
    CLEANSING_POLICIES = "cleansing-policies"
    ACTION_LIBRARIES = "action-libraries"
    CATALOGS = "catalogs"
    JOBS = "jobs"

    @property
    def kind(self) -> Kind:
        return _KIND[self]


_KIND: Final[dict[KindPath, Kind]] = {
    KindPath.CONTRACTS: Kind.CONTRACT,
    KindPath.RULE_LIBRARIES: Kind.RULE_LIBRARY,
    KindPath.SCHEMA_LIBRARIES: Kind.SCHEMA_LIBRARY,
    KindPath.INFRA_PROFILES: Kind.INFRA_PROFILE,
    KindPath.GOVERNANCE_PROFILES: Kind.GOVERNANCE_PROFILE,
    KindPath.CLEANSING_POLICIES: Kind.CLEANSING_POLICY,
    KindPath.ACTION_LIBRARIES: Kind.ACTION_LIBRARY,
    KindPath.CATALOGS: Kind.CATALOG,
    KindPath.JOBS: Kind.JOB_DEFINITION,
}

_RFC3339: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with an offset, e.g. 2026-01-31T08:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""A query date-time: RFC 3339 text with an offset (no Unix numbers, no local times)."""

KindParam = Annotated[KindPath, Path(description="kind of configuration object")]
IdParam = Annotated[str, Path(alias="id", pattern=ID_PATTERN, description="object id")]
VersionParam = Annotated[str, Path(pattern=VERSION_PATTERN, description="semantic version, e.g. 1.2.0")]


# --- response bodies -----------------------------------------------------------------------


class ObjectSummary(BaseModel):
    """One stored version: identity, lifecycle and content hash."""

    tenant: str
    environment: str
    kind: Kind
    id: str
    version: str
    status: Status
    sha256: str = Field(description="sha256 of the canonical JSON content (lifecycle status left out)")
    created_by: str
    created_at: datetime
    modified_by: str
    approvals: list[Approval]

    @classmethod
    def of(cls, stored: StoredObject) -> ObjectSummary:
        return cls(**cls._fields(stored))

    @staticmethod
    def _fields(stored: StoredObject) -> dict[str, Any]:
        return {
            "tenant": stored.tenant,
            "environment": stored.environment,
            "kind": stored.key.kind,
            "id": stored.key.id,
            "version": stored.key.version,
            "status": stored.status,
            "sha256": stored.sha256,
            "created_by": stored.created_by,
            "created_at": stored.created_at,
            "modified_by": stored.modified_by or stored.created_by,
            "approvals": list(stored.approvals),
        }


class ObjectVersion(ObjectSummary):
    """One stored version with its canonical content."""

    content: dict[str, Any] = Field(description="the canonical JSON of the object (every field, keys sorted)")

    @classmethod
    def of(cls, stored: StoredObject) -> ObjectVersion:
        return cls(**cls._fields(stored), content=stored.document)


class ObjectList(BaseModel):
    items: list[ObjectSummary]


class DraftResult(BaseModel):
    outcome: PutOutcome = Field(description="created, updated (a draft's content replaced) or unchanged")
    before_sha256: str | None = Field(description="the draft's content hash before, when one was replaced")
    object: ObjectVersion


class AuditLog(BaseModel):
    since: datetime
    until: datetime
    events: list[AuditEvent]


# --- dependencies ----------------------------------------------------------------------------


def registry(ctx: Ctx) -> RegistryService:
    return RegistryService(ctx.contracts, ctx.ports.lineage, ctx.environment)


Registry = Annotated[RegistryService, Depends(registry)]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, read up to MAX_BODY_BYTES (413 beyond)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"body: not valid JSON: {reason}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"body: expected a JSON object, found {type(data).__name__}")
    return data


def _too_large() -> HTTPException:
    return HTTPException(413, f"body: over the {MAX_BODY_BYTES} byte limit")


def _if_match(value: str | None) -> str | None:
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if len(tag) != 64 or any(c not in "0123456789abcdef" for c in tag):  # noqa: PLR2004
        raise ConfigError("If-Match: expected the sha256 (ETag) of the draft being replaced")
    return tag


_BODY_DOC: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": (
            "The object as JSON, as in an authoring file of the kind. `tenant` and `environment` may be"
            " left out (they are the path's tenant and the deployment's environment; naming others is"
            " refused); `kind` may be left out; `status` is ignored (every version starts as a draft)."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id", "version"],
                    "properties": {
                        "kind": {"type": "string", "enum": [kind.value for kind in Kind]},
                        "tenant": {"type": "string"},
                        "environment": {"type": "string"},
                        "id": {"type": "string", "pattern": ID_PATTERN},
                        "version": {"type": "string", "pattern": VERSION_PATTERN},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}


# --- routes ----------------------------------------------------------------------------------

BASE: Final = "/api/tenants/{tenant}/config/{kind}"


@router.get(
    BASE,
    response_model=ObjectList,
    operation_id="list_config_objects",
    summary="List the objects of a kind",
    responses=problems(),
)
def list_objects(
    access: Reader,
    service: Registry,
    kind: KindParam,
    status: Annotated[Status | None, Query(description="only versions in this status")] = None,
    object_id: Annotated[str | None, Query(alias="id", pattern=ID_PATTERN, description="only this object")] = None,
) -> ObjectList:
    """Every stored version of every object of a kind (oldest version first per id)."""
    found = service.objects(access.tenant, kind.kind, status=status, object_id=object_id)
    return ObjectList(items=[ObjectSummary.of(stored) for stored in found])


@router.post(
    BASE,
    response_model=DraftResult,
    status_code=201,
    operation_id="create_config_draft",
    summary="Create or update a draft",
    openapi_extra=_BODY_DOC,
    responses={
        200: {"model": DraftResult, "description": "an existing draft updated, or the same content already stored"},
        **problems(409, 413),
    },
)
def create_draft(
    access: Author,
    service: Registry,
    kind: KindParam,
    response: Response,
    document: Annotated[dict[str, Any], Depends(json_object)],
    if_match: Annotated[
        str | None, Header(description="the sha256 (ETag) of the draft this replaces: refused (409) if it changed")
    ] = None,
) -> DraftResult:
    """Store a version as a draft (a new version, or new content for a version still in draft)."""
    created = service.create(
        access.tenant,
        kind.kind,
        document,
        actor=access.actor,
        correlation_id=access.correlation_id,
        expected_sha256=_if_match(if_match),
    )
    stored = created.stored
    if created.outcome is not PutOutcome.CREATED:
        response.status_code = 200
    response.headers["Location"] = (
        f"/api/tenants/{access.tenant}/config/{kind.value}/{stored.key.id}/versions/{stored.key.version}"
    )
    response.headers["ETag"] = f'"{stored.sha256}"'
    return DraftResult(outcome=created.outcome, before_sha256=created.before_sha256, object=ObjectVersion.of(stored))


@router.get(
    BASE + "/{id}",
    response_model=ObjectVersion,
    operation_id="get_config_object",
    summary="Get the current version of an object",
    responses=problems(),
)
def get_object(
    access: Reader, service: Registry, kind: KindParam, object_id: IdParam, response: Response
) -> ObjectVersion:
    """The newest published version of an object; the newest version when none is published."""
    stored = service.get(access.tenant, kind.kind, object_id)
    response.headers["ETag"] = f'"{stored.sha256}"'
    return ObjectVersion.of(stored)


@router.get(
    BASE + "/{id}/versions",
    response_model=ObjectList,
    operation_id="list_config_versions",
    summary="List the versions of an object",
    responses=problems(),
)
def list_versions(access: Reader, service: Registry, kind: KindParam, object_id: IdParam) -> ObjectList:
    """Every stored version of an object, oldest first."""
    return ObjectList(items=[ObjectSummary.of(s) for s in service.versions(access.tenant, kind.kind, object_id)])


@router.get(
    BASE + "/{id}/versions/{version}",
    response_model=ObjectVersion,
    operation_id="get_config_version",
    summary="Get one version",
    responses=problems(),
)
def get_version(
    access: Reader, service: Registry, kind: KindParam, object_id: IdParam, version: VersionParam, response: Response
) -> ObjectVersion:
    """One version of an object, with its canonical content."""
    stored = service.get(access.tenant, kind.kind, object_id, version)
    response.headers["ETag"] = f'"{stored.sha256}"'
    return ObjectVersion.of(stored)


@router.get(
    BASE + "/{id}/diff",
    response_model=ObjectDiff,
    operation_id="diff_config_versions",
    summary="Diff two versions",
    responses=problems(),
)
def diff_versions(
    access: Reader,
    service: Registry,
    kind: KindParam,
    object_id: IdParam,
    from_version: Annotated[str, Query(alias="from", pattern=VERSION_PATTERN, description="the older version")],
    to_version: Annotated[str, Query(alias="to", pattern=VERSION_PATTERN, description="the newer version")],
) -> ObjectDiff:
    """What changed between two versions, as JSON-pointer changes on their canonical content."""
    return service.diff(access.tenant, kind.kind, object_id, from_version, to_version)


def _lifecycle_route(action: Action, dependency: object, summary: str) -> Callable[..., ObjectVersion]:
    def act(
        access: Access,
        service: Registry,
        kind: KindParam,
        object_id: IdParam,
        version: VersionParam,
    ) -> ObjectVersion:
        key = ObjectKey(kind=kind.kind, id=object_id, version=version)
        after = service.act(access.tenant, key, action, actor=access.actor, correlation_id=access.correlation_id)
        return ObjectVersion.of(after)

    act.__annotations__["access"] = dependency  # the permission of this action
    act.__name__ = f"{action.value}_version"
    act.__doc__ = summary
    router.add_api_route(
        BASE + "/{id}/versions/{version}/" + action.value,
        act,
        methods=["POST"],
        response_model=ObjectVersion,
        operation_id=f"{action.value}_config_version",
        summary=f"{action.value.capitalize()} a version",
        responses=problems(409),
    )
    return act


approve_version = _lifecycle_route(Action.APPROVE, Approver, "Approve a draft (someone other than its author).")
publish_version = _lifecycle_route(Action.PUBLISH, Approver, "Publish an approved version: its content is immutable.")
deprecate_version = _lifecycle_route(Action.DEPRECATE, Approver, "Deprecate a published version.")
promote_version = _lifecycle_route(
    Action.PROMOTE,
    Promoter,
    "Copy a published version to the next environment (dev -> test -> prod), published there; what it"
    " references must already be published there.",
)


@router.get(
    "/api/tenants/{tenant}/audit",
    response_model=AuditLog,
    operation_id="read_audit_log",
    summary="Read the audit log",
    tags=["audit"],
    responses=problems(),
)
def read_audit_log(
    access: Auditor,
    service: Registry,
    since: Annotated[Timestamp | None, Query(description="from (inclusive); default: a day before until")] = None,
    until: Annotated[Timestamp | None, Query(description="to (exclusive); default: now")] = None,
) -> AuditLog:
    """The tenant's audit events in [since, until), oldest first (DQ.Admin)."""
    try:
        end = _utc(until) if until else datetime.now(UTC)
        start = _utc(since) if since else end - AUDIT_WINDOW
    except OverflowError:  # e.g. until=0001-01-01T00:00:00Z: a day before it is no date
        raise ConfigError("since and until must be times between the years 1 and 9999 in UTC") from None
    return AuditLog(since=start, until=end, events=service.audit_log(access.tenant, start, end))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
