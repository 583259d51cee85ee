"""ODCS schema properties <-> :class:`ColumnSpec` (what DQ does not model is carried)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dq_core.interop.odcs_common import Notes, OdcsInputError, as_mapping, custom_properties, dq_fields, validated
from dq_core.libraries.rules import LogicalType, check_regex
from dq_core.libraries.schemas import Classification, ColumnSpec

_PROPERTY_READ = frozenset(
    {"name", "logicalType", "physicalType", "required", "unique", "primaryKey", "primaryKeyPosition"}
    | {"description", "businessName", "classification", "examples", "logicalTypeOptions", "quality"}
    | {"customProperties"}
)
_NESTED = ("properties", "items")
_PROPERTY_PLAIN = {
    "physicalType": "physical_type",
    "required": "required",
    "unique": "unique",
    "primaryKey": "primary_key",
    "description": "description",
    "businessName": "business_name",
}
_OPTIONS = {
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "format": "format",
}
_CLASSIFICATION = {
    **{c.value: c for c in Classification},
    "sensitive": Classification.CONFIDENTIAL,
    "personal": Classification.PII,
    "gdpr": Classification.PII,
}
_INT_FORMATS = frozenset({"i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128"})
_DQ_COLUMN_FIELDS = frozenset(ColumnSpec.model_fields) - {"name"}


def import_column(prop: Any, path: str, notes: Notes) -> tuple[ColumnSpec, dict[str, Any]]:
    """A schema property as a column, and the property fields carried through."""
    if not isinstance(prop, Mapping) or not isinstance(prop.get("name"), str) or not prop["name"]:
        raise OdcsInputError(path, "a property must be a mapping with a name")
    fields = {key: value for key, value in prop.items() if key not in _PROPERTY_READ}
    for key in fields:
        if key not in _NESTED:
            notes.carried(f"schema.properties.{key}")
    if any(key in fields for key in _NESTED):
        notes.warn(f"{path}: nested properties are not validated, carried through on export")
    data: dict[str, Any] = {"name": prop["name"]}
    data["logical_type"] = _logical_type(prop.get("logicalType"), path, fields, notes)
    data.update({ours: prop[key] for key, ours in _PROPERTY_PLAIN.items() if prop.get(key) is not None})
    position = prop.get("primaryKeyPosition")
    if position is not None and position != -1:
        data["primary_key_position"] = position
    data["classification"] = _classification(prop.get("classification"), path, fields, notes)
    data["examples"] = _examples(prop.get("examples"), fields, notes)
    data.update(_options(prop.get("logicalTypeOptions"), path, fields, notes))
    ours, custom = custom_properties(prop.get("customProperties"), f"{path}.customProperties", "dq.column")
    if custom:
        notes.carried("schema.properties.customProperties")
        fields["customProperties"] = custom
    data.update(dq_fields(ours.get("dq.column"), _DQ_COLUMN_FIELDS, f"{path}.customProperties[dq.column]"))
    return validated(ColumnSpec, data, path), fields


def _logical_type(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> LogicalType:
    if value is None:
        return LogicalType.STRING
    try:
        logical = LogicalType(str(value).lower())
    except ValueError:
        logical = None
    if logical is None or logical is LogicalType.DECIMAL:
        notes.warn(f"{path}.logicalType: {value!r} is not an ODCS logical type, read as string")
        fields["logicalType"] = value
        return LogicalType.STRING
    if logical.value != value:
        fields["logicalType"] = value
    return logical


def _classification(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> Classification | None:
    if value is None:
        return None
    found = _CLASSIFICATION.get(str(value).strip().lower())
    if found is None:
        notes.warn(f"{path}.classification: {value!r} does not map to a DQ classification, carried through")
    if found is None or found.value != value:
        fields["classification"] = value
    return found


def _examples(value: Any, fields: dict[str, Any], notes: Notes) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value):
        return tuple(value)
    notes.carried("schema.properties.examples")
    fields["examples"] = value
    return ()


def _options(value: Any, path: str, fields: dict[str, Any], notes: Notes) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OdcsInputError(f"{path}.logicalTypeOptions", "must be a mapping")
    read: dict[str, Any] = {}
    carried: dict[str, Any] = {}
    for key, option in value.items():
        if key in _OPTIONS and (key != "pattern" or _usable_pattern(option, path, notes)):
            read[_OPTIONS[key]] = option
        else:
            notes.carried(f"schema.properties.logicalTypeOptions.{key}")
            carried[key] = option
    if carried:
        fields["logicalTypeOptions"] = carried
    return read


def _usable_pattern(pattern: Any, path: str, notes: Notes) -> bool:
    try:
        check_regex(str(pattern))
    except ValueError as exc:
        notes.warn(f"{path}.logicalTypeOptions.pattern: {exc}; carried through, not checked")
        return False
    return True


def export_column(column: ColumnSpec, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The schema property of a column, with carried fields merged back."""
    prop: dict[str, Any] = {"name": column.name}
    dq: dict[str, Any] = {}
    logical = column.logical_type
    if logical is LogicalType.DECIMAL:
        dq["logical_type"] = logical.value
        logical = LogicalType.NUMBER
    keep_text = logical is LogicalType.STRING and fields.get("logicalType") is not None
    prop["logicalType"] = fields["logicalType"] if keep_text else logical.value
    for key, ours in _PROPERTY_PLAIN.items():
        value = getattr(column, ours)
        if value not in (None, False, ""):
            prop[key] = value
    if column.primary_key_position is not None:
        prop["primaryKeyPosition"] = column.primary_key_position
    classification = _export_classification(column.classification, fields.get("classification"))
    if classification is not None:
        prop["classification"] = classification
    if column.examples:
        prop["examples"] = list(column.examples)
    options = {**_export_options(column, logical, dq), **as_mapping(fields.get("logicalTypeOptions"))}
    if options:
        prop["logicalTypeOptions"] = options
    if column.attribute is not None:
        dq["attribute"] = column.attribute
    reserved = {"logicalType", "classification", "logicalTypeOptions", "customProperties"}
    prop.update({key: value for key, value in fields.items() if key not in reserved and key not in prop})
    custom = list(fields.get("customProperties") or [])
    if dq:
        custom.append({"property": "dq.column", "value": dq})
    if custom:
        prop["customProperties"] = custom
    return prop


def _export_classification(value: Classification | None, original: Any) -> str | None:
    if original is not None and _CLASSIFICATION.get(str(original).strip().lower()) == value:
        return str(original)
    return None if value is None else value.value


def _export_options(column: ColumnSpec, logical: LogicalType, dq: dict[str, Any]) -> dict[str, Any]:
    """logicalTypeOptions ODCS allows for the type; the others go to ``dq`` (dq.column)."""
    options: dict[str, Any] = {}
    for key, ours in _OPTIONS.items():
        value = getattr(column, ours)
        if value is None:
            continue
        if _option_allowed(logical, key, value):
            options[key] = value
        else:
            dq[ours] = value
    return options


def _option_allowed(logical: LogicalType, key: str, value: Any) -> bool:
    """What the ODCS 3.1.0 JSON Schema accepts in logicalTypeOptions for a logical type."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if logical is LogicalType.BOOLEAN:
        return True
    if logical is LogicalType.STRING:
        return key in ("pattern", "minLength", "maxLength", "format")
    if logical in (LogicalType.DATE, LogicalType.TIMESTAMP, LogicalType.TIME):
        return key == "format" or (key in ("minimum", "maximum") and isinstance(value, str))
    if logical in (LogicalType.INTEGER, LogicalType.NUMBER):
        formats = _INT_FORMATS if logical is LogicalType.INTEGER else frozenset({"f32", "f64"})
        return (key in ("minimum", "maximum") and number) or (key == "format" and value in formats)
    return False


# --- quality: import --------------------------------------------------------------------
