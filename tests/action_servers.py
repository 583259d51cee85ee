"""Real servers on 127.0.0.1 for the action tests: an HTTP receiver with scripted answers that
records one delivery per idempotency key, and an SMTP server (aiosmtpd) that keeps messages."""

from __future__ import annotations

import functools
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next scripted status (then ``default``). A 2xx answer
    records a delivery under the request's Idempotency-Key, once per key."""

    script: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0  # seconds before answering (to make a client time out)
    retry_after: str | None = None  # a Retry-After header on failure answers
    answer: bytes = b'{"ok": true}'
    failure_answer: bytes = b'{"error": "scripted failure"}'
    location: str | None = None  # a Location header on every answer (a redirect, with a 3xx status)
    reason: str | None = None  # the reason phrase of the status line (default: the standard one)
    requests: list[Received] = field(default_factory=list)
    deliveries: dict[str, Received] = field(default_factory=dict)
    duplicates: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self.lock:
            status = self.script.pop(0) if self.script else self.default
            item = Received(handler.command, handler.path, dict(handler.headers.items()), body, status)
            self.requests.append(item)
            if 200 <= status < 300:
                key = item.headers.get("Idempotency-Key", f"no-key-{len(self.requests)}")
                if key in self.deliveries:
                    self.duplicates += 1
                else:
                    self.deliveries[key] = item
        if self.delay:
            time.sleep(self.delay)
        payload = self.answer if 200 <= status < 300 else self.failure_answer
        handler.send_response(status, self.reason)
        handler.send_header("Content-Type", "application/json")
        if self.location is not None:
            handler.send_header("Location", self.location)
        if self.retry_after is not None and not 200 <= status < 300:
            handler.send_header("Retry-After", self.retry_after)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


@contextmanager
def http_receiver(
    script: list[int] | None = None,
    *,
    default: int = 200,
    answer: bytes = b'{"ok": true}',
    delay: float = 0.0,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
) -> Iterator[Receiver]:
    """A receiver on ``host`` (127.0.0.1, or ::1); with ``tls`` (see :func:`tls_server_context`) it speaks HTTPS."""
    receiver = Receiver(script=list(script or []), default=default, answer=answer, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # what a client following a 302/303 would send
            receiver.handle(self)

        def do_POST(self) -> None:
            receiver.handle(self)

        def do_PUT(self) -> None:
            receiver.handle(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    netloc = f"[{host}]" if ":" in host else host
    receiver.url = f"{'https' if tls else 'http'}://{netloc}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def tls_server_context(folder: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A throw-away CA (its certificate at ``folder/ca.pem``, for SSL_CERT_FILE) and a server
    context whose certificate, signed by it, names ``name`` (a DNS name) only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def certificate(subject: str, key: Any, issuer: str, signer: Any, *, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("dq test CA", ca_key, "dq test CA", ca_key, ca=True)
    leaf = certificate(name, key, "dq test CA", ca_key, ca=False)
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, chain, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_path)
    return ca_path, context


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    reply: str = "250 Message accepted for delivery"  # the answer to DATA; not 250: the message is refused
    connections: int = 0

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        if self.reply.startswith("250"):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return self.reply


@contextmanager
def smtp_server(credentials: tuple[str, str] | None = None, *, host: str = "127.0.0.1") -> Iterator[Mailbox]:
    """An SMTP server on ``host`` (127.0.0.1 or ::1); with ``credentials`` it checks AUTH logins (over
    plain text: a test). ``connections`` counts the clients that said EHLO (smtplib always does)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    mailbox = Mailbox(host=host, port=free_port(host))

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
        if ok:
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=ok)

    options: dict[str, Any] = {}
    if credentials is not None:
        options = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(mailbox, hostname=host, port=mailbox.port, **options)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    return free_port()


# --- a run to act on ---------------------------------------------------------------------------

RUN_ID = "5f0c7a52-8d1e-4c1b-9a53-0e4f1f7f9a10"
STARTED = "2026-11-25T09:00:00+00:00"
FINISHED = "2026-11-25T09:00:07+00:00"


class Secrets:
    """An in-memory SecretStore for one tenant: ``secret://name`` is ``values[name]``."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, tenant: str, reference: str) -> str:
        from dq_core.errors import ObjectNotFound

        name = reference.removeprefix("secret://")
        if name not in self.values:
            raise ObjectNotFound(f"{reference} is not set for tenant {tenant}")
        return self.values[name]


@functools.cache
def demo_bundle() -> Any:
    from services import workspace as service
    from tests.conftest import LIBRARIES

    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")


def sample_result(status: str = "failed") -> Any:
    from dq_core.results.run import RunResult

    rules = [
        {
            "rule_id": "email_not_null",
            "type": "not_null",
            "columns": ["email"],
            "severity": "error",
            "status": "failed",
            "element_count": 13,
            "unexpected_count": 2,
            "unexpected_percent": 15.38,
            "message": "email is required",
        },
        {
            "rule_id": "age_range",
            "type": "range",
            "columns": ["age"],
            "severity": "warning",
            "status": "passed",
            "element_count": 13,
            "unexpected_count": 0,
            "observed_value": 0,
        },
        {"rule_id": "rows_anomaly", "type": "anomaly", "severity": "warning", "status": "skipped"},
    ]
    document = {
        "run_id": RUN_ID,
        "tenant": "contoso",
        "environment": "dev",
        "job_definition": {"id": "customers_daily", "version": "1.0.0"},
        "input": {"uri": "landing/crm/customers_1.csv", "sha256": "0" * 64, "format": "csv", "bytes": 1234, "rows": 20},
        "status": status,
        "started_at": STARTED,
        "finished_at": FINISHED,
        "cleansing": {
            "rows_in": 20,
            "rows_out": 13,
            "rows_rejected": 5,
            "duplicates_removed": 2,
            "steps": [],
            "reject_reasons": {},
        },
        "profile": {
            "row_count": 13,
            "columns": {
                "email": {"kind": "string", "null_count": 2, "distinct_count": 11, "min": None, "max": None},
                "age": {"kind": "numeric", "null_count": 0, "distinct_count": 9, "min": 18, "max": 70},
            },
        },
        "validation": {
            "rules": rules,
            "summary": {
                "evaluated": 2,
                "passed": 1,
                "failed": 1,
                "errors": 0,
                "skipped": 1,
                "failed_error_severity": 1,
            },
        },
        "error": {"code": "input_invalid", "message": "ragged rows"} if status == "error" else None,
    }
    return RunResult.model_validate(document)


def action_context(
    tmp_path: Any,
    *,
    status: str = "failed",
    secrets: dict[str, str] | None = None,
    actions: tuple[Any, ...] = (),
    queues: Any = None,
    rows: Any = None,
    allow_private_networks: bool = True,
    resolve: Any = None,
) -> Any:
    """An ActionContext over a local blob folder holding the run's files (result, rejects, cleansed).

    The receivers of these tests listen on 127.0.0.1, so the context allows private networks
    (``DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS``) unless told ``allow_private_networks=False``, as a
    deployment is by default; ``resolve`` replaces ``getaddrinfo`` (host, port -> addresses) in the
    HTTP and SMTP transports (adapters/notify)."""
    import polars as pl

    from adapters.local.folder_blobs import LocalBlobStore
    from adapters.notify.dns import system_resolver
    from adapters.notify.http import HttpxSender
    from adapters.notify.openlineage import OpenLineageClientEmitter
    from adapters.notify.smtp import SmtpMailSender
    from dq_core.actions.context import ActionContext
    from dq_core.actions.destinations import Destinations
    from dq_core.bundle.models import ResolvedAction
    from dq_core.runs.files import RunFiles

    bundle = demo_bundle()
    if actions:
        resolved = tuple(ResolvedAction(library="test@1.0.0", triggers=(a.trigger,), action=a) for a in actions)
        bundle = bundle.model_copy(update={"actions": resolved})
    blobs = LocalBlobStore(tmp_path / "blobs")
    folder = f"runs/{RUN_ID}/"
    result = sample_result(status)
    files = RunFiles(blobs, "contoso")
    files.write_bytes(folder + "result.json", result.to_json().encode("utf-8"))
    files.write_frame(
        folder + "rejects.parquet", pl.DataFrame({"email": ["x", None], "_dq_reject_reason": ["bad", "bad"]})
    )
    files.write_frame(folder + "cleansed/part-00000.parquet", pl.DataFrame({"email": ["a@b.c"], "age": [30]}))
    files.write_frame(folder + "cleansed/part-00001.parquet", pl.DataFrame({"email": ["d@e.f"], "age": [41]}))
    files.write_bytes(folder + "profile.json", b'{"row_count": 2}\n')
    return ActionContext(
        bundle=bundle,
        run_id=RUN_ID,
        trigger="on_failure" if status == "failed" else "always",
        status=status,
        result_path=folder + "result.json",
        blobs=blobs,
        secrets=Secrets(secrets),
        result=result,
        run_folder=folder,
        report_path=folder + "report.html",
        queues=queues,
        rows=rows,
        http=HttpxSender(resolve or system_resolver),
        mail=SmtpMailSender(resolve or system_resolver),
        openlineage=OpenLineageClientEmitter(),
        destinations=Destinations(allow_private_networks=allow_private_networks),
    )
