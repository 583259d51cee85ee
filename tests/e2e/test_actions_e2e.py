"""A job run through the orchestrator on the local host (``run_locally``), whose actions reach
real servers on 127.0.0.1: a webhook receiver that fails twice and then succeeds, an SMTP
server, an OpenLineage endpoint, and a failing webhook whose fallback posts to Slack."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.local.env_secrets import EnvSecretStore
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.folder_queue import LocalQueueSender
from adapters.local.sqlite_lineage import SqliteLineageStore
from adapters.notify.http import HttpxSender
from adapters.notify.openlineage import OpenLineageClientEmitter
from adapters.notify.smtp import SmtpMailSender
from dq_core.config.canonical import canonical_json
from dq_core.lineage.models import IngestionMode
from dq_core.results.run import RunResult
from dq_core.runs.payloads import InputRef, RunOverrides, RunRequest
from dq_core.runs.stages import RunPorts
from local_host.runs import run_locally
from services import workspace as service
from tests.action_servers import Receiver, http_receiver, smtp_server

SIGNING_KEY = "e2e-signing-key-0123456789"
FAST = {"backoff_seconds": 0.05, "timeout_seconds": 5}


def _write_libraries(root: Path, hook: Receiver, broken: Receiver, lineage: Receiver, smtp_port: int) -> None:
    actions = root / "contoso" / "dev" / "actions" / "notifications.yaml"
    library = yaml.safe_load(actions.read_text())
    library["actions"] = [
        {
            "id": "data_team_webhook",
            "type": "webhook",
            "trigger": "on_failure",
            "url": hook.url + "/dq/events",
            "signing_secret": "secret://dq-webhook-signing-key",
            "headers": {"X-Source": "dq-platform"},
            "max_attempts": 3,
            **FAST,
        },
        {
            "id": "data_team_email",
            "type": "email",
            "trigger": "on_failure",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "starttls": False,
            "sender": "dq-bot@contoso.example",
            "to": ["data-team@contoso.example"],
            **FAST,
        },
        {
            "id": "pager_webhook",
            "type": "webhook",
            "trigger": "on_failure",
            "url": broken.url + "/pager",
            "max_attempts": 2,
            "fallback": "slack_channel",
            **FAST,
        },
        {
            "id": "slack_channel",
            "type": "slack",
            "trigger": "on_failure",
            "webhook_url": "secret://slack-dq-channel-url",
            "report_base_url": "https://dq.contoso.example/files",
            **FAST,
        },
        {
            "id": "lineage",
            "type": "openlineage",
            "trigger": "always",
            "url": lineage.url,
            "namespace": "contoso-dev",
            **FAST,
        },
    ]
    actions.write_text(yaml.safe_dump(library, sort_keys=False))
    job_path = root / "contoso" / "dev" / "jobs" / "customers_daily.yaml"
    job = yaml.safe_load(job_path.read_text())
    job["actions"] = {
        "on_failure": ["data_team_webhook", "data_team_email", "pager_webhook"],
        "always": ["lineage"],
    }
    job_path.write_text(yaml.safe_dump(job, sort_keys=False))


def _run(tmp_path: Path, libraries: Path, *, allow_private_networks: bool = True) -> tuple[Any, RunResult, RunPorts]:
    workspace = service.workspace_from_directory(libraries)
    bundle = service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put("contoso", "bundles/e2e.json", canonical_json(bundle))
    ports = RunPorts(
        contracts=workspace.index,
        lineage=SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=blobs,
        secrets=EnvSecretStore(),
        allow_local_files=True,
        queues=LocalQueueSender(tmp_path / "queues"),
        http=HttpxSender(),
        mail=SmtpMailSender(),
        openlineage=OpenLineageClientEmitter(),
        allow_private_networks=allow_private_networks,  # DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS: receivers on 127.0.0.1
    )
    request = RunRequest(
        tenant="contoso",
        environment="dev",
        bundle_path="bundles/e2e.json",
        inputs=(InputRef(uri=(libraries / "contoso" / "samples" / "customers.csv").resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=100),
    )
    summary, outcome = run_locally(request, ports, workers=3)
    assert summary is not None, outcome.error
    (run,) = summary.runs
    result = RunResult.model_validate_json(blobs.get("contoso", f"runs/{run.run_id}/result.json")[0])
    return run, result, ports


def test_a_run_whose_actions_hit_real_servers(
    tmp_path: Path, libraries_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_MASK_SALT", "an-e2e-salt-0123456789abcdef")
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    with (
        http_receiver([500, 500]) as hook,
        http_receiver(default=503) as broken,
        http_receiver() as slack,
        http_receiver() as lineage,
        smtp_server() as mailbox,
    ):
        monkeypatch.setenv("DQ_SECRET_CONTOSO__SLACK_DQ_CHANNEL_URL", slack.url + "/services/T0/B0/x")
        _write_libraries(libraries_copy, hook, broken, lineage, mailbox.port)
        run, result, _ = _run(tmp_path, libraries_copy, allow_private_networks=True)

    # the verdict is the data's: failing actions never change it
    assert run.status == "failed" and result.status.value == "failed" and result.error is None
    outcomes = {a.action_id: a for a in result.actions}
    assert set(outcomes) == {"data_team_webhook", "data_team_email", "pager_webhook", "lineage"}

    # webhook: 500, 500, 200 -> one delivery for its idempotency key, signed with the tenant's key
    webhook = outcomes["data_team_webhook"]
    assert (webhook.status, webhook.attempts, webhook.trigger) == ("delivered", 3, "on_failure")
    assert [r.status for r in hook.requests] == [500, 500, 200]
    key = f"{run.run_id}:data_team_webhook"
    assert list(hook.deliveries) == [key] and hook.duplicates == 0
    assert {r.headers["Idempotency-Key"] for r in hook.requests} == {key}
    delivery = hook.deliveries[key]
    signature = "sha256=" + hmac.new(SIGNING_KEY.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery.headers["X-DQ-Signature"], signature)
    assert delivery.headers["X-Source"] == "dq-platform"
    event = json.loads(delivery.body)
    assert event["run_id"] == run.run_id and event["verdict"] == "failed"
    assert event["failed_rules_total"] == result.validation.summary.failed + result.validation.summary.errors  # type: ignore[union-attr]
    assert event["report_path"] == f"runs/{run.run_id}/report.html"

    # e-mail: received by the SMTP server, with the verdict
    email = outcomes["data_team_email"]
    assert (email.status, email.attempts) == ("delivered", 1), email.detail
    ((sender, recipients, message),) = mailbox.messages
    assert (sender, recipients) == ("dq-bot@contoso.example", ["data-team@contoso.example"])
    assert message["Subject"] == "[DQ] FAILED: customers customers"
    assert "FAILED" in message.get_payload(decode=True).decode("utf-8")

    # a webhook that never gets through: its fallback posts to Slack, and both are recorded
    pager = outcomes["pager_webhook"]
    assert (pager.status, pager.attempts) == ("fallback_delivered", 3)
    assert pager.detail.startswith("pager_webhook failed (gave up after 2 attempts: HTTP 503")
    assert "fallback slack_channel delivered" in pager.detail
    assert len(broken.requests) == 2 and broken.deliveries == {}
    (posted,) = slack.requests
    assert posted.json()["text"] == "DQ FAILED: customers customers"
    assert f"https://dq.contoso.example/files/runs/{run.run_id}/report.html" in posted.body.decode()

    # OpenLineage: START then COMPLETE for the run, with the assertions of the run's rules
    assert outcomes["lineage"].status == "delivered"
    start, complete = (r.json() for r in lineage.requests)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] == run.run_id
    assertions = complete["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    failed_rules = {r.rule_id for r in result.validation.rules if r.status.value == "failed"}  # type: ignore[union-attr]
    assert {a["name"] for a in assertions if not a["success"]} >= failed_rules


def test_the_demo_notifications_fail_fast_when_their_hosts_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo tenant's actions point at hosts that do not exist here: recorded failed, quickly."""
    from tests.conftest import LIBRARIES

    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_MASK_SALT", "an-e2e-salt-0123456789abcdef")
    run, result, _ = _run(tmp_path, LIBRARIES)
    assert run.status == "failed"
    outcomes = {a.action_id: a for a in result.actions}
    assert outcomes["data_team_webhook"].status == "failed"
    assert "fallback data_team_email failed" in outcomes["data_team_webhook"].detail
    assert outcomes["lineage"].status == "failed"


def test_a_deployment_that_does_not_allow_private_networks_refuses_the_local_receivers(
    tmp_path: Path, libraries_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same run as above with DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS off (a deployment's default):
    every network action is refused before it connects, and the verdict stands."""
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_MASK_SALT", "an-e2e-salt-0123456789abcdef")
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    with (
        http_receiver() as hook,
        http_receiver() as broken,
        http_receiver() as slack,
        http_receiver() as lineage,
        smtp_server() as mailbox,
    ):
        monkeypatch.setenv("DQ_SECRET_CONTOSO__SLACK_DQ_CHANNEL_URL", slack.url + "/services/T0/B0/x")
        _write_libraries(libraries_copy, hook, broken, lineage, mailbox.port)
        run, result, _ = _run(tmp_path, libraries_copy, allow_private_networks=False)
    assert run.status == "failed" and result.status.value == "failed" and result.error is None
    refused = "destination_refused: 127.0.0.1 is a loopback address"
    outcomes = {a.action_id: (a.status, a.attempts, a.detail) for a in result.actions}
    assert outcomes == {
        "data_team_webhook": ("failed", 0, refused),
        "data_team_email": ("failed", 0, refused),
        "pager_webhook": ("failed", 0, f"pager_webhook failed ({refused}); fallback slack_channel failed ({refused})"),
        "lineage": ("failed", 0, f"START {refused}"),
    }
    assert hook.requests == broken.requests == slack.requests == lineage.requests == []
    assert mailbox.connections == 0 and mailbox.messages == []


BODY_MARKER = "BODY-MARKER-5c1e"  # what the receivers answer: an internal service's content
REASON_MARKER = "REASON-MARKER-9d2b"  # the receivers' own reason phrase


def test_the_receivers_answers_reach_no_output_of_the_run_and_no_log(
    tmp_path: Path, libraries_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_MASK_SALT", "an-e2e-salt-0123456789abcdef")
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    answer = json.dumps({"error": BODY_MARKER, "key": f"{BODY_MARKER} x", "detail": BODY_MARKER * 10}).encode()
    with (
        http_receiver(default=400) as hook,
        http_receiver(default=503) as broken,
        http_receiver(default=302) as slack,
        http_receiver(default=200) as lineage,
        smtp_server() as mailbox,
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="httpx"),  # the app quiets httpx once it configures monitoring
    ):
        for receiver in (hook, broken, slack, lineage):
            receiver.answer = receiver.failure_answer = answer
            receiver.reason = f"Nope {REASON_MARKER}"
        slack.location = "http://169.254.169.254/latest/meta-data/"
        mailbox.reply = f"554 5.7.1 {BODY_MARKER} {REASON_MARKER}"
        monkeypatch.setenv("DQ_SECRET_CONTOSO__SLACK_DQ_CHANNEL_URL", slack.url + "/services/T0/B0/x")
        _write_libraries(libraries_copy, hook, broken, lineage, mailbox.port)
        run, result, ports = _run(tmp_path, libraries_copy, allow_private_networks=True)
    assert hook.requests and broken.requests and slack.requests and lineage.requests and mailbox.connections
    details = {a.action_id: a.detail for a in result.actions}
    assert details["data_team_webhook"] == "refused: HTTP 400 Bad Request"
    assert details["data_team_email"] == "refused: SMTPDataError: SMTP 554"
    assert "HTTP 302 Found (redirects are not followed)" in details["pager_webhook"]
    files = ports.blobs.list("contoso", f"runs/{run.run_id}/")
    assert {f"runs/{run.run_id}/{name}" for name in ("result.json", "report.html")} <= set(files)
    for path in files:  # result.json, report.html, result.csv, the GX document, parquet files...
        content = ports.blobs.get("contoso", path)[0]
        for marker in (BODY_MARKER, REASON_MARKER):
            assert marker.encode() not in content, (path, marker)
    ours = [r.getMessage() for r in caplog.records if r.name != "mail.log"]  # mail.log: the SMTP server's own
    assert len(ours) > 10 and any(re.search(r"HTTP/1\.[01] 400", line) for line in ours)  # the client side did log
    assert not [line for line in ours if BODY_MARKER in line]  # none carries an answer's body or SMTP reply
