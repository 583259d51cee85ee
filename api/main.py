"""The FastAPI application: routers, problem handlers, the OpenAPI 3.1 document at
``/api/openapi.json``. Built by :func:`create_app` with the host's :class:`ApiContext`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.context import ApiContext
from api.routes_config import router as config_router
from api.routes_health import router as health_router
from api.routes_history import router as history_router
from api.routes_runs import router as runs_router
from api.routes_scores import router as scores_router
from api.routes_suggest import router as suggest_router

ROUTERS = [health_router, config_router, runs_router, scores_router, suggest_router, history_router]
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
    _without_default_422(app)
    app.add_middleware(HeadAsGet)
    return app


class HeadAsGet:
    """HEAD answers as GET would, without the body (RFC 9110 9.3.2): probes and caches use it.
    FastAPI routes a HEAD only to routes that declare it, so a HEAD is routed as a GET and the
    body the GET would send is dropped (its headers, Content-Length included, stay)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def _without_default_422(app: FastAPI) -> None:
    """FastAPI documents a 422 "Validation Error" on every operation; this API answers
    request validation errors as 400 problems (api.problems), so the document says that."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if responses.get("422", {}).get("description") == "Validation Error":
                        del responses["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
