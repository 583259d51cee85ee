"""Attacks on the actions (issue 14, items 3 and 4), against real receivers on 127.0.0.1 and ::1.

SSRF: with private networks not allowed (a deployment's default), every network action (webhook,
Teams, Slack, OpenLineage, ticket, e-mail) aimed at a loopback, link-local, private or IPv6
loopback address, or at a name that resolves to one, is a ``failed`` outcome naming the refusal,
and the receiver listening there gets nothing. Redirects are never followed. A receiver's answer
(body, reason phrase, SMTP reply text) never reaches the outcome. Templates refuse format specs
and conversions (``{run_id:>1000000000}`` allocated 2 GB) when authored and when rendered.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.notify.dns import system_resolver
from adapters.notify.smtp import CheckedSMTP, CheckedSMTPS
from dq_core.actions.destinations import DestinationRefused, Destinations, DestinationUnresolved, refusal
from dq_core.actions.dispatch import run_action
from dq_core.actions.notice import TemplateError, title
from dq_core.bundle.models import ResolvedAction
from dq_core.errors import LoadError
from dq_core.libraries.actions import (
    TEMPLATE_FIELDS,
    ChatAction,
    EmailAction,
    OpenLineageAction,
    TicketAction,
    WebhookAction,
    template_parts,
)
from dq_core.loading.loader import parse_object
from dq_core.results.run import ActionOutcome
from tests.action_servers import Mailbox, Receiver, action_context, http_receiver, smtp_server, tls_server_context

FAST = {"backoff_seconds": 0.01, "timeout_seconds": 3, "max_attempts": 2}
MARKER = "LEAKED-ANSWER-7f3a"  # what a receiver (an internal service) answers: never recorded
HTTP_KINDS = ("webhook", "teams", "slack", "openlineage", "ticket")
KINDS = (*HTTP_KINDS, "email")


def _action(kind: str, url: str, *, smtp: tuple[str, int] = ("127.0.0.1", 25), **extra: Any) -> Any:
    """One action of ``kind`` aimed at ``url`` (chat: through the secret ``chat-url``; e-mail: ``smtp``)."""
    common = {"id": "act", "trigger": "on_failure", **FAST, **extra}
    if kind == "webhook":
        return WebhookAction.model_validate({**common, "type": "webhook", "url": url})
    if kind in ("teams", "slack"):
        return ChatAction.model_validate({**common, "type": kind, "webhook_url": "secret://chat-url"})
    if kind == "openlineage":
        return OpenLineageAction.model_validate({**common, "type": "openlineage", "url": url})
    if kind == "ticket":
        spec = {"type": "ticket", "system": "jira", "url": url, "token": "secret://tok", "project": "DQ"}
        return TicketAction.model_validate({**common, **spec})
    host, port = smtp
    spec = {"type": "email", "smtp_host": host, "smtp_port": port, "starttls": False}
    return EmailAction.model_validate({**common, **spec, "sender": "dq@contoso.example", "to": ["t@contoso.example"]})


def _run(tmp_path: Path, action: Any, url: str, **context: Any) -> ActionOutcome:
    """The action through the dispatcher (what the run_action activity calls): never raises."""
    ctx = action_context(tmp_path, secrets={"chat-url": url, "tok": "user:token"}, actions=(action,), **context)
    return run_action(ResolvedAction(library="t@1.0.0", triggers=(action.trigger,), action=action), ctx)


@contextmanager
def _listening(host: str) -> Iterator[tuple[Receiver, Mailbox]]:
    """An HTTP receiver and an SMTP server on ``host``: what the attacks must not reach."""
    with http_receiver(host=host) as receiver, smtp_server(host=host) as mailbox:
        yield receiver, mailbox


# target name -> (address the receiver listens on, host in the URL, the refusal recorded: a pattern)
TARGETS = {
    "loopback": ("127.0.0.1", "127.0.0.1", re.escape("destination_refused: 127.0.0.1 is a loopback address")),
    "localhost": (
        "127.0.0.1",
        "localhost",  # the system resolver's answer; /etc/hosts may list ::1 first
        r"destination_refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address",
    ),
    "ipv6_loopback": ("::1", "[::1]", re.escape("destination_refused: ::1 is a loopback address")),
    "metadata": (None, "169.254.169.254", re.escape("destination_refused: 169.254.169.254 is a link-local address")),
    "rfc1918": (None, "10.20.30.40", re.escape("destination_refused: 10.20.30.40 is a private address")),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_an_action_aimed_at_a_non_public_address_is_refused_and_sends_nothing(
    tmp_path: Path, kind: str, target: str
) -> None:
    listen, host, refused = TARGETS[target]
    with _listening(listen or "127.0.0.1") as (receiver, mailbox):
        port = int(receiver.url.rsplit(":", 1)[1]) if listen else 80
        smtp = (host.strip("[]"), mailbox.port if listen else 25)
        url = f"http://{host}:{port}/latest/meta-data/iam"
        started = time.monotonic()
        outcome = _run(tmp_path, _action(kind, url, smtp=smtp), url, allow_private_networks=False)
        elapsed = time.monotonic() - started
    expected = f"START {refused}" if kind == "openlineage" else refused  # the event that was not sent
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert re.fullmatch(expected, outcome.detail), outcome.detail
    assert receiver.requests == []  # the service on that address never heard of it
    assert mailbox.connections == 0 and mailbox.messages == []
    assert elapsed < 2  # refused before any connection, not after a timeout


def test_the_same_actions_reach_the_local_receivers_when_the_deployment_allows_private_networks(
    tmp_path: Path,
) -> None:
    """The control: with DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS the receivers above get the deliveries."""
    with _listening("127.0.0.1") as (receiver, mailbox):
        for kind in KINDS:
            action = _action(kind, receiver.url, smtp=("localhost", mailbox.port))
            outcome = _run(tmp_path / kind, action, receiver.url, allow_private_networks=True)
            assert outcome.status == "delivered", (kind, outcome.detail)
    assert len(receiver.requests) == 6  # webhook, teams, slack, OpenLineage START and COMPLETE, the ticket
    assert len(mailbox.messages) == 1


def _resolver(answers: dict[str, Sequence[Sequence[str] | Exception]], calls: list[str]) -> Callable[..., list[str]]:
    """A DNS stand-in: each lookup of a name gets its next answer (the last one repeats)."""
    seen: dict[str, int] = {}

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        script = answers[host]
        answer = script[min(seen.get(host, 0), len(script) - 1)]
        seen[host] = seen.get(host, 0) + 1
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    return resolve


@pytest.mark.parametrize("kind", KINDS)
def test_one_non_public_address_among_public_ones_refuses_the_host(tmp_path: Path, kind: str) -> None:
    calls: list[str] = []
    resolve = _resolver({"hooks.mixed.example": [["93.184.215.14", "127.0.0.1"]]}, calls)
    with _listening("127.0.0.1") as (receiver, mailbox):
        url = "http://hooks.mixed.example/dq"
        action = _action(kind, url, smtp=("hooks.mixed.example", mailbox.port))
        outcome = _run(tmp_path, action, url, allow_private_networks=False, resolve=resolve)
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert outcome.detail.endswith("destination_refused: hooks.mixed.example resolves to 127.0.0.1, a loopback address")
    assert receiver.requests == [] and mailbox.connections == 0


@pytest.mark.parametrize("kind", KINDS)
def test_the_host_is_checked_again_before_every_attempt(tmp_path: Path, kind: str) -> None:
    """DNS answers nothing, then (rebound) a private address: the second attempt is refused."""
    calls: list[str] = []
    down = DestinationUnresolved("hooks.rebind.example could not be resolved (Temporary failure in name resolution)")
    resolve = _resolver({"hooks.rebind.example": [down, ["10.0.0.7"]]}, calls)
    url = "http://hooks.rebind.example/dq"
    action = _action(kind, url, smtp=("hooks.rebind.example", 25))
    outcome = _run(tmp_path, action, url, allow_private_networks=False, resolve=resolve)
    assert outcome.status == "failed"
    assert outcome.attempts == 1  # the unresolved attempt; nothing was sent to 10.0.0.7
    assert outcome.detail.endswith("destination_refused: hooks.rebind.example resolves to 10.0.0.7, a private address")
    assert calls == ["hooks.rebind.example"] * 2


def test_the_request_goes_to_the_checked_address_under_the_authored_name(tmp_path: Path) -> None:
    """No second lookup between the check and the connection (DNS rebinding): the system resolver
    does not know this name, so the receiver can only be reached through the checked answer; the
    name still travels as the Host header."""
    calls: list[str] = []
    resolve = _resolver({"hooks.pinned.example": [["127.0.0.1"]]}, calls)
    with http_receiver([500, 500]) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        url = f"http://hooks.pinned.example:{port}/dq"
        outcome = _run(tmp_path, _action("webhook", url, max_attempts=3), url, resolve=resolve)
    assert (outcome.status, outcome.attempts) == ("delivered", 3), outcome.detail
    assert calls == ["hooks.pinned.example"] * 3  # one lookup per attempt, each the one connected to
    assert {r.headers["Host"] for r in receiver.requests} == {f"hooks.pinned.example:{port}"}


def test_tls_to_the_checked_address_verifies_the_certificate_against_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, good = tls_server_context(tmp_path / "good", "hooks.tls.example")
    _, other = tls_server_context(tmp_path / "other", "someone-else.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # trust the test CA only
    resolve = _resolver({"hooks.tls.example": [["127.0.0.1"]]}, [])
    with http_receiver(tls=good) as receiver:
        url = f"https://hooks.tls.example:{receiver.url.rsplit(':', 1)[1]}/dq"
        delivered = _run(tmp_path / "a", _action("webhook", url), url, resolve=resolve)
    assert delivered.status == "delivered", delivered.detail
    assert len(receiver.requests) == 1
    with http_receiver(tls=other) as impostor:  # right address, certificate for another name
        url = f"https://hooks.tls.example:{impostor.url.rsplit(':', 1)[1]}/dq"
        refused = _run(tmp_path / "b", _action("webhook", url), url, resolve=resolve)
    assert refused.status == "failed" and "ConnectError" in refused.detail
    assert impostor.requests == []


def test_implicit_tls_smtp_connects_to_the_checked_address_and_verifies_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiosmtpd.controller import Controller

    from tests.action_servers import free_port

    ca, context = tls_server_context(tmp_path, "mail.tls.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, ssl_context=context)
    controller.start()
    try:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "dq@contoso.example", "t@contoso.example", "hello"
        mail.set_content("body")
        local = Destinations(allow_private_networks=True)
        pinned = {"timeout": 5, "resolve": lambda host, port: ["127.0.0.1"]}
        with CheckedSMTPS("mail.tls.example", mailbox.port, destinations=local, **pinned) as client:
            client.send_message(mail)
        assert len(mailbox.messages) == 1
        with pytest.raises(DestinationRefused, match=re.escape("resolves to 127.0.0.1, a loopback address")):
            CheckedSMTPS("mail.tls.example", mailbox.port, destinations=Destinations(), **pinned)
        with pytest.raises(ssl.SSLCertVerificationError):  # the right address, but not the certificate's name
            CheckedSMTPS("mail.other.example", mailbox.port, destinations=local, **pinned)
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_redirect_is_never_followed(tmp_path: Path, kind: str) -> None:
    """An allowed receiver answers 302/307 towards another service on 127.0.0.1: that service
    gets nothing, and the delivery fails with the status code."""
    with http_receiver() as internal, http_receiver(default=307) as first:
        first.location = internal.url + "/admin/delete-everything"
        outcome = _run(tmp_path, _action(kind, first.url), first.url, allow_private_networks=True)
    assert outcome.status == "failed", outcome.detail
    assert "HTTP 307 Temporary Redirect (redirects are not followed)" in outcome.detail
    assert len(first.requests) == 1 and internal.requests == []
    with http_receiver() as internal, http_receiver(default=302) as first:
        first.location = internal.url + "/"
        outcome = _run(tmp_path / "302", _action(kind, first.url), first.url, allow_private_networks=True)
    assert "HTTP 302 Found (redirects are not followed)" in outcome.detail
    assert internal.requests == []


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize("status", [200, 201, 302, 400, 500])
def test_the_receivers_answer_never_reaches_the_outcome(tmp_path: Path, kind: str, status: int) -> None:
    body = f'{{"error": "{MARKER}", "key": "{MARKER} <b>", "id": "{MARKER}!", "detail": "{MARKER}"}}'
    with http_receiver(default=status) as receiver:
        receiver.answer = receiver.failure_answer = body.encode() + b" " + MARKER.encode() * 20
        receiver.reason = f"Nope {MARKER}"
        outcome = _run(tmp_path, _action(kind, receiver.url), receiver.url, allow_private_networks=True)
    assert receiver.requests, "the receiver answered"
    assert MARKER not in outcome.model_dump_json()
    if outcome.status != "delivered":
        assert f"HTTP {status}" in outcome.detail


def test_the_smtp_servers_reply_text_never_reaches_the_outcome(tmp_path: Path) -> None:
    with smtp_server() as mailbox:
        mailbox.reply = f"554 5.7.1 {MARKER} internal relay policy of mail-gw-03.corp"
        outcome = _run(tmp_path, _action("email", "", smtp=("127.0.0.1", mailbox.port)), "")
    assert mailbox.connections == 1 and mailbox.messages == []
    assert outcome.status == "failed" and outcome.detail == "refused: SMTPDataError: SMTP 554"
    assert MARKER not in outcome.model_dump_json()


def test_a_large_answer_is_not_read_past_its_cap(tmp_path: Path) -> None:
    """A 2xx answer is read only for a ticket's id, at most 64 KiB: a bigger one names no ticket."""
    with http_receiver(default=201) as receiver:
        receiver.answer = b'{"key": "DQ-7", "pad": "' + b"x" * 200_000 + b'"}'
        big = _run(tmp_path, _action("ticket", receiver.url), receiver.url)
        receiver.answer = b'{"key": "DQ-7"}'
        small = _run(tmp_path / "s", _action("ticket", receiver.url), receiver.url)
    assert (big.status, big.detail) == ("delivered", "HTTP 201 Created")
    assert (small.status, small.detail) == ("delivered", "HTTP 201 Created: jira DQ-7")


def test_unspecified_and_multicast_are_refused_even_when_private_networks_are_allowed() -> None:
    for text, why in (("0.0.0.0", "an unspecified address"), ("::", "an unspecified address")):  # noqa: S104
        assert refusal(text, allow_private_networks=True) == why
    assert refusal("239.1.2.3", allow_private_networks=True) == "a multicast address"
    assert refusal("ff02::1", allow_private_networks=True) == "a multicast address"
    assert refusal("10.1.2.3", allow_private_networks=True) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.9", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
        ("2002:7f00:1::1", "a loopback address"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 around 169.254.169.254
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%1", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("100.64.0.1", "a special-purpose (non-public) address"),  # carrier-grade NAT
        ("192.0.0.170", "a special-purpose (non-public) address"),
        ("240.0.0.1", "a reserved address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - an address to refuse, not to bind
        ("224.0.0.251", "a multicast address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_the_address_rule(address: str, why: str | None) -> None:
    assert refusal(address, allow_private_networks=False) == why


def test_a_name_that_resolves_to_loopback_through_the_system_resolver_is_refused() -> None:
    assert socket.getaddrinfo("localhost", 80)  # the machine resolves it
    with pytest.raises(DestinationRefused, match=r"^localhost resolves to (127\.0\.0\.1|::1), a loopback address$"):
        Destinations().allowed("localhost", system_resolver("localhost", 80))
    with pytest.raises(DestinationRefused, match=re.escape("127.0.0.1 is a loopback address")):
        CheckedSMTP("127.0.0.1", 25, timeout=1, destinations=Destinations())


# --- templates (item 4) ------------------------------------------------------------------------

ATTACK = "{run_id:>1000000000}"


@pytest.mark.parametrize(
    ("template", "why"),
    [
        (ATTACK, "{run_id:>1000000000}: format specs (width, precision, alignment) are not allowed"),
        (
            "[DQ] {verdict:.999999999}",
            "{verdict:.999999999}: format specs (width, precision, alignment) are not allowed",
        ),
        ("{run_id:{run_id}}", "{run_id:{run_id}}: format specs (width, precision, alignment) are not allowed"),
        ("{run_id!r}", "{run_id!r}: conversions (!r, !s, !a) are not allowed"),
        ("{verdict!s:>7}", "{verdict!s:>7}: conversions (!r, !s, !a) are not allowed"),
        ("{verdict.__class__.__mro__}", "{verdict.__class__.__mro__} is not one of"),
    ],
)
def test_a_template_with_a_format_spec_or_conversion_is_refused_when_authored(template: str, why: str) -> None:
    mail = {"id": "a", "type": "email", "smtp_host": "smtp.example", "sender": "a@b.c", "to": ["d@e.f"]}
    ticket = {"id": "a", "type": "ticket", "system": "jira", "url": "https://j.example", "token": "secret://t"}
    with pytest.raises(ValidationError, match=re.escape(f"template_invalid: {why}")):
        EmailAction.model_validate({**mail, "subject": template})
    with pytest.raises(ValidationError, match=re.escape(f"template_invalid: {why}")):
        TicketAction.model_validate({**ticket, "project": "DQ", "title": template})
    library = {
        "kind": "action_library",
        "tenant": "contoso",
        "environment": "dev",
        "id": "notify",
        "version": "1.0.0",
        "actions": [{**mail, "subject": template}],
    }
    with pytest.raises(LoadError) as caught:  # what `dq libraries check` and the API's drafts report
        parse_object(library, "actions/notify.yaml")
    assert caught.value.one_line().startswith(
        f"load_failed: actions/notify.yaml: actions[0].subject: template_invalid: {why}"
    )


def test_the_exact_attack_is_refused_at_render_time_too(tmp_path: Path) -> None:
    """A bundle stored before the authoring check: the renderer refuses it, allocating nothing."""
    valid = {"id": "mail", "type": "email", "smtp_host": "127.0.0.1", "sender": "a@b.c", "to": ["d@e.f"], **FAST}
    with smtp_server() as mailbox:
        stored = EmailAction.model_validate({**valid, "smtp_port": mailbox.port}).model_copy(update={"subject": ATTACK})
        ctx = action_context(tmp_path, actions=(stored,))
        with pytest.raises(TemplateError, match=re.escape(ATTACK + ": format specs")):
            title(ATTACK, ctx)
        started = time.monotonic()
        outcome = run_action(ResolvedAction(library="t@1.0.0", triggers=(stored.trigger,), action=stored), ctx)
    assert time.monotonic() - started < 2
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert outcome.detail == f"template_invalid: {ATTACK}: format specs (width, precision, alignment) are not allowed"
    assert mailbox.connections == 0


def test_every_template_field_renders(tmp_path: Path) -> None:
    template = " ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
    assert [name for _, name in template_parts(template)] == list(TEMPLATE_FIELDS)
    rendered = title(template, action_context(tmp_path)).split(" ")
    assert len(rendered) == len(TEMPLATE_FIELDS) and "FAILED" in rendered
