"""E-mail: the verdict, counts, failed rules, report path, submitted over SMTP (the MailSender port).

STARTTLS when ``starttls`` (the default), implicit TLS on port 465, login when a username
is authored (its password is a ``secret://``). The ``Message-ID`` is derived from the
idempotency key, so a mail system that dedups on it keeps one copy of a retried send.
Retried like HTTP: connection failures, timeouts, a dropped connection and 4xx replies;
a 5xx reply (refused sender, recipients or credentials) is final.

The transport (smtplib in ``adapters/notify/smtp.py``) checks the SMTP host like an HTTP action's
(:mod:`dq_core.actions.destinations`) before each attempt and connects to a checked address (TLS
still verifies the host's name). The outcome names a failure by its type and SMTP reply code,
never the server's reply text.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import formatdate

from dq_core.actions.context import ActionContext, need_port
from dq_core.actions.destinations import DestinationRefused, DestinationUnresolved
from dq_core.actions.notice import notice, text_summary, title
from dq_core.actions.outbound import SendFailed, SendRefused, SmtpEndpoint, SmtpTls
from dq_core.actions.transport import Sleep, retrying
from dq_core.errors import ConfigError
from dq_core.libraries.actions import EmailAction
from dq_core.results.run import ActionOutcome

IMPLICIT_TLS_PORT = 465


def transient(exc: BaseException) -> bool:
    """Whether another attempt may get through: not to a refused destination, not after a final
    refusal (an SMTP 5xx); after no answer from DNS, no connection, a 4xx or a dropped one."""
    if isinstance(exc, (DestinationRefused, SendRefused)):
        return False
    return isinstance(exc, (DestinationUnresolved, SendFailed))


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


def tls_mode(action: EmailAction) -> SmtpTls:
    """Implicit TLS on port 465 (whatever ``starttls`` says), else STARTTLS when authored."""
    if action.smtp_port == IMPLICIT_TLS_PORT:
        return "implicit"
    return "starttls" if action.starttls else "none"


def run_email(action: EmailAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    sender = need_port(ctx.mail, "a mail transport (the MailSender port)")
    endpoint = SmtpEndpoint(
        host=action.smtp_host,
        port=action.smtp_port,
        tls=tls_mode(action),
        timeout=action.timeout_seconds,
        login=_credentials(action, ctx),
    )
    mail = message(action, ctx)
    attempts = 0
    try:
        for step in retrying(action, transient, sleep):
            with step:
                attempts += 1
                sender.send(mail, endpoint, ctx.destinations)
    except DestinationRefused as exc:  # nothing was sent to it
        return ctx.outcome(action.id, action.type, "failed", attempts - 1, exc.one_line())
    except DestinationUnresolved as exc:
        return ctx.outcome(
            action.id, action.type, "failed", attempts, f"gave up after {attempts} attempts: {exc.one_line()}"
        )
    except SendFailed as exc:
        how = f"gave up after {attempts} attempts" if transient(exc) else "refused"
        return ctx.outcome(action.id, action.type, "failed", attempts, f"{how}: {exc.message}")
    to = ", ".join(action.to)
    return ctx.outcome(action.id, action.type, "delivered", attempts, f"sent to {to} via {action.smtp_host}")
