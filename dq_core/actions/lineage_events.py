"""OpenLineage: a START and then a COMPLETE (or FAIL) RunEvent per run, with ``openlineage-python``.

The job is the run's job definition (or ``{contract}.{dataset}``) in the action's
namespace; the OpenLineage run id is the run's id. Datasets live in the namespace
``dq://{tenant}``: the input (named by its URI) carries the ``dataQualityAssertions``
facet (one assertion per evaluated rule) and the ``dataQualityMetrics`` facet (rows,
bytes, per-column nulls, distinct counts, min/max); the cleansed and rejects datasets
are outputs with ``outputStatistics``. A run whose status is ``error`` ends with FAIL
and an ``errorMessage`` run facet; passed and failed runs end with COMPLETE (the job ran;
its assertions say how the data fared).

The events are built here with ``openlineage-python``'s models and emitted by its client (the
OpenLineageEmitter port, ``adapters/notify/openlineage.py``), which may drop them
(``OPENLINEAGE_DISABLED``, its filters) and hands each one it keeps back, serialised, to be sent
over the actions' one HTTP delivery (:mod:`dq_core.actions.transport` and the HttpSender port):
the same retry policy, the destination check against the connected address, no redirects, no
answer body in the outcome. Each event has its own ``Idempotency-Key``
(``{run_id}:{action_id}:{START|COMPLETE|FAIL}``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urljoin

from dq_core.actions import transport
from dq_core.actions.context import ActionContext, need_port
from dq_core.actions.transport import IDEMPOTENCY_HEADER, Sleep
from dq_core.actions.webhook import deliver
from dq_core.libraries.actions import OpenLineageAction
from dq_core.results.run import ActionOutcome, RunResult
from dq_core.validation.results import RuleStatus

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset, RunEvent

PRODUCER: Final = "https://github.com/dq-platform/dq-platform/actions"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _inputs(ctx: ActionContext, namespace: str, *, with_facets: bool) -> list[InputDataset]:
    from openlineage.client.event_v2 import InputDataset  # noqa: PLC0415 - heavy; only when sending
    from openlineage.client.generated.base import InputDatasetFacet  # noqa: PLC0415
    from openlineage.client.generated.data_quality_assertions_dataset import (  # noqa: PLC0415
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )
    from openlineage.client.generated.data_quality_metrics_input_dataset import (  # noqa: PLC0415
        ColumnMetrics,
        DataQualityMetricsInputDatasetFacet,
    )

    result = ctx.result
    name = result.input.uri if result and result.input else f"{ctx.run_folder}input"
    facets: dict[str, InputDatasetFacet] = {}
    if with_facets and result is not None:
        if result.validation is not None:
            assertions = [
                Assertion(
                    assertion=rule.type,
                    success=rule.status is RuleStatus.PASSED,
                    column=rule.columns[0] if len(rule.columns) == 1 else None,
                    severity=rule.severity.value,
                    name=rule.rule_id,
                    description=rule.message or None,
                    actual=None if rule.observed_value is None else str(rule.observed_value),
                )
                for rule in result.validation.rules
                if rule.status is not RuleStatus.SKIPPED
            ]
            facets["dataQualityAssertions"] = DataQualityAssertionsDatasetFacet(assertions=assertions)
        if result.profile is not None:
            columns = {}
            for column, stats in result.profile.columns.items():
                nulls = stats.get("null_count")
                distinct = stats.get("distinct_count")
                columns[column] = ColumnMetrics(
                    nullCount=nulls if isinstance(nulls, int) else None,
                    distinctCount=distinct if isinstance(distinct, int) else None,
                    count=float(result.profile.row_count - (nulls if isinstance(nulls, int) else 0)),
                    min=_number(stats.get("min")),
                    max=_number(stats.get("max")),
                )
            facets["dataQualityMetrics"] = DataQualityMetricsInputDatasetFacet(
                columnMetrics=columns,
                rowCount=result.profile.row_count,
                bytes=result.input.bytes if result.input else None,
                fileCount=1,
            )
    return [InputDataset(namespace=namespace, name=name, inputFacets=facets)]


def _outputs(ctx: ActionContext, namespace: str, *, with_facets: bool) -> list[OutputDataset]:
    from openlineage.client.event_v2 import OutputDataset  # noqa: PLC0415
    from openlineage.client.generated.base import OutputDatasetFacet  # noqa: PLC0415
    from openlineage.client.generated.output_statistics_output_dataset import (  # noqa: PLC0415
        OutputStatisticsOutputDatasetFacet,
    )

    base = f"{ctx.bundle.contract.id}.{ctx.bundle.dataset.name}"
    cleansing = ctx.result.cleansing if ctx.result else None
    outputs = []
    for suffix, rows in (
        ("cleansed", cleansing.rows_out if cleansing else None),
        ("rejects", cleansing.rows_rejected if cleansing else None),
    ):
        facets: dict[str, OutputDatasetFacet] = {}
        if with_facets and rows is not None:
            facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=rows)
        outputs.append(OutputDataset(namespace=namespace, name=f"{base}.{suffix}", outputFacets=facets))
    return outputs


def _moment(result: RunResult | None, *, start: bool) -> str:
    if result is None:
        return datetime.now(UTC).isoformat()
    return (result.started_at if start else result.finished_at).isoformat()


def events(action: OpenLineageAction, ctx: ActionContext) -> list[RunEvent]:
    """START, then COMPLETE or FAIL."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState  # noqa: PLC0415
    from openlineage.client.generated.base import RunFacet  # noqa: PLC0415
    from openlineage.client.generated.error_message_run import ErrorMessageRunFacet  # noqa: PLC0415

    bundle = ctx.bundle
    job = Job(
        namespace=action.namespace, name=bundle.job.id if bundle.job else f"{bundle.contract.id}.{bundle.dataset.name}"
    )
    datasets = f"dq://{ctx.tenant}"
    start = RunEvent(
        eventType=RunState.START,
        eventTime=_moment(ctx.result, start=True),
        run=Run(runId=ctx.run_id),
        job=job,
        inputs=_inputs(ctx, datasets, with_facets=False),
        outputs=_outputs(ctx, datasets, with_facets=False),
        producer=PRODUCER,
    )
    error = ctx.result.error if ctx.result else None
    facets: dict[str, RunFacet] = {}
    if ctx.status == "error":
        message = f"{error.code}: {error.message}" if error else "the run ended in error"
        facets["errorMessage"] = ErrorMessageRunFacet(message=message, programmingLanguage="python")
    end = RunEvent(
        eventType=RunState.FAIL if ctx.status == "error" else RunState.COMPLETE,
        eventTime=_moment(ctx.result, start=False),
        run=Run(runId=ctx.run_id, facets=facets),
        job=job,
        inputs=_inputs(ctx, datasets, with_facets=True),
        outputs=_outputs(ctx, datasets, with_facets=True),
        producer=PRODUCER,
    )
    return [start, end]


def _poster(
    ctx: ActionContext,
    action: OpenLineageAction,
    url: str,
    headers: dict[str, str],
    sleep: Sleep,
    deliveries: list[transport.Delivery],
) -> Callable[[str], None]:
    """What the client calls with an event's JSON text: one HTTP delivery, kept in ``deliveries``."""

    def post(body: str) -> None:
        request = transport.HttpRequest(url=url, body=body.encode("utf-8"), headers=headers)
        deliveries.append(deliver(ctx, request, action, sleep=sleep))

    return post


def run_openlineage(action: OpenLineageAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    emitter = need_port(ctx.openlineage, "an OpenLineage client (the OpenLineageEmitter port)")
    headers = {"Authorization": f"Bearer {ctx.secret(action.api_key)}"} if action.api_key else {}
    url = urljoin(action.url.strip(), action.endpoint)
    attempts = 0
    sent: list[str] = []
    for event in events(action, ctx):
        state = event.eventType.value if event.eventType else "OTHER"
        deliveries: list[transport.Delivery] = []
        keyed = {**headers, IDEMPOTENCY_HEADER: f"{ctx.idempotency_key(action.id)}:{state}"}
        emitter.emit(event, _poster(ctx, action, url, keyed, sleep, deliveries))
        if not deliveries:  # the client dropped it (OPENLINEAGE_DISABLED, a filter)
            return ctx.outcome(action.id, action.type, "skipped", attempts, f"{state} not sent: the client is off")
        delivery = deliveries[-1]
        attempts += delivery.attempts
        if not delivery.delivered:
            detail = f"{state} {delivery.detail}"
            if sent:
                detail = f"{', '.join(sent)} sent; " + detail
            return ctx.outcome(action.id, action.type, "failed", attempts, detail)
        sent.append(state)
    return ctx.outcome(action.id, action.type, "delivered", attempts, f"{' and '.join(sent)} sent to {action.url}")
