"""The run as an action tells it: one payload for webhooks and queue messages, and the text
that chat messages, e-mails and tickets are made of."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from dq_core.actions.context import ActionContext
from dq_core.errors import ConfigError
from dq_core.libraries.actions import template_parts
from dq_core.payloads import Payload
from dq_core.results.run import RunError, RunResult
from dq_core.validation.results import RuleStatus, ValidationSummary

NOTICE_SCHEMA: Final = "dq.action-event/v1"
MAX_FAILED_RULES = 50


class ContractRef(Payload):
    id: str
    version: str
    dataset: str


class FailedRule(Payload):
    rule_id: str
    type: str
    columns: tuple[str, ...]
    severity: str
    status: str
    unexpected_count: int | None
    unexpected_percent: float | None
    message: str


class RunNotice(Payload):
    """The body of a webhook (``dq.action-event/v1``) and of a queue message."""

    schema_id: Literal["dq.action-event/v1"] = NOTICE_SCHEMA
    event_id: str  # the idempotency key: {run_id}:{action_id}
    action_id: str
    trigger: str
    tenant: str
    environment: str
    run_id: str
    verdict: str
    contract: ContractRef
    job: str | None
    input_uri: str | None
    started_at: datetime | None
    finished_at: datetime | None
    summary: ValidationSummary | None
    failed_rules: list[FailedRule]
    failed_rules_total: int
    anomalies: int
    rows_in: int | None
    rows_out: int | None
    rows_rejected: int | None
    error: RunError | None
    result_path: str | None
    report_path: str | None
    report_url: str | None = None


def failed_rules(result: RunResult | None) -> list[FailedRule]:
    """Failed and errored rules, error severity first."""
    if result is None or result.validation is None:
        return []
    rules = [r for r in result.validation.rules if r.status in (RuleStatus.FAILED, RuleStatus.ERROR)]
    order = {"error": 0, "warning": 1, "info": 2}
    rules.sort(key=lambda r: (order.get(r.severity.value, 3), r.rule_id))
    return [
        FailedRule(
            rule_id=r.rule_id,
            type=r.type,
            columns=r.columns,
            severity=r.severity.value,
            status=r.status.value,
            unexpected_count=r.unexpected_count,
            unexpected_percent=r.unexpected_percent,
            message=r.message or r.error or "",
        )
        for r in rules
    ]


def report_url(ctx: ActionContext, base_url: str | None) -> str | None:
    """Where a person opens the run's report: ``base_url`` + the report's path, or the path alone."""
    if ctx.report_path is None:
        return None
    if base_url is None:
        return ctx.report_path
    return base_url.rstrip("/") + "/" + ctx.report_path


def notice(ctx: ActionContext, action_id: str, *, base_url: str | None = None) -> RunNotice:
    result, bundle = ctx.result, ctx.bundle
    rules = failed_rules(result)
    cleansing = result.cleansing if result else None
    return RunNotice(
        event_id=ctx.idempotency_key(action_id),
        action_id=action_id,
        trigger=ctx.trigger,
        tenant=ctx.tenant,
        environment=bundle.environment.value,
        run_id=ctx.run_id,
        verdict=ctx.status,
        contract=ContractRef(id=bundle.contract.id, version=bundle.contract.version, dataset=bundle.dataset.name),
        job=f"{bundle.job.id}@{bundle.job.version}" if bundle.job else None,
        input_uri=result.input.uri if result and result.input else None,
        started_at=result.started_at if result else None,
        finished_at=result.finished_at if result else None,
        summary=result.validation.summary if result and result.validation else None,
        failed_rules=rules[:MAX_FAILED_RULES],
        failed_rules_total=len(rules),
        anomalies=len(result.anomalies) if result else 0,
        rows_in=cleansing.rows_in if cleansing else None,
        rows_out=cleansing.rows_out if cleansing else None,
        rows_rejected=cleansing.rows_rejected if cleansing else None,
        error=result.error if result else None,
        result_path=ctx.result_path,
        report_path=ctx.report_path,
        report_url=report_url(ctx, base_url),
    )


class TemplateError(ConfigError):
    """A subject or title template asks for something other than plain fields."""

    code = "template_invalid"


def title(template: str, ctx: ActionContext) -> str:
    """A subject or ticket title from a template with {verdict}, {contract}, {dataset}, {run_id},
    {tenant}, {environment}, {job}: plain fields only (``template_parts``), checked again here for a
    bundle stored before the authoring check existed, and filled without ``str.format``."""
    bundle = ctx.bundle
    values = {
        "verdict": ctx.status.upper(),
        "contract": bundle.contract.id,
        "dataset": bundle.dataset.name,
        "run_id": ctx.run_id,
        "tenant": ctx.tenant,
        "environment": bundle.environment.value,
        "job": bundle.job.id if bundle.job else "",
    }
    try:
        parts = template_parts(template)
    except ValueError as exc:
        raise TemplateError(str(exc).removeprefix("template_invalid: ")) from None
    text = "".join(literal + (values[name] if name is not None else "") for literal, name in parts)
    return " ".join(text.split())


def text_summary(item: RunNotice, *, limit: int = 20) -> list[str]:
    """The notice as plain lines: verdict, counts, the failing rules, where the report is."""
    lines = [
        f"Run {item.run_id} of {item.contract.id}@{item.contract.version} ({item.contract.dataset}): "
        f"{item.verdict.upper()}"
    ]
    if item.input_uri:
        lines.append(f"Input: {item.input_uri}")
    if item.summary is not None:
        s = item.summary
        lines.append(f"Rules: {s.evaluated} evaluated, {s.passed} passed, {s.failed} failed, {s.errors} errors")
    if item.rows_in is not None:
        lines.append(f"Rows: {item.rows_in} in, {item.rows_out} out, {item.rows_rejected} rejected")
    if item.anomalies:
        lines.append(f"Anomalies: {item.anomalies}")
    if item.error is not None:
        lines.append(f"Error: {item.error.code}: {item.error.message}")
    if item.failed_rules:
        lines.append("Failed rules:")
        for rule in item.failed_rules[:limit]:
            lines.append(f"- {rule_line(rule)}")
        if item.failed_rules_total > limit:
            lines.append(f"- … and {item.failed_rules_total - limit} more")
    if item.report_url:
        lines.append(f"Report: {item.report_url}")
    return lines


def rule_line(rule: FailedRule) -> str:
    where = f" on {', '.join(rule.columns)}" if rule.columns else ""
    count = f": {rule.unexpected_count} unexpected" if rule.unexpected_count else ""
    return f"{rule.rule_id} ({rule.type}{where}, {rule.severity}){count}"
