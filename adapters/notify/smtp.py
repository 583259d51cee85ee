"""MailSender over the standard library's ``smtplib``: one submission per call, to a checked address.

:class:`CheckedSMTP` and :class:`CheckedSMTPS` resolve the host when they connect and connect
only to addresses the destination rule allowed (:func:`adapters.notify.dns.checked_addresses`);
TLS (implicit or after ``STARTTLS``) still verifies the certificate against the host's name.

Failures are the port's (:mod:`dq_core.actions.outbound`), described by the failure's type and
SMTP reply code, never the server's reply text: a refused connection or a 4xx reply is
``NotSent``; a time-out or a dropped connection once connected, ``MaybeSent``; a 5xx reply, refused
recipients or a missing extension, ``SendRefused``.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

from adapters.notify.dns import Resolver, checked_addresses, system_resolver
from dq_core.actions.destinations import Destinations
from dq_core.actions.outbound import MaybeSent, NotSent, SendRefused, SmtpEndpoint

_TRANSIENT_REPLY = range(400, 500)


class CheckedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose connections go only to checked addresses of the host."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        destinations: Destinations,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.destinations, self.resolve = destinations, resolve  # before connect(), which the constructor calls
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        last: OSError | None = None
        for address in checked_addresses(host, port, self.destinations, self.resolve):
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as exc:  # that address is down: the next one
                last = exc
        raise last or OSError(f"{host} has no address to connect to")


class CheckedSMTPS(smtplib.SMTP_SSL, CheckedSMTP):
    """Implicit TLS (port 465) over a checked connection; the certificate is verified against the host's name."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        destinations: Destinations,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.destinations, self.resolve = destinations, resolve
        smtplib.SMTP_SSL.__init__(self, host, port, timeout=timeout, context=ssl.create_default_context())


def _final(exc: OSError) -> bool:
    """A refusal no other attempt can change: a 5xx reply, refused recipients, a missing extension."""
    if isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError)):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code not in _TRANSIENT_REPLY
    return False


def _describe(exc: OSError) -> str:
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
    if exc.strerror:  # the local system's words
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


class SmtpMailSender:
    """The actions' SMTP transport (see the module doc); ``resolve`` is ``getaddrinfo`` unless a test
    gives its own."""

    def __init__(self, resolve: Resolver = system_resolver) -> None:
        self.resolve = resolve

    def send(self, message: EmailMessage, endpoint: SmtpEndpoint, destinations: Destinations) -> None:
        kind = CheckedSMTPS if endpoint.tls == "implicit" else CheckedSMTP
        try:
            client: smtplib.SMTP = kind(
                endpoint.host, endpoint.port, timeout=endpoint.timeout, destinations=destinations, resolve=self.resolve
            )
        except OSError as exc:  # smtplib's errors are OSErrors too
            raise (SendRefused if _final(exc) else NotSent)(_describe(exc)) from exc
        try:
            with client:
                if endpoint.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if endpoint.login is not None:
                    client.login(*endpoint.login)
                client.send_message(message)
        except OSError as exc:
            if _final(exc):
                raise SendRefused(_describe(exc)) from exc
            if isinstance(exc, smtplib.SMTPResponseException):  # a 4xx reply: the server took nothing
                raise NotSent(_describe(exc)) from exc
            raise MaybeSent(_describe(exc)) from exc
