"""RFC 9457 problem details: the one error shape of the API, with a stable ``code``.

Every refusal (bad input, missing or invalid token, forbidden, not found, conflict,
a store briefly unavailable) is ``application/problem+json`` with a one-line
``detail``. Nothing a caller sends ever comes back as a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from dq_core.errors import (
    ConfigError,
    DQError,
    InputError,
    ObjectNotFound,
    TransientError,
)
from dq_core.registry.models import ConflictError, LifecycleError
from dq_core.security.principal import Forbidden, Unauthenticated

log = logging.getLogger("dq.api")

PROBLEM_JSON: Final = "application/problem+json"


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with the platform's stable error code."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


def problem_response(status: int, title: str, detail: str, code: str, **headers: str) -> JSONResponse:
    body = ProblemDetails(title=title, status=status, detail=" ".join(detail.split()), code=code)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


# Most specific first: the first class an error is an instance of decides status and title.
_STATUS: Final[list[tuple[type[DQError], int, str]]] = [
    (Unauthenticated, 401, "unauthenticated"),
    (Forbidden, 403, "forbidden"),
    (ObjectNotFound, 404, "not found"),
    (ConflictError, 409, "conflict"),
    (LifecycleError, 409, "lifecycle conflict"),
    (InputError, 422, "unprocessable input"),
    (ConfigError, 400, "invalid configuration"),
    (TransientError, 503, "temporarily unavailable"),
]


def _for_dq_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DQError)  # noqa: S101 - registered for DQError only
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}  # noqa: PLR2004
            if status >= 500:  # noqa: PLR2004
                log.warning("request failed: %s", exc.one_line())
            return problem_response(status, title, exc.message, exc.code, **headers)
    log.error("request failed: %s", exc.one_line())
    return problem_response(500, "request failed", exc.message, exc.code)


def _for_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ())) or "request"
    return problem_response(400, "invalid request", f"{where}: {first.get('msg', 'invalid')}", "invalid_request")


def _allowed_methods(request: Request) -> str:
    """Every method the OpenAPI document lists for this path (Starlette's Allow names only the
    first matching route's, while GET and POST of one path are separate routes)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in item if method.upper() in _HTTP_METHODS}
    return ", ".join(sorted(methods))


_HTTP_METHODS: Final = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


def _for_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # noqa: PLR2004 - RFC 9110: a 405 says what is allowed
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(exc.status_code, str(exc.detail).lower(), str(exc.detail), code, **headers)


def _for_anything(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error: %s", type(exc).__name__)
    return problem_response(500, "internal error", "the request failed unexpectedly; see the logs", "internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DQError, _for_dq_error)
    app.add_exception_handler(RequestValidationError, _for_validation)
    app.add_exception_handler(StarletteHTTPException, _for_http)
    app.add_exception_handler(Exception, _for_anything)


def _described(status: int, description: str) -> dict[str, Any]:
    return {"model": ProblemDetails, "description": description, "content": {PROBLEM_JSON: {}}}


PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    400: _described(400, "invalid request"),
    401: _described(401, "missing or invalid bearer token"),
    403: _described(403, "the caller may not do this for this tenant"),
    404: _described(404, "not found"),
    503: _described(503, "a store is temporarily unavailable"),
}
"""Responses every tenant route may give; routers add 409/413/422 where they can happen."""


def problems(*extra: int) -> dict[int | str, dict[str, Any]]:
    more = {409: "conflict with the stored state", 413: "body too large", 422: "unprocessable input"}
    return {**PROBLEMS, **{status: _described(status, more[status]) for status in extra}}
