"""The one HTTP delivery of the actions: tenacity retries around the HttpSender port.

Retried: connection failures, timeouts, a dropped connection, and the answers 408, 429
and 5xx. Not retried: any other answer (a 4xx means the request itself is wrong). A request
the receiver cannot deduplicate (``idempotent=False``: creating a ticket) is retried only
when it surely was not processed: no connection was made, or the answer was 408, 429 or 503. Waits
grow exponentially from the policy's ``backoff_seconds`` with random jitter, capped at
30 s; ``max_attempts`` bounds the attempts and ``timeout_seconds`` each one. A delivery
never raises: it is a value that says whether it got through, after how many attempts.

Where it may go (:mod:`dq_core.actions.destinations`): the sender (httpx in
``adapters/notify/http.py``) resolves the host before every attempt, checks each of its addresses
against ``destinations`` and sends to a checked address, so a DNS answer that changes in between
cannot redirect it. A redirect is never followed: a 3xx is a failed delivery with its status
code. The outcome records a status code and a short reason in this platform's words, never the
receiver's body or reason phrase.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final, Generic, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from dq_core.actions.destinations import DestinationRefused, Destinations, DestinationUnresolved
from dq_core.actions.outbound import HttpAnswer, HttpCall, MaybeSent, NotSent, SendRefused
from dq_core.errors import ConfigError, DQError, TransientError
from dq_core.libraries.actions import DeliveryPolicy, RetryPolicy
from dq_core.ports import HttpSender

T = TypeVar("T")

MAX_WAIT_SECONDS: Final = 30.0
RETRYABLE_STATUS: Final = frozenset({408, 429})
NOT_PROCESSED_STATUS: Final = frozenset({408, 429, 503})  # the receiver did not act on the request
SIGNATURE_HEADER: Final = "X-DQ-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_SERVER_ERROR: Final = 500
_OK: Final = range(200, 300)
_REDIRECT: Final = range(300, 400)
MAX_ANSWER_BYTES: Final = 64 * 1024  # of a 2xx answer, read only for a created ticket's id
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
    detail: str  # the status code and a short reason of this platform's words, never the answer's body
    body: bytes = b""  # a 2xx answer (at most MAX_ANSWER_BYTES), only parsed for a ticket's id; never recorded


class _Retryable(Exception):
    def __init__(self, detail: str, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail, self.status_code, self.retry_after = detail, status_code, retry_after


class _MaybeProcessed(Exception):
    """A non-idempotent request failed in a way that may have left it processed: never repeated."""


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


def status_line(status_code: int) -> str:
    """``HTTP 404 Not Found``: the code and its standard phrase, never the receiver's own text."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = ""
    return f"HTTP {status_code} {phrase}".rstrip()


def send(
    request: HttpRequest,
    policy: DeliveryPolicy,
    *,
    sender: HttpSender,
    destinations: Destinations,
    sleep: Sleep = time.sleep,
) -> Delivery:
    """Deliver one request under the policy (see module doc) through ``sender``, one call per
    attempt; never raises for the network. A refused destination or an invalid URL sends nothing
    and is not an attempt."""
    headers = {"Content-Type": request.content_type, "User-Agent": USER_AGENT, **request.headers}
    call = HttpCall(
        method=request.method,
        url=request.url,
        headers=headers,
        body=request.body,
        timeout=policy.timeout_seconds,
        max_body=MAX_ANSWER_BYTES,
    )
    attempts = 0
    final: HttpAnswer | None = None

    def attempt() -> HttpAnswer:
        nonlocal attempts
        try:
            answer = sender.send(call, destinations)
        except (DestinationRefused, ConfigError):  # nothing was sent: not an attempt
            raise
        except DestinationUnresolved as exc:
            attempts += 1
            raise _Retryable(exc.one_line()) from None
        except NotSent as exc:
            attempts += 1
            raise _Retryable(exc.message) from exc
        except MaybeSent as exc:
            attempts += 1
            if not request.idempotent:
                raise _MaybeProcessed(f"{exc.message} (not retried: the receiver may have acted on it)") from exc
            raise _Retryable(exc.message) from exc
        except SendRefused:
            attempts += 1
            raise
        attempts += 1
        code = answer.status_code
        if retryable_status(code):
            if not request.idempotent and code not in NOT_PROCESSED_STATUS:
                raise _MaybeProcessed(f"{status_line(code)} (not retried: the receiver may have acted on it)")
            raise _Retryable(status_line(code), code, answer.retry_after)
        return answer

    try:
        for step in retrying(policy, lambda exc: isinstance(exc, _Retryable), sleep):
            with step:
                final = attempt()
    except (DestinationRefused, ConfigError) as exc:  # nothing is sent, and no retry can help
        return Delivery(False, attempts, None, exc.one_line())
    except _Retryable as exc:
        return Delivery(False, attempts, exc.status_code, f"gave up after {attempts} attempts: {exc.detail}")
    except _MaybeProcessed as exc:
        return Delivery(False, attempts, None, str(exc))
    except SendRefused as exc:  # an unsupported request: retrying cannot help
        return Delivery(False, attempts, None, f"refused: {exc.message}")
    if final is None:
        return Delivery(False, attempts, None, "no response")
    code = final.status_code
    if code in _REDIRECT:
        return Delivery(False, attempts, code, f"refused: {status_line(code)} (redirects are not followed)")
    if code not in _OK:
        return Delivery(False, attempts, code, f"refused: {status_line(code)}")
    return Delivery(True, attempts, code, status_line(code), final.body)


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
