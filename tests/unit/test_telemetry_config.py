"""``configure_telemetry``: Azure Monitor when a connection string is set, nothing otherwise.

Each case runs in a fresh interpreter: OpenTelemetry's global providers can be set only
once per process, and the Azure Monitor distro installs them. The connection string is
syntactically valid and points at a closed port on 127.0.0.1, so the exporters really
try to send and fail; the test shows that no error reaches the caller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"

PROBE = """
import json, logging, sys
from opentelemetry import metrics, trace
from monitoring import telemetry
from monitoring.logging_context import ContextFilter, log_context

first = telemetry.configure_telemetry()
second = telemetry.configure_telemetry()
tracer_provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
processors = getattr(getattr(tracer_provider, "_active_span_processor", None), "_span_processors", ())
exporters = [type(getattr(p, "span_exporter", getattr(p, "_exporter", None))).__name__ for p in processors]
readers = [type(getattr(r, "_exporter", None)).__name__ for r in getattr(meter_provider, "_metric_readers", ())]
handlers = logging.getLogger("dq").handlers
# the wrapper's span and metrics go to the configured providers (and on to a closed port)
payload = {"run": {"tenant": "t", "environment": "dev", "run_id": "r"}}
with telemetry.activity(telemetry.p.ActivityName.RESOLVE_RUN, payload) as scope:
    recording = trace.get_current_span().is_recording()
    scope.answer({"value": {}, "error": None})
with log_context(tenant="t"):
    logging.getLogger("dq.probe").warning("sent to Application Insights")
flushed = [tracer_provider.force_flush(10_000)] if hasattr(tracer_provider, "force_flush") else []
print(json.dumps({
    "first": first, "second": second,
    "tracer_provider": type(tracer_provider).__name__, "meter_provider": type(meter_provider).__name__,
    "exporters": exporters, "metric_exporters": readers,
    "handlers": [type(h).__name__ for h in handlers],
    "filtered": [any(isinstance(f, ContextFilter) for f in h.filters) for h in handlers],
    "recording": recording, "flushed": flushed,
}))
"""


def _probe(connection: str | None, tmp: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))}
    env["TMPDIR"] = str(tmp)  # where the exporters keep what they could not send
    env["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] = "true"  # no usage pings to Microsoft's endpoint
    if connection is not None:
        env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = connection
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    probe: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return probe


def test_with_a_connection_string_the_azure_monitor_providers_are_configured_once(tmp_path: Path) -> None:
    probe = _probe(CONNECTION, tmp_path)
    assert probe["first"] is True and probe["second"] is True
    assert probe["tracer_provider"] == "TracerProvider" and probe["meter_provider"] == "MeterProvider"
    assert "AzureMonitorTraceExporter" in probe["exporters"]  # type: ignore[operator]
    assert "AzureMonitorMetricExporter" in probe["metric_exporters"]  # type: ignore[operator]
    assert probe["handlers"] == ["LoggingHandler"] and probe["filtered"] == [True]  # once, with the context
    assert probe["recording"] is True
    assert probe["flushed"] == [True]  # the export failed against the closed port; nothing raised


def test_without_a_connection_string_nothing_is_configured(tmp_path: Path) -> None:
    probe = _probe(None, tmp_path)
    assert probe["first"] is False and probe["second"] is False
    assert probe["tracer_provider"] == "ProxyTracerProvider" and probe["meter_provider"] == "_ProxyMeterProvider"
    assert probe["exporters"] == [] and probe["handlers"] == []
    assert probe["recording"] is False  # the API's no-op spans: next to no cost


def test_the_functions_app_writes_json_lines_with_the_context_when_the_deployment_asks(tmp_path: Path) -> None:
    code = (
        "import logging, function_app\n"
        "from monitoring.logging_context import log_context\n"
        "with log_context(tenant='contoso', run_id='r-1', stage='ingest'):\n"
        "    logging.getLogger('dq.ingest').info('read 20 rows')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "DQ_"))}
    env |= {"DQ_LOG_FORMAT": "json", "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in result.stderr.splitlines() if text.startswith("{")]
    assert line["message"] == "read 20 rows" and line["level"] == "INFO"
    assert (line["tenant"], line["run_id"], line["stage"]) == ("contoso", "r-1", "ingest")


def test_every_instrumentation_the_distro_knows_is_decided_and_the_http_ones_are_off() -> None:
    from azure.monitor.opentelemetry._constants import _ALL_SUPPORTED_INSTRUMENTED_LIBRARIES

    from monitoring import telemetry

    # a new distro version with a new instrumentation (it would be on by default) fails here
    assert set(_ALL_SUPPORTED_INSTRUMENTED_LIBRARIES) == {
        *telemetry.OFF_INSTRUMENTATIONS,
        *telemetry.ON_INSTRUMENTATIONS,
    }
    options = telemetry.instrumentation_options()
    for name in ("httpx", "httpx2", "requests", "urllib", "urllib3", "fastapi"):
        assert options[name] == {"enabled": False}
    assert options["azure_sdk"] == {"enabled": True}
    assert telemetry.instrumentation_options({"httpx": {"enabled": True}})["httpx"] == {"enabled": True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("POST https://hooks.slack.com/services/T0/B0/xoxSecret failed", "POST https://hooks.slack.com/… failed"),
        (
            "gave up: https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/x?sig=S3cr3t",
            "gave up: https://prod-1.westeurope.logic.azure.com:443/…",
        ),
        ("postgresql://dq:hunter2@db.example:5432/dq", "postgresql://db.example:5432/…"),
        ("'http://127.0.0.1:8080/dq?token=abc'", "'http://127.0.0.1:8080/…'"),
        ("https://example.com", "https://example.com"),
        ("empty_file: the input has no rows", "empty_file: the input has no rows"),
    ],
)
def test_urls_lose_their_path_query_and_credentials(text: str, expected: str) -> None:
    from monitoring.telemetry import redact_urls

    assert redact_urls(text) == expected
