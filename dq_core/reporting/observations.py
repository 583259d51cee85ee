"""What a rule observed and what it expected, written for the report's rules table.

A rule's ``observed_value`` means different things by rule type: the share of unexpected
rows (row-local rules), a number of rows (``row_count``, ``unique``), a statistic, the
age of the newest row (``freshness``), lists of columns (``schema_match``). :func:`observed`
writes it by what it is; :func:`expected` writes, beside it, what the rule allows: the
tolerated share of unexpected rows (``mostly``) with the rule's condition, the threshold
operators, the anomaly band, the drift limit, the maximum age. Both read only the result
(its type, ``params`` as authored, ``mostly`` and ``band``), so older results render too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import JsonValue

from dq_core.reporting import formatting as fmt
from dq_core.validation.results import RuleResult

Kind = Literal["count", "percent", "number", "duration", "timestamp", "list", "text", "none"]

# Rules evaluated row by row: their observed value is the percent of unexpected rows.
ROW_LOCAL = frozenset(
    {
        "not_null",
        "in_set",
        "not_in_set",
        "regex",
        "not_regex",
        "range",
        "length",
        "type",
        "date_parseable",
        "not_future",
        "date_range",
        "code_list",
        "column_comparison",
        "row_expression",
        "referential",
    }
)
_METRIC_NOTE = {
    "rowCount": "rows",
    "nullValues": "nulls",
    "missingValues": "missing",
    "invalidValues": "invalid",
    "duplicateValues": "duplicated values",
}
_OPERATORS = (
    ("must_be", "mustBe", "="),
    ("must_not_be", "mustNotBe", "≠"),
    ("must_be_greater_than", "mustBeGreaterThan", ">"),
    ("must_be_greater_or_equal_to", "mustBeGreaterOrEqualTo", "≥"),
    ("must_be_less_than", "mustBeLessThan", "<"),
    ("must_be_less_or_equal_to", "mustBeLessOrEqualTo", "≤"),
)
_COMPARISON = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "=": "=", "!=": "≠", "<>": "≠"}
_SET_SHOWN = 12  # values of an in_set rule written out; the rest counted


@dataclass(frozen=True)
class Shown:
    """A value as the page writes it: ``text`` (one line), an optional muted ``note``, and
    for JSON objects the ``parts`` (label, value) shown as a list instead of the text."""

    kind: Kind
    text: str
    note: str = ""
    parts: tuple[tuple[str, str], ...] = ()


Writer = Callable[[JsonValue], str]


def _str(params: Mapping[str, JsonValue], key: str) -> str:
    item = params.get(key)
    return item if isinstance(item, str) else ""


def _statistic_kind(statistic: str) -> Kind:
    if statistic.endswith("_percent"):
        return "percent"
    if statistic in ("row_count", "distinct_count"):
        return "count"
    return "number"


def measure(rule: RuleResult) -> tuple[Kind, str]:
    """What the observed number of a rule is (its kind) and a note saying what it counts."""
    params = rule.params
    if rule.type in ROW_LOCAL:
        return "percent", "unexpected"
    if rule.type in ("unique", "compound_unique"):
        return "count", "duplicate rows"
    if rule.type == "row_count":
        return "count", "rows"
    if rule.type == "metric":
        metric = _str(params, "metric")
        kind: Kind = "percent" if _str(params, "unit") == "percent" else "count"
        return kind, _METRIC_NOTE.get(metric, metric)
    if rule.type == "column_statistic":
        statistic = _str(params, "statistic")
        return _statistic_kind(statistic), statistic.replace("_", " ")
    if rule.type == "anomaly":
        metric = _str(params, "metric") or "row_count"
        return _statistic_kind(metric), "rows" if metric == "row_count" else metric.replace("_", " ")
    if rule.type == "distribution_drift":
        return "number", _str(params, "method") or "drift"
    if rule.type == "freshness":
        return "duration", "age"
    observed = rule.observed_value
    if isinstance(observed, bool) or observed is None:
        return "text", ""
    if isinstance(observed, int):
        return "count", ""
    if isinstance(observed, float):
        return "number", ""
    if isinstance(observed, (dict, list)):
        return "list", ""
    return ("timestamp" if fmt.looks_like_moment(observed) else "text"), ""


def writer(kind: Kind, *, plain: bool = False) -> Writer:
    """How a number of this kind is written (also the bounds of its threshold or band)."""

    def write(number: JsonValue) -> str:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return fmt.value(number, plain=plain)
        if kind == "percent":
            return fmt.percent(number)
        if kind == "count":
            return fmt.count(number)
        if kind == "duration":
            return fmt.duration(number)
        return fmt.number(number, plain=plain)

    return write


def observed(rule: RuleResult, *, plain: bool = False) -> Shown:
    """The observed value by what it is. ``plain``: the rule's column holds years (no separators)."""
    value = rule.observed_value
    kind, note = measure(rule)
    if value is None:
        return Shown("none", fmt.DASH)
    if isinstance(value, dict):
        shown = fmt.parts(value)
        if rule.type == "freshness":
            age = value.get("age_seconds")
            latest = value.get("latest")
            text = fmt.duration(age) if fmt.is_number(age) else fmt.DASH  # type: ignore[arg-type]
            when = fmt.timestamp(latest) if isinstance(latest, str) else fmt.DASH
            return Shown("duration", text, note=f"old: newest {when}")
        found = [(k, v) for k, v in shown if v != "none"]  # empty lists say nothing was found
        if not found:
            return Shown("list", "none", note=", ".join(k for k, _ in shown))
        return Shown("list", "; ".join(f"{k}: {v}" for k, v in found), parts=tuple(found))
    if isinstance(value, list):
        return Shown("list", fmt.value(value))
    if isinstance(value, str):
        return Shown("timestamp", fmt.timestamp(value)) if fmt.looks_like_moment(value) else Shown("text", value)
    if isinstance(value, bool):
        return Shown("text", fmt.value(value))
    return Shown(kind, writer(kind, plain=plain)(value), note=note)


# --- expected ----------------------------------------------------------------------------


def threshold(spec: JsonValue, write: Writer) -> str:
    """ODCS threshold operators as one line: ``between 5 and 1,000,000``, ``< 10%``."""
    if not isinstance(spec, dict):
        return ""
    terms = []
    for snake, camel, sign in _OPERATORS:
        bound = spec.get(snake, spec.get(camel))
        if bound is not None:
            terms.append(f"{sign} {write(bound)}")
    for snake, camel, word in (
        ("must_be_between", "mustBeBetween", "between"),
        ("must_not_be_between", "mustNotBeBetween", "not between"),
    ):
        bounds = spec.get(snake, spec.get(camel))
        if isinstance(bounds, list) and len(bounds) == 2:  # noqa: PLR2004 - a pair
            terms.append(f"{word} {write(bounds[0])} and {write(bounds[1])}")
    return " and ".join(terms)


def _bounds(subject: str, params: Mapping[str, JsonValue], write: Writer) -> str:
    low, high = params.get("min"), params.get("max")
    low_sign = "≤" if params.get("min_inclusive", True) else "<"
    high_sign = "≤" if params.get("max_inclusive", True) else "<"
    if low is not None and high is not None:
        return f"{write(low)} {low_sign} {subject} {high_sign} {write(high)}"
    if low is not None:
        return f"{subject} {'≥' if low_sign == '≤' else '>'} {write(low)}"
    if high is not None:
        return f"{subject} {high_sign} {write(high)}"
    return ""


def _listed(values: JsonValue) -> str:
    items = values if isinstance(values, list) else []
    shown = ", ".join(fmt.value(item) for item in items[:_SET_SHOWN])
    more = f" and {len(items) - _SET_SHOWN} more" if len(items) > _SET_SHOWN else ""
    return "{" + shown + more + "}"


def condition(rule: RuleResult, *, plain: bool = False) -> str:
    """What a row-local rule asks of each row, from its parameters."""
    p = rule.params
    subject = rule.columns[0] if len(rule.columns) == 1 else "value"
    data = writer("number", plain=plain)
    match rule.type:
        case "not_null":
            return f"{subject} is not null"
        case "in_set":
            return f"{subject} in {_listed(p.get('values'))}"
        case "not_in_set":
            return f"{subject} not in {_listed(p.get('values'))}"
        case "regex":
            return f"{subject} matches {_str(p, 'pattern')}"
        case "not_regex":
            return f"{subject} does not match {_str(p, 'pattern')}"
        case "range" | "date_range":
            return _bounds(subject, p, data)
        case "length":
            return _bounds(f"length of {subject}", p, writer("count"))
        case "type":
            return f"{subject} is {_str(p, 'logical_type')}"
        case "date_parseable":
            return f"{subject} parses as {fmt.value(p.get('formats'))}"
        case "not_future":
            return f"{subject} not in the future"
        case "code_list":
            return f"{subject} in code list {_str(p, 'code_list')}"
        case "column_comparison":
            op = _str(p, "op")
            return f"{_str(p, 'left')} {_COMPARISON.get(op, op)} {_str(p, 'right')}"
        case "row_expression":
            return _str(p, "expression")
        case "referential":
            return f"{subject} in {_str(p, 'reference_dataset')}.{_str(p, 'reference_column')}"
    return ""


def _tolerated(rule: RuleResult, noun: str) -> str:
    allowed = 100 * (1 - rule.mostly)
    return f"0% {noun}" if allowed <= 0 else f"≤ {fmt.percent(allowed)} {noun}"


def expected(rule: RuleResult, *, plain: bool = False) -> Shown:
    """What the rule allows, written beside what it observed (same kind, same units)."""
    p = rule.params
    kind, note = measure(rule)
    write = writer(kind, plain=plain)
    if rule.type in ROW_LOCAL:
        return Shown("percent", _tolerated(rule, "unexpected"), note=condition(rule, plain=plain))
    if rule.type in ("unique", "compound_unique"):
        allowed = "0 duplicate rows" if rule.mostly >= 1 else _tolerated(rule, "duplicate rows")
        return Shown("count", allowed, note="unique " + ", ".join(rule.columns))
    if rule.type == "anomaly":
        return _band(rule, write)
    if rule.type == "distribution_drift":
        limit = p.get("max_drift", 0.2)
        return Shown("number", f"≤ {write(limit)}", note=f"{note} against {_str(p, 'baseline') or 'previous_run'}")
    if rule.type == "freshness":
        age = _str(p, "max_age")
        return Shown("duration", f"≤ {fmt.iso_duration(age)}" if age else fmt.DASH, note=f"newest {_str(p, 'column')}")
    if rule.type == "columns_present":
        return Shown("list", "present: " + fmt.value(p.get("columns")))
    if rule.type == "schema_match":
        extra = "extra columns allowed" if p.get("allow_extra_columns") else "no extra columns"
        types = "types checked" if p.get("check_types", True) else "types not checked"
        return Shown("list", "declared columns", note=f"{extra}, {types}")
    if "threshold" in p:
        bounds = threshold(p["threshold"], write)
        return Shown(kind, f"{bounds} {note}".strip() if bounds else fmt.DASH)
    if rule.mostly < 1:
        return Shown("percent", _tolerated(rule, "unexpected"))
    return Shown("none", fmt.DASH)


def _band(rule: RuleResult, write: Writer) -> Shown:
    band = rule.band
    if band is None:
        return Shown("none", "no band yet", note="too little history" if rule.status.value == "skipped" else "")
    if band.lower is not None and band.upper is not None:
        text = f"{write(band.lower)} – {write(band.upper)}"
    elif band.lower is not None:
        text = f"≥ {write(band.lower)}"
    elif band.upper is not None:
        text = f"≤ {write(band.upper)}"
    else:
        text = fmt.DASH
    return Shown("number", text, note=band.method)


def plain_for(rule: RuleResult, years: Collection[str], profiled: Collection[str] = ()) -> bool:
    """Whether the rule's data values are years (written without separators).

    A column the profile describes is a year column when the profile says so (``years``);
    without a profile of the column, its name or the rule's range bounds decide.
    """
    if any(column in years for column in rule.columns):
        return True
    name = rule.columns[0] if len(rule.columns) == 1 else ""
    if not name or name in profiled or rule.type not in ("range", "column_statistic", "anomaly"):
        return False
    low, high = rule.params.get("min"), rule.params.get("max")
    return fmt.year_like(name, low, high)
