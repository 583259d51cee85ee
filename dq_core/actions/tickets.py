"""Tickets: a Jira issue, an Azure DevOps work item or a ServiceNow incident, over the webhook
transport (same ``Idempotency-Key`` header). Jira, Azure DevOps and ServiceNow ignore that
header, so a create is repeated only when it surely did not arrive (no connection, 408,
429, 503): a timeout or another 5xx after sending is recorded as failed, never retried
into a duplicate ticket.

Each system has its payload template here: the title from the action's ``title``
template, the description from the run's notice (verdict, counts, failed rules, report
path). Credentials: the ``token`` secret; ``user:token`` is sent as Basic credentials,
anything else as a Bearer token (Azure DevOps: a personal access token, Basic with an
empty user name).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Final
from urllib.parse import quote

from pydantic import JsonValue

from dq_core.actions import transport
from dq_core.actions.context import ActionContext
from dq_core.actions.notice import notice, text_summary, title
from dq_core.actions.webhook import deliver, outcome_of
from dq_core.libraries.actions import TicketAction, TicketSystem
from dq_core.results.run import ActionOutcome

LABEL = "data-quality"
TICKET_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")  # DQ-42, 77, INC0010001, a sys_id
ADO_API_VERSION = "7.1"


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")


def authorization(system: TicketSystem, token: str) -> str:
    if system is TicketSystem.AZURE_DEVOPS:
        return _basic(token if ":" in token else ":" + token)
    return _basic(token) if ":" in token else f"Bearer {token}"


def ticket_request(action: TicketAction, ctx: ActionContext) -> tuple[str, JsonValue, str]:
    """(URL, JSON body, content type) of the ticket for this system."""
    base = action.url.rstrip("/")
    summary = title(action.title, ctx)
    lines = text_summary(notice(ctx, action.id))
    description = "\n".join(lines)
    key = ctx.idempotency_key(action.id)
    if action.system is TicketSystem.JIRA:
        body: JsonValue = {
            "fields": {
                "project": {"key": action.project},
                "summary": summary[:255],
                "description": description,
                "issuetype": {"name": action.issue_type},
                "labels": [LABEL],
            }
        }
        return f"{base}/rest/api/2/issue", body, "application/json"
    if action.system is TicketSystem.AZURE_DEVOPS:
        project, kind = quote(action.project, safe=""), quote(action.issue_type, safe="")
        url = f"{base}/{project}/_apis/wit/workitems/${kind}?api-version={ADO_API_VERSION}"
        html = "<br/>".join(line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for line in lines)
        body = [
            {"op": "add", "path": "/fields/System.Title", "value": summary[:255]},
            {"op": "add", "path": "/fields/System.Description", "value": html},
            {"op": "add", "path": "/fields/System.Tags", "value": f"{LABEL}; dq-{ctx.status}"},
        ]
        return url, body, "application/json-patch+json"
    body = {
        "short_description": summary[:160],
        "description": description,
        "assignment_group": action.project,
        "correlation_id": key,
        "correlation_display": "dq-platform",
    }
    return f"{base}/api/now/table/incident", body, "application/json"


def run_ticket(action: TicketAction, ctx: ActionContext) -> ActionOutcome:
    url, body, content_type = ticket_request(action, ctx)
    headers = {
        "Authorization": authorization(action.system, ctx.secret(action.token)),
        "Accept": "application/json",
        transport.IDEMPOTENCY_HEADER: ctx.idempotency_key(action.id),
    }
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = transport.HttpRequest(url=url, body=data, headers=headers, content_type=content_type, idempotent=False)
    delivery = deliver(ctx, request, action)
    outcome = outcome_of(ctx, action.id, action.type, delivery)
    if delivery.delivered:
        created = _created(delivery.body)
        if created:
            return outcome.model_copy(update={"detail": f"{delivery.detail}: {action.system.value} {created}"})
    return outcome


def _created(body: bytes) -> str:
    """The new ticket's key or id, when the answer names it (Jira key, work item id, sys_id) and it
    looks like one: nothing else of the answer reaches the outcome."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    result = answer.get("result")
    if isinstance(result, dict):
        answer = result
    for name in ("key", "id", "number", "sys_id"):
        value = answer.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and TICKET_ID.fullmatch(str(value)):
            return str(value)
    return ""
