"""E-mail over SMTP (standard library ``smtplib``): the verdict, counts, failed rules, report path.

STARTTLS when ``starttls`` (the default), implicit TLS on port 465, login when a username
is authored (its password is a ``secret://``). The ``Message-ID`` is derived from the
idempotency key, so a mail system that dedups on it keeps one copy of a retried send.
Retried like HTTP: connection failures, timeouts, a dropped connection and 4xx replies;
a 5xx reply (refused sender, recipients or credentials) is final.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate

from dq_core.actions.context import ActionContext
from dq_core.actions.notice import notice, text_summary, title
from dq_core.actions.transport import Sleep, retrying
from dq_core.errors import ConfigError
from dq_core.libraries.actions import EmailAction
from dq_core.results.run import ActionOutcome

IMPLICIT_TLS_PORT = 465
_TRANSIENT_REPLY = range(400, 500)


def transient(exc: BaseException) -> bool:
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


def _send_once(action: EmailAction, mail: EmailMessage, login: tuple[str, str] | None) -> None:
    timeout = action.timeout_seconds
    if action.smtp_port == IMPLICIT_TLS_PORT:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            action.smtp_host, action.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(action.smtp_host, action.smtp_port, timeout=timeout)
    with client:
        if action.starttls and action.smtp_port != IMPLICIT_TLS_PORT:
            client.starttls(context=ssl.create_default_context())
        if login is not None:
            client.login(*login)
        client.send_message(mail)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {' '.join(reply.split())[:200]}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def run_email(action: EmailAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    login = _credentials(action, ctx)
    mail = message(action, ctx)
    attempts = 0
    try:
        for step in retrying(action, transient, sleep):
            with step:
                attempts += 1
                _send_once(action, mail, login)
    except OSError as exc:  # smtplib's errors are OSErrors too
        how = f"gave up after {attempts} attempts" if transient(exc) else "refused"
        return ctx.outcome(action.id, action.type, "failed", attempts, f"{how}: {_describe(exc)}")
    to = ", ".join(action.to)
    return ctx.outcome(action.id, action.type, "delivered", attempts, f"sent to {to} via {action.smtp_host}")
