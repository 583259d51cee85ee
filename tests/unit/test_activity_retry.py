"""The activities' retry policy (dq_core/runs/retrying.py), with waits recorded instead of slept.

Transient errors (a ``TransientError``, what the Azure adapter makes of a dropped connection
or a 503, the OS's ConnectionError/TimeoutError) are retried with exponential back-off and
jitter as configured; terminal errors and bugs go out at the first attempt.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from pydantic import ValidationError
from tenacity import wait_exponential_jitter

from activities.blueprint import execute, retry_policy
from adapters.azure._errors import azure_errors
from app.settings import get_settings
from dq_core.errors import ConfigError, ObjectNotFound, TerminalError, TransientError
from dq_core.runs.payloads import ActivityName
from dq_core.runs.retrying import ActivityRetry, RetriesExhausted, is_transient, retry_transient, retrying


class Flaky:
    """Fails with ``errors`` one after the other, then answers ``done``; counts its calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, value: str) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"done {value}"


def run(policy: ActivityRetry, fn: Callable[[str], str]) -> tuple[str, list[float]]:
    waits: list[float] = []
    return retry_transient(policy, sleep=waits.append, what="profile_chunk")(fn)("x"), waits


def test_a_transient_error_is_retried_with_exponential_backoff_and_jitter() -> None:
    policy = ActivityRetry(attempts=4, first_interval_seconds=0.5, max_interval_seconds=10)
    flaky = Flaky(TransientError("store busy"), TransientError("store busy"), TransientError("store busy"))
    answer, waits = run(policy, flaky)
    assert answer == "done x" and flaky.calls == 4
    assert len(waits) == 3
    for n, wait in enumerate(waits):  # first * 2**n plus up to one first interval of jitter
        assert 0.5 * 2**n <= wait <= 0.5 * 2**n + 0.5


def test_the_waits_are_capped_and_jittered_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = ActivityRetry(attempts=6, first_interval_seconds=1, max_interval_seconds=5)
    loop = retrying(policy)
    assert isinstance(loop.wait, wait_exponential_jitter)
    assert (loop.wait.multiplier, loop.wait.exp_base, loop.wait.jitter, loop.wait.max) == (1, 2, 1, 5)

    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the largest jitter tenacity may draw
    flaky = Flaky(*[TransientError("throttled")] * 6)
    waits: list[float] = []
    with pytest.raises(RetriesExhausted) as raised:
        retry_transient(policy, sleep=waits.append)(flaky)("x")
    assert flaky.calls == 6
    assert waits == [2, 3, 5, 5, 5]  # 1+1, 2+1, then 4+1, 8+1, 16+1 capped at 5
    assert raised.value.attempts == 6 and raised.value.code == "retries_exhausted"
    assert raised.value.message == "throttled (gave up after 6 attempts)"
    assert isinstance(raised.value.__cause__, TransientError)

    monkeypatch.setattr(random, "uniform", lambda low, high: low)  # no jitter: the bare exponential
    waits = []
    with pytest.raises(RetriesExhausted):
        retry_transient(policy, sleep=waits.append)(Flaky(*[TransientError("throttled")] * 6))("x")
    assert waits == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("contract customers@9.9.9 is not published"),
        ObjectNotFound("reading blob runs/r/work/part-00001.parquet of tenant t: not found"),
        KeyError("a bug"),
        ValueError("a bug"),
    ],
    ids=["terminal", "not-found", "key-error", "value-error"],
)
def test_terminal_errors_and_bugs_are_not_retried(error: Exception) -> None:
    flaky = Flaky(error, error)
    waits: list[float] = []
    with pytest.raises(type(error)) as raised:
        retry_transient(ActivityRetry(attempts=5), sleep=waits.append)(flaky)("x")
    assert raised.value is error  # as raised, never wrapped
    assert flaky.calls == 1 and waits == []


def _azure(exc: Exception) -> Exception:
    """What the Azure adapter raises for an SDK exception."""
    try:
        with azure_errors("reading blob x of tenant t"):
            raise exc
    except Exception as translated:  # noqa: BLE001 - the translation is the point
        return translated
    raise AssertionError


def _status(code: int) -> HttpResponseError:
    error = HttpResponseError(message=f"HTTP {code}")
    error.status_code = code
    return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientError("busy"), True),
        (RetriesExhausted(3, TransientError("busy")), True),
        (ConnectionResetError("reset"), True),
        (TimeoutError("timed out"), True),
        (_azure(ServiceRequestError("connection refused")), True),
        (_azure(_status(503)), True),
        (_azure(_status(429)), True),
        (_azure(_status(403)), False),
        (_azure(ResourceNotFoundError("gone")), False),
        (TerminalError("bad"), False),
        (RuntimeError("bug"), False),
    ],
)
def test_transient_means_a_non_terminal_dq_error_or_a_lost_connection(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_an_adapters_transient_error_is_retried_and_reported_after_the_last_attempt() -> None:
    flaky = Flaky(*[_azure(ServiceRequestError("connection refused"))] * 3)
    with pytest.raises(RetriesExhausted) as raised:
        run(ActivityRetry(attempts=3, first_interval_seconds=0, max_interval_seconds=0), flaky)
    assert flaky.calls == 3
    assert raised.value.message == (
        "reading blob x of tenant t: service unreachable (connection refused) (gave up after 3 attempts)"
    )


def test_an_os_level_timeout_is_retried_then_answers() -> None:
    flaky = Flaky(TimeoutError("read timed out"))
    answer, waits = run(ActivityRetry(attempts=2, first_interval_seconds=0.25, max_interval_seconds=1), flaky)
    assert answer == "done x" and flaky.calls == 2 and len(waits) == 1 and 0.25 <= waits[0] <= 0.5


def test_one_attempt_means_no_retry() -> None:
    flaky = Flaky(TransientError("busy"))
    with pytest.raises(RetriesExhausted, match=r"busy \(gave up after 1 attempts\)"):
        run(ActivityRetry(attempts=1), flaky)
    assert flaky.calls == 1


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    def set_env(**values: str) -> Any:
        for name, value in values.items():
            monkeypatch.setenv(f"DQ_ACTIVITY_RETRY_{name.upper()}", value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()


def test_the_activities_policy_comes_from_the_settings(settings_env: Callable[..., Any]) -> None:
    settings_env()
    assert retry_policy() == ActivityRetry(attempts=3, first_interval_seconds=2, max_interval_seconds=30)
    settings_env(attempts="5", first_seconds="0.5", max_seconds="8")
    assert retry_policy() == ActivityRetry(attempts=5, first_interval_seconds=0.5, max_interval_seconds=8)


def test_a_policy_whose_longest_wait_is_shorter_than_its_first_is_refused(settings_env: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError, match="max_interval_seconds must be at least first_interval_seconds"):
        ActivityRetry(first_interval_seconds=10, max_interval_seconds=5)
    settings_env(first_seconds="10", max_seconds="5")
    with pytest.raises(ConfigError, match=r"^DQ_ACTIVITY_RETRY_\*: Value error, max_interval_seconds must be at least"):
        retry_policy()
    answer = execute(ActivityName.PROFILE_CHUNK, {})  # every activity answers the named error, no traceback
    assert answer["error"]["code"] == "config_invalid" and answer["error"]["message"].startswith("DQ_ACTIVITY_RETRY_*")
    settings_env(attempts="0")
    with pytest.raises(ValidationError, match="activity_retry_attempts"):
        get_settings()
