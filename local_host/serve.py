"""``dq serve``: the HTTP API on this machine, for development, browsers, curl and tests.

The same FastAPI app the Functions app hosts (``api.main.create_app``), served by
uvicorn, over the same context: the ports of the settings (the embedded SQLite
registry, lineage and blob folder under ``home`` unless settings name services), the
authenticator of the settings (auth off only in environment ``local``), and, as the
Durable client, a real ``DurableOrchestrationClient`` talking to a
:class:`~local_host.extension.LocalDurableExtension` started alongside (runs go through
the real ``run_job`` orchestrator and activities). Ctrl-C (or SIGTERM) stops both.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

import azure.durable_functions as df
import uvicorn
from azure.durable_functions.models.utils import http_utils

from api.hosting import api_context
from api.main import create_app
from app.bootstrap import Stores, stores
from app.runtime import use_ports
from app.settings import AppSettings, get_settings
from dq_core.config.base import Environment, Status
from dq_core.errors import ConfigError, DQError
from dq_core.registry.lifecycle import Action
from local_host.extension import LocalDurableExtension
from monitoring.telemetry import configure_monitoring
from services import workspace as service
from services.registry import RegistryService
from services.starting import Starter

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 7071
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})  # where an API with auth off may listen
SYNC_ACTOR: Final = "dq-serve"
LOCAL_REVIEWER: Final = "dq-serve-reviewer"  # approves what SYNC_ACTOR stored (an author cannot approve)


class _Stop(Exception):
    """SIGINT or SIGTERM arrived: stop serving (uvicorn re-raises the signal after its shutdown)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    home: Path = Path(".dq")
    libraries: Path | None = None
    log_level: str = "info"


def sync_libraries(wired: Stores, libraries: Path, environment: str) -> str:
    """Store every object of the authoring files under ``libraries`` in the registry; a one-line
    summary. The first problem of the files raises.

    Outside ``local`` new versions enter as drafts, as with ``dq contracts sync``. In the
    ``local`` environment (a developer's server) the files are served as they are: every
    object is stored under ``local`` whatever environment its file names, then approved by
    ``dq-serve-reviewer`` and published, each change audited, so jobs can run at once.
    """
    workspace = service.workspace_from_directory(libraries)
    if workspace.problems:
        raise workspace.problems[0]
    if environment != Environment.LOCAL.value:
        report = service.sync_to_store(workspace, wired.contracts, actor=SYNC_ACTOR, lineage=wired.lineage)
        return f"{libraries} -> registry: {report.summary()}"
    local = [obj.model_copy(update={"environment": Environment.LOCAL}) for obj in workspace.index]
    report = service.store_objects(local, wired.contracts, actor=SYNC_ACTOR, lineage=wired.lineage)
    registry = RegistryService(wired.contracts, wired.lineage, environment)
    published, conflicting = 0, list(report.conflicting)
    for obj in local:
        try:
            status = wired.contracts.record(obj.tenant, environment, obj.key).status
            if status is Status.DRAFT:
                status = registry.act(obj.tenant, obj.key, Action.APPROVE, actor=LOCAL_REVIEWER).status
            if status is Status.APPROVED:
                status = registry.act(obj.tenant, obj.key, Action.PUBLISH, actor=LOCAL_REVIEWER).status
        except DQError as exc:
            conflicting.append(f"{obj.tenant} {obj.key}: {exc.message}")
            continue
        published += status is Status.PUBLISHED
    summary = f"{libraries} -> registry (environment local): {published} published"
    return summary + (f", {len(conflicting)} refused ({conflicting[0]})" if conflicting else "")


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port); ConfigError when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    finally:
        await http_utils._handle_request_error()  # closes the Durable client's shared HTTP session


def serve(options: ServeOptions, *, settings: AppSettings | None = None, say: Callable[[str], None] = print) -> None:
    """Serve the API until SIGINT or SIGTERM. Configuration errors raise before anything listens."""
    settings = settings or get_settings()
    configure_monitoring()  # the dq loggers to stderr (DQ_LOG_FORMAT); Application Insights when set
    wired = stores(options.home, settings)
    ports = wired.run_ports()
    if options.libraries is not None:
        say(sync_libraries(wired, options.libraries, settings.environment.value))
    holder: list[Starter] = []
    ctx = api_context(ports, lambda: holder[0], home=options.home, settings=settings)
    if not ctx.authenticator.enabled and options.host not in LOOPBACK:
        msg = f"auth is off: dq serve then listens on 127.0.0.1 only, not {options.host} (set DQ_AUTH_MODE)"
        raise ConfigError(msg)
    config = uvicorn.Config(
        create_app(ctx),
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        lifespan="off",
        server_header=False,
    )
    server = uvicorn.Server(config)
    extension = LocalDurableExtension(home=options.home)  # its task hub under home; refused when in use
    try:
        sock = listen(options.host, options.port)
    except ConfigError:
        extension.stop()  # lets go of the task hub
        raise
    use_ports(ports)  # the activities of runs started through the API, and of interrupted ones, use these stores
    extension.start()
    try:
        holder.append(df.DurableOrchestrationClient(extension.client_binding()))
        url = f"http://{_url_host(options.host)}:{sock.getsockname()[1]}"
        auth = "on" if ctx.authenticator.enabled else "off (environment local)"
        say(f"dq serve: {url}/api  (environment {ctx.environment}, auth {auth}, stores under {options.home})")
        say(f"  OpenAPI {url}/api/openapi.json, docs {url}/api/docs, health {url}/api/health")
        say("  press Ctrl-C to stop")
        with _stop_on_signals(), suppress(_Stop, KeyboardInterrupt):
            asyncio.run(_serve(server, sock))
    finally:
        sock.close()
        extension.stop(timeout=30)
        use_ports(None)
    say("dq serve: stopped")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - shown, not bound
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
