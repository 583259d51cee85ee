"""Action library: post-run behaviours (webhooks, messages, lineage, tickets, exports).

Secrets are never inline: every credential field is a ``secret://name`` reference,
and header values whose name looks like a credential must be references too.
"""

from __future__ import annotations

import re
from enum import StrEnum
from string import Formatter
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator

from dq_core.config.base import (
    Id,
    Kind,
    Model,
    NonEmptyStr,
    SecretRef,
    Versioned,
    check_secret_ref,
    sorted_by_id,
    unique_ids,
)

_CREDENTIAL_HEADER = re.compile(r"auth|token|secret|key|password|signature", re.IGNORECASE)

TEMPLATE_FIELDS: Final = ("contract", "dataset", "environment", "job", "run_id", "tenant", "verdict")


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """A subject or title template as (literal text, field name or None); ValueError names the first
    thing refused. Fields are plain names of TEMPLATE_FIELDS: no attribute or index
    (``{verdict.__class__}``), no conversion (``{run_id!r}``) and no format spec
    (``{run_id:>1000000000}`` would pad to a gigabyte)."""
    allowed = ", ".join(TEMPLATE_FIELDS)
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        msg = f"template_invalid: {exc}"
        raise ValueError(msg) from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        field = ("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")[:80]
        if conversion is not None:
            msg = f"template_invalid: {field}: conversions (!r, !s, !a) are not allowed"
            raise ValueError(msg)
        if spec:
            msg = f"template_invalid: {field}: format specs (width, precision, alignment) are not allowed"
            raise ValueError(msg)
        if name not in TEMPLATE_FIELDS:
            msg = f"template_invalid: {field} is not one of {allowed}"
            raise ValueError(msg)
        parts.append((literal, name))
    return parts


def _template(value: str) -> str:
    template_parts(value)
    return value


class Trigger(StrEnum):
    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ON_ANOMALY = "on_anomaly"
    ON_ERROR = "on_error"
    ALWAYS = "always"


class ActionCommon(Model):
    """Fields every action carries, whatever its type."""

    id: Id = Field(description="The action's id, unique in its library; jobs and contracts name it.")
    trigger: Trigger = Field(
        default=Trigger.ON_FAILURE, description="The outcome it runs on when a contract lists it (a job says its own)."
    )
    fallback: Id | None = None  # another action of the same library, run if this one fails
    enabled: bool = Field(default=True, description="`false`: the action is recorded `skipped`, nothing is sent.")
    description: str = Field(default="", description="Free text for readers of the library.")


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        msg = f"{value!r} is not an http(s) URL"
        raise ValueError(msg)
    return value


Url = Annotated[str, Field(min_length=1)]


class RetryPolicy(Model):
    """How hard an action tries: attempts, and the first backoff (doubled after each failed
    attempt, with random jitter, capped at 30 s)."""

    max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts in all, the first included.")
    backoff_seconds: float = Field(
        default=1.0, gt=0, le=60, description="The first wait; doubled after each failed attempt, capped at 30 s."
    )


class DeliveryPolicy(RetryPolicy):
    """A network delivery's retries, and the timeout of each attempt."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Each attempt's limit: connect and answer.")


def _url_or_secret(value: str) -> str:
    """A webhook URL, or ``secret://name`` when the URL itself is a credential (a Logic App's or
    Power Automate flow's URL carries its signature ``sig=`` in the query)."""
    return check_secret_ref(value) if value.startswith("secret://") else _url(value)


class WebhookAction(ActionCommon, DeliveryPolicy):
    """POSTs the run's notice (JSON, `dq.action-event/v1`) to a URL, signed with HMAC-SHA256 when `signing_secret` is
    set (docs/actions.md).
    """

    type: Literal["webhook"]
    url: Url = Field(
        description="An http(s) URL, or `secret://name` when the URL is itself a credential (a Logic App's signed URL):"
        " read from the tenant's secrets when the action runs."
    )
    method: Literal["POST", "PUT"] = Field(default="POST", description="The HTTP method.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers; a credential-looking one must be a `secret://name`."
    )
    signing_secret: SecretRef | None = Field(
        default=None, description="As `secret://name`: signs the body (HMAC-SHA256, header `X-DQ-Signature`)."
    )

    _check_url = field_validator("url")(_url_or_secret)

    @field_validator("headers")
    @classmethod
    def _no_inline_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if _CREDENTIAL_HEADER.search(name) and not value.startswith("secret://"):
                msg = f"header {name!r} looks like a credential: give it as secret://name"
                raise ValueError(msg)
        return headers


class ChatAction(ActionCommon, DeliveryPolicy):
    """Teams or Slack incoming webhook; the webhook URL is itself a credential. Posts the verdict, the first failed
    rules and a link to the report (an Adaptive Card for Teams, Block Kit for Slack)."""

    type: Literal["teams", "slack"]
    webhook_url: SecretRef = Field(description="The incoming-webhook URL, as `secret://name`.")
    report_base_url: str | None = Field(
        default=None, description="Prefixed to the report's path to make the link (else the path alone)."
    )


class EmailAction(ActionCommon, DeliveryPolicy):
    """Sends a plain-text e-mail through SMTP: the verdict, rule counts, the failed rules and the report path."""

    type: Literal["email"]
    smtp_host: NonEmptyStr = Field(description="The SMTP server's host name.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The SMTP port; 465 means implicit TLS.")
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(default=None, description="Log in as this user (with `password`).")
    password: SecretRef | None = Field(default=None, description="The SMTP password, as `secret://name`.")
    sender: NonEmptyStr = Field(description="The From address.")
    to: tuple[NonEmptyStr, ...] = Field(min_length=1, description="The recipients.")
    subject: str = Field(
        default="[DQ] {verdict}: {contract} {dataset}",
        description="A template: `{verdict}`, `{contract}`, `{dataset}`, `{run_id}`, `{tenant}`, `{environment}`,"
        " `{job}`.",
    )

    _check_subject = field_validator("subject")(_template)


class OpenLineageAction(ActionCommon, DeliveryPolicy):
    """Emits OpenLineage RunEvents (START, then COMPLETE or FAIL) with data-quality assertion and metric facets."""

    type: Literal["openlineage"]
    url: Url = Field(description="The OpenLineage server's base URL.")
    endpoint: str = Field(default="api/v1/lineage", description="The path, joined to `url`.")
    api_key: SecretRef | None = Field(default=None, description="Sent as `Authorization: Bearer`, as `secret://name`.")
    namespace: NonEmptyStr = Field(default="dq", description="The OpenLineage namespace of the job.")

    _check_url = field_validator("url")(_url)


class TicketSystem(StrEnum):
    JIRA = "jira"
    AZURE_DEVOPS = "azure_devops"
    SERVICENOW = "servicenow"


class TicketAction(ActionCommon, DeliveryPolicy):
    """Opens a ticket in Jira, Azure DevOps or ServiceNow, titled from a template, describing the run."""

    type: Literal["ticket"]
    system: TicketSystem = Field(description="The ticket system.")
    url: Url = Field(description="The system's base URL.")
    token: SecretRef = Field(
        description="As `secret://name`; a secret `user:token` is sent as Basic credentials, anything else as Bearer."
    )
    project: NonEmptyStr  # Jira project key, Azure DevOps project, ServiceNow assignment group
    issue_type: str = Field(default="Bug", description="Jira issue type or Azure DevOps work item type.")
    title: str = Field(
        default="[DQ] {verdict}: {contract} {dataset}", description="A template, as an e-mail's subject."
    )

    _check_url = field_validator("url")(_url)
    _check_title = field_validator("title")(_template)


class ExportTarget(StrEnum):
    BLOB = "blob"
    POSTGRES = "postgres"


class StorageExportAction(ActionCommon, RetryPolicy):
    """Copies the run's files to a blob prefix of the tenant's container, or writes them as rows into a PostgreSQL
    table of the tenant's own schema.
    """

    type: Literal["storage_export"]
    target: ExportTarget = Field(description="Where the export goes.")
    prefix: str | None = None  # blob prefix inside the tenant's container
    table: str | None = None  # postgres table
    include: tuple[Literal["result", "rejects", "cleansed", "profile", "failed_rows"], ...] = Field(
        default=("result",),
        description="What is exported (`failed_rows`: failed_rows.parquet, when the run wrote one).",
    )

    @model_validator(mode="after")
    def _destination(self) -> StorageExportAction:
        if self.target is ExportTarget.BLOB and not self.prefix:
            msg = "a blob export needs a prefix"
            raise ValueError(msg)
        if self.target is ExportTarget.POSTGRES and not self.table:
            msg = "a postgres export needs a table"
            raise ValueError(msg)
        return self


class QueueAction(ActionCommon, RetryPolicy):
    """Sends the run's notice (the webhook's JSON body) as one message to a queue of the tenant's storage."""

    type: Literal["queue"]
    queue: Id  # inside the tenant's own storage namespace


ActionSpec = Annotated[
    WebhookAction | ChatAction | EmailAction | OpenLineageAction | TicketAction | StorageExportAction | QueueAction,
    Field(discriminator="type"),
]
"""Every action type, discriminated by ``type``."""


class ActionLibrary(Versioned):
    kind: Literal[Kind.ACTION_LIBRARY] = Kind.ACTION_LIBRARY
    actions: tuple[ActionSpec, ...] = ()

    @field_validator("actions")
    @classmethod
    def _fallbacks(cls, actions: tuple[ActionCommon, ...]) -> tuple[ActionCommon, ...]:
        unique_ids(actions, "action")
        by_id = {action.id: action for action in actions}
        for action in actions:
            seen = [action.id]
            current = action
            while current.fallback is not None:
                if current.fallback not in by_id:
                    msg = f"action {current.id!r}: fallback {current.fallback!r} is not in this library"
                    raise ValueError(msg)
                if current.fallback in seen:
                    msg = "fallback cycle: " + " -> ".join([*seen, current.fallback])
                    raise ValueError(msg)
                seen.append(current.fallback)
                current = by_id[current.fallback]
        return sorted_by_id(actions)

    def get(self, action_id: str) -> ActionCommon | None:
        return next((action for action in self.actions if action.id == action_id), None)
