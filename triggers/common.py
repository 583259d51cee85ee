"""What the HTTP entry points share: problem responses, id checks, the trace id of a request,
and the Durable client's HTTP helpers.

A handler raises :class:`Problem` for anything the caller got wrong; :func:`answer`
turns it (and the platform's own errors) into an ``application/problem+json`` response
(RFC 9457) with a one-line ``detail``. Nothing the caller sent ever comes back as a
traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable
from typing import Final, Protocol

import azure.functions as func
from pydantic import ValidationError

from app.starting import Starter
from dq_core.errors import DQError, ObjectNotFound, TransientError

log = logging.getLogger("dq.triggers")

ID: Final = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")  # tenants and job ids (dq_core.config.base)
_TRACEPARENT: Final = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


class HttpStarter(Starter, Protocol):
    """A Starter that also writes the Durable status URLs (``DurableOrchestrationClient``)."""

    def create_check_status_response(self, request: func.HttpRequest, instance_id: str) -> func.HttpResponse: ...

    def get_client_response_links(self, request: func.HttpRequest | None, instance_id: str) -> dict[str, str]: ...


class Problem(Exception):
    """A request the entry point refuses: an HTTP status, a title and a one-line detail."""

    def __init__(self, status: int, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, " ".join(detail.split()), extra

    def response(self) -> func.HttpResponse:
        body = {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail}
        return func.HttpResponse(
            json.dumps({**body, **self.extra}), status_code=self.status, mimetype="application/problem+json"
        )


def invalid_body(exc: ValidationError) -> Problem:
    """A pydantic refusal as one line: where, and what is wrong (the first error)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return Problem(400, "invalid request body", f"{where}: {first['msg']}")


def checked_id(value: str | None, what: str) -> str:
    if value is None or not ID.match(value):
        detail = f"{what} {value!r} is not an id (a lower-case letter, then letters, digits, '_' or '-')"
        raise Problem(400, f"invalid {what}", detail)
    return value


def trace_id(req: func.HttpRequest) -> str | None:
    """The W3C trace id of the request's ``traceparent`` header (None when absent or malformed)."""
    match = _TRACEPARENT.match((req.headers.get("traceparent") or "").strip().lower())
    if match is None or set(match.group("trace")) == {"0"}:
        return None
    return match.group("trace")


async def answer(handling: Awaitable[func.HttpResponse]) -> func.HttpResponse:
    """The handler's response; a Problem or a platform error as a problem response."""
    try:
        return await handling
    except Problem as problem:
        return problem.response()
    except ObjectNotFound as exc:
        return Problem(404, "not found", exc.message).response()
    except TransientError as exc:
        log.warning("transient failure: %s", exc.one_line())
        return Problem(503, "temporarily unavailable", exc.one_line()).response()
    except DQError as exc:
        log.error("request failed: %s", exc.one_line())
        return Problem(500, "request failed", exc.one_line()).response()
