"""Translation of Azure SDK exceptions into the platform's errors.

Throttling (429), server errors (5xx) and connection or response failures are
TransientError (a retry may succeed); a missing resource is ObjectNotFound; every other
service answer is a terminal StorageError. Callers catch the conditions they give a
meaning of their own (a conflict on a conditional write) before this mapping applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from dq_core.errors import ObjectNotFound, TerminalError, TransientError

_TOO_MANY_REQUESTS: Final = 429
_SERVER_ERROR: Final = 500


class StorageError(TerminalError):
    """An Azure service refused a request for a reason a retry cannot fix."""

    code = "storage_failed"


def _detail(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_transient(exc: HttpResponseError) -> bool:
    status = exc.status_code or 0
    return status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR


@contextmanager
def azure_errors(what: str) -> Iterator[None]:
    """Run the block, turning Azure SDK exceptions into DQError subclasses."""
    try:
        yield
    except ResourceNotFoundError as exc:
        msg = f"{what}: not found"
        raise ObjectNotFound(msg) from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        msg = f"{what}: service unreachable ({_detail(exc)})"
        raise TransientError(msg) from exc
    except HttpResponseError as exc:
        if is_transient(exc):
            msg = f"{what}: service busy or failing (HTTP {exc.status_code}: {_detail(exc)})"
            raise TransientError(msg) from exc
        msg = f"{what}: refused (HTTP {exc.status_code}: {_detail(exc)})"
        raise StorageError(msg) from exc
