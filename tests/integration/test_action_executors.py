"""Every executor against real servers on 127.0.0.1: an HTTP receiver with scripted answers
(webhook, Teams, Slack, OpenLineage, tickets), an aiosmtpd SMTP server, the local blob
folder and queue folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest

from adapters.local.folder_queue import LocalQueueSender
from adapters.notify.http import HttpxSender
from dq_core.actions import transport
from dq_core.actions.chat import run_chat
from dq_core.actions.destinations import Destinations
from dq_core.actions.export import export_rows, run_export
from dq_core.actions.lineage_events import run_openlineage
from dq_core.actions.mail import run_email
from dq_core.actions.queues import run_queue
from dq_core.actions.tickets import run_ticket
from dq_core.actions.webhook import run_webhook
from dq_core.libraries.actions import (
    ChatAction,
    EmailAction,
    OpenLineageAction,
    QueueAction,
    StorageExportAction,
    TicketAction,
    WebhookAction,
)
from tests.action_servers import RUN_ID, action_context, closed_port, http_receiver, smtp_server

SIGNING = "s3cr3t-signing-key"
LOCAL = Destinations(allow_private_networks=True)  # the receivers listen on 127.0.0.1
FAST = {"backoff_seconds": 0.01, "timeout_seconds": 5}


def _webhook(url: str, **extra: object) -> WebhookAction:
    return WebhookAction.model_validate(
        {"id": "hook", "type": "webhook", "url": url, "signing_secret": "secret://signing", **FAST, **extra}
    )


def test_webhook_retries_5xx_and_records_one_delivery_per_idempotency_key(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"signing": SIGNING, "hook-token": "tok-123"})
    with http_receiver([500, 500]) as receiver:
        action = _webhook(receiver.url + "/dq", headers={"X-Api-Token": "secret://hook-token", "X-Source": "dq"})
        outcome = run_webhook(action, ctx)
    assert (outcome.status, outcome.attempts) == ("delivered", 3), outcome.detail
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    key = f"{RUN_ID}:hook"
    assert list(receiver.deliveries) == [key] and receiver.duplicates == 0
    bodies = {r.body for r in receiver.requests}
    assert len(bodies) == 1  # every attempt sends the same bytes under the same key
    delivery = receiver.deliveries[key]
    expected = "sha256=" + hmac.new(SIGNING.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-DQ-Signature"] == expected
    assert delivery.headers["X-Api-Token"] == "tok-123" and delivery.headers["X-Source"] == "dq"
    assert delivery.headers["Content-Type"] == "application/json" and delivery.path == "/dq"
    body = delivery.json()
    assert body["schema_id"] == "dq.action-event/v1" and body["event_id"] == key
    assert body["verdict"] == "failed" and body["run_id"] == RUN_ID
    assert [rule["rule_id"] for rule in body["failed_rules"]] == ["email_not_null"]
    assert body["report_path"] == f"runs/{RUN_ID}/report.html"
    assert body["summary"]["failed"] == 1 and body["rows_rejected"] == 5


def test_webhook_a_4xx_is_final_and_not_retried(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"signing": SIGNING})
    with http_receiver([400]) as receiver:
        outcome = run_webhook(_webhook(receiver.url), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.detail.startswith("refused: HTTP 400")
    assert receiver.deliveries == {}


def test_webhook_429_is_retried_until_max_attempts(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"signing": SIGNING})
    with http_receiver(default=429) as receiver:
        outcome = run_webhook(_webhook(receiver.url, max_attempts=2), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert "gave up after 2 attempts: HTTP 429" in outcome.detail
    assert len(receiver.requests) == 2


def test_webhook_timeouts_and_refused_connections_are_retried(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"signing": SIGNING})
    with http_receiver(delay=1.0) as receiver:
        outcome = run_webhook(_webhook(receiver.url, max_attempts=2, timeout_seconds=0.2), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert "Timeout" in outcome.detail
    refused = run_webhook(_webhook(f"http://127.0.0.1:{closed_port()}/", max_attempts=3), ctx)
    assert (refused.status, refused.attempts) == ("failed", 3)
    assert "ConnectError" in refused.detail


def test_webhook_without_its_signing_secret_fails_before_sending(tmp_path: Path) -> None:
    from dq_core.actions.dispatch import run_action
    from dq_core.bundle.models import ResolvedAction

    with http_receiver() as receiver:
        action = _webhook(receiver.url)
        ctx = action_context(tmp_path, actions=(action,))
        outcome = run_action(ResolvedAction(library="t@1.0.0", triggers=(action.trigger,), action=action), ctx)
    assert receiver.requests == []
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert outcome.detail == "not_found: secret://signing is not set for tenant contoso"


def test_backoff_grows_exponentially_with_jitter() -> None:
    waits: list[float] = []
    policy = WebhookAction.model_validate(
        {"id": "w", "type": "webhook", "url": "http://x.invalid", "max_attempts": 4, "backoff_seconds": 1.0}
    )
    with http_receiver(default=503) as receiver:
        delivery = transport.send(
            transport.HttpRequest(url=receiver.url, body=b"{}"),
            policy,
            sender=HttpxSender(),
            destinations=LOCAL,
            sleep=waits.append,
        )
    assert not delivery.delivered and delivery.attempts == 4
    assert len(waits) == 3
    for n, wait in enumerate(waits):  # initial * 2**n plus up to one initial of jitter
        assert 2**n <= wait <= 2**n + 1.0


def test_teams_message_has_the_verdict_rules_and_report_link(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        ctx = action_context(tmp_path, secrets={"teams-url": receiver.url + "/teams"})
        action = ChatAction.model_validate(
            {
                "id": "teams",
                "type": "teams",
                "webhook_url": "secret://teams-url",
                "report_base_url": "https://dq.contoso.example/files/",
                **FAST,
            }
        )
        outcome = run_chat(action, ctx)
    assert outcome.status == "delivered", outcome.detail
    (request,) = receiver.requests
    assert request.path == "/teams"
    message = request.json()
    assert message["type"] == "message"
    card = message["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "DQ FAILED: customers customers"
    assert "email_not_null" in json.dumps(card["body"])
    assert card["actions"][0]["url"] == f"https://dq.contoso.example/files/runs/{RUN_ID}/report.html"


def test_slack_message_has_the_verdict_rules_and_report_path(tmp_path: Path) -> None:
    with http_receiver([502]) as receiver:
        ctx = action_context(tmp_path, secrets={"slack-url": receiver.url + "/services/T/B/X"})
        action = ChatAction.model_validate(
            {"id": "slack", "type": "slack", "webhook_url": "secret://slack-url", **FAST}
        )
        outcome = run_chat(action, ctx)
    assert (outcome.status, outcome.attempts) == ("delivered", 2)
    message = receiver.requests[-1].json()
    assert message["text"] == "DQ FAILED: customers customers"
    text = json.dumps(message["blocks"])
    assert "email_not_null" in text and f"runs/{RUN_ID}/report.html" in text


def test_email_is_received_by_the_smtp_server(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    with smtp_server() as mailbox:
        action = EmailAction.model_validate(
            {
                "id": "mail",
                "type": "email",
                "smtp_host": mailbox.host,
                "smtp_port": mailbox.port,
                "starttls": False,
                "sender": "dq-bot@contoso.example",
                "to": ["data-team@contoso.example", "owner@contoso.example"],
                **FAST,
            }
        )
        outcome = run_email(action, ctx)
    assert (outcome.status, outcome.attempts) == ("delivered", 1), outcome.detail
    ((sender, recipients, message),) = mailbox.messages
    assert sender == "dq-bot@contoso.example"
    assert recipients == ["data-team@contoso.example", "owner@contoso.example"]
    assert message["Subject"] == "[DQ] FAILED: customers customers"
    assert message["Message-ID"] == f"<{RUN_ID}.mail@dq-platform>"
    assert message["X-DQ-Verdict"] == "failed"
    text = message.get_payload(decode=True).decode("utf-8")
    assert "FAILED" in text and "email_not_null" in text and f"runs/{RUN_ID}/report.html" in text


def test_email_to_a_closed_port_is_retried_then_failed(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"smtp": "pw"})
    action = EmailAction.model_validate(
        {
            "id": "mail",
            "type": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": closed_port(),
            "username": "bot",
            "password": "secret://smtp",
            "sender": "a@b.example",
            "to": ["c@d.example"],
            "max_attempts": 2,
            **FAST,
        }
    )
    outcome = run_email(action, ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert "gave up after 2 attempts: ConnectionRefusedError" in outcome.detail


def _lineage(url: str, **extra: object) -> OpenLineageAction:
    return OpenLineageAction.model_validate(
        {"id": "lineage", "type": "openlineage", "url": url, "namespace": "contoso-dev", **FAST, **extra}
    )


def test_openlineage_sends_start_then_complete_with_quality_facets(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"ol-key": "ol-api-key"})
    with http_receiver([503]) as receiver:
        outcome = run_openlineage(_lineage(receiver.url, api_key="secret://ol-key"), ctx)
    assert (outcome.status, outcome.attempts) == ("delivered", 3), outcome.detail
    assert outcome.detail.startswith("START and COMPLETE sent")
    events = [r.json() for r in receiver.requests if r.status == 200]
    assert {r.path for r in receiver.requests} == {"/api/v1/lineage"}
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert receiver.requests[-1].headers["Authorization"] == "Bearer ol-api-key"
    assert set(receiver.deliveries) == {f"{RUN_ID}:lineage:START", f"{RUN_ID}:lineage:COMPLETE"}
    start, complete = events
    assert start["run"]["runId"] == complete["run"]["runId"] == RUN_ID
    assert complete["job"] == {"namespace": "contoso-dev", "name": "customers_daily", "facets": {}}
    assert start["eventTime"].startswith("2026-11-25T09:00:00") and complete["eventTime"].startswith(
        "2026-11-25T09:00:07"
    )
    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("dq://contoso", "landing/crm/customers_1.csv")
    assertions = source["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {(a["name"], a["assertion"], a["success"], a.get("column")) for a in assertions} == {
        ("email_not_null", "not_null", False, "email"),
        ("age_range", "range", True, "age"),
    }
    metrics = source["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 13 and metrics["bytes"] == 1234
    assert metrics["columnMetrics"]["email"]["nullCount"] == 2 and metrics["columnMetrics"]["age"]["max"] == 70
    outputs = {o["name"]: o["outputFacets"]["outputStatistics"]["rowCount"] for o in complete["outputs"]}
    assert outputs == {"customers.customers.cleansed": 13, "customers.customers.rejects": 5}


def test_openlineage_ends_an_errored_run_with_fail_and_its_message(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, status="error")
    with http_receiver() as receiver:
        outcome = run_openlineage(_lineage(receiver.url), ctx)
    assert outcome.status == "delivered", outcome.detail
    start, end = (r.json() for r in receiver.requests)
    assert (start["eventType"], end["eventType"]) == ("START", "FAIL")
    assert end["run"]["facets"]["errorMessage"]["message"] == "input_invalid: ragged rows"
    assert "Authorization" not in receiver.requests[0].headers


def test_openlineage_a_refusing_endpoint_fails_without_complete(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    with http_receiver(default=401) as receiver:
        outcome = run_openlineage(_lineage(receiver.url), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.detail == "START refused: HTTP 401 Unauthorized"
    assert len(receiver.requests) == 1


def _ticket(system: str, url: str, **extra: object) -> TicketAction:
    return TicketAction.model_validate(
        {"id": "ticket", "type": "ticket", "system": system, "url": url, "token": "secret://tok", **FAST, **extra}
    )


def test_jira_issue_payload(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"tok": "bot@contoso.example:api-token"})
    with http_receiver(answer=b'{"id": "10001", "key": "DQ-42"}') as receiver:
        outcome = run_ticket(_ticket("jira", receiver.url + "/jira/", project="DQ", issue_type="Task"), ctx)
    assert outcome.status == "delivered" and outcome.detail.endswith("jira DQ-42")
    (request,) = receiver.requests
    assert request.path == "/jira/rest/api/2/issue"
    expected = base64.b64encode(b"bot@contoso.example:api-token").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    fields = request.json()["fields"]
    assert fields["project"] == {"key": "DQ"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "[DQ] FAILED: customers customers"
    assert "email_not_null" in fields["description"] and fields["labels"] == ["data-quality"]


def test_azure_devops_work_item_payload(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"tok": "pat-value"})
    with http_receiver(answer=b'{"id": 77}') as receiver:
        action = _ticket(
            "azure_devops", receiver.url + "/contoso", project="Data Platform", title="DQ {verdict} {run_id}"
        )
        outcome = run_ticket(action, ctx)
    assert outcome.status == "delivered" and outcome.detail.endswith("azure_devops 77")
    (request,) = receiver.requests
    assert request.path == "/contoso/Data%20Platform/_apis/wit/workitems/$Bug?api-version=7.1"
    assert request.headers["Content-Type"] == "application/json-patch+json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b":pat-value").decode()
    operations = {op["path"]: op["value"] for op in request.json()}
    assert operations["/fields/System.Title"] == f"DQ FAILED {RUN_ID}"
    assert "email_not_null" in operations["/fields/System.Description"]


def test_servicenow_incident_payload(tmp_path: Path) -> None:
    ctx = action_context(tmp_path, secrets={"tok": "oauth-token"})
    with http_receiver(answer=b'{"result": {"sys_id": "abc", "number": "INC0010001"}}') as receiver:
        outcome = run_ticket(_ticket("servicenow", receiver.url, project="Data Governance"), ctx)
    assert outcome.status == "delivered" and outcome.detail.endswith("servicenow INC0010001")
    (request,) = receiver.requests
    assert request.path == "/api/now/table/incident"
    assert request.headers["Authorization"] == "Bearer oauth-token"
    body = request.json()
    assert body["assignment_group"] == "Data Governance" and body["correlation_id"] == f"{RUN_ID}:ticket"
    assert body["short_description"] == "[DQ] FAILED: customers customers"


def test_a_ticket_create_is_never_repeated_once_it_may_have_arrived(tmp_path: Path) -> None:
    # the ticket systems ignore Idempotency-Key: a 500 or a timeout after sending may have created it
    ctx = action_context(tmp_path, secrets={"tok": "oauth-token"})
    with http_receiver([500]) as receiver:
        failed = run_ticket(_ticket("servicenow", receiver.url, project="Data Governance", max_attempts=3), ctx)
    assert (failed.status, failed.attempts, len(receiver.requests)) == ("failed", 1, 1)
    assert "not retried: the receiver may have acted on it" in failed.detail
    with http_receiver(delay=1.0) as receiver:
        slow = run_ticket(_ticket("jira", receiver.url, project="DQ", max_attempts=3, timeout_seconds=0.2), ctx)
    assert (slow.status, slow.attempts) == ("failed", 1) and "Timeout" in slow.detail
    # refused before processing (503, 429) or no connection at all: repeated, one ticket in the end
    with http_receiver([503, 429], answer=b'{"result": {"number": "INC0010002"}}') as receiver:
        created = run_ticket(_ticket("servicenow", receiver.url, project="Data Governance", max_attempts=3), ctx)
    assert (created.status, created.attempts) == ("delivered", 3) and created.detail.endswith("INC0010002")
    refused = run_ticket(_ticket("jira", f"http://127.0.0.1:{closed_port()}", project="DQ", max_attempts=2), ctx)
    assert (refused.status, refused.attempts) == ("failed", 2) and "ConnectError" in refused.detail


def test_blob_export_copies_the_run_files_under_the_prefix(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    action = StorageExportAction.model_validate(
        {
            "id": "export",
            "type": "storage_export",
            "target": "blob",
            "prefix": "/exports/dq/",
            "include": ["result", "rejects", "cleansed", "profile"],
        }
    )
    outcome = run_export(action, ctx)
    assert outcome.status == "delivered" and outcome.detail == f"5 files to exports/dq/{RUN_ID}/"
    names = set(ctx.blobs.list("contoso", "exports/"))
    folder = f"exports/dq/{RUN_ID}/"
    assert names == {
        folder + name
        for name in ("result.json", "rejects.parquet", "cleansed/part-00000.parquet", "cleansed/part-00001.parquet")
    } | {folder + "profile.json"}
    assert json.loads(ctx.blobs.get("contoso", folder + "result.json")[0])["run_id"] == RUN_ID
    again = run_export(action, ctx)  # a retried export overwrites
    assert again.status == "delivered"


def test_blob_export_copies_failed_rows_when_the_run_wrote_them(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    action = StorageExportAction.model_validate(
        {"id": "export", "type": "storage_export", "target": "blob", "prefix": "out", "include": ["failed_rows"]}
    )
    none = run_export(action, ctx)  # no failing row: nothing to copy, and not a failure
    assert none.status == "delivered" and none.detail == f"0 files to out/{RUN_ID}/"
    rows = pl.DataFrame({"_dq_source_row": [3], "_dq_failed_rules": [["email_shape"]], "email": ["***"]})
    buffer = io.BytesIO()
    rows.write_parquet(buffer)
    ctx.blobs.put("contoso", ctx.failed_rows_path, buffer.getvalue())
    copied = run_export(action, ctx)
    assert copied.status == "delivered" and copied.detail == f"1 files to out/{RUN_ID}/"
    exported = ctx.blobs.get("contoso", f"out/{RUN_ID}/failed_rows.parquet")[0]
    assert pl.read_parquet(io.BytesIO(exported)).equals(rows)
    (row,) = export_rows(ctx, ("failed_rows",))
    payload = {"_dq_source_row": 3, "_dq_failed_rules": ["email_shape"], "email": "***"}
    assert (row.kind, row.seq, row.payload) == ("failed_row", 0, payload)


def test_table_export_without_a_database_is_failed_with_a_clear_detail(tmp_path: Path) -> None:
    from dq_core.actions.dispatch import run_action
    from dq_core.bundle.models import ResolvedAction

    action = StorageExportAction.model_validate(
        {"id": "export", "type": "storage_export", "target": "postgres", "table": "dq_results"}
    )
    ctx = action_context(tmp_path, actions=(action,))
    outcome = run_action(ResolvedAction(library="t@1.0.0", triggers=(action.trigger,), action=action), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert "is not configured on this host" in outcome.detail and "RowExporter" in outcome.detail


def test_queue_message_goes_to_the_tenants_local_queue(tmp_path: Path) -> None:
    queues = LocalQueueSender(tmp_path / "queues")
    ctx = action_context(tmp_path, queues=queues)
    outcome = run_queue(QueueAction.model_validate({"id": "q", "type": "queue", "queue": "dq-events"}), ctx)
    assert outcome.status == "delivered"
    (message,) = queues.messages("contoso", "dq-events")
    body = json.loads(message)
    assert body["event_id"] == f"{RUN_ID}:q" and body["verdict"] == "failed"
    assert (tmp_path / "queues" / "contoso" / "dq-events").is_dir()
    assert pl.DataFrame(body["failed_rules"]).height == 1


def test_openlineage_to_a_closed_port_is_retried_and_names_the_cause(tmp_path: Path) -> None:
    ctx = action_context(tmp_path)
    outcome = run_openlineage(_lineage(f"http://127.0.0.1:{closed_port()}", max_attempts=2), ctx)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.detail.startswith("START gave up after 2 attempts: ConnectError")
    assert "Connection refused" in outcome.detail


def test_a_retry_after_header_lengthens_the_wait_up_to_the_cap() -> None:
    policy = WebhookAction.model_validate(
        {"id": "w", "type": "webhook", "url": "http://x.invalid", "max_attempts": 3, "backoff_seconds": 0.01}
    )
    waits: list[float] = []
    with http_receiver([429, 503]) as receiver:
        receiver.retry_after = "7"
        delivery = transport.send(
            transport.HttpRequest(url=receiver.url, body=b"{}"),
            policy,
            sender=HttpxSender(),
            destinations=LOCAL,
            sleep=waits.append,
        )
    assert delivery.delivered and delivery.attempts == 3
    assert waits == [7.0, 7.0]
    waits.clear()
    with http_receiver([429]) as receiver:
        receiver.retry_after = "3600"
        transport.send(
            transport.HttpRequest(url=receiver.url, body=b"{}"),
            policy,
            sender=HttpxSender(),
            destinations=LOCAL,
            sleep=waits.append,
        )
    assert waits == [transport.MAX_WAIT_SECONDS]


def test_email_logs_in_with_the_password_secret_and_a_server_without_auth_is_final(tmp_path: Path) -> None:
    spec = {"id": "mail", "type": "email", "starttls": False, "username": "dq-bot", "password": "secret://smtp"}
    spec |= {"sender": "dq-bot@contoso.example", "to": ["team@contoso.example"], **FAST}
    ctx = action_context(tmp_path, secrets={"smtp": "right-password"})
    with smtp_server(credentials=("dq-bot", "right-password")) as mailbox:
        action = EmailAction.model_validate({**spec, "smtp_host": mailbox.host, "smtp_port": mailbox.port})
        good = run_email(action, ctx)
    assert (good.status, good.attempts) == ("delivered", 1), good.detail
    assert mailbox.logins == ["dq-bot"] and len(mailbox.messages) == 1
    with smtp_server() as no_auth:
        action = EmailAction.model_validate({**spec, "smtp_host": no_auth.host, "smtp_port": no_auth.port})
        refused = run_email(action, ctx)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.detail.startswith("refused: SMTPNotSupportedError") and no_auth.messages == []


def test_templates_take_plain_names_only(tmp_path: Path) -> None:
    from dq_core.actions.notice import title
    from dq_core.errors import ConfigError

    ctx = action_context(tmp_path)
    plain = title("[DQ] {verdict} {contract}/{dataset} {run_id} {{literal}}", ctx)
    assert plain == f"[DQ] FAILED customers/customers {RUN_ID} {{literal}}"
    for template, why in (
        ("{verdict.__class__}", "{verdict.__class__} is not one of"),
        ("{verdict[0]}", "{verdict[0]} is not one of"),
        ("{owner}", "{owner} is not one of"),
        ("{}", "{} is not one of"),
        ("{verdict", "expected '}'"),
        ("{verdict!s}", "{verdict!s}: conversions (!r, !s, !a) are not allowed"),
        ("{verdict:>7}", "{verdict:>7}: format specs (width, precision, alignment) are not allowed"),
    ):
        with pytest.raises(ConfigError, match=re.escape(why)):
            title(template, ctx)


def test_a_webhook_url_that_is_itself_a_credential_comes_from_the_secrets(tmp_path: Path) -> None:
    # a Logic App's HTTP trigger URL carries its signature (sig=...) in the query
    with http_receiver() as receiver:
        signed = receiver.url + "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SIGVALUE"
        ctx = action_context(tmp_path, secrets={"signing": SIGNING, "logic-app-url": signed})
        outcome = run_webhook(_webhook("secret://logic-app-url"), ctx)
    assert outcome.status == "delivered", outcome.detail
    (request,) = receiver.requests
    assert request.path.endswith("sig=SIGVALUE")
    assert "SIGVALUE" not in outcome.detail and "SIGVALUE" not in outcome.model_dump_json()
    not_a_url = action_context(tmp_path, secrets={"signing": SIGNING, "logic-app-url": "not a url"})
    refused = run_webhook(_webhook("secret://logic-app-url"), not_a_url)
    assert (refused.status, refused.attempts) == ("failed", 0)
    assert refused.detail == "secret://logic-app-url does not hold an http(s) URL"
    with pytest.raises(ValueError, match="secret://name"):
        _webhook("secret://")
