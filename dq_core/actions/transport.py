"""The one HTTP transport of the actions: httpx with tenacity retries.

Retried: connection failures, timeouts, a dropped connection, and the answers 408, 429
and 5xx. Not retried: any other answer (a 4xx means the request itself is wrong). A request
the receiver cannot deduplicate (``idempotent=False``: creating a ticket) is retried only
when it surely was not processed: no connection was made, or the answer was 408, 429 or 503. Waits
grow exponentially from the policy's ``backoff_seconds`` with random jitter, capped at
30 s; ``max_attempts`` bounds the attempts and ``timeout_seconds`` each one. A delivery
never raises: it is a value that says whether it got through, after how many attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from dq_core.errors import ConfigError, DQError, TransientError
from dq_core.libraries.actions import DeliveryPolicy, RetryPolicy

T = TypeVar("T")

MAX_WAIT_SECONDS: Final = 30.0
RETRYABLE_STATUS: Final = frozenset({408, 429})
NOT_PROCESSED_STATUS: Final = frozenset({408, 429, 503})  # the receiver did not act on the request
SIGNATURE_HEADER: Final = "X-DQ-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_SERVER_ERROR: Final = 500
_OK: Final = range(200, 300)
USER_AGENT: Final = "dq-platform-actions/1"

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"
    content_type: str = "application/json"
    idempotent: bool = True  # False: the receiver ignores Idempotency-Key, a repeat may duplicate


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status_code: int | None
    detail: str
    body: bytes = b""


class _Retryable(Exception):
    def __init__(self, detail: str, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail, self.status_code, self.retry_after = detail, status_code, retry_after


class _MaybeProcessed(Exception):
    """A non-idempotent request failed in a way that may have left it processed: never repeated."""


def _retry_after(response: httpx.Response) -> float | None:
    """A 429's or 503's ``Retry-After`` in seconds (the HTTP-date form is not used by webhooks)."""
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def retrying(policy: RetryPolicy, transient: Callable[[BaseException], bool], sleep: Sleep) -> Retrying:
    """The retry loop of every network action: ``max_attempts``, exponential backoff with jitter;
    a server's ``Retry-After`` lengthens a wait (never beyond 30 s)."""
    backoff = wait_exponential_jitter(
        multiplier=policy.backoff_seconds, max=MAX_WAIT_SECONDS, jitter=policy.backoff_seconds
    )

    def wait(state: RetryCallState) -> float:
        seconds = float(backoff(state))
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            seconds = min(max(seconds, failure.retry_after), MAX_WAIT_SECONDS)
        return seconds

    return Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(transient),
        sleep=sleep,
        reraise=True,
    )


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes under the signing secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def retryable_status(status_code: int) -> bool:
    return status_code in RETRYABLE_STATUS or status_code >= _SERVER_ERROR


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def send(request: HttpRequest, policy: DeliveryPolicy, *, sleep: Sleep = time.sleep) -> Delivery:
    """Deliver one request under the policy (see module doc); never raises for the network."""
    headers = {"Content-Type": request.content_type, "User-Agent": USER_AGENT, **request.headers}
    attempts = 0
    final: httpx.Response | None = None
    refused: str | None = None

    def attempt(client: httpx.Client) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        try:
            response = client.request(request.method, request.url, content=request.body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing reached the receiver
            raise _Retryable(_describe(exc)) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if not request.idempotent:
                raise _MaybeProcessed(f"{_describe(exc)} (not retried: the receiver may have acted on it)") from exc
            raise _Retryable(_describe(exc)) from exc
        if retryable_status(response.status_code):
            if not request.idempotent and response.status_code not in NOT_PROCESSED_STATUS:
                raise _MaybeProcessed(f"{_snippet(response)} (not retried: the receiver may have acted on it)")
            raise _Retryable(_snippet(response), response.status_code, _retry_after(response))
        return response

    try:
        with httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False) as client:
            for step in retrying(policy, lambda exc: isinstance(exc, _Retryable), sleep):
                with step:
                    final = attempt(client)
    except _Retryable as exc:
        return Delivery(False, attempts, exc.status_code, f"gave up after {attempts} attempts: {exc.detail}")
    except _MaybeProcessed as exc:
        return Delivery(False, attempts, None, str(exc))
    except httpx.HTTPError as exc:  # a bad URL, an unsupported scheme: retrying cannot help
        refused = _describe(exc)
    if final is None:
        return Delivery(False, attempts, None, refused or "no response")
    if final.status_code not in _OK:
        return Delivery(False, attempts, final.status_code, f"refused: {_snippet(final)}", final.content)
    return Delivery(True, attempts, final.status_code, f"HTTP {final.status_code}", final.content)


@dataclass(frozen=True)
class Tried(Generic[T]):
    """What a port call under retries came to: its value, or why it did not get through."""

    value: T | None
    attempts: int
    error: str | None = None


def call_with_retries(policy: RetryPolicy, call: Callable[[], T], *, sleep: Sleep = time.sleep) -> Tried[T]:
    """Call a port (a queue, a database) under the policy: a TransientError is retried, any other
    refusal is final; a ConfigError (nothing could be sent) is raised as it is."""
    attempts = 0
    value: T | None = None
    try:
        for step in retrying(policy, lambda exc: isinstance(exc, TransientError), sleep):
            with step:
                attempts += 1
                value = call()
    except TransientError as exc:
        return Tried(None, attempts, f"gave up after {attempts} attempts: {exc.one_line()}")
    except ConfigError:
        raise
    except DQError as exc:
        return Tried(None, attempts, f"refused: {exc.one_line()}")
    return Tried(value, attempts)
