"""What every route gets: the host's context (ports, authenticator, environment, the
Durable starter), the caller, its tenant access and the request's correlation id.

``Access`` is the one dependency tenant routes take: it authenticates the caller,
checks the tenant and the permission of the route, and records a ``denied`` audit event
when a privileged change is refused.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Final

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dq_core.identifiers import TENANT_PATTERN
from dq_core.lineage.models import AuditEvent
from dq_core.ports import ContractStore
from dq_core.runs.stages import RunPorts
from dq_core.security.principal import Authenticator, Forbidden, Permission, Principal, authorize
from services.starting import Starter

_TRACEPARENT: Final = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

_bearer = HTTPBearer(auto_error=False, description="An Entra ID access token for the DQ API (app roles DQ.*)")


@dataclass(frozen=True)
class ApiContext:
    """The host's wiring. ``starter`` answers the Durable client of the current request
    (the Functions binding, or the local extension's client under ``dq serve``)."""

    ports: RunPorts
    contracts: ContractStore  # the registry (ports.contracts, typed for writes)
    authenticator: Authenticator
    environment: str
    starter: Callable[[], Starter]
    # signs the runs list's cursors (app/cursor_keys.py); the hosts pass the deployment's key
    cursor_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(context)]


def correlation_id(request: Request) -> str:
    """The W3C trace id of ``traceparent`` when present and valid, else a new id."""
    match = _TRACEPARENT.match((request.headers.get("traceparent") or "").strip().lower())
    if match is None or set(match.group("trace")) == {"0"}:
        return uuid.uuid4().hex
    return match.group("trace")


def caller(
    ctx: Ctx, request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return ctx.authenticator.authenticate(request.headers.get("authorization"))


@dataclass(frozen=True)
class Access:
    tenant: str
    principal: Principal
    correlation_id: str
    ctx: ApiContext

    @property
    def actor(self) -> str:
        return self.principal.subject


def access(permission: Permission) -> Callable[..., Access]:
    """The dependency of a route needing ``permission`` on the path's ``{tenant}``."""

    def check(
        ctx: Ctx,
        request: Request,
        tenant: Annotated[str, Path(pattern=TENANT_PATTERN, description="DQ tenant id")],
        principal: Annotated[Principal, Depends(caller)],
    ) -> Access:
        cid = correlation_id(request)
        try:
            authorize(principal, tenant, permission)
        except Forbidden as exc:
            if permission is not Permission.READ and principal.may_act_for(tenant):
                audit_denied(ctx, tenant, principal, cid, f"{request.method} {request.url.path}", exc.message)
            raise
        return Access(tenant=tenant, principal=principal, correlation_id=cid, ctx=ctx)

    return check


def audit_denied(ctx: ApiContext, tenant: str, principal: Principal, cid: str, what: str, why: str) -> None:
    ctx.ports.lineage.put_audit(
        AuditEvent.record(
            tenant=tenant,
            environment=ctx.environment,
            actor=principal.subject,
            action="denied",
            what=what,
            correlation_id=cid,
            detail=why,
        )
    )


Reader = Annotated[Access, Depends(access(Permission.READ))]
Author = Annotated[Access, Depends(access(Permission.AUTHOR))]
Approver = Annotated[Access, Depends(access(Permission.APPROVE))]
Promoter = Annotated[Access, Depends(access(Permission.PROMOTE))]
Operator = Annotated[Access, Depends(access(Permission.OPERATE))]
Auditor = Annotated[Access, Depends(access(Permission.AUDIT))]
