"""The HTTP API in the Functions app: one anonymous catch-all trigger over the FastAPI app.

Every ``/api/...`` request reaches :func:`api`, which binds the invocation's Durable
client to the request (:func:`api.hosting.bound_client`) and hands the request to
the FastAPI app (``api.main.create_app``) through ``func.AsgiMiddleware``. The
trigger's auth level is ANONYMOUS on purpose: function keys would only hide the API's
own authentication, which checks the Entra ID bearer token of every route but
``/api/health``. The app and its context are built on the first request, never at import
(the worker indexes the app under a start-up time limit).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api.hosting import api_context, bound_client, request_starter
from api.main import create_app
from api.problems import PROBLEM_JSON, ProblemDetails
from app.runtime import run_ports
from dq_core.errors import DQError

bp = df.Blueprint()
log = logging.getLogger("dq.api")

_LOCK = threading.Lock()
_ADAPTER: func.AsgiMiddleware | None = None


def asgi() -> func.AsgiMiddleware:
    """The FastAPI app behind the ASGI adapter, built once (ports and settings of the deployment)."""
    global _ADAPTER  # noqa: PLW0603 - the host's one app
    with _LOCK:
        if _ADAPTER is None:
            _ADAPTER = func.AsgiMiddleware(create_app(api_context(run_ports(), request_starter, functions_host=True)))  # type: ignore[no-untyped-call]
        return _ADAPTER


def reset() -> None:
    """Forget the built app (tests that change settings or ports between requests)."""
    global _ADAPTER  # noqa: PLW0603
    with _LOCK:
        _ADAPTER = None


async def answer(req: func.HttpRequest, context: func.Context | None, client: Any) -> func.HttpResponse:
    try:
        adapter = asgi()
    except DQError as exc:  # settings the app cannot run with (e.g. no token issuer): say so, every time
        log.error("the API cannot start: %s", exc.one_line())
        detail = "the API is not configured correctly; the operators can see why in the logs"
        body = ProblemDetails(title="service misconfigured", status=500, detail=detail, code=exc.code)
        return func.HttpResponse(body.model_dump_json(exclude_none=True), status_code=500, mimetype=PROBLEM_JSON)
    with bound_client(client):
        response: func.HttpResponse = await adapter.handle_async(req, context)
    return response


@bp.function_name("api")
@bp.route(
    route="{*path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
@bp.durable_client_input(client_name="client")
async def api(req: func.HttpRequest, context: func.Context, client: Any) -> func.HttpResponse:
    return await answer(req, context, client)
