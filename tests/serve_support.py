"""``dq serve`` as a user runs it: a subprocess on a free port, stopped with Ctrl-C (SIGINT).

Use from any test::

    factory = TokenFactory()
    with factory.serve() as jwks, served(tmp_path / "home", factory.settings_env(jwks.url)) as api:
        httpx.get(f"{api.url}/api/health")

The home folder may be prepared first (e.g. ``demo_registry(home / "registry.db")``): the
server's embedded stores live there. :func:`serve_process` is the same server without the
clean-stop checks, for tests that kill it (and start it again on the same home and port).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import ROOT

STARTUP_SECONDS = 60.0


@dataclass
class Served:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The test process's environment without any DQ_ setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQ_")}
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


@contextmanager
def serve_process(home: Path, settings: Mapping[str, str], *extra: str, port: int | None = None) -> Iterator[Served]:
    """``dq serve --home HOME --port PORT`` (a free one by default), healthy; on exit stopped with
    SIGINT when still running (killed when it does not stop), its output in ``stdout``/``stderr``."""
    port = port or free_port()
    command = [sys.executable, "-m", "cli", "serve", "--home", str(home), "--port", str(port), *extra]
    # files, not pipes: a busy server's access log would fill a pipe nobody reads and block it
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=serve_env(settings), stdout=out, stderr=err, text=True)
        running = Served(url=f"http://127.0.0.1:{port}", process=process)
        try:
            _wait_healthy(running, err)
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            out.seek(0)
            err.seek(0)
            running.stdout, running.stderr = out.read(), err.read()


@contextmanager
def served(home: Path, settings: Mapping[str, str], *extra: str) -> Iterator[Served]:
    """``dq serve --home HOME --port <free>`` with ``settings`` as its environment, healthy; on exit it
    is stopped with SIGINT and must end cleanly (exit 0, no traceback)."""
    with serve_process(home, settings, *extra) as running:
        yield running
    assert running.process.returncode == 0, running.stderr[-2000:]
    assert "Traceback" not in running.stderr, running.stderr[-2000:]
    assert "dq serve: stopped" in running.stdout


def _wait_healthy(running: Served, err: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            err.seek(0)
            msg = f"dq serve exited with {running.process.returncode}: {err.read().strip()[-2000:]}"
            raise AssertionError(msg)
        try:
            if httpx.get(f"{running.url}/api/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    msg = f"dq serve did not answer /api/health within {STARTUP_SECONDS} s"
    raise AssertionError(msg)


__all__ = ["Served", "free_port", "serve_env", "serve_process", "served"]
