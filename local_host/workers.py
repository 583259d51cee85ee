"""Worker processes for the activities of ``dq run``: the local counterpart of Azure's instances.

A :class:`WorkerPool` keeps ``size`` worker processes for the whole run (``spawn``: each a
fresh interpreter, never a ``fork`` of a process that runs polars threads). A worker composes
its own ports once, at start, by calling ``setup`` (a picklable, argument-free callable such
as a ``functools.partial`` of a module-level function: what to build, never a live store),
installs them with :func:`app.runtime.use_ports`, and then runs one activity after another
through ``activity`` (:func:`local_host.runs.run_activity`: ``activities.blueprint.execute``,
telemetry and retries included). A worker outlives its activities, so what a process keeps
(the bundle validated once per content, ``dq_core.runs.stages.parsed_bundle``; imported
modules; open SQLite connections) serves every activity it runs.

Each worker is owned by one thread of the parent (a *slot*) that takes the next activity from
the pool's queue, hands it to its process over a pipe and waits for the answer or for the
process to end. A process that ends while it runs an activity (killed, out of memory,
crashed) fails that activity with :class:`WorkerDied` (the orchestrator records a failed
task: the run ends ``error``, ``activity_failed``); the slot starts a fresh process for the
next activity, so the run still records its verdict and closes. A process says it took an
activity before it runs it; one that dies before it said so (found dead while idle, or killed
the moment it was handed the activity) lost nothing: a fresh one takes the activity.
:meth:`WorkerPool.close` stops the workers (``terminate=True`` at once: Ctrl-C, an error);
a future is always answered, so the driver never waits for a process that is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Final, Self

log = logging.getLogger("dq.local_workers")

Setup = Callable[[], Any]  # builds a worker's RunPorts (and anything else it needs) once
WorkerActivity = Callable[[str, str], Any]  # (activity name, JSON input) -> JSON-able result

START_TIMEOUT: Final = 300.0  # seconds a worker may take to import and compose its ports
STOP_TIMEOUT: Final = 10.0  # seconds a worker may take to leave after it is asked to
_CONTEXT: Final = "spawn"


class WorkerDied(RuntimeError):
    """A worker process ended without answering: the activity it had is lost."""


class WorkerFailed(RuntimeError):
    """An activity raised in a worker process, or a worker could not start: the message, and in
    ``details`` the type of what was raised (what the driver records, as for a thread's exception)."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details or type(self).__name__


class PoolClosed(RuntimeError):
    """An activity was submitted to, or was still waiting in, a pool that closed."""


def _describe(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _ended(process: BaseProcess) -> bool:
    """Whether the process has ended (its sentinel is ready; true even when someone else reaped it)."""
    return bool(wait([process.sentinel], timeout=0))


def _serve(setup: Setup, activity: WorkerActivity, conn: Connection) -> None:
    """A worker's life: compose the ports once, then answer activities until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    try:
        from app.runtime import use_ports  # noqa: PLC0415 - the worker's imports, not the parent's

        use_ports(setup())
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which fails the activity with it
        conn.send(("failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        name, payload = task
        try:
            conn.send(("started",))  # from here the activity is this process's: if it dies, the activity failed
        except OSError:
            return
        answer: tuple[str, ...]
        try:
            answer = ("ok", json.dumps(activity(name, payload)))
        except Exception as exc:  # noqa: BLE001 - a failed task, as on a thread
            answer = ("error", type(exc).__name__, str(exc))
        try:
            conn.send(answer)
        except OSError:  # the parent is gone: nobody waits for the answer
            return


class _Slot:
    """One worker process and the parent thread that feeds it."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self._pool = pool
        self._index = index
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.pid: int | None = None
        self.thread = threading.Thread(target=self._loop, name=f"dq-worker-{index}", daemon=True)

    def start_process(self) -> None:
        """Start the worker process (without waiting for it to be ready)."""
        context = multiprocessing.get_context(_CONTEXT)
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve,
            args=(self._pool.setup, self._pool.activity, child),
            name=f"dq-worker-{self._index}",
            daemon=True,  # never outlives the parent, whatever happens to it
        )
        process.start()
        child.close()
        self._process, self._conn, self.pid = process, parent, process.pid

    def _ready(self) -> None:
        """Wait for the process's hello; WorkerDied or WorkerFailed when it cannot serve."""
        assert self._process is not None and self._conn is not None  # noqa: S101 - started just before
        ready = wait([self._conn, self._process.sentinel], timeout=START_TIMEOUT)
        message: Any = None
        if self._conn in ready:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = None
        if isinstance(message, tuple) and message[0] == "ready":
            return
        process = self._discard()
        if isinstance(message, tuple) and message[0] == "failed":
            raise WorkerFailed(f"worker process {process.pid} could not start: {message[1]}")
        raise WorkerDied(f"worker process {process.pid} died while starting ({_describe(process.exitcode)})")

    def _discard(self) -> BaseProcess:
        """Let go of the current process (it is gone or useless); it is returned for its pid and exit code."""
        process, conn = self._process, self._conn
        assert process is not None and conn is not None  # noqa: S101
        self._process = self._conn = None
        conn.close()
        if not _ended(process):
            process.kill()
        process.join(STOP_TIMEOUT)
        return process

    def _run(self, name: str, payload: str) -> str:
        """The activity on this slot's process. A process that dies before it says it took the activity
        (killed while idle, even a moment before it was handed the activity) lost nothing: a fresh one
        takes it, once. One that dies after fails the activity (:class:`WorkerDied`)."""
        for attempt in range(2):
            if self._process is not None and _ended(self._process):  # died while it had nothing to do
                process = self._discard()
                log.warning("worker process %s died while idle (%s): starting another", process.pid,
                            _describe(process.exitcode))  # fmt: skip
            if self._process is None:
                self.start_process()
                self._ready()
            assert self._process is not None and self._conn is not None  # noqa: S101
            pid = self._process.pid
            try:
                self._conn.send((name, payload))
                started = self._receive()
            except OSError:
                started = None
            if started is not None:
                break
            process = self._discard()
            if self._pool.closing:
                raise PoolClosed(f"activity {name}: the run was stopped")
            if attempt:
                raise WorkerDied(f"activity {name}: worker process {pid} died ({_describe(process.exitcode)})")
            log.warning("worker process %s died before it took activity %s (%s): starting another", pid, name,
                        _describe(process.exitcode))  # fmt: skip
        answer = self._receive()
        if answer is None:
            process = self._discard()
            if self._pool.closing:
                raise PoolClosed(f"activity {name}: the run was stopped")
            raise WorkerDied(f"activity {name}: worker process {pid} died ({_describe(process.exitcode)})")
        if answer[0] == "ok":
            return str(answer[1])
        raise WorkerFailed(str(answer[2]), details=str(answer[1]))

    def _receive(self) -> Any:
        """The process's next message, or None when it ended first."""
        assert self._process is not None and self._conn is not None  # noqa: S101
        ready = wait([self._conn, self._process.sentinel])
        if self._conn not in ready:
            return None
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            return None

    def _loop(self) -> None:
        try:
            if self._process is not None:
                self._ready()
        except (WorkerDied, WorkerFailed) as exc:
            if not self._pool.closing:
                log.warning("%s", exc)  # the next activity starts a process again
        while True:
            task = self._pool.next_task()
            if task is None:
                break
            future, name, payload = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._run(name, payload))
            except BaseException as exc:  # noqa: BLE001 - every future is answered: the driver never hangs
                future.set_exception(exc)
        self.stop()

    def terminate(self) -> None:
        """Stop the process now (from any thread); the slot's thread notices and lets go of it."""
        process = self._process
        if process is not None:
            process.terminate()

    def stop(self) -> None:
        """Ask the process to leave, and wait for it (the slot's thread only)."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):  # already gone
            conn.send(None)
        process.join(STOP_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join(STOP_TIMEOUT)
        self._process = self._conn = None
        conn.close()


class WorkerPool:
    """``size`` worker processes that run activities; see the module doc.

    ``submit(name, payload)`` answers a future of the activity's JSON result. Use it as a
    context manager: leaving the block normally stops the workers once they finished what they
    had; leaving it by an exception (Ctrl-C included) terminates them at once and fails
    whatever was still waiting.
    """

    def __init__(self, size: int, setup: Setup, activity: WorkerActivity | None = None) -> None:
        if size < 1:
            msg = f"a worker pool needs at least one worker, not {size}"
            raise ValueError(msg)
        if activity is None:
            from local_host.runs import run_activity  # noqa: PLC0415 - the orchestrator and the activities

            activity = run_activity
        self.setup, self.activity = setup, activity
        self.closing = False
        self._tasks: queue.SimpleQueue[tuple[Future[str], str, str] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._slots = [_Slot(self, index) for index in range(size)]
        self._start()

    def _start(self) -> None:
        """Start every worker at once: they import and compose their ports while the run begins.

        Started from the main thread, the workers inherit SIGINT ignored (as from the start,
        before their own code runs): a terminal's Ctrl-C reaches the parent only, which stops them.
        """
        previous = signal.getsignal(signal.SIGINT)
        shield = threading.current_thread() is threading.main_thread() and previous is not None
        if shield:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for slot in self._slots:
                slot.start_process()
        finally:
            if shield:
                signal.signal(signal.SIGINT, previous)
        for slot in self._slots:
            slot.thread.start()

    @property
    def pids(self) -> list[int]:
        """The process ids of the current workers."""
        return [slot.pid for slot in self._slots if slot.pid is not None]

    def submit(self, name: str, payload: str) -> Future[str]:
        future: Future[str] = Future()
        with self._lock:
            if self.closing:
                raise PoolClosed(f"activity {name}: the worker pool is closed")
            self._tasks.put((future, name, payload))
        return future

    def next_task(self) -> tuple[Future[str], str, str] | None:
        return self._tasks.get()

    def close(self, *, terminate: bool = False) -> None:
        """Stop the workers: after the activities they have (or at once with ``terminate``)."""
        with self._lock:
            if self.closing and not terminate:
                return
            self.closing = True
        if terminate:
            self._fail_waiting()
            for slot in self._slots:
                slot.terminate()
        for _ in self._slots:
            self._tasks.put(None)
        for slot in self._slots:
            slot.thread.join(STOP_TIMEOUT * 2)

    def _fail_waiting(self) -> None:
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                future, name, _ = task
                if future.set_running_or_notify_cancel():
                    future.set_exception(PoolClosed(f"activity {name}: the run was stopped"))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close(terminate=kind is not None)
