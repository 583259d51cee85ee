"""The FastAPI application: routers, problem handlers, the OpenAPI 3.1 document at
``/api/openapi.json``. Built by :func:`create_app` with the host's :class:`ApiContext`."""

from __future__ import annotations

from fastapi import FastAPI

from app.api import problems
from app.api.context import ApiContext
from app.api.routes_config import router as config_router
from app.api.routes_health import router as health_router
from app.api.routes_runs import router as runs_router

ROUTERS = [health_router, config_router, runs_router]
"""Every router of the API; the Functions adapter and ``dq serve`` host all of them."""


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="DQ Platform API",
        version="1",
        summary="Data contracts, libraries, runs, lineage and evidence of a multi-tenant data-quality platform.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
