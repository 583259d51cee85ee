"""The core's side of the network ports, with in-memory transports: what each kind of failed
attempt means for the retries and the outcome, and when the issuer's keys are fetched. The real
transports (adapters/notify, adapters/entra) meet real servers in tests/integration."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest

from dq_core.actions import transport
from dq_core.actions.destinations import DestinationRefused, Destinations, DestinationUnresolved
from dq_core.actions.mail import run_email, tls_mode
from dq_core.actions.outbound import HttpAnswer, HttpCall, MaybeSent, NotSent, SendRefused, SmtpEndpoint
from dq_core.errors import TransientError
from dq_core.libraries.actions import EmailAction, WebhookAction
from dq_core.security.principal import Unauthenticated
from dq_core.security.tokens import CachedKeySource
from tests.action_servers import action_context
from tests.auth_support import ManualClock, TokenFactory

POLICY = WebhookAction.model_validate(
    {"id": "w", "type": "webhook", "url": "https://hooks.example/dq", "max_attempts": 3, "backoff_seconds": 0.01}
)


class ScriptedSender:
    """An HttpSender answering (or failing) each attempt from a script; it records every call."""

    def __init__(self, *script: HttpAnswer | Exception) -> None:
        self.script: Iterator[HttpAnswer | Exception] = iter(script)
        self.calls: list[tuple[HttpCall, Destinations]] = []

    def send(self, call: HttpCall, destinations: Destinations) -> HttpAnswer:
        self.calls.append((call, destinations))
        step = next(self.script)
        if isinstance(step, Exception):
            raise step
        return step


def _send(sender: ScriptedSender, *, idempotent: bool = True) -> transport.Delivery:
    request = transport.HttpRequest(url=POLICY.url, body=b"{}", headers={"X-A": "1"}, idempotent=idempotent)
    return transport.send(request, POLICY, sender=sender, destinations=Destinations(), sleep=lambda _: None)


def test_the_call_carries_the_request_the_policys_timeout_and_the_answer_cap() -> None:
    sender = ScriptedSender(HttpAnswer(201, body=b'{"key": "DQ-1"}'))
    delivery = _send(sender)
    assert (delivery.delivered, delivery.attempts, delivery.detail, delivery.body) == (
        True,
        1,
        "HTTP 201 Created",
        b'{"key": "DQ-1"}',
    )
    ((call, destinations),) = sender.calls
    assert (call.method, call.url, call.body, call.timeout, call.max_body) == (
        "POST",
        POLICY.url,
        b"{}",
        POLICY.timeout_seconds,
        transport.MAX_ANSWER_BYTES,
    )
    assert dict(call.headers) == {"Content-Type": "application/json", "User-Agent": transport.USER_AGENT, "X-A": "1"}
    assert destinations == Destinations(allow_private_networks=False)


@pytest.mark.parametrize(
    ("script", "idempotent", "attempts", "detail"),
    [
        ((NotSent("ConnectError: refused"),) * 3, False, 3, "gave up after 3 attempts: ConnectError: refused"),
        ((MaybeSent("ReadTimeout: timed out"),) * 3, True, 3, "gave up after 3 attempts: ReadTimeout: timed out"),
        (
            (MaybeSent("ReadTimeout: timed out"),),
            False,
            1,
            "ReadTimeout: timed out (not retried: the receiver may have acted on it)",
        ),
        ((SendRefused("UnsupportedProtocol"),), True, 1, "refused: UnsupportedProtocol"),
        ((DestinationRefused("10.0.0.7 is a private address"),), True, 0, "destination_refused: 10.0.0.7 is"),
        (
            (DestinationUnresolved("x could not be resolved"), DestinationRefused("x resolves to 10.0.0.7")),
            True,
            1,
            "destination_refused: x resolves to 10.0.0.7",
        ),
        ((HttpAnswer(503, retry_after=1.0), HttpAnswer(200)), False, 2, "HTTP 200 OK"),
        ((HttpAnswer(500),), False, 1, "HTTP 500 Internal Server Error (not retried"),
        ((HttpAnswer(307),), True, 1, "refused: HTTP 307 Temporary Redirect (redirects are not followed)"),
    ],
)
def test_each_kind_of_attempt_means_what_the_policy_says(
    script: tuple[Any, ...], idempotent: bool, attempts: int, detail: str
) -> None:
    sender = ScriptedSender(*script)
    delivery = _send(sender, idempotent=idempotent)
    assert (delivery.attempts, len(sender.calls)) == (attempts, len(script))
    assert delivery.detail.startswith(detail), delivery.detail


class RecordingMailSender:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[tuple[EmailMessage, SmtpEndpoint]] = []

    def send(self, message: EmailMessage, endpoint: SmtpEndpoint, destinations: Destinations) -> None:
        self.sent.append((message, endpoint))
        if self.failures:
            raise self.failures.pop(0)


def _mail(**extra: object) -> EmailAction:
    spec = {"id": "mail", "type": "email", "smtp_host": "smtp.example", "sender": "a@b.c", "to": ["d@e.f"]}
    return EmailAction.model_validate({**spec, "backoff_seconds": 0.01, **extra})


def test_the_mail_endpoint_says_how_to_submit_and_the_login_stays_out_of_its_repr(tmp_path: Any) -> None:
    mailer = RecordingMailSender(NotSent("SMTPDataError: SMTP 451"))
    ctx = action_context(tmp_path, secrets={"pw": "hunter2-secret"})
    action = _mail(username="bot", password="secret://pw", smtp_port=587)  # noqa: S106 - a reference, not a secret
    outcome = run_email(action, replace(ctx, mail=mailer), sleep=lambda _: None)
    assert (outcome.status, outcome.attempts) == ("delivered", 2)
    (_, endpoint), _ = mailer.sent
    assert (endpoint.host, endpoint.port, endpoint.tls, endpoint.login) == (
        "smtp.example",
        587,
        "starttls",
        ("bot", "hunter2-secret"),
    )
    assert "hunter2" not in repr(endpoint)
    assert [tls_mode(_mail(smtp_port=465, starttls=True)), tls_mode(_mail(starttls=False))] == ["implicit", "none"]


def test_a_final_smtp_refusal_is_not_retried(tmp_path: Any) -> None:
    mailer = RecordingMailSender(SendRefused("SMTPRecipientsRefused: SMTP 550"))
    outcome = run_email(_mail(), replace(action_context(tmp_path), mail=mailer), sleep=lambda _: None)
    assert (outcome.status, outcome.attempts, outcome.detail) == (
        "failed",
        1,
        "refused: SMTPRecipientsRefused: SMTP 550",
    )


class CountingFetcher:
    """A JwksFetcher over a document in memory; ``down`` makes it fail like an unreachable issuer."""

    url = "https://issuer.example/keys"

    def __init__(self, document: dict[str, Any]) -> None:
        self.document, self.down, self.fetches = document, False, 0

    def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise TransientError(f"cannot fetch the signing keys from {self.url}: URLError")
        return self.document


def test_keys_are_fetched_once_and_unknown_kids_refetch_at_most_every_30_seconds() -> None:
    factory, clock = TokenFactory(), ManualClock()
    fetcher = CountingFetcher(factory.jwks())
    keys = CachedKeySource(fetcher, clock=clock)
    assert keys.url == fetcher.url and fetcher.fetches == 0  # nothing at construction
    assert keys.key(factory.kid).key_id == factory.kid
    for _ in range(5):
        with pytest.raises(Unauthenticated, match="kid"):
            keys.key("made-up")
    assert fetcher.fetches == 1
    clock.advance(31)
    with pytest.raises(Unauthenticated, match="kid"):
        keys.key("made-up")
    assert fetcher.fetches == 2
    fetcher.down = True
    clock.advance(3600)
    assert keys.key(factory.kid).key_id == factory.kid  # the last good set outlives an outage
    clock.advance(31)
    with pytest.raises(TransientError, match="unavailable"):
        keys.key("rotated")


def test_a_document_without_usable_keys_is_transient_naming_the_url() -> None:
    keys = CachedKeySource(CountingFetcher({"keys": []}))
    with pytest.raises(TransientError, match=r"^cannot fetch the signing keys from https://issuer\.example/keys: "):
        keys.key("any")
