"""``result.csv``: one row per rule of a validation result, for spreadsheets and BI tools.

Columns: rule_id, odcs_id (the ODCS quality id, when the rule has one), type, columns
(joined with ``|``), severity, status, element_count, unexpected_count,
unexpected_percent, mostly, observed_value (JSON for lists and objects), message (the
rule's message, or why it could not be evaluated), hint (a failing rule's remediation
hint). Empty cells stand for "not measured". Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return first) is prefixed with ``'``; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Final

from pydantic import JsonValue

from dq_core.validation.results import RuleResult, ValidationResult

CSV_COLUMNS: Final = (
    "rule_id",
    "odcs_id",
    "type",
    "columns",
    "severity",
    "status",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "mostly",
    "observed_value",
    "message",
    "hint",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _observed(value: JsonValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _text(value)
    return _text(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _row(rule: RuleResult) -> list[str]:
    message = rule.message if not rule.error else (f"{rule.message} ({rule.error})" if rule.message else rule.error)
    return [
        _text(rule.rule_id),
        _text(rule.odcs_id or ""),
        rule.type,
        _text("|".join(rule.columns)),
        rule.severity.value,
        rule.status.value,
        _number(rule.element_count),
        _number(rule.unexpected_count),
        _number(rule.unexpected_percent),
        _number(rule.mostly),
        _observed(rule.observed_value),
        _text(message),
        _text(rule.hint or ""),
    ]


def to_csv(validation: ValidationResult | None) -> str:
    """The rules as CSV text (a header only when there is no validation result)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rule in validation.rules if validation else ():
        writer.writerow(_row(rule))
    return buffer.getvalue()
