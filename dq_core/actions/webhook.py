"""Webhook: the run's notice (``dq.action-event/v1``) as JSON, signed, to the tenant's endpoint.

Headers: ``X-DQ-Signature: sha256=<hex>`` (HMAC-SHA256 of the exact body bytes under the
``signing_secret``), ``Idempotency-Key: {run_id}:{action_id}`` (the same on every attempt,
so a receiver that dedups on it records one delivery), and the authored headers, whose
``secret://`` values are read from the tenant's SecretStore.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from dq_core.actions import transport
from dq_core.actions.context import ActionContext, need_port
from dq_core.actions.notice import notice
from dq_core.libraries.actions import DeliveryPolicy, WebhookAction
from dq_core.results.run import ActionOutcome


def resolve_headers(ctx: ActionContext, headers: Mapping[str, str]) -> dict[str, str]:
    return {name: ctx.secret(value) if value.startswith("secret://") else value for name, value in headers.items()}


def deliver(
    ctx: ActionContext, request: transport.HttpRequest, policy: DeliveryPolicy, *, sleep: transport.Sleep = time.sleep
) -> transport.Delivery:
    """``request`` over this host's HTTP transport (the HttpSender port) under the policy, to an
    address the deployment's destination rule allows."""
    sender = need_port(ctx.http, "an HTTP transport (the HttpSender port)")
    return transport.send(request, policy, sender=sender, destinations=ctx.destinations, sleep=sleep)


def outcome_of(ctx: ActionContext, action_id: str, action_type: str, delivery: transport.Delivery) -> ActionOutcome:
    status = "delivered" if delivery.delivered else "failed"
    return ctx.outcome(action_id, action_type, status, delivery.attempts, delivery.detail)


def run_webhook(action: WebhookAction, ctx: ActionContext) -> ActionOutcome:
    body = notice(ctx, action.id).model_dump_json().encode("utf-8")
    headers = resolve_headers(ctx, action.headers)
    headers[transport.IDEMPOTENCY_HEADER] = ctx.idempotency_key(action.id)
    if action.signing_secret is not None:
        headers[transport.SIGNATURE_HEADER] = transport.sign(ctx.secret(action.signing_secret), body)
    url = ctx.secret(action.url) if action.url.startswith("secret://") else action.url
    if not url.startswith(("http://", "https://")):
        return ctx.outcome(action.id, action.type, "failed", 0, f"{action.url} does not hold an http(s) URL")
    request = transport.HttpRequest(url=url, body=body, headers=headers, method=action.method)
    delivery = deliver(ctx, request, action)
    return outcome_of(ctx, action.id, action.type, delivery)
