"""The retry policy of the activities: a transient failure is retried inside the activity.

The orchestrator calls every activity once, with a plain ``call_activity``: the Durable
Python SDK's own retries (``call_activity_with_retry``) can leave a run in Running forever
(Azure/azure-functions-durable-python#603, wontfix in 1.x) and SDK 1.7.0 never sends
``RetryOptions.backoff_coefficient``. So each activity retries its own stage:

- only transient errors: a ``DQError`` that is not terminal (``TransientError``, which the
  adapters raise for throttling, server errors, lost connections and pool timeouts), or the
  operating system's ``ConnectionError`` / ``TimeoutError``; a terminal error, or any other
  exception, goes out at the first attempt;
- ``attempts`` in all; before attempt n+1 the activity waits
  ``first_interval_seconds * 2**(n-1)`` plus a random jitter of up to
  ``first_interval_seconds``, never more than ``max_interval_seconds``;
- when the attempts run out, :class:`RetriesExhausted` (itself transient) says how many
  were made and what the last one met.

The policy is one model; the deployment's settings fill it (``app.settings``,
``DQ_ACTIVITY_RETRY_*``), so this module reads no environment.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from pydantic import Field, model_validator
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from dq_core.config.base import Model
from dq_core.errors import DQError, TransientError

P = ParamSpec("P")
T = TypeVar("T")
Sleep = Callable[[float], None]

log = logging.getLogger("dq.retrying")

MAX_ATTEMPTS: Final = 10
MAX_INTERVAL_SECONDS: Final = 300.0  # an activity's retries stay far inside the 30-minute function timeout


class ActivityRetry(Model):
    """How hard an activity tries before its stage fails: attempts and waits."""

    attempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS)
    first_interval_seconds: float = Field(default=2.0, ge=0, le=60)
    max_interval_seconds: float = Field(default=30.0, ge=0, le=MAX_INTERVAL_SECONDS)

    @model_validator(mode="after")
    def _ordered(self) -> ActivityRetry:
        if self.max_interval_seconds < self.first_interval_seconds:
            msg = "max_interval_seconds must be at least first_interval_seconds"
            raise ValueError(msg)
        return self


class RetriesExhausted(TransientError):
    """Every attempt met a transient error; the last one's reason, with the count."""

    code = "retries_exhausted"

    def __init__(self, attempts: int, last: BaseException) -> None:
        reason = last.message if isinstance(last, DQError) else f"{type(last).__name__}: {last}"
        reason = " ".join(reason.split())[:500] or type(last).__name__
        super().__init__(f"{reason} (gave up after {attempts} attempts)")
        self.attempts = attempts


def is_transient(exc: BaseException) -> bool:
    """True when a retry may succeed (see the module doc); never for a terminal DQError."""
    if isinstance(exc, DQError):
        return not exc.terminal
    return isinstance(exc, (ConnectionError, TimeoutError))


def retrying(policy: ActivityRetry, *, sleep: Sleep = time.sleep, what: str = "activity") -> Retrying:
    """The tenacity loop of ``policy``: transient errors only, exponential back-off with jitter."""

    def before_sleep(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        seconds = state.upcoming_sleep
        reason = failure.one_line() if isinstance(failure, DQError) else type(failure).__name__
        log.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            what,
            state.attempt_number,
            policy.attempts,
            reason,
            seconds,
        )

    return Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential_jitter(
            multiplier=policy.first_interval_seconds,
            max=policy.max_interval_seconds,
            exp_base=2,
            jitter=policy.first_interval_seconds,
        ),
        retry=retry_if_exception(is_transient),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def retry_transient(
    policy: ActivityRetry, *, sleep: Sleep = time.sleep, what: str = "activity"
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: call the function under ``policy``; :class:`RetriesExhausted` when the
    attempts run out on transient errors, any other exception as it was raised."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return retrying(policy, sleep=sleep, what=what)(fn, *args, **kwargs)
            except Exception as exc:
                if is_transient(exc) and not isinstance(exc, RetriesExhausted):  # the last attempt's
                    raise RetriesExhausted(policy.attempts, exc) from exc
                raise

        return call

    return decorate
