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
  from the run's ``started_at`` to its ``finished_at``, with the dataset and the quality scores
  ``score_overall`` and ``score_<dimension>``, docs/scores.md) and the metrics ``dq.run.duration``
  (s), ``dq.rows.processed``, ``dq.rules.failed``, ``dq.actions.failed`` with the
  attributes ``tenant``, ``environment`` and ``status``;
* when a run ends without a finished ``finalise_run`` (``build_result`` or ``finalise_run``
  answered an error or raised: the orchestrator then ends the run), emits that run's
  ``dq.run`` and metrics all the same, from result.json when it was written, else from the
  activity's payload, with status ``error`` (or result.json's) and the failure as ``error``.
  Once per run in a process: a repeated failure of the same run is not counted twice.

No URL's path, query or credentials reach an attribute of these spans (:func:`redact_urls`):
an action's webhook URL is a credential (Teams, Slack, a Logic App's ``sig=``). For the same
reason :func:`configure_telemetry` turns off the Azure Monitor distro's auto-instrumentation
of HTTP libraries (:data:`OFF_INSTRUMENTATIONS`), whose spans record every request's full URL.

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
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from dq_core.results.run import ActionOutcome, RunResult
from dq_core.runs import payloads as p
from monitoring.logging_context import LOGGER, ContextFilter, configure_logging, log_context

CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
RUN_SPAN: Final = "dq.run"
STAGE_SPAN: Final = "dq.stage"
ACTION_SPAN: Final = "dq.action"
RUN_DURATION: Final = "dq.run.duration"
ROWS_PROCESSED: Final = "dq.rows.processed"
RULES_FAILED: Final = "dq.rules.failed"
ACTIONS_FAILED: Final = "dq.actions.failed"
OFF_INSTRUMENTATIONS: Final = (
    "django",
    "fastapi",
    "flask",
    "httpx",
    "httpx2",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)
"""The Azure Monitor distro's auto-instrumentations that :func:`configure_telemetry` turns off.
The HTTP clients' spans (``dependencies``) carry each request's full URL (``url.full``), and
an action's webhook URL holds its secret in the path or query; FastAPI's (``requests``) the
API's URLs; the others instrument libraries the app does not use. ``azure_sdk`` stays on:
Azure SDK calls authenticate with a header, their URLs name resources, never secrets.
tests/unit/test_telemetry_config.py checks that every instrumentation the installed distro
knows is either here or ``azure_sdk``."""
ON_INSTRUMENTATIONS: Final = ("azure_sdk",)
QUIETED_LOGGERS: Final = ("httpx",)
"""Libraries whose INFO records carry secrets: httpx logs every request's full URL, and a Teams
or Slack webhook URL is a credential. The Functions worker sends the root logger's INFO
records to the host (and on to Application Insights), so these log from WARNING only."""
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"

STAGE_OF: Final[Mapping[p.ActivityName, p.Stage]] = {
    p.ActivityName.RESOLVE_RUN: p.Stage.RESOLVE,
    p.ActivityName.INGEST_FILE: p.Stage.INGEST,
    p.ActivityName.CLEANSE_CHUNK: p.Stage.CLEANSE,
    p.ActivityName.MERGE_FILLS: p.Stage.CLEANSE,
    p.ActivityName.MERGE_CLEANSING: p.Stage.CLEANSE,
    p.ActivityName.PROFILE_CHUNK: p.Stage.PROFILE,
    p.ActivityName.MERGE_PROFILE: p.Stage.PROFILE,
    p.ActivityName.VALIDATE_CHUNK: p.Stage.VALIDATE,
    p.ActivityName.VALIDATE_PARTITION: p.Stage.VALIDATE,
    p.ActivityName.VALIDATE_DATASET: p.Stage.VALIDATE,
    p.ActivityName.CHECK_ANOMALIES: p.Stage.ANOMALY_CHECK,
    p.ActivityName.BUILD_RESULT: p.Stage.RESULT,
    p.ActivityName.RUN_ACTION: p.Stage.ACT,
    p.ActivityName.FINALISE_RUN: p.Stage.FINALISE,
}
"""The run stage each activity belongs to (the ``stage`` dimension)."""

RUN_ENDING: Final = frozenset({p.ActivityName.BUILD_RESULT, p.ActivityName.FINALISE_RUN})
"""Activities whose failure ends the run before ``finalise_run`` finished: the ``dq.run`` comes from them."""

log = logging.getLogger("dq.telemetry")
activity_log = logging.getLogger("dq.activities")

_URL: Final = re.compile(r"""(?ix)
    \b(?P<scheme>[a-z][a-z0-9+.\-]*://)
    (?P<userinfo>[^/\s?#@'"<>]*@)?
    (?P<host>[^/\s?#@'"<>]+)
    (?P<rest>[^\s'"<>]*)
""")


def redact_urls(text: str) -> str:
    """``text`` with every URL cut to its scheme and host: ``https://hooks.slack.com/…``.
    A webhook URL carries its secret in the path or query, a DSN-like URL in its user info."""

    def cut(match: re.Match[str]) -> str:
        hidden = match.group("userinfo") or match.group("rest")
        return f"{match.group('scheme')}{match.group('host')}{'/…' if hidden else ''}"

    return _URL.sub(cut, text)


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
            settings["instrumentation_options"] = instrumentation_options(options.get("instrumentation_options"))
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


def instrumentation_options(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``instrumentation_options`` for ``configure_azure_monitor``: :data:`OFF_INSTRUMENTATIONS`
    off, :data:`ON_INSTRUMENTATIONS` on; ``overrides`` (a caller's, per library) win."""
    chosen = {name: {"enabled": False} for name in OFF_INSTRUMENTATIONS}
    chosen |= {name: {"enabled": True} for name in ON_INSTRUMENTATIONS}
    for name, values in (overrides or {}).items():
        chosen[name] = {**chosen.get(name, {}), **values}
    return chosen


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
    """Span attributes: without empty values; text without any URL's path (:func:`redact_urls`)."""
    return {k: redact_urls(v) if isinstance(v, str) else v for k, v in values.items() if v is not None and v != ""}


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
        except Exception as exc:  # transient, and its retries ran out: the orchestrator sees a failure
            _record_exception(span, exc)
            reason = f"{type(exc).__name__}: {exc}"
            _fail(span, reason)
            activity_log.warning("%s raised %s", name.value, type(exc).__name__)
            _run_ended_early(scope, reason, instruments)
            raise
        error = (scope.envelope or {}).get("error")
        if error:
            reason = f"{error.get('code')}: {error.get('message')}"
            _fail(span, reason)
            _run_ended_early(scope, reason, instruments)
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
    text = redact_urls(message)[:1000]
    span.set_attribute("status", FAILED)
    span.set_attribute("error", text)
    span.set_status(Status(StatusCode.ERROR, text))


def _record_exception(span: trace.Span, exc: BaseException) -> None:
    """The ``exception`` event, its message and stack trace without any URL's path."""
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    span.record_exception(exc, {"exception.message": redact_urls(str(exc)), "exception.stacktrace": redact_urls(stack)})


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
        span.set_status(Status(StatusCode.ERROR, redact_urls(outcome.detail)[:1000]))
    span.end()


@dataclass(frozen=True)
class _RunFacts:
    """What the ``dq.run`` span and the run metrics say about one run."""

    tenant: str
    environment: str
    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime
    rows: int = 0
    rules_failed: int = 0
    actions_failed: int = 0
    contract_id: str | None = None
    error: str | None = None
    dataset: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)  # score_overall, score_<dimension> (docs/scores.md)

    @classmethod
    def of(cls, result: RunResult, actions: list[ActionOutcome], error: str | None = None) -> _RunFacts:
        broke = f"{result.error.code}: {result.error.message}" if result.error else None
        return cls(
            tenant=result.tenant,
            environment=result.environment,
            run_id=result.run_id,
            status=result.status.value,
            started_at=result.started_at,
            finished_at=result.finished_at,
            rows=_rows(result),
            rules_failed=result.validation.summary.failed if result.validation else 0,
            actions_failed=sum(a.status == "failed" for a in actions),
            contract_id=result.contract.id if result.contract else None,
            error="; ".join(e for e in (broke, error) if e) or None,
            dataset=result.contract.dataset if result.contract else None,
            scores=score_attributes(result),
        )


def score_attributes(result: RunResult) -> dict[str, float]:
    """The run's quality scores as ``dq.run`` attributes: ``score_overall`` and ``score_<dimension>``, each only
    when there is a score (no validation, or no rule of a dimension scored: left out)."""
    scores = result.scores
    if scores is None:
        return {}
    found = {f"score_{name}": d.score for name, d in scores.dimensions.items() if d.score is not None}
    return {"score_overall": scores.overall, **found} if scores.overall is not None else found


_LOCK_REPORTED = threading.Lock()
_REPORTED: OrderedDict[str, None] = OrderedDict()
_REPORTED_MAX: Final = 4096


def _first_report(run_id: str) -> bool:
    """True the first time a run's early end is reported in this process (a retried failure
    of the same activity would report it again)."""
    with _LOCK_REPORTED:
        if run_id in _REPORTED:
            return False
        _REPORTED[run_id] = None
        while len(_REPORTED) > _REPORTED_MAX:
            _REPORTED.popitem(last=False)
        return True


def _read_result(run: p.RunRef, path: str) -> RunResult:
    from app.runtime import run_ports  # noqa: PLC0415 - the activities' ports (installed by the host)

    return RunResult.model_validate_json(run_ports().files(run).read_bytes(path))


def _run_finished(inp: p.FinaliseInput, scope: ActivityScope, instruments: _Instruments) -> None:
    _emit_run(_RunFacts.of(_read_result(inp.run, inp.result_path), inp.actions), scope, instruments)


def _run_ended_early(scope: ActivityScope, reason: str, instruments: _Instruments) -> None:
    """The ``dq.run`` of a run whose ``build_result`` or ``finalise_run`` failed (see the module doc)."""
    if scope.name not in RUN_ENDING:
        return
    try:
        facts = _early_facts(scope, f"{scope.name.value} failed: {reason}")
        if facts is not None and _first_report(facts.run_id):
            _emit_run(facts, scope, instruments)
    except Exception as exc:  # noqa: BLE001 - telemetry never changes an activity's answer
        log.warning("telemetry of %s not recorded: %s: %s", scope.name.value, type(exc).__name__, exc)


def _early_facts(scope: ActivityScope, failure: str) -> _RunFacts | None:
    if scope.name == p.ActivityName.FINALISE_RUN:
        finalise = p.FinaliseInput.model_validate(scope.payload)
        try:  # build_result wrote the verdict: it stands, with the failure beside it
            return _RunFacts.of(_read_result(finalise.run, finalise.result_path), finalise.actions, failure)
        except Exception:  # noqa: BLE001 - unreadable too (the store is down): what the payload knows
            return _RunFacts(
                tenant=finalise.run.tenant,
                environment=finalise.run.environment,
                run_id=finalise.run.run_id,
                status="error",
                started_at=finalise.started_at,
                finished_at=finalise.finished_at,
                actions_failed=sum(a.status == "failed" for a in finalise.actions),
                error=failure,
            )
    build = p.BuildResultInput.model_validate(scope.payload)
    rows = build.ingested.input.rows if build.ingested is not None else None
    earlier = f"{build.error.code}: {build.error.message}" if build.error else None
    return _RunFacts(
        tenant=build.run.tenant,
        environment=build.run.environment,
        run_id=build.run.run_id,
        status="error",
        started_at=build.started_at,
        finished_at=build.finished_at,
        rows=rows or 0,
        contract_id=build.resolved.contract.id if build.resolved is not None else None,
        error="; ".join(e for e in (earlier, failure) if e),
    )


def _emit_run(facts: _RunFacts, scope: ActivityScope, instruments: _Instruments) -> None:
    """The ``dq.run`` span (from the run's start to its end) and the run metrics."""
    seconds = max(0.0, (facts.finished_at - facts.started_at).total_seconds())
    error = redact_urls(facts.error)[:1000] if facts.error else None
    attributes = {
        **scope.common(),
        "stage": None,
        "status": facts.status,
        "duration_ms": round(seconds * 1000),
        "rows": facts.rows,
        "rules_failed": facts.rules_failed,
        "actions_failed": facts.actions_failed,
        "contract_id": facts.contract_id,
        "error": error,
        "dataset": facts.dataset,
        **facts.scores,
    }
    span = instruments.tracer.start_span(
        RUN_SPAN, context=run_trace(facts.run_id), attributes=_clean(attributes), start_time=_ns(facts.started_at)
    )
    if facts.status == "error" or error:
        span.set_status(Status(StatusCode.ERROR, error or "error"))
    span.end(end_time=max(_ns(facts.finished_at), _ns(facts.started_at)))
    dims = _clean({"tenant": facts.tenant, "environment": facts.environment, "status": facts.status})
    instruments.run_duration.record(seconds, dims)
    instruments.rows_processed.add(facts.rows, dims)
    instruments.rules_failed.add(facts.rules_failed, dims)
    instruments.actions_failed.add(facts.actions_failed, dims)


def _rows(result: RunResult) -> int:
    """Rows processed: the input's rows as read (before cleansing removed any)."""
    if result.input is not None and result.input.rows is not None:
        return result.input.rows
    if result.cleansing is not None:
        return result.cleansing.rows_in
    return 0
