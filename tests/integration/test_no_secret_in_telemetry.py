"""No secret in telemetry: a run whose webhook URL holds a secret leaves no trace of it in what
Application Insights would receive.

Each case runs in a fresh interpreter (OpenTelemetry's global providers are set once per
process) that starts as the Functions app does (``import function_app``: ``configure_monitoring``
with ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set, pointing at a closed port on 127.0.0.1), then
adds the OpenTelemetry SDK's in-memory exporters to the providers the Azure Monitor distro
installed, so they see every span and log record its exporters would send, and a handler on
the root logger at INFO (what the Functions worker forwards to the host). It then runs the
demo job with ``dq run``: the real orchestrator and activities, whose failed verdict fires the
``data_team_webhook`` action. The webhook URL is a secret (``secret://``), a real HTTP receiver
on 127.0.0.1 with a Slack-like secret path and a Logic App-like ``sig=`` query.

The control case turns the distro's HTTP client instrumentation back on, as it is by default:
the same scan then finds the secret in a span (``url.full``), so the scan would catch the leak.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.action_servers import http_receiver
from tests.conftest import LIBRARIES, ROOT

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
PATH_SECRET = "T0PATHSECRET/B0PATHSECRET/XoXpAtHsEcReT42"  # noqa: S105 - made-up webhook credentials
QUERY_SECRET = "SiGqUeRySeCrEt77"  # noqa: S105
SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"

PROBE = """
import json, logging, sys
from pathlib import Path

overrides = json.loads(sys.argv[1])
if overrides:  # the control case: configured first, with the distro's HTTP instrumentation on
    from monitoring import telemetry
    assert telemetry.configure_telemetry(instrumentation_options=overrides)

import function_app  # the Functions app's start-up: configure_monitoring()
from opentelemetry import _logs, trace
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
logs = InMemoryLogRecordExporter()
_logs.get_logger_provider().add_log_record_processor(SimpleLogRecordProcessor(logs))


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append({k: str(v) for k, v in vars(record).items()} | {"message": record.getMessage()})


root = logging.getLogger()
root.setLevel(logging.INFO)  # as the Functions worker sets it
worker = Everything()
root.addHandler(worker)

from cli.main import main

libraries, home, out = sys.argv[2:5]
code = main(["run", sys.argv[5], "--job", "customers_daily", "--libraries", libraries, "--home", home, "--out", out,
             "--workers", "0"])  # the activities in this process, as in the Functions host, where the exporters are


def attrs(values):
    return {str(k): str(v) for k, v in dict(values or {}).items()}


print(json.dumps({
    "exit": code,
    "spans": [
        {
            "name": s.name,
            "attributes": attrs(s.attributes),
            "status": str(s.status.description),
            "events": [{"name": e.name, "attributes": attrs(e.attributes)} for e in s.events],
            "links": [attrs(link.attributes) for link in s.links],
        }
        for s in spans.get_finished_spans()
    ],
    "logs": [
        {"body": str(r.log_record.body), "attributes": attrs(r.log_record.attributes)}
        for r in logs.get_finished_logs()
    ],
    "root": worker.records,
}))
"""


def _libraries(tmp_path: Path) -> Path:
    """The demo libraries, the data team's webhook URL a secret (as a Teams or Slack URL is)."""
    copy = tmp_path / "libraries"
    shutil.copytree(LIBRARIES, copy)
    path = copy / "contoso" / "dev" / "actions" / "notifications.yaml"
    library = yaml.safe_load(path.read_text(encoding="utf-8"))
    for action in library["actions"]:
        if action["id"] == "data_team_webhook":
            action["url"] = "secret://data-team-webhook-url"
    path.write_text(yaml.safe_dump(library, sort_keys=False), encoding="utf-8")
    return copy


def _run(tmp_path: Path, url: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_", "DQ_"))}
    env |= {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION,
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # no usage pings to Microsoft's endpoint
        "TMPDIR": str(tmp_path),  # where the exporters keep what they could not send
        "DQ_ENVIRONMENT": "local",
        "DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver listens on 127.0.0.1
        "DQ_SECRET_CONTOSO__DATA_TEAM_WEBHOOK_URL": url,
        "DQ_SECRET_CONTOSO__DQ_WEBHOOK_SIGNING_KEY": "a-signing-key",
        "DQ_SECRET_CONTOSO__DQ_MASK_SALT": "a-test-salt-for-hashing-0123456789",
    }
    args = [json.dumps(overrides or {}), str(_libraries(tmp_path)), str(tmp_path / "home"), str(tmp_path / "out")]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, str(SAMPLE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    *printed, last = result.stdout.strip().splitlines()
    probe: dict[str, Any] = json.loads(last)
    return probe, "\n".join([*printed, result.stderr])  # what the run wrote, beside the probe's answer


def _leaks(probe: dict[str, Any], output: str) -> list[str]:
    """Where either secret shows: span names, attributes, statuses, events; log bodies and attributes."""
    found = []
    for kind in ("spans", "logs", "root"):
        for item in probe[kind]:
            text = json.dumps(item)
            if PATH_SECRET in text or QUERY_SECRET in text:
                found.append(f"{kind}: {text[:300]}")
    if PATH_SECRET in output or QUERY_SECRET in output:
        found.append("the process's output")
    return found


def _webhook_url(base: str) -> str:
    return f"{base}/services/{PATH_SECRET}?sig={QUERY_SECRET}"


def test_a_delivered_webhook_leaves_its_secret_url_in_no_span_and_no_log(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        probe, output = _run(tmp_path, _webhook_url(receiver.url))
    assert probe["exit"] == 1  # the sample fails its rules: the webhook fires
    (delivery,) = receiver.deliveries.values()
    assert delivery.path == f"/services/{PATH_SECRET}?sig={QUERY_SECRET}"  # the secret URL was really used

    names = [span["name"] for span in probe["spans"]]
    assert "dq.run" in names and "dq.stage" in names  # the in-memory exporter saw the run's telemetry
    actions = {s["attributes"]["action_id"]: s for s in probe["spans"] if s["name"] == "dq.action"}
    assert actions["data_team_webhook"]["attributes"]["status"] == "delivered"
    assert any(log["attributes"].get("run_id") for log in probe["logs"])  # and the dq loggers' records
    assert not [name for name in names if not name.startswith("dq.")], names  # no HTTP client spans
    assert _leaks(probe, output) == []


def test_with_the_distros_default_http_instrumentation_the_scan_finds_the_secret(tmp_path: Path) -> None:
    defaults = {name: {"enabled": True} for name in ("httpx", "requests", "urllib", "urllib3")}
    with http_receiver() as receiver:
        probe, output = _run(tmp_path, _webhook_url(receiver.url), defaults)
    assert receiver.deliveries
    leaks = _leaks(probe, output)
    assert leaks and all(leak.startswith("spans: ") for leak in leaks), leaks
    http_spans = [span for span in probe["spans"] if not span["name"].startswith("dq.")]
    assert any(PATH_SECRET in span["attributes"].get("http.url", "") for span in http_spans)  # the request's URL
