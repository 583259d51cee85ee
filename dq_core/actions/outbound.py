"""What the network actions hand to their transports, and how one attempt can fail.

The executors decide what to send (payloads, signatures, headers, the TLS mode), how often to try
and what the outcome says; the transports behind the ports (:class:`~dq_core.ports.HttpSender`,
:class:`~dq_core.ports.MailSender`; httpx and smtplib in ``adapters/notify``) resolve the host,
connect to the addresses the destination rule (:mod:`dq_core.actions.destinations`) allowed and
make one attempt. An attempt that does not get through raises one of the three
:class:`SendFailed` below, whose message is one line of this platform's words: the failure's type
and a status or reply code, never the receiver's own text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dq_core.errors import DQError, TerminalError, TransientError

SmtpTls = Literal["implicit", "starttls", "none"]


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request as it is sent: the authored URL, every header but ``Host`` (the transport
    sets it from the URL), the exact body bytes."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: float  # seconds for the connection and each read; a 2xx answer's body within this too
    max_body: int  # a 2xx answer's body is read up to this many bytes, else not at all


@dataclass(frozen=True)
class HttpAnswer:
    """The receiver's answer: its status code, its ``Retry-After`` in seconds (when given as a number)
    and, for a 2xx answer only, its body (at most ``max_body`` bytes; empty when larger or slower)."""

    status_code: int
    retry_after: float | None = None
    body: bytes = b""


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how a mail is submitted: TLS from the first byte (``implicit``, port 465), after
    ``STARTTLS``, or ``none``; a login when one is authored (its password read from the secrets)."""

    host: str
    port: int
    tls: SmtpTls
    timeout: float
    login: tuple[str, str] | None = field(default=None, repr=False)


class SendFailed(DQError):
    """One attempt did not get through (the three kinds below say whether another may)."""

    code = "send_failed"


class NotSent(SendFailed, TransientError):
    """The receiver surely did not act on it: no connection was made, or a temporary refusal (an SMTP
    4xx reply). Another attempt may get through."""

    code = "not_sent"


class MaybeSent(SendFailed, TransientError):
    """The exchange broke after the request may have reached the receiver (a time-out or a dropped
    connection after sending): repeated only when a repeat is harmless."""

    code = "maybe_sent"


class SendRefused(SendFailed, TerminalError):
    """Final: the request cannot be sent this way (an unsupported request, an SMTP 5xx reply: sender,
    recipients or credentials refused). No retry can help."""

    code = "send_refused"
