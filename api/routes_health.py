"""``/api/health`` (liveness) and ``/api/health/ready`` (the stores answer). No auth: probes
call them; they say whether auth is on and never reveal a tenant's data, nor why a store
failed (its host, port, user name or sign-in token): that goes to the logs.

Liveness touches no store: a registry that cannot be reached or signed in to (Entra, no
token) makes readiness a 503, never the liveness probe (the registry opens on first use)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.context import Ctx
from api.problems import problems
from dq_core.errors import DQError, TransientError

router = APIRouter(tags=["health"])
log = logging.getLogger("dq.api")


class Health(BaseModel):
    status: Literal["ok"]
    environment: str
    auth: Literal["on", "off"]


class Readiness(Health):
    checks: dict[str, Literal["ok"]]


@router.get("/api/health", response_model=Health, operation_id="health")
def health(ctx: Ctx) -> Health:
    return Health(status="ok", environment=ctx.environment, auth="on" if ctx.authenticator.enabled else "off")


@router.get("/api/health/ready", response_model=Readiness, operation_id="readiness", responses=problems())
def readiness(ctx: Ctx) -> Readiness:
    checks: dict[str, Literal["ok"]] = {}
    now = datetime.now(UTC)
    for name in ("contracts", "lineage"):
        try:
            if name == "contracts":
                ctx.contracts.tenants(ctx.environment)
            else:
                ctx.ports.lineage.list_runs("health", now - timedelta(seconds=1), now, limit=1)
        except DQError as exc:  # anyone may call this: the cause goes to the logs only
            log.warning("readiness: %s store not ready: %s", name, exc.one_line())
            raise TransientError(f"{name} store not ready (the cause is in the logs)") from None
        checks[name] = "ok"
    return Readiness(
        status="ok", environment=ctx.environment, auth="on" if ctx.authenticator.enabled else "off", checks=checks
    )
