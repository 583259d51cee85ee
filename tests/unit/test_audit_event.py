"""AuditEvent.record: the one constructor of audit events (registry changes, refusals, run starts)."""

from __future__ import annotations

from datetime import UTC, datetime

from dq_core.lineage.models import AuditEvent


def test_an_audit_event_is_recorded_now_under_a_new_id() -> None:
    before = datetime.now(UTC)
    first, second = (
        AuditEvent.record(
            tenant="contoso",
            environment="dev",
            actor="ann",
            action="approve",
            what="contract customers@1.0.0",
            correlation_id="c1",
            before_sha256="a" * 64,
            after_sha256="b" * 64,
            detail="draft -> approved in dev",
        )
        for _ in range(2)
    )
    assert first.event_id != second.event_id and len(first.event_id) == 32
    assert before <= first.at <= datetime.now(UTC) and first.at.tzinfo is UTC
    assert first.model_dump(exclude={"at", "event_id"}) == {
        "tenant": "contoso",
        "environment": "dev",
        "actor": "ann",
        "action": "approve",
        "object": "contract customers@1.0.0",
        "correlation_id": "c1",
        "before_sha256": "a" * 64,
        "after_sha256": "b" * 64,
        "detail": "draft -> approved in dev",
    }
