"""What the two hosts of the API share: the context they build and the request's Durable client.

The Functions app (``triggers/api.py``, one catch-all HTTP trigger) and ``dq serve``
(``local_host/serve.py``, uvicorn) host the same FastAPI app over the same :class:`ApiContext`;
they differ only in where the Durable client comes from. In Functions the host binds a
new client to every invocation: the trigger puts it in a context variable with
:func:`bound_client` for the time of the request, and :func:`request_starter` (the
context's ``starter``) reads it back. ``dq serve`` has one client for its lifetime, on
the local Durable extension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final

from api.context import ApiContext
from app.auth import build_authenticator
from app.cursor_keys import cursor_key
from app.settings import AppSettings, get_settings
from dq_core.errors import DQError
from dq_core.runs.stages import RunPorts
from services.starting import Starter, job_registry

_CLIENT: Final[ContextVar[Starter | None]] = ContextVar("dq_durable_client", default=None)


class NoDurableClient(DQError):
    """A route asked for the Durable client of a request that has none (a wiring bug: HTTP 500)."""

    code = "no_durable_client"


@contextmanager
def bound_client(client: Starter) -> Iterator[None]:
    """``client`` is the Durable client of everything the current request does."""
    token = _CLIENT.set(client)
    try:
        yield
    finally:
        _CLIENT.reset(token)


def request_starter() -> Starter:
    """The Durable client bound to the current request (Functions host)."""
    client = _CLIENT.get()
    if client is None:
        raise NoDurableClient("this request has no Durable client bound (the host did not bind one)")
    return client


def api_context(
    ports: RunPorts,
    starter: Callable[[], Starter],
    *,
    home: Path = Path(".dq"),
    settings: AppSettings | None = None,
    functions_host: bool = False,
) -> ApiContext:
    """The API's context over ``ports``: the registry, and the authenticator, environment and cursor key
    of the settings (``home`` holds the local signing key of ``DQ_AUTH_MODE=local-key`` and, without
    ``DQ_CURSOR_KEY``, the cursor key)."""
    settings = settings or get_settings()
    return ApiContext(
        ports=ports,
        contracts=job_registry(ports.contracts),
        authenticator=build_authenticator(settings, home, functions_host=functions_host),
        environment=settings.environment.value,
        starter=starter,
        cursor_key=cursor_key(settings, home),
    )
