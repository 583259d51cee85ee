"""The ports the activities use, built once on first use (never at import).

In Azure they come from the settings (``app.bootstrap.stores``). The local host
(``dq run``) and the tests install their own with :func:`use_ports` before driving
an orchestration.
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.bootstrap import stores
from dq_core.runs.stages import RunPorts

_LOCK = threading.Lock()
_PORTS: RunPorts | None = None


def run_ports() -> RunPorts:
    global _PORTS  # noqa: PLW0603 - the composition root's one cache
    with _LOCK:
        if _PORTS is None:
            _PORTS = stores(Path(".dq")).run_ports()
        return _PORTS


def use_ports(ports: RunPorts | None) -> None:
    """Install the ports of a local host or a test (None: build from settings again)."""
    global _PORTS  # noqa: PLW0603
    with _LOCK:
        _PORTS = ports
