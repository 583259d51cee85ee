"""Structured logs: who a log record is about (tenant, run, stage, ...) and how it is written.

The context lives in a :class:`~contextvars.ContextVar`, set by the activity wrapper for
the time of one activity (:func:`log_context`), so every record logged meanwhile, by the
app or by dq_core, carries ``tenant``, ``environment``, ``run_id``, ``job_id``, ``stage``,
``correlation_id`` and ``action_id`` as record attributes (:class:`ContextFilter`). Worker
threads start with an empty context, so concurrent activities never mix their fields.

Those attributes become the fields of a JSON line (``DQ_LOG_FORMAT=json``, what the
deployment sets) and, when Application Insights is configured (:mod:`monitoring.telemetry`),
the ``customDimensions`` of the ``traces`` rows. Text format (the default, the ``dq`` CLI)
keeps stderr human. docs/monitoring.md lists the fields.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import IO, Final

from pythonjsonlogger.json import JsonFormatter

from app.settings import LogFormat, get_settings

LOGGER: Final = "dq"
FIELDS: Final = ("tenant", "environment", "run_id", "job_id", "stage", "correlation_id", "action_id")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar("dq_log_context", default=_EMPTY)


@contextmanager
def log_context(**fields: str | None) -> Iterator[Mapping[str, str]]:
    """Add ``fields`` (names from :data:`FIELDS`; None and empty values are left out) to the
    context of every record logged inside the block; the outer context comes back after it."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        msg = f"unknown log context fields: {sorted(unknown)}"
        raise ValueError(msg)
    merged = MappingProxyType({**_CONTEXT.get(), **{k: str(v) for k, v in fields.items() if v}})
    token = _CONTEXT.set(merged)
    try:
        yield merged
    finally:
        _CONTEXT.reset(token)


def current_context() -> Mapping[str, str]:
    return _CONTEXT.get()


class ContextFilter(logging.Filter):
    """Copies the current context onto each record (a value given with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _CONTEXT.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """``WARNING dq.activities: message [tenant=contoso run_id=... stage=ingest]``."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name))
        return f"{text} [{context}]" if context else text


def json_formatter() -> JsonFormatter:
    """One JSON object per record: timestamp, level, logger, message, the context fields and any ``extra``."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


class _DQHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one stream handler :func:`configure_logging` installs (found again to be replaced).
    Without a stream of its own it writes to whatever ``sys.stderr`` is at the time."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(
    fmt: LogFormat | None = None, *, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Write the ``dq`` loggers' records to ``stream`` (stderr) as text or JSON lines, with the
    context fields. Idempotent: a second call replaces the handler of the first."""
    chosen = fmt or get_settings().log_format
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _DQHandler)]:
        logger.removeHandler(old)
    handler = _DQHandler(stream)
    handler.setFormatter(json_formatter() if chosen == LogFormat.JSON else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.setLevel(level)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


def configure_cli_logging(*, debug: bool = False) -> logging.Handler | None:
    """The ``dq`` CLI: JSON lines when ``DQ_LOG_FORMAT=json`` (CI pipelines); in text format
    stderr stays for the CLI's own one-line messages, unless ``--debug`` asks for the log."""
    fmt = get_settings().log_format
    if fmt == LogFormat.JSON:
        return configure_logging(fmt, level=logging.DEBUG if debug else logging.INFO)
    if debug:
        return configure_logging(fmt, level=logging.DEBUG)
    return None
