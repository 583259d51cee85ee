"""E-mail over SMTP (standard library ``smtplib``): the verdict, counts, failed rules, report path.

STARTTLS when ``starttls`` (the default), implicit TLS on port 465, login when a username
is authored (its password is a ``secret://``). The ``Message-ID`` is derived from the
idempotency key, so a mail system that dedups on it keeps one copy of a retried send.
Retried like HTTP: connection failures, timeouts, a dropped connection and 4xx replies;
a 5xx reply (refused sender, recipients or credentials) is final.

The SMTP host is checked like an HTTP action's (:mod:`dq_core.actions.destinations`) before each
attempt and the connection goes to a checked address (TLS still verifies the host's name). The
outcome names a failure by its type and SMTP reply code, never the server's reply text.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate

from dq_core.actions.context import ActionContext
from dq_core.actions.destinations import DestinationRefused, Destinations, DestinationUnresolved
from dq_core.actions.notice import notice, text_summary, title
from dq_core.actions.transport import Sleep, retrying
from dq_core.errors import ConfigError
from dq_core.libraries.actions import EmailAction
from dq_core.results.run import ActionOutcome

IMPLICIT_TLS_PORT = 465
_TRANSIENT_REPLY = range(400, 500)


class CheckedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose connections go only to checked addresses of the host."""

    def __init__(self, host: str, port: int, *, timeout: float, destinations: Destinations) -> None:
        self.destinations = destinations  # before connect(), which the constructor calls
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        last: OSError | None = None
        for address in self.destinations.addresses(host, port):
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as exc:  # that address is down: the next one
                last = exc
        raise last or OSError(f"{host} has no address to connect to")


class CheckedSMTPS(smtplib.SMTP_SSL, CheckedSMTP):
    """Implicit TLS (port 465) over a checked connection; the certificate is verified against the host's name."""

    def __init__(self, host: str, port: int, *, timeout: float, destinations: Destinations) -> None:
        self.destinations = destinations
        smtplib.SMTP_SSL.__init__(self, host, port, timeout=timeout, context=ssl.create_default_context())


def transient(exc: BaseException) -> bool:
    if isinstance(exc, DestinationRefused):
        return False
    if isinstance(exc, DestinationUnresolved):
        return True
    if isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError)):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code in _TRANSIENT_REPLY
    return isinstance(exc, OSError)  # SMTPServerDisconnected, refused connections, timeouts, DNS


def message(action: EmailAction, ctx: ActionContext) -> EmailMessage:
    item = notice(ctx, action.id)
    mail = EmailMessage()
    mail["Subject"] = title(action.subject, ctx)
    mail["From"] = action.sender
    mail["To"] = ", ".join(action.to)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = f"<{ctx.run_id}.{action.id}@dq-platform>"
    mail["X-DQ-Idempotency-Key"] = ctx.idempotency_key(action.id)
    mail["X-DQ-Verdict"] = ctx.status
    mail.set_content("\n".join(text_summary(item)) + "\n")
    return mail


def _credentials(action: EmailAction, ctx: ActionContext) -> tuple[str, str] | None:
    if action.username is None and action.password is None:
        return None
    if action.username is None or action.password is None:
        raise ConfigError(f"action {action.id}: SMTP login needs both a username and a password")
    return action.username, ctx.secret(action.password)


def _send_once(
    action: EmailAction, mail: EmailMessage, login: tuple[str, str] | None, destinations: Destinations
) -> None:
    timeout = action.timeout_seconds
    kind = CheckedSMTPS if action.smtp_port == IMPLICIT_TLS_PORT else CheckedSMTP
    client: smtplib.SMTP = kind(action.smtp_host, action.smtp_port, timeout=timeout, destinations=destinations)
    with client:
        if action.starttls and action.smtp_port != IMPLICIT_TLS_PORT:
            client.starttls(context=ssl.create_default_context())
        if login is not None:
            client.login(*login)
        client.send_message(mail)


def _describe(exc: BaseException) -> str:
    """The failure's type and reply code; never the server's reply text (it is the server's to say)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # its text is every recipient's reply
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"{type(exc).__name__}: SMTP {', '.join(codes)}"
    if isinstance(exc, ssl.SSLError):
        return f"{type(exc).__name__}: {exc.reason or exc.strerror}"
    if isinstance(exc, smtplib.SMTPException):
        return type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:  # the local system's words
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def run_email(action: EmailAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    login = _credentials(action, ctx)
    mail = message(action, ctx)
    attempts = 0
    try:
        for step in retrying(action, transient, sleep):
            with step:
                attempts += 1
                _send_once(action, mail, login, ctx.destinations)
    except DestinationRefused as exc:  # nothing was sent to it
        return ctx.outcome(action.id, action.type, "failed", attempts - 1, exc.one_line())
    except DestinationUnresolved as exc:
        return ctx.outcome(
            action.id, action.type, "failed", attempts, f"gave up after {attempts} attempts: {exc.one_line()}"
        )
    except OSError as exc:  # smtplib's errors are OSErrors too
        how = f"gave up after {attempts} attempts" if transient(exc) else "refused"
        return ctx.outcome(action.id, action.type, "failed", attempts, f"{how}: {_describe(exc)}")
    to = ", ".join(action.to)
    return ctx.outcome(action.id, action.type, "delivered", attempts, f"sent to {to} via {action.smtp_host}")
