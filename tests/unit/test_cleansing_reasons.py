"""Reject reasons and duplicate examples never show a sensitive value (issue 14, attack 2)."""

from __future__ import annotations

from typing import Any

import polars as pl

from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import cleanse
from tests.unit.cleansing_support import bundle_with

COLUMNS = [{"name": "customer_id"}, {"name": "email"}, {"name": "birth_date"}, {"name": "country"}]
PII = [
    {"attribute": "e.email", "classification": "pii", "masking": "hash"},
    {"attribute": "e.birth_date", "classification": "pii", "masking": "none"},
]
STEPS: list[dict[str, Any]] = [
    {"type": "email", "columns": ["email"], "on_error": "reject"},
    {"type": "parse_dates", "columns": ["birth_date"], "formats": ["%Y-%m-%d"], "on_error": "reject"},
    {"type": "cast", "columns": ["country"], "logical_type": "integer", "on_error": "reject"},
]
ROWS = {
    "customer_id": ["1", "2", "3"],
    "email": ["carla.diaz@example", "ok@example.com", "ok2@example.com"],
    "birth_date": ["1990-01-01", "1992-02-30", "1990-01-01"],
    "country": ["1", "2", "Portugal"],
}


def _reasons(**governance: Any) -> list[str]:
    bundle = bundle_with(STEPS, COLUMNS, classifications=PII, **governance)
    output = cleanse(pl.DataFrame(ROWS), CleansingContext(bundle=bundle))
    return sorted(output.rejects["_dq_reject_reason"].to_list())


def test_reasons_name_column_and_rule_but_not_a_sensitive_value() -> None:
    assert _reasons() == [
        "column birth_date: *** is not a date in %Y-%m-%d",
        "column country: Portugal is not integer",
        "column email: *** is not a valid e-mail address",
    ]


def test_a_value_is_shown_when_the_profile_lets_readers_see_raw_values() -> None:
    reasons = _reasons(raw_value_roles=["DQ.Reader", "DQ.Admin"])
    assert "column email: carla.diaz@example is not a valid e-mail address" in reasons
    assert "column birth_date: 1992-02-30 is not a date in %Y-%m-%d" in reasons


def test_duplicate_examples_keyed_by_a_sensitive_column_show_no_value() -> None:
    steps = [{"type": "deduplicate", "key": ["email"]}]
    bundle = bundle_with(steps, COLUMNS, classifications=PII)
    frame = pl.DataFrame({**ROWS, "email": ["same@example.com"] * 3})
    report = cleanse(frame, CleansingContext(bundle=bundle)).report
    assert report.deduplication is not None and report.deduplication.examples
    assert [cluster.key for cluster in report.deduplication.examples] == [{"email": "***"}]
