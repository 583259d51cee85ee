"""Teams and Slack incoming-webhook messages: the verdict, the failed rules, the report link.

The webhook URL is itself a credential (``secret://``). Teams gets an Adaptive Card in a
``message`` envelope (what Teams Workflows webhooks accept); Slack gets ``text`` (the
notification line) and Block Kit blocks. The link is ``report_base_url`` + the report's
path in the tenant's container, or the path alone when no base URL is authored.
"""

from __future__ import annotations

import json
import re

from pydantic import JsonValue

from dq_core.actions import transport
from dq_core.actions.context import ActionContext
from dq_core.actions.notice import RunNotice, notice, rule_line
from dq_core.actions.webhook import deliver, outcome_of
from dq_core.errors import ConfigError
from dq_core.libraries.actions import ChatAction
from dq_core.results.run import ActionOutcome

MAX_RULES = 10
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_COLOURS = {"passed": "good", "failed": "attention", "error": "attention"}


def _headline(item: RunNotice) -> str:
    return f"DQ {item.verdict.upper()}: {item.contract.id} {item.contract.dataset}"


def _facts(item: RunNotice) -> list[tuple[str, str]]:
    facts = [("Run", item.run_id), ("Contract", f"{item.contract.id}@{item.contract.version}")]
    if item.job:
        facts.append(("Job", item.job))
    if item.summary is not None:
        s = item.summary
        facts.append(("Rules", f"{s.evaluated} evaluated, {s.passed} passed, {s.failed} failed, {s.errors} errors"))
    if item.rows_in is not None:
        facts.append(("Rows", f"{item.rows_in} in, {item.rows_out} out, {item.rows_rejected} rejected"))
    if item.anomalies:
        facts.append(("Anomalies", str(item.anomalies)))
    if item.error is not None:
        facts.append(("Error", f"{item.error.code}: {item.error.message}"))
    return facts


def _rule_lines(item: RunNotice) -> list[str]:
    lines = [rule_line(rule) for rule in item.failed_rules[:MAX_RULES]]
    if item.failed_rules_total > MAX_RULES:
        lines.append(f"… and {item.failed_rules_total - MAX_RULES} more")
    return lines


def _absolute(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url) else None


def teams_message(item: RunNotice) -> dict[str, JsonValue]:
    body: list[JsonValue] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "color": _COLOURS.get(item.verdict, "default"),
            "text": _headline(item),
            "wrap": True,
        },
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(item)]},
    ]
    rules = _rule_lines(item)
    if rules:
        body.append({"type": "TextBlock", "text": "Failed rules", "weight": "Bolder"})
        body.append({"type": "TextBlock", "text": "\n".join(f"- {line}" for line in rules), "wrap": True})
    card: dict[str, JsonValue] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    link = _absolute(item.report_url)
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": link}]
    elif item.report_url:
        body.append({"type": "TextBlock", "text": f"Report: {item.report_url}", "wrap": True})
    return {
        "type": "message",
        "summary": _headline(item),
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def slack_message(item: RunNotice) -> dict[str, JsonValue]:
    facts = "\n".join(f"*{k}:* {v}" for k, v in _facts(item))
    blocks: list[JsonValue] = [
        {"type": "header", "text": {"type": "plain_text", "text": _headline(item)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    rules = _rule_lines(item)
    if rules:
        text = "*Failed rules*\n" + "\n".join(f"• {line}" for line in rules)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    link = _absolute(item.report_url)
    if link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open the report>"}})
    elif item.report_url:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: {item.report_url}"}]})
    return {"text": _headline(item), "blocks": blocks}


def run_chat(action: ChatAction, ctx: ActionContext) -> ActionOutcome:
    url = ctx.secret(action.webhook_url)
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"{action.webhook_url} does not hold an http(s) URL")
    item = notice(ctx, action.id, base_url=action.report_base_url)
    message = teams_message(item) if action.type == "teams" else slack_message(item)
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    headers = {transport.IDEMPOTENCY_HEADER: ctx.idempotency_key(action.id)}
    request = transport.HttpRequest(url=url, body=body, headers=headers)
    delivery = deliver(ctx, request, action)
    return outcome_of(ctx, action.id, action.type, delivery)
