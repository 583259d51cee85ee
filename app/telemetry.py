"""Monitoring: OpenTelemetry spans and metrics of runs, stages and actions (docs/monitoring.md).

Every activity goes through :func:`activity` (``activities.blueprint.execute``), which

* sets the log context (tenant, environment, run id, job id, stage, correlation id and,
  for ``run_action``, the action id) for the records logged meanwhile;
* opens one ``dq.stage`` span (attributes ``tenant``, ``environment``, ``run_id``,
  ``job_id``, ``stage``, ``activity``, ``status``, ``correlation_id``; status error when
  the envelope carries an error or the activity raised);
* adds one ``dq.action`` span for ``run_action`` (``action_id``, ``type``, ``trigger``,
  ``status``, ``attempts`` of the ActionOutcome);
* after ``finalise_run``, reads result.json and emits the ``dq.run`` span (the verdict,
  from the run's ``started_at`` to its ``finished_at``) and the metrics ``dq.run.duration``
  (s), ``dq.rows.processed``, ``dq.rules.failed``, ``dq.actions.failed`` with the
  attributes ``tenant``, ``environment`` and ``status``.

All spans of one run share one trace, whose id is derived from the run id: Application
Insights shows a run as one operation (``operation_Id``), whichever worker ran each
activity. Orchestrators emit nothing (they replay).

Spans and metrics go to the global OpenTelemetry providers, which
:func:`configure_telemetry` points at Application Insights when
``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set; without it they are the API's no-op
providers and cost next to nothing. Tests and other hosts install their own providers
with :func:`use_providers`. Telemetry never changes an activity's answer: a failure to
record is logged and swallowed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from app.logging_context import LOGGER, ContextFilter, configure_logging, log_context
from dq_core.results.run import ActionOutcome, RunResult
from dq_core.runs import payloads as p

CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
RUN_SPAN: Final = "dq.run"
STAGE_SPAN: Final = "dq.stage"
ACTION_SPAN: Final = "dq.action"
RUN_DURATION: Final = "dq.run.duration"
ROWS_PROCESSED: Final = "dq.rows.processed"
RULES_FAILED: Final = "dq.rules.failed"
ACTIONS_FAILED: Final = "dq.actions.failed"
QUIETED_LOGGERS: Final = ("httpx",)
"""Libraries whose INFO records carry secrets: httpx logs every request's full URL, and a Teams
or Slack webhook URL is a credential. The Functions worker sends the root logger's INFO
records to the host (and on to Application Insights), so these log from WARNING only."""
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"

STAGE_OF: Final[Mapping[p.ActivityName, p.Stage]] = {
    p.ActivityName.RESOLVE_RUN: p.Stage.RESOLVE,
    p.ActivityName.INGEST_FILE: p.Stage.INGEST,
    p.ActivityName.CLEANSE_DATASET: p.Stage.CLEANSE,
    p.ActivityName.PROFILE_CHUNK: p.Stage.PROFILE,
    p.ActivityName.MERGE_PROFILE: p.Stage.PROFILE,
    p.ActivityName.VALIDATE_CHUNK: p.Stage.VALIDATE,
    p.ActivityName.VALIDATE_DATASET: p.Stage.VALIDATE,
    p.ActivityName.CHECK_ANOMALIES: p.Stage.ANOMALY_CHECK,
    p.ActivityName.BUILD_RESULT: p.Stage.RESULT,
    p.ActivityName.RUN_ACTION: p.Stage.ACT,
    p.ActivityName.FINALISE_RUN: p.Stage.FINALISE,
}
"""The run stage each activity belongs to (the ``stage`` dimension)."""

log = logging.getLogger("dq.telemetry")
activity_log = logging.getLogger("dq.activities")


# --- providers and instruments ---------------------------------------------------------------


@dataclass(frozen=True)
class _Instruments:
    tracer: trace.Tracer
    run_duration: metrics.Histogram
    rows_processed: metrics.Counter
    rules_failed: metrics.Counter
    actions_failed: metrics.Counter


def _build(tracer_provider: trace.TracerProvider | None, meter_provider: metrics.MeterProvider | None) -> _Instruments:
    meter = metrics.get_meter("dq", meter_provider=meter_provider)
    return _Instruments(
        tracer=trace.get_tracer("dq", tracer_provider=tracer_provider),
        run_duration=meter.create_histogram(RUN_DURATION, unit="s", description="Run duration, start to verdict"),
        rows_processed=meter.create_counter(ROWS_PROCESSED, unit="{row}", description="Input rows of finished runs"),
        rules_failed=meter.create_counter(RULES_FAILED, unit="{rule}", description="Rules failed in finished runs"),
        actions_failed=meter.create_counter(ACTIONS_FAILED, unit="{action}", description="Actions that failed"),
    )


_LOCK = threading.Lock()
_INSTRUMENTS: _Instruments | None = None
_CONFIGURED = False


def _instruments() -> _Instruments:
    global _INSTRUMENTS  # noqa: PLW0603 - built once, on first use
    with _LOCK:
        if _INSTRUMENTS is None:
            _INSTRUMENTS = _build(None, None)  # the global providers (proxies until they are set)
        return _INSTRUMENTS


def use_providers(
    tracer_provider: trace.TracerProvider | None = None, meter_provider: metrics.MeterProvider | None = None
) -> None:
    """Emit to these providers instead of the global ones (tests); no arguments: the global ones again."""
    global _INSTRUMENTS  # noqa: PLW0603
    with _LOCK:
        custom = tracer_provider is not None or meter_provider is not None
        _INSTRUMENTS = _build(tracer_provider, meter_provider) if custom else None


def configure_telemetry(connection_string: str | None = None, **options: Any) -> bool:
    """Send traces, metrics and the ``dq`` loggers' records to Application Insights.

    Only when a connection string is given or ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is
    set (Entra authentication comes from ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``, which
    the exporter reads itself); otherwise nothing is configured and False is returned.
    Idempotent: the first successful call configures, later ones return True. Never raises:
    telemetry must not stop the app. ``options`` go to ``configure_azure_monitor``.
    """
    global _CONFIGURED  # noqa: PLW0603
    connection = (connection_string or os.environ.get(CONNECTION_STRING, "")).strip()
    if not connection:
        return _CONFIGURED
    with _LOCK:
        if _CONFIGURED:
            return True
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415 - heavy; only with AI

            # Every run counts in the workbook: no sampling unless OTEL_TRACES_SAMPLER says otherwise.
            settings: dict[str, Any] = {"logger_name": LOGGER, "sampling_ratio": 1.0, **options}
            configure_azure_monitor(connection_string=connection, **settings)
        except Exception as exc:  # noqa: BLE001 - telemetry never stops the app
            log.warning("Application Insights not configured: %s: %s", type(exc).__name__, exc)
            return False
        logger = logging.getLogger(LOGGER)
        for handler in logger.handlers:  # the Azure Monitor handler: give its records the log context
            if not any(isinstance(f, ContextFilter) for f in handler.filters):
                handler.addFilter(ContextFilter())
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        _CONFIGURED = True
        return True


def configure_monitoring() -> None:
    """The Functions app's start-up: log format from settings, Application Insights when set;
    the libraries of QUIETED_LOGGERS log warnings and errors only."""
    for name in QUIETED_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        configure_logging()
    except Exception as exc:  # noqa: BLE001 - a bad DQ_LOG_FORMAT must not stop the app from indexing
        log.warning("logging not configured: %s: %s", type(exc).__name__, exc)
    configure_telemetry()


# --- spans -------------------------------------------------------------------------------------


def run_trace(run_id: str) -> Context:
    """The context all spans of a run hang from: one trace per run, its id derived from the run id."""
    digest = hashlib.sha256(f"dq.run/{run_id}".encode()).digest()
    parent = SpanContext(
        trace_id=int.from_bytes(digest[:16], "big") or 1,
        span_id=int.from_bytes(digest[16:24], "big") or 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _clean(values: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (a float timestamp would round them)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1) * 1000


class ActivityScope:
    """One activity call: its identity (from the raw payload) and, once known, its envelope."""

    def __init__(self, name: p.ActivityName, payload: Any) -> None:
        self.name = name
        self.payload: dict[str, Any] = payload if isinstance(payload, dict) else {}
        run = self.payload.get("run")
        run = run if isinstance(run, dict) else {}
        request = self.payload.get("request")
        job_id = run.get("job_id") or (request.get("job_id") if isinstance(request, dict) else None)
        self.run_id: str | None = run.get("run_id")
        self.context: dict[str, str | None] = {
            "tenant": run.get("tenant"),
            "environment": run.get("environment"),
            "run_id": self.run_id,
            "job_id": job_id,
            "stage": STAGE_OF[name].value,
            "correlation_id": run.get("correlation_id"),
            "action_id": self.payload.get("action_id") if name == p.ActivityName.RUN_ACTION else None,
        }
        self.envelope: dict[str, Any] | None = None
        self.started_ns = time.time_ns()

    def answer(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Record the activity's envelope and hand it back unchanged."""
        self.envelope = envelope
        return envelope

    def attributes(self) -> dict[str, str | int | float | bool]:
        index = self.payload.get("index")
        return _clean({**self.context, "activity": self.name.value, "chunk": index if isinstance(index, int) else None})

    def common(self) -> dict[str, str | int | float | bool]:
        return _clean({k: v for k, v in self.context.items() if k != "action_id"})


@contextmanager
def activity(name: p.ActivityName, payload: Any) -> Iterator[ActivityScope]:
    """Log context and the ``dq.stage`` span around one activity (see the module doc)."""
    scope = ActivityScope(name, payload)
    instruments = _instruments()
    parent = run_trace(scope.run_id) if scope.run_id else None
    with (
        log_context(**scope.context),
        instruments.tracer.start_as_current_span(
            STAGE_SPAN,
            context=parent,
            attributes=scope.attributes(),
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
    ):
        try:
            yield scope
        except Exception as exc:  # a transient failure: the orchestrator's retry policy applies
            span.record_exception(exc)
            _fail(span, f"{type(exc).__name__}: {exc}")
            activity_log.warning("%s raised %s (retried by the orchestrator)", name.value, type(exc).__name__)
            raise
        error = (scope.envelope or {}).get("error")
        if error:
            _fail(span, f"{error.get('code')}: {error.get('message')}")
        else:
            span.set_attribute("status", SUCCEEDED)
        activity_log.info(
            "%s %s in %d ms", name.value, FAILED if error else SUCCEEDED, (time.time_ns() - scope.started_ns) // 10**6
        )
        value = (scope.envelope or {}).get("value")
        if not error and isinstance(value, dict):
            try:
                _after(scope, value, instruments)
            except Exception as exc:  # noqa: BLE001 - telemetry never changes an activity's answer
                log.warning("telemetry of %s not recorded: %s: %s", name.value, type(exc).__name__, exc)


def _fail(span: trace.Span, message: str) -> None:
    span.set_attribute("status", FAILED)
    span.set_attribute("error", message[:1000])
    span.set_status(Status(StatusCode.ERROR, message[:1000]))


def _after(scope: ActivityScope, value: dict[str, Any], instruments: _Instruments) -> None:
    if scope.name == p.ActivityName.RUN_ACTION:
        _action_span(scope, ActionOutcome.model_validate(value), instruments)
    elif scope.name == p.ActivityName.FINALISE_RUN:
        _run_finished(p.FinaliseInput.model_validate(scope.payload), scope, instruments)


def _action_span(scope: ActivityScope, outcome: ActionOutcome, instruments: _Instruments) -> None:
    failed = outcome.status == "failed"
    attributes = {
        **scope.common(),
        "action_id": outcome.action_id,
        "type": outcome.type,
        "trigger": outcome.trigger,
        "status": outcome.status,
        "attempts": outcome.attempts,
        "error": outcome.detail[:1000] if failed and outcome.detail else None,
    }
    span = instruments.tracer.start_span(ACTION_SPAN, attributes=_clean(attributes), start_time=scope.started_ns)
    if failed:
        span.set_status(Status(StatusCode.ERROR, outcome.detail[:1000]))
    span.end()


def _run_finished(inp: p.FinaliseInput, scope: ActivityScope, instruments: _Instruments) -> None:
    from app.runtime import run_ports  # noqa: PLC0415 - the activities' ports (installed by the host)

    result = RunResult.model_validate_json(run_ports().files(inp.run).read_bytes(inp.result_path))
    status = result.status.value
    seconds = max(0.0, (result.finished_at - result.started_at).total_seconds())
    rows = _rows(result)
    rules_failed = result.validation.summary.failed if result.validation else 0
    actions_failed = sum(a.status == "failed" for a in inp.actions)
    error = f"{result.error.code}: {result.error.message}" if result.error else None
    attributes = {
        **scope.common(),
        "stage": None,
        "status": status,
        "duration_ms": round(seconds * 1000),
        "rows": rows,
        "rules_failed": rules_failed,
        "actions_failed": actions_failed,
        "contract_id": result.contract.id if result.contract else None,
        "error": error[:1000] if error else None,
    }
    span = instruments.tracer.start_span(
        RUN_SPAN, context=run_trace(result.run_id), attributes=_clean(attributes), start_time=_ns(result.started_at)
    )
    if status == "error":
        span.set_status(Status(StatusCode.ERROR, error[:1000] if error else "error"))
    span.end(end_time=max(_ns(result.finished_at), _ns(result.started_at)))
    dims = _clean({"tenant": result.tenant, "environment": result.environment, "status": status})
    instruments.run_duration.record(seconds, dims)
    instruments.rows_processed.add(rows, dims)
    instruments.rules_failed.add(rules_failed, dims)
    instruments.actions_failed.add(actions_failed, dims)


def _rows(result: RunResult) -> int:
    """Rows processed: the input's rows as read (before cleansing removed any)."""
    if result.input is not None and result.input.rows is not None:
        return result.input.rows
    if result.cleansing is not None:
        return result.cleansing.rows_in
    return 0
