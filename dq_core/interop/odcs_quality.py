"""ODCS v3 quality items, the helpers of :mod:`dq_core.interop.odcs` (columns: odcs_columns).

Quality items <-> :class:`RuleBinding` with an inline ``metric`` or ``custom_sql`` check
(items that cannot be executed are kept raw).
Whatever an element says that DQ does not model is returned as carried ``fields`` and
merged back on export. The choices where ODCS is vague are listed in the docstring of
``dq_core.interop.odcs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from dq_core.config.base import Severity
from dq_core.contracts.models import RuleBinding
from dq_core.interop.odcs_common import Notes, OdcsInputError, as_mapping, custom_properties, dq_fields, validated
from dq_core.libraries.rules import (
    CompoundUniqueRule,
    CustomSqlRule,
    Dimension,
    InSetRule,
    MetricRule,
    NotNullRule,
    OdcsMetric,
    RegexRule,
    RowCountRule,
    Threshold,
    UniqueRule,
    Unit,
    check_regex,
)

OPERATORS: dict[str, str] = {
    "mustBe": "must_be",
    "mustNotBe": "must_not_be",
    "mustBeGreaterThan": "must_be_greater_than",
    "mustBeGreaterOrEqualTo": "must_be_greater_or_equal_to",
    "mustBeLessThan": "must_be_less_than",
    "mustBeLessOrEqualTo": "must_be_less_or_equal_to",
    "mustBeBetween": "must_be_between",
    "mustNotBeBetween": "must_not_be_between",
}
_BETWEEN = frozenset({"mustBeBetween", "mustNotBeBetween"})
_BOUNDS = 2  # mustBeBetween: [lower, upper]
DEPRECATED_RULES: dict[str, str] = {
    "nullCheck": "nullValues",
    "uniqueCheck": "duplicateValues",
    "duplicateCount": "duplicateValues",
    "validValues": "invalidValues",
}
ODCS_DIMENSIONS: dict[str, Dimension] = {
    **{d.value: d for d in Dimension if d is not Dimension.VALIDITY},
    "ac": Dimension.ACCURACY,
    "cp": Dimension.COMPLETENESS,
    "cf": Dimension.CONFORMITY,
    "cs": Dimension.CONSISTENCY,
    "cv": Dimension.COVERAGE,
    "tm": Dimension.TIMELINESS,
    "uq": Dimension.UNIQUENESS,
}
_ARGUMENTS = {"missingValues": "missing_values", "validValues": "valid_values", "pattern": "pattern"}
# keys of an item that the binding models; anything else is carried through
_CONSUMED = frozenset({"type", "metric", "id", "description", "severity", "dimension", *OPERATORS})
_ORIGINAL_TEXT = ("severity", "unit", "dimension")  # kept when we could not read them


@dataclass(frozen=True)
class ImportedItem:
    """One quality item read: a binding plus the item fields carried through, or kept raw."""

    binding: RuleBinding | None
    fields: dict[str, Any]
    raw: dict[str, Any] | None = None


def import_item(item: Any, *, path: str, column: str | None, notes: Notes) -> ImportedItem:
    """Read one ODCS quality item found at ``path`` (on a property when ``column`` is set)."""
    if not isinstance(item, Mapping):
        raise OdcsInputError(path, "a quality item must be a mapping")
    item = dict(item)
    kind = item.get("type", "library")
    if kind == "text":
        notes.warn(f"{path}: type text is not executable, carried through on export")
        return _raw(item)
    if kind == "custom":
        engine = item.get("engine", "unknown engine")
        notes.warn(f"{path}: type custom ({engine}) is not executed by DQ, carried through on export")
        return _raw(item)
    if kind == "sql":
        return _sql(item, path=path, column=column, notes=notes)
    if kind == "library":
        return _library(item, path=path, column=column, notes=notes)
    raise OdcsInputError(f"{path}.type", f"unknown quality type {kind!r} (text, library, sql or custom)")


def _raw(item: dict[str, Any]) -> ImportedItem:
    return ImportedItem(binding=None, fields={}, raw=item)


def _library(item: dict[str, Any], *, path: str, column: str | None, notes: Notes) -> ImportedItem:
    metric = _metric(item, path, notes)
    threshold = parse_threshold(item, path)
    if threshold is None:
        if metric is OdcsMetric.ROW_COUNT:
            notes.warn(f"{path}: rowCount without an operator is not executed, carried through on export")
            return _raw(item)
        notes.warn(f"{path}: no operator given, read as mustBe: 0 (no offending rows)")
        threshold = {"must_be": 0}
    compound = column is None and metric is OdcsMetric.DUPLICATE_VALUES  # arguments.properties name the columns
    arguments, carried_args = _arguments(item, path, notes, compound=compound)
    _require_arguments(metric, arguments, path)
    columns = _metric_columns(metric, column, arguments.pop("properties", None))
    if columns is None:
        notes.warn(f"{path}: metric {metric.value} needs a property here; not executed, carried through on export")
        return _raw(item)
    params: dict[str, Any] = {"metric": metric, "threshold": threshold, **arguments}
    fields: dict[str, Any] = {}
    params["unit"] = _unit(item.get("unit"), path, fields, notes)
    if carried_args:
        fields["arguments"] = carried_args
    check = {"type": "metric", "params": params}
    skip = {"arguments", "unit", "validValues"} | ({"rule"} if "metric" not in item else set())
    return _finish(item, check, columns, path=path, fields=fields, skip=skip, notes=notes)


def _sql(item: dict[str, Any], *, path: str, column: str | None, notes: Notes) -> ImportedItem:
    query = item.get("query")
    if not isinstance(query, str) or not query.strip():
        raise OdcsInputError(path, "a sql quality item needs a query")
    threshold = parse_threshold(item, path)
    if threshold is None:
        notes.warn(f"{path}: sql check without an operator is not executed, carried through on export")
        return _raw(item)
    check = {"type": "custom_sql", "params": {"query": query, "threshold": threshold}}
    columns = () if column is None else (column,)
    return _finish(item, check, columns, path=path, fields={}, skip={"query"}, notes=notes)


def _metric(item: dict[str, Any], path: str, notes: Notes) -> OdcsMetric:
    name = item.get("metric")
    if name is None and "rule" in item:  # when both are given, metric wins and rule is carried
        notes.warn("quality.rule: deprecated spelling of metric, read as metric and exported as metric")
        name = DEPRECATED_RULES.get(str(item["rule"]), item["rule"])
    if name is None:
        raise OdcsInputError(path, "a library quality item needs a metric")
    try:
        return OdcsMetric(name)
    except ValueError:
        known = ", ".join(m.value for m in OdcsMetric)
        raise OdcsInputError(path, f"unknown metric {name!r} ({known})") from None


def _arguments(
    item: dict[str, Any], path: str, notes: Notes, *, compound: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metric arguments we read (snake_case) and those carried through unread."""
    given = item.get("arguments") or {}
    if not isinstance(given, Mapping):
        raise OdcsInputError(f"{path}.arguments", "must be a mapping")
    merged = dict(given)
    if "validValues" in item:  # ODCS 3.0 wrote validValues on the item itself
        merged.setdefault("validValues", item["validValues"])
    read: dict[str, Any] = {}
    carried: dict[str, Any] = {}
    for key, value in merged.items():
        if key in _ARGUMENTS:
            read[_ARGUMENTS[key]] = _argument_value(key, value, f"{path}.arguments.{key}")
        elif key == "properties" and compound:
            read["properties"] = value
        else:
            notes.carried(f"quality.arguments.{key}")
            carried[key] = value
    return read, carried


def _require_arguments(metric: OdcsMetric, arguments: Mapping[str, Any], path: str) -> None:
    if metric is OdcsMetric.MISSING_VALUES and "missing_values" not in arguments:
        raise OdcsInputError(path, "metric missingValues needs arguments.missingValues")
    if metric is OdcsMetric.INVALID_VALUES and not {"valid_values", "pattern"} & set(arguments):
        raise OdcsInputError(path, "metric invalidValues needs arguments.validValues or arguments.pattern")


def _argument_value(key: str, value: Any, path: str) -> Any:
    if key == "pattern":
        if not isinstance(value, str):
            raise OdcsInputError(path, "must be a regular expression (a string)")
        try:
            return check_regex(value)
        except ValueError as exc:
            raise OdcsInputError(path, str(exc)) from None
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise OdcsInputError(path, "must be a list of values")
    return tuple(value)


def _metric_columns(metric: OdcsMetric, column: str | None, properties: Any) -> tuple[str, ...] | None:
    if metric is OdcsMetric.ROW_COUNT:
        return ()
    if column is not None:
        return (column,)
    if metric is OdcsMetric.DUPLICATE_VALUES and _names(properties):
        return tuple(properties)
    return None


def _names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


_E = TypeVar("_E", Unit, Severity)


def _read_enum(
    kind: type[_E], key: str, value: Any, path: str, fields: dict[str, Any], notes: Notes, wording: str
) -> _E:
    """An ODCS text as one of our values; unreadable text falls back to the first, is warned
    about, and is kept in ``fields`` so export writes it back as it was."""
    default = next(iter(kind))
    if value is None:
        return default
    try:
        return kind(str(value).lower())
    except ValueError:
        notes.warn(f"{path}.{key}: {wording.format(value=repr(value), default=default.value)}")
        fields[key] = value
        return default


def _unit(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> Unit:
    return _read_enum(
        Unit, "unit", value, path, fields, notes, "unit {value} is not rows or percent, read as {default}"
    )


def parse_threshold(item: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """The one ODCS operator of an item as Threshold fields; None when there is none."""
    given = [name for name in OPERATORS if name in item]
    if not given:
        return None
    if len(given) > 1:
        raise OdcsInputError(path, f"give exactly one operator, found {', '.join(given)}")
    name = given[0]
    value = item[name]
    where = f"{path}.{name}"
    if name in _BETWEEN:
        if not isinstance(value, list) or len(value) != _BOUNDS or not all(_is_number(v) for v in value):
            raise OdcsInputError(where, "needs two numbers, as [lower, upper]")
        if value[0] >= value[1]:
            raise OdcsInputError(where, f"lower bound {value[0]} must be below upper bound {value[1]}")
        threshold = {OPERATORS[name]: tuple(value)}
    elif _is_number(value):
        threshold = {OPERATORS[name]: value}
    else:
        raise OdcsInputError(where, f"expected a number, found {value!r}")
    return threshold


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finish(
    item: dict[str, Any],
    check: dict[str, Any],
    columns: tuple[str, ...],
    *,
    path: str,
    fields: dict[str, Any],
    skip: set[str],
    notes: Notes,
) -> ImportedItem:
    """Common fields (id, severity, dimension, message), carried keys, and validation."""
    check["severity"] = _severity(item.get("severity"), path, fields, notes)
    check["dimension"] = _dimension(item.get("dimension"), path, fields, notes)
    message = item.get("description") or item.get("name") or ""
    check["message"] = str(message)
    where = f"{path}.customProperties"
    ours, custom = custom_properties(item.get("customProperties"), where, "dq.binding")
    for key, value in {**item, "customProperties": custom}.items():
        if key in _CONSUMED or key in skip or (key == "customProperties" and not custom):
            continue
        if key != "name":
            notes.carried(f"quality.{key}")
        fields[key] = value
    odcs_id = None if item.get("id") is None else str(item["id"])
    odcs_name = item.get("name") if isinstance(item.get("name"), str) and item["name"].strip() else None
    binding = {"check": check, "columns": columns, "odcs_id": odcs_id, "odcs_name": odcs_name}
    binding.update(dq_fields(ours.get("dq.binding"), frozenset({"id"}), f"{where}[dq.binding]"))
    return ImportedItem(binding=validated(RuleBinding, binding, path), fields=fields)


def _severity(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> Severity:
    wording = "{value} is not error, warning or info, read as {default}"
    return _read_enum(Severity, "severity", value, path, fields, notes, wording)


def _dimension(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> Dimension | None:
    if value is None:
        return None
    dimension = ODCS_DIMENSIONS.get(str(value).lower())
    if dimension is None:
        notes.warn(f"{path}.dimension: {value!r} is not an ODCS dimension, carried through on export")
        fields["dimension"] = value
    return dimension


# --- quality: export --------------------------------------------------------------------

Placed = tuple[str | None, dict[str, Any]]  # (property name, or None for the object; the item)


def threshold_operator(threshold: Threshold) -> dict[str, Any] | None:
    """The single ODCS operator of a threshold; None when ODCS cannot express it."""
    camel = {snake: name for name, snake in OPERATORS.items()}
    given = [(name, value) for name, value in threshold if value is not None]
    if len(given) != 1:
        return None
    name, value = given[0]
    if isinstance(value, tuple):
        if value[0] >= value[1]:  # ODCS wants two distinct numbers
            return None
        value = list(value)
    return {camel[name]: value}


def is_plain(binding: RuleBinding) -> bool:
    """True when a quality item can carry everything the binding says."""
    check = binding.check
    if check is None or binding.rule is not None:
        return False
    overrides = (binding.severity, binding.mostly, binding.message, binding.where)
    extra = (binding.dimension, binding.attribute, check.id, check.where)
    if any(value is not None for value in (*overrides, *extra)):
        return False
    return check.mostly == 1.0 and not check.description and check.dimension is not Dimension.VALIDITY


def default_items(binding: RuleBinding, columns: set[str]) -> list[Placed] | None:
    """Quality items for a binding where we choose the placement; None when it has no ODCS form."""
    if not is_plain(binding):
        return None
    check = binding.check
    bound = binding.columns
    if isinstance(check, (NotNullRule, UniqueRule, InSetRule, RegexRule)):
        single = len(bound) == 1 or (binding.odcs_id is None and binding.id is None)  # ids must stay unique
        places: list[str | None] = list(bound) if single else []
    elif isinstance(check, CompoundUniqueRule) or (
        isinstance(check, MetricRule) and check.params.metric is OdcsMetric.DUPLICATE_VALUES
    ):
        places = [bound[0]] if len(bound) == 1 else [None]
    else:
        places = [bound[0] if len(bound) == 1 else None]
    if not places or any(place is not None and place not in columns for place in places):
        return None
    items = [restore_item(binding, place, {}) for place in places]
    if any(item is None for item in items):
        return None
    return [(place, item) for place, item in zip(places, items, strict=True) if item is not None]


def restore_item(binding: RuleBinding, place: str | None, fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """The quality item of a plain binding at ``place``, with carried fields merged back."""
    check = binding.check
    if check is None or not is_plain(binding):
        return None
    core = _core(binding, place)
    if core is None:
        return None
    item: dict[str, Any] = {}
    if binding.odcs_id is not None:
        item["id"] = binding.odcs_id
    name = fields.get("name", binding.odcs_name)
    if name is not None:
        item["name"] = name
    if check.message and check.message != name:
        item["description"] = check.message
    item.update(core)
    item["severity"] = check.severity.value
    if check.dimension is not None:
        item["dimension"] = check.dimension.value
    _merge(item, fields, check.severity, check.dimension)
    if binding.id is not None:  # our binding id has no ODCS field: kept in a dq.binding custom property
        entry = {"property": "dq.binding", "value": {"id": binding.id}}
        item["customProperties"] = [*item.get("customProperties", []), entry]
    return item


def _merge(item: dict[str, Any], fields: Mapping[str, Any], severity: Severity, dimension: Dimension | None) -> None:
    for key, value in fields.items():
        if key == "arguments":
            item["arguments"] = {**as_mapping(value), **item.get("arguments", {})}
        elif key in _ORIGINAL_TEXT:
            _restore_text(item, key, value, severity, dimension)
        elif key not in item:
            item[key] = value


def _restore_text(item: dict[str, Any], key: str, value: Any, severity: Severity, dimension: Dimension | None) -> None:
    """Put back text we could not read, unless the binding was changed since."""
    unchanged = {
        "severity": severity is Severity.ERROR,
        "unit": item.get("unit") is None,
        "dimension": dimension is None,
    }
    if unchanged[key]:
        item[key] = value


def _core(binding: RuleBinding, place: str | None) -> dict[str, Any] | None:
    check = binding.check
    bound = binding.columns
    on_place = (place,) == bound
    zero = {"mustBe": 0}
    if isinstance(check, MetricRule):
        return _metric_core(check, bound, place)
    if isinstance(check, CustomSqlRule):
        ops = threshold_operator(check.params.threshold)
        fits = on_place if place is not None else not bound
        return {"type": "sql", "query": check.params.query, **ops} if ops and fits else None
    if isinstance(check, RowCountRule):
        ops = threshold_operator(check.params.threshold)
        return {"type": "library", "metric": "rowCount", **ops} if ops and not bound else None
    if place is None:
        if isinstance(check, CompoundUniqueRule) and len(bound) > 1:
            return {"type": "library", "metric": "duplicateValues", **zero, "arguments": {"properties": list(bound)}}
        return None
    if place not in bound:
        return None
    return _natural_core(binding, zero)


def _natural_core(binding: RuleBinding, zero: dict[str, Any]) -> dict[str, Any] | None:
    check = binding.check
    library = {"type": "library"}
    if isinstance(check, NotNullRule):
        return {**library, "metric": "nullValues", **zero}
    if isinstance(check, UniqueRule) or (isinstance(check, CompoundUniqueRule) and len(binding.columns) == 1):
        return {**library, "metric": "duplicateValues", **zero}
    if isinstance(check, InSetRule):
        return {**library, "metric": "invalidValues", **zero, "arguments": {"validValues": list(check.params.values)}}
    if isinstance(check, RegexRule):
        return {**library, "metric": "invalidValues", **zero, "arguments": {"pattern": check.params.pattern}}
    return None


def _metric_core(check: MetricRule, bound: tuple[str, ...], place: str | None) -> dict[str, Any] | None:
    params = check.params
    ops = threshold_operator(params.threshold)
    if ops is None:
        return None
    core: dict[str, Any] = {"type": "library", "metric": params.metric.value, **ops}
    if params.unit is Unit.PERCENT:
        core["unit"] = Unit.PERCENT.value
    arguments: dict[str, Any] = {}
    if params.missing_values is not None:
        arguments["missingValues"] = list(params.missing_values)
    if params.valid_values is not None:
        arguments["validValues"] = list(params.valid_values)
    if params.pattern is not None:
        arguments["pattern"] = params.pattern
    if params.metric is OdcsMetric.ROW_COUNT:
        fits = not bound
    elif place is None:
        fits = params.metric is OdcsMetric.DUPLICATE_VALUES and bool(bound)
        arguments["properties"] = list(bound)
    else:
        fits = bound == (place,)
    if arguments:
        core["arguments"] = arguments
    return core if fits else None
