"""Queue message: the run's notice (``dq.action-event/v1``, the webhook's body) as one JSON text
message on the tenant's own queue (the QueueSender port: Azure Storage queues in Azure,
a local folder with ``dq run``). Consumers dedup on ``event_id`` (``{run_id}:{action_id}``).
"""

from __future__ import annotations

import time

from dq_core.actions.context import ActionContext, need_port
from dq_core.actions.notice import notice
from dq_core.actions.transport import Sleep, call_with_retries
from dq_core.libraries.actions import QueueAction
from dq_core.results.run import ActionOutcome


def run_queue(action: QueueAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    sender = need_port(ctx.queues, "a queue service (the QueueSender port)")
    message = notice(ctx, action.id).model_dump_json()
    tried = call_with_retries(action, lambda: sender.send(ctx.tenant, action.queue, message), sleep=sleep)
    if tried.error is not None:
        return ctx.outcome(action.id, action.type, "failed", tried.attempts, tried.error)
    detail = f"message {tried.value} on queue {action.queue}"
    return ctx.outcome(action.id, action.type, "delivered", tried.attempts, detail)
