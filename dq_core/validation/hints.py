"""Remediation hints: what to do about a failing rule, in one sentence with its numbers and samples.

A rule may carry a ``hint`` template (a rule template in a library, an inline check, or a
contract binding overriding either); every rule type has a default in :data:`DEFAULT_HINTS`.
Templates use ``{name}`` placeholders from a fixed set: the rule type's parameters plus
:data:`RESULT_PLACEHOLDERS`. A template is checked when its library or contract is loaded
(:func:`check_hint`) and rendered by plain lookup (:func:`render_hint`): no attribute or index
access, no conversion, no format spec, so a template can never reach an object or raise at
run time. ``{samples}`` shows the result's stored samples, which validation has already
masked per governance (:mod:`dq_core.validation.masking`): a hint never holds a raw value
the result itself does not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from string import Formatter

from pydantic import JsonValue

from dq_core.validation.results import RuleResult, RuleStatus, Sample

RESULT_PLACEHOLDERS: Mapping[str, str] = {
    "unexpected_count": "failing values or rows",
    "element_count": "rows the rule looked at (after `where`)",
    "unexpected_percent": "failing share of the non-null values in scope, in percent (two decimals)",
    "observed_value": "what a dataset-level rule measured (row count, statistic, drift, missing columns)",
    "column": "the bound column (the first, when there are several)",
    "columns": "the bound columns, comma-separated",
    "samples": "up to 5 failing sample values, as the result stores them (masked per governance)",
    "metric": "what a statistical, anomaly or drift rule measured (`null_percent:email`)",
    "rule_id": "the rule's id in the bundle",
    "dataset": "the dataset's name",
    "default_phone_region": "the contract's `default_phone_region` (`not set` when it has none)",
    "bounds": "a range's, length's or date range's bounds in words (`≥ 0`, `between 1 and 120`)",
}
"""Placeholders every hint may use, besides its rule type's own parameters (which win on a clash:
``columns_present`` has a ``columns`` parameter, ``freshness`` a ``column``)."""

SAMPLES_SHOWN = 5
ABSENT = "n/a"  # a value the result does not have (no unexpected count for a row_count rule)
UNSET = "none"  # a parameter left out (a range without max)
MAX_HINT = 1000  # characters of a rendered hint
_SAMPLE_TEXT = 60  # characters of one sample value
_EXACT = 2**53  # a float this large or larger is written in exponent form

_CLEAN = "correct them at the source"

DEFAULT_HINTS: Mapping[str, str] = {
    "not_null": "{unexpected_count} of {element_count} rows have no {column}; send it from the source, or fill it"
    " with an `impute` cleansing step (strategy constant, mean, median, mode or forward_fill)",
    "unique": "{unexpected_count} rows share their {column} with another row (e.g. {samples}); merge them with a"
    " `deduplicate` cleansing step on key [{columns}] (survivorship most_recent, most_complete or source_priority)",
    "in_set": "{unexpected_count} values of {column} are not one of {values} (e.g. {samples}); " + _CLEAN + ","
    " map synonyms with a `case` or `map_values` cleansing step, or add them to the rule's `values` if they are valid",
    "not_in_set": "{unexpected_count} values of {column} are on the deny list {values} (e.g. {samples}); "
    + _CLEAN
    + ", or send those rows to the rejects with a `quarantine` cleansing step",
    "regex": "{unexpected_count} values of {column} do not match {pattern} (e.g. {samples}); " + _CLEAN + ","
    " or normalise them with a cleansing step (`trim`, `case`, `phone`, `email`)",
    "not_regex": "{unexpected_count} values of {column} match the forbidden pattern {pattern} (e.g. {samples}); "
    + _CLEAN
    + ", or send those rows to the rejects with a `quarantine` cleansing step",
    "range": "{unexpected_count} values of {column} are not {bounds} (e.g. {samples}); check the"
    " source's units and signs, or send those rows to the rejects with a `quarantine` cleansing step",
    "length": "{unexpected_count} values of {column} do not have {bounds} characters"
    " (e.g. {samples}); a `trim` cleansing step removes padding, other values must be corrected at the source",
    "type": "{unexpected_count} values of {column} are not {logical_type} (e.g. {samples}); " + _CLEAN + ", or"
    " convert them with a `cast` or `parse_dates` cleansing step (`on_error: set_null` empties what does not convert;"
    " a `null_values` step first empties markers such as NA)",
    "date_parseable": "{unexpected_count} values of {column} match none of the formats {formats} (e.g. {samples});"
    " add the source's format to `formats`, or parse them with a `parse_dates` cleansing step",
    "not_future": "{unexpected_count} dates in {column} lie after the run's clock (e.g. {samples}); check the"
    " source's time zone and the day/month order of the `parse_dates` cleansing step's formats",
    "date_range": "{unexpected_count} dates in {column} are not {bounds} (e.g. {samples}); check the"
    " source's date format and the `parse_dates` cleansing step's formats",
    "code_list": "{unexpected_count} values of {column} are not codes of {code_list} (e.g. {samples}); map labels"
    " and synonyms to codes with a `map_values` cleansing step (code_list: {code_list}, unmapped: reject)",
    "compound_unique": "{unexpected_count} rows share their key ({columns}) with another row (e.g. {samples});"
    " merge them with a `deduplicate` cleansing step on key [{columns}]",
    "column_comparison": "{unexpected_count} rows break {left} {op} {right} (e.g. {samples}); check which of the"
    " two columns the source fills wrongly",
    "row_expression": "{unexpected_count} rows do not satisfy {expression} (e.g. {samples}); " + _CLEAN + ","
    " or send them to the rejects with a `quarantine` cleansing step",
    "row_count": "the data has {observed_value} rows, expected {threshold}; check that the extract is complete"
    " (not truncated, not delivered twice)",
    "columns_present": "columns missing from the data: {observed_value}; add them to the extract or fix their"
    " names (expected: {columns})",
    "schema_match": "the data's columns differ from the contract's: {observed_value}; update the extract or the"
    " contract's columns (`allow_extra_columns: true` accepts extra columns, `check_types: false` any type)",
    "freshness": "the newest {column} is older than {max_age} ({observed_value}); check that the source delivered"
    " its latest extract",
    "referential": "{unexpected_count} values of {column} are not in {reference_dataset}.{reference_column}"
    " (e.g. {samples}); load the missing reference rows first, or check where `reference_datasets` reads it",
    "custom_sql": "the query returned {observed_value}, expected {threshold}; run it on the data to see which rows"
    " drive it",
    "column_statistic": "the {statistic} of {column} is {observed_value}, expected {threshold}; check the source"
    " for a shifted unit, a default value or a partial extract",
    "distribution_drift": "the distribution of {column} moved by {observed_value} ({method}), more than {max_drift};"
    " check whether the source changed, then accept the new baseline",
    "anomaly": "{metric} is {observed_value}, outside the band of its last {window} runs; check the delivery (a new"
    " level is accepted after {min_history} such runs in a row)",
    "metric": "{metric} of {column} is {observed_value} ({unit}), expected {threshold}; " + _CLEAN,
}
"""The default hint of every rule type (a test proves every member of the rule union has one)."""


class HintTemplateError(ValueError):
    """A hint template that cannot be rendered safely: an unknown placeholder, attribute or index access, a
    conversion or format spec, or a brace left open."""


def hint_placeholders(template: str) -> list[str]:
    """The placeholder names of a template, in order; HintTemplateError when it is not a plain ``{name}`` template."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        msg = f"hint {template!r} is not a template: {exc} (write a literal brace as {{{{ or }}}})"
        raise HintTemplateError(msg) from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            msg = f"hint placeholder {{{name}}} is not a plain name (no positional, attribute or index access)"
            raise HintTemplateError(msg)
        if spec or conversion:
            msg = f"hint placeholder {{{name}}} has a conversion or format spec: write {{{name}}} alone"
            raise HintTemplateError(msg)
        names.append(name)
    return names


def allowed_placeholders(params: Iterable[str]) -> frozenset[str]:
    return frozenset(RESULT_PLACEHOLDERS) | frozenset(params)


def check_hint(template: str, rule_type: str, params: Iterable[str]) -> str:
    """The template when every placeholder is known for ``rule_type`` (whose parameters are ``params``)."""
    allowed = allowed_placeholders(params)
    unknown = [name for name in hint_placeholders(template) if name not in allowed]
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in sorted(allowed))
        msg = f"unknown hint placeholder {{{unknown[0]}}} for rule type {rule_type!r} (known: {known})"
        raise HintTemplateError(msg)
    return template


def hint_template(rule_type: str, authored: str | None) -> str | None:
    """The authored template, else the rule type's default."""
    return authored if authored is not None else DEFAULT_HINTS.get(rule_type)


# --- rendering -----------------------------------------------------------------------------

_THRESHOLD_WORDS = {
    "must_be": "= {}",
    "must_not_be": "≠ {}",
    "must_be_greater_than": "> {}",
    "must_be_greater_or_equal_to": "≥ {}",
    "must_be_less_than": "< {}",
    "must_be_less_or_equal_to": "≤ {}",
}


def _number(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < _EXACT:
        return str(int(value))
    return f"{value:.6g}"


def _threshold(value: Mapping[str, JsonValue]) -> str | None:
    """``{"must_be_between": [5, 10]}`` as ``between 5 and 10``; None when it is not a threshold."""
    parts = []
    for key, item in value.items():
        if key in _THRESHOLD_WORDS:
            parts.append(_THRESHOLD_WORDS[key].format(_text(item)))
        elif key in ("must_be_between", "must_not_be_between") and isinstance(item, list) and len(item) == 2:  # noqa: PLR2004
            word = "between" if key == "must_be_between" else "not between"
            parts.append(f"{word} {_text(item[0])} and {_text(item[1])}")
        else:
            return None
    return " and ".join(parts)


def _text(value: JsonValue) -> str:
    """A value as a reader sees it in a sentence."""
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return _number(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return _threshold(value) or ", ".join(f"{key} {_text(item)}" for key, item in value.items())
    return value


def _sample_text(sample: Sample) -> str:
    def one(value: JsonValue) -> str:
        text = "null" if value is None else _text(value)
        return text if len(text) <= _SAMPLE_TEXT else text[: _SAMPLE_TEXT - 1] + "…"

    values = list(sample.values.items())
    if len(values) == 1:
        return one(values[0][1])
    return "(" + ", ".join(f"{name}={one(value)}" for name, value in values) + ")"


def samples_text(result: RuleResult) -> str:
    """The first failing samples, joined: the result's own (already masked) values."""
    shown = [_sample_text(sample) for sample in result.unexpected_samples[:SAMPLES_SHOWN]]
    if not shown:
        return "no sample kept"
    more = len(result.unexpected_samples) - len(shown)
    return ", ".join(shown) + (f", … {more} more" if more > 0 else "")


def hint_values(result: RuleResult, *, dataset: str = "", default_phone_region: str | None = None) -> dict[str, str]:
    """Every placeholder's text for one result: the result's numbers, columns and samples, then its parameters."""
    percent = result.unexpected_percent
    values = {
        "unexpected_count": _text(result.unexpected_count),
        "element_count": _text(result.element_count),
        "unexpected_percent": ABSENT if percent is None else f"{percent:.2f}",
        "observed_value": _text(result.observed_value),
        "column": result.columns[0] if result.columns else ABSENT,
        "columns": ", ".join(result.columns) or ABSENT,
        "samples": samples_text(result),
        "rule_id": result.rule_id,
        "dataset": dataset or ABSENT,
        "default_phone_region": default_phone_region or "not set",
        "metric": result.metric or ABSENT,
        "bounds": bounds_text(result.params),
    }
    values.update({name: _text(value) for name, value in result.params.items()})
    return values


def bounds_text(params: Mapping[str, JsonValue]) -> str:
    """A rule's ``min`` / ``max`` in words: ``≥ 0``, ``< 10``, ``between 1 and 120``; ``n/a`` without either."""
    low, high = params.get("min"), params.get("max")
    strict_low, strict_high = params.get("min_inclusive") is False, params.get("max_inclusive") is False
    if low is not None and high is not None and not strict_low and not strict_high:
        return f"between {_text(low)} and {_text(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if strict_low else '≥'} {_text(low)}")
    if high is not None:
        parts.append(f"{'<' if strict_high else '≤'} {_text(high)}")
    return " and ".join(parts) or ABSENT


def render_hint(template: str, values: Mapping[str, str]) -> str:
    """The template with each ``{name}`` replaced by plain lookup (never ``str.format``). A name without a value
    (a parameter left out, such as a range's ``max``) reads ``none``; a template that does not parse is returned
    as written (templates are checked at load, so this only guards against one that was not): rendering never
    raises."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError:
        return template[:MAX_HINT]
    out = []
    for literal, name, _, _ in parsed:
        out.append(literal)
        if name is not None:
            out.append(values.get(name, UNSET))
    text = "".join(out)
    return text if len(text) <= MAX_HINT else text[: MAX_HINT - 1] + "…"


def with_hint(
    result: RuleResult, template: str | None, *, dataset: str = "", default_phone_region: str | None = None
) -> RuleResult:
    """The result with its hint rendered when it failed (a passing, skipped or erroring rule gets none)."""
    if result.status is not RuleStatus.FAILED or not template:
        return result
    values = hint_values(result, dataset=dataset, default_phone_region=default_phone_region)
    return result.model_copy(update={"hint": render_hint(template, values)})
