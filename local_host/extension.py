"""A local Durable Functions extension: the HTTP API the Durable client talks to, on 127.0.0.1.

The Functions host cannot run here, yet the entry points need a real
``DurableOrchestrationClient``. This server implements the part of the Durable
extension's HTTP API that the client uses to start and watch orchestrations:

* ``POST {rpc}/orchestrators/{name}[/{instanceId}]`` (``start_new``): 202 with the
  instance's management URLs; 400 ``{"ExceptionMessage": ...}`` for an unknown
  orchestrator; 409 when an instance with that id is Pending or Running (as with
  host.json ``overridableExistingInstanceStates: NonRunningStates``); a Completed,
  Failed or Terminated one is replaced.
* ``GET {rpc}/instances/{instanceId}`` (``get_status``) and the same under
  ``/runtime/webhooks/durabletask/instances/{instanceId}`` (the ``statusQueryGetUri`` of
  ``create_check_status_response``): the status JSON (name, instanceId, runtimeStatus,
  input with ``showInput=true``, output, customStatus, createdTime, lastUpdatedTime);
  200 Completed, 202 Pending/Running, 400 Failed, 404 unknown (empty body, which the
  client reads as "no such instance").

Every other route answers 501. A started instance runs in a background thread through
:class:`~local_host.durable.ReplayDriver`: the real orchestrator generators, replayed by
the SDK's own executor, with the activities on a thread pool. :meth:`client_binding`
gives the JSON the Functions host would bind to a ``durableClient`` parameter, so
``DurableOrchestrationClient(extension.client_binding())`` talks to this server.

With a ``home`` folder the task hub outlives the process (``dq serve`` gives its
``--home``): :class:`InstanceIndex` keeps every instance (status, custom status, output)
and the history of each running one in ``{home}/durable/{task hub}.db`` (SQLite, one
transaction per change). A restarted extension answers for the instances of before, so
status URLs keep working and a deterministic instance id that exists stays a 409; an
instance that was Pending or Running when the process died is continued from its
history, through ``on_restart`` (for ``run_job``: :func:`local_host.runs.interrupting`,
which ends the run with status ``error`` and the reason; see docs/orchestration.md).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self
from urllib.parse import parse_qs, unquote, urlsplit

from azure.durable_functions.constants import DATETIME_STRING_FORMAT

from dq_core.errors import ConfigError
from local_host.durable import History, ReplayDriver

log = logging.getLogger("dq.local_extension")

Activity = Callable[[str, str], Any]
Restart = Callable[[Activity], Activity]  # the activities of an instance continued after a restart
RPC_PREFIX: Final = "/durabletask/"
WEBHOOK_PREFIX: Final = "/runtime/webhooks/durabletask/"
PLACEHOLDER: Final = "INSTANCEID"
RUNNING: Final = frozenset({"Pending", "Running"})
_STATUS_CODES: Final = {"Completed": 200, "Pending": 202, "Running": 202, "Failed": 400, "Terminated": 400}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_STRING_FORMAT)


def _moment(text: str) -> datetime:
    return datetime.strptime(text, DATETIME_STRING_FORMAT).replace(tzinfo=UTC)


@dataclass
class Instance:
    """One orchestration instance as the extension tracks it."""

    instance_id: str
    name: str
    input: Any
    runtime_status: str = "Pending"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    custom_status: Any = None
    output: Any = None

    def to_json(self, *, show_input: bool) -> dict[str, Any]:
        body = {
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": _stamp(self.created),
            "lastUpdatedTime": _stamp(self.updated),
        }
        if show_input:
            body["input"] = self.input
        return body


class InstanceIndex:
    """The task hub on disk: every instance, and the history of each (sub-)orchestration while
    it runs (the driver's :class:`~local_host.durable.Journal`). One SQLite file; every write is
    its own transaction, so a killed process leaves the last change whole. One process at a time
    holds it (an exclusive lock on ``{path}.lock``, which the system drops when the process dies):
    a second server on the same home would take the first one's running instances for interrupted."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._owner = _hold(path.with_name(path.name + ".lock"))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS instances (instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "input TEXT NOT NULL, runtime_status TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, "
            "custom_status TEXT NOT NULL, output TEXT NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS histories (instance_id TEXT PRIMARY KEY, history TEXT NOT NULL)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._owner.close()

    def instances(self) -> list[Instance]:
        """Every instance, in start order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT instance_id, name, input, runtime_status, created, updated, custom_status, output "
                "FROM instances ORDER BY created, rowid"
            ).fetchall()
        return [
            Instance(
                instance_id=row[0],
                name=row[1],
                input=json.loads(row[2]),
                runtime_status=row[3],
                created=_moment(row[4]),
                updated=_moment(row[5]),
                custom_status=json.loads(row[6]),
                output=json.loads(row[7]),
            )
            for row in rows
        ]

    def put(self, record: Instance) -> None:
        values = (
            record.instance_id,
            record.name,
            json.dumps(record.input),
            record.runtime_status,
            _stamp(record.created),
            _stamp(record.updated),
            json.dumps(record.custom_status),
            json.dumps(record.output),
        )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)

    def save(self, instance_id: str, history: History) -> None:
        text = json.dumps(history)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO histories VALUES (?, ?)", (instance_id, text))

    def load(self, instance_id: str) -> History | None:
        with self._lock:
            row = self._db.execute("SELECT history FROM histories WHERE instance_id = ?", (instance_id,)).fetchone()
        if row is None:
            return None
        history: History = json.loads(row[0])
        return history

    def forget(self, instance_id: str) -> None:
        """Drop the histories of an instance and of its sub-orchestrations (``{id}:{index}``)."""
        prefix = instance_id + ":"
        with self._lock:
            self._db.execute(
                "DELETE FROM histories WHERE instance_id = ? OR substr(instance_id, 1, ?) = ?",
                (instance_id, len(prefix), prefix),
            )


def _hold(path: Path) -> IO[bytes]:
    """The open lock file, locked exclusively; ConfigError when another process holds it."""
    handle = path.open("ab")
    if sys.platform == "win32":  # no flock there: one server per home is then the user's to keep
        return handle
    import fcntl  # noqa: PLC0415 - POSIX only

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        msg = f"another dq serve uses the home folder {path.parent.parent}: give each server its own --home"
        raise ConfigError(msg) from None
    return handle


class LocalDurableExtension:
    """The Durable extension's HTTP API for one task hub, served on 127.0.0.1 (see module doc)."""

    def __init__(
        self,
        orchestrators: Mapping[str, Callable[..., Any]] | None = None,
        activity: Activity | None = None,
        *,
        task_hub: str = "dqlocal",
        workers: int = 4,
        host: str = "127.0.0.1",
        port: int = 0,
        home: Path | None = None,
        on_restart: Restart | None = None,
    ) -> None:
        if orchestrators is None or activity is None:
            from local_host.runs import interrupting, run_activity  # noqa: PLC0415 - every activity and stage
            from orchestrators.blueprint import ORCHESTRATORS  # noqa: PLC0415

            orchestrators = ORCHESTRATORS if orchestrators is None else orchestrators
            activity = run_activity if activity is None else activity
            on_restart = interrupting if on_restart is None else on_restart
        self._orchestrators = orchestrators
        self._activity = activity
        self._on_restart = on_restart
        self.task_hub = task_hub
        self._workers = workers
        self._address = (host, port)
        self._index = None if home is None else InstanceIndex(home / "durable" / f"{task_hub}.db")
        self._instances: dict[str, Instance] = {}
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        interrupted = self._reopen()
        self._server = ThreadingHTTPServer(self._address, partial(_Handler, owner=self))
        self._server.daemon_threads = True
        self._serving = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="dq-durable-http", daemon=True
        )
        self._serving.start()
        log.info("local Durable extension on %s", self.base_url)
        for record in interrupted:
            log.warning("instance %s was %s when the host stopped: continuing it", record.instance_id,
                        record.runtime_status)  # fmt: skip
            self._launch(record, restarted=True)
        return self

    def _reopen(self) -> list[Instance]:
        """Load the instances of the index; the ones that were Pending or Running (their host died)."""
        if self._index is None:
            return []
        with self._changed:
            for record in self._index.instances():
                self._instances[record.instance_id] = record
            return [record for record in self._instances.values() if record.runtime_status in RUNNING]

    def stop(self, timeout: float = 120.0) -> None:
        """Stop answering, then wait (up to ``timeout`` seconds each) for the running orchestrations."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._serving is not None:
            self._serving.join(timeout)
        for thread in list(self._threads):
            thread.join(timeout)
        self._server = self._serving = None
        if self._index is not None and not any(thread.is_alive() for thread in self._threads):
            self._index.close()
            self._index = None  # the extension is not started again (dq serve stops once)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            msg = "the local Durable extension is not started"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- the binding ------------------------------------------------------------------------

    def client_binding(self) -> str:
        """The ``durableClient`` binding JSON (what the host passes to a starter function)."""
        hub = f"taskHub={self.task_hub}&connection=Storage"
        instance = f"{self.base_url}{WEBHOOK_PREFIX}instances/{PLACEHOLDER}"
        creation = f"{self.base_url}{WEBHOOK_PREFIX}orchestrators/{{functionName}}[/{{instanceId}}]?{hub}"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": creation,
                    "createAndWaitOnNewInstancePostUri": creation + "&timeout={timeoutInSeconds}",
                },
                "managementUrls": {
                    "id": PLACEHOLDER,
                    "statusQueryGetUri": f"{instance}?{hub}",
                    "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{hub}",
                    "terminatePostUri": f"{instance}/terminate?reason={{text}}&{hub}",
                    "rewindPostUri": f"{instance}/rewind?reason={{text}}&{hub}",
                    "purgeHistoryDeleteUri": f"{instance}?{hub}",
                    "restartPostUri": f"{instance}/restart?{hub}",
                    "suspendPostUri": f"{instance}/suspend?reason={{text}}&{hub}",
                    "resumePostUri": f"{instance}/resume?reason={{text}}&{hub}",
                },
                "rpcBaseUrl": f"{self.base_url}{RPC_PREFIX}",
                "baseUrl": f"{self.base_url}{WEBHOOK_PREFIX}",
            }
        )

    # --- instances ----------------------------------------------------------------------------

    def instance_ids(self) -> list[str]:
        """Every instance id this extension has started, in start order."""
        with self._changed:
            return list(self._instances)

    def instance(self, instance_id: str) -> Instance | None:
        with self._changed:
            return self._instances.get(instance_id)

    def wait(self, instance_id: str, timeout: float = 120.0) -> Instance:
        """The instance once it is no longer Pending or Running; TimeoutError otherwise."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: (found := self._instances.get(instance_id)) is not None and found.runtime_status not in RUNNING,
                timeout,
            )
            if not done:
                msg = f"instance {instance_id} still running after {timeout} s"
                raise TimeoutError(msg)
            return self._instances[instance_id]

    def start_instance(self, name: str, instance_id: str | None, input_: Any) -> tuple[int, dict[str, Any]]:
        """What ``POST .../orchestrators/{name}[/{id}]`` answers: (HTTP status, JSON body)."""
        if name not in self._orchestrators:
            message = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            return 400, {"ExceptionMessage": message}
        instance_id = instance_id or uuid.uuid4().hex
        with self._changed:
            existing = self._instances.get(instance_id)
            if existing is not None and existing.runtime_status in RUNNING:
                message = f"An instance with ID '{instance_id}' already exists ({existing.runtime_status})."
                return 409, {"Message": message, "ExceptionMessage": message}
            record = Instance(instance_id=instance_id, name=name, input=input_)
            self._instances[instance_id] = record
            if self._index is not None:
                self._index.forget(instance_id)  # the history of a Failed instance it replaces
                self._index.put(record)
            self._changed.notify_all()
        self._launch(record, restarted=False)
        links = json.loads(self.client_binding())["managementUrls"]
        return 202, {key: value.replace(PLACEHOLDER, instance_id) for key, value in links.items()}

    def _launch(self, record: Instance, *, restarted: bool) -> None:
        thread = threading.Thread(
            target=self._run, args=(record, restarted), name=f"dq-orchestration-{record.instance_id}"
        )
        with self._changed:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _update(self, record: Instance, **changes: Any) -> None:
        with self._changed:
            if self._instances.get(record.instance_id) is not record:
                return  # replaced by a newer instance with the same id
            for key, value in changes.items():
                setattr(record, key, value)
            record.updated = datetime.now(UTC)
            if self._index is not None:
                self._index.put(record)
            self._changed.notify_all()

    def _run(self, record: Instance, restarted: bool) -> None:
        """Drive the instance; after a restart from its saved history, with ``on_restart``'s activities."""
        self._update(record, runtime_status="Running")
        activity = self._activity
        if restarted and self._on_restart is not None:
            activity = self._on_restart(activity)
        driver = ReplayDriver(
            self._orchestrators,
            activity,
            workers=self._workers,
            on_status=lambda _id, status: self._update(record, custom_status=status),
            journal=self._index,
        )
        try:
            outcome = driver.run(record.name, record.input, record.instance_id)
        except Exception as exc:  # a crashed orchestration is a Failed instance, not a dead thread
            log.exception("orchestration %s crashed", record.instance_id)
            self._update(record, runtime_status="Failed", output=f"{type(exc).__name__}: {exc}")
        else:
            if outcome.failed:
                self._update(record, runtime_status="Failed", output=outcome.error, custom_status=outcome.custom_status)
            else:
                status = outcome.custom_status
                self._update(record, runtime_status="Completed", output=outcome.output, custom_status=status)
        with self._changed:
            if self._index is not None and self._instances.get(record.instance_id) is record:
                self._index.forget(record.instance_id)  # a finished instance needs no history

    def status(self, instance_id: str, *, show_input: bool) -> tuple[int, dict[str, Any] | None]:
        """What ``GET .../instances/{id}`` answers: (HTTP status, JSON body or None)."""
        with self._changed:
            record = self._instances.get(instance_id)
            if record is None:
                return 404, None
            return _STATUS_CODES.get(record.runtime_status, 200), record.to_json(show_input=show_input)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args: Any, owner: LocalDurableExtension, **kwargs: Any) -> None:
        self.owner = owner  # before the base class, which handles the request in __init__
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[list[str], dict[str, list[str]]]:
        parts = urlsplit(self.path)
        path = parts.path
        for prefix in (RPC_PREFIX, WEBHOOK_PREFIX):
            if path.startswith(prefix):
                return [unquote(p) for p in path[len(prefix) :].split("/")], parse_qs(parts.query)
        return [], {}

    def do_GET(self) -> None:  # the base class dispatches on do_<METHOD>
        segments, query = self._route()
        if len(segments) == 2 and segments[0] == "instances" and segments[1]:  # noqa: PLR2004
            show_input = query.get("showInput", ["false"])[0].lower() == "true"
            self._send(*self.owner.status(segments[1], show_input=show_input))
            return
        self._send(501, {"Message": f"GET {self.path} is not implemented by the local Durable extension"})

    def do_POST(self) -> None:
        segments, _ = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if segments and segments[0] == "orchestrators" and 2 <= len(segments) <= 3 and segments[1]:  # noqa: PLR2004
            try:
                input_ = _input(raw)
            except ValueError as exc:
                self._send(400, {"ExceptionMessage": f"the input is not JSON: {exc}"})
                return
            instance_id = segments[2] if len(segments) == 3 else None  # noqa: PLR2004
            self._send(*self.owner.start_instance(segments[1], instance_id, input_))
            return
        self._send(501, {"Message": f"POST {self.path} is not implemented by the local Durable extension"})

    def do_DELETE(self) -> None:
        self._send(501, {"Message": f"DELETE {self.path} is not implemented by the local Durable extension"})


def _input(raw: bytes) -> Any:
    """The orchestration input of a start request. The Python client serialises its input to a
    JSON string and sends that string as JSON, so the body is JSON text inside a JSON string:
    the extension unwraps it, as this does."""
    if not raw.strip():
        return None
    value = json.loads(raw)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
