"""The HTTP API in the Functions app: one anonymous catch-all trigger over the FastAPI app.

Every ``/api/...`` request reaches :func:`api`, which binds the invocation's Durable
client to the request (:func:`app.api.hosting.bound_client`) and hands the request to
the FastAPI app (``app.api.main.create_app``) through ``func.AsgiMiddleware``. The
trigger's auth level is ANONYMOUS on purpose: function keys would only hide the API's
own authentication, which checks the Entra ID bearer token of every route but
``/api/health``. The app and its context are built on the first request, never at import
(the worker indexes the app under a start-up time limit).
"""

from __future__ import annotations

import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from app.api.hosting import api_context, bound_client, request_starter
from app.api.main import create_app
from app.runtime import run_ports

bp = df.Blueprint()

_LOCK = threading.Lock()
_ADAPTER: func.AsgiMiddleware | None = None


def asgi() -> func.AsgiMiddleware:
    """The FastAPI app behind the ASGI adapter, built once (ports and settings of the deployment)."""
    global _ADAPTER  # noqa: PLW0603 - the host's one app
    with _LOCK:
        if _ADAPTER is None:
            _ADAPTER = func.AsgiMiddleware(create_app(api_context(run_ports(), request_starter)))  # type: ignore[no-untyped-call]
        return _ADAPTER


def reset() -> None:
    """Forget the built app (tests that change settings or ports between requests)."""
    global _ADAPTER  # noqa: PLW0603
    with _LOCK:
        _ADAPTER = None


async def answer(req: func.HttpRequest, context: func.Context | None, client: Any) -> func.HttpResponse:
    with bound_client(client):
        response: func.HttpResponse = await asgi().handle_async(req, context)
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
