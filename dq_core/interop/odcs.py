"""ODCS v3 interop: Open Data Contract Standard documents <-> :class:`DataContract`.

``import_odcs`` reads ODCS 3.0.x and 3.1.0 documents; ``export_odcs`` writes ODCS 3.1.0.
What DQ does not interpret is kept in ``extensions["odcs"]`` and written back on export,
and each such construct is named in a warning: nothing is dropped silently.

Choices where the standard is vague (documented behaviour):

* Ids: the contract id is ``name`` (or, without a name, ``id``) slugified: lower case,
  runs of other characters -> ``_``, prefixed ``c_`` when it starts with a digit (``d_``
  for datasets). The ODCS ``id``, ``name`` and object names are restored on export.
  Datasets whose slugs collide get ``_2``, ``_3``... (warned). ``tenant`` is informational
  (our tenant is the parameter) and carried.
* ``version`` not in semver (``1.0``, ``v2``) is padded to ``1.0.0`` (warned) and the
  original text restored on export; text that is no version at all is an error.
* ``status``: draft/proposed/development/in development -> draft, approved -> approved,
  active/production/published -> published, deprecated/retired -> deprecated; anything
  else -> draft (warned). The original text is restored on export while it still maps to
  the contract's status. id, version and status are required, as in the ODCS schema.
* ``description`` (object, or a plain string) -> our description = ``purpose``; usage,
  limitations and the rest of the object are carried through.
* Library metrics: ``type`` defaults to library. The deprecated ``rule`` is read when there
  is no ``metric``: nullCheck -> nullValues, uniqueCheck/duplicateCount -> duplicateValues,
  validValues -> invalidValues (the ODCS 3.0 ``validValues`` list on the item itself is read
  as ``arguments.validValues``), a metric name as itself; export always writes ``metric``.
  A library check without an operator is read as ``mustBe: 0`` (warned; ODCS 3.0 wrote
  ``rule: nullCheck`` alone for "no nulls"; datacontract-cli skips such checks instead);
  rowCount or sql without an operator is not executed (kept raw, warned).
* Exactly one operator per item, as the ODCS JSON Schema requires (several is an error);
  mustBeBetween/mustNotBeBetween need two increasing numbers; operator values must be
  numbers (a boolean ``mustBe: true`` for a sql check is an error).
* Placement: nullValues/missingValues/invalidValues need a property (missingValues needs
  ``arguments.missingValues``, invalidValues ``validValues`` and/or ``pattern``);
  duplicateValues on an object needs ``arguments.properties`` (columns = that list);
  rowCount binds no column wherever it is written. Unplaceable items are kept raw (warned).
* ``unit`` other than rows/percent -> rows; severity other than error/warning/info ->
  error; a dimension outside the ODCS list and its synonyms (ac, cp, cf, cs, cv, tm, uq;
  also our ``validity``) -> none. Each is warned and the original text restored on export.
  ``description`` -> check message (``name`` when there is no description); ``name`` is
  carried. Other item keys (businessImpact, schedule, ...) are carried, one warning per key.
* Classification maps case-insensitively to public/internal/restricted/confidential/pii,
  with sensitive -> confidential and personal/gdpr -> pii; other text -> none (warned).
  logicalType outside the ODCS list -> string (warned). A column ``pattern`` our regex
  engines reject is carried, not interpreted (warned).
* Documents without schema objects, and objects without properties, cannot form a valid
  DataContract: a placeholder dataset/column (``_odcs_placeholder``) is added (warned)
  and dropped again on export.
* Export writes apiVersion v3.1.0 and leaves out defaults (``required: false``,
  ``primaryKeyPosition: -1``, ``unit: rows``); dimension synonyms are written in full.
  MetricRule/CustomSqlRule bindings become quality items; not_null, unique, in_set and
  regex map to the matching library metric with ``mustBe: 0``, compound_unique to an
  object-level duplicateValues, row_count to rowCount (re-import reads them as metric
  checks). Bindings ODCS cannot express (templates, other rule types, overrides such as
  mostly/where, thresholds with several operators) go to a ``dq.rules`` custom property of
  the schema object; a binding id to ``dq.binding`` on its item; contract, dataset and
  column fields without an ODCS home to ``dq.contract``, ``dq.dataset`` and ``dq.column``.
  Import reads every ``dq.*`` custom property back.
* ``slaProperties`` latency/freshness with a readable value, unit (d/h/m) and element
  become freshness bindings (``odcs_sla``); other SLA properties are warned one by one.
  The section is carried; export skips the bindings it gave. A schema object's
  ``logicalType: object`` is carried without a warning.
* Carried data is keyed by dataset and column name, and quality items by position and
  ODCS id, so renaming a dataset or column after import loses what was carried for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dq_core.config.base import Status
from dq_core.config.canonical import to_plain
from dq_core.contracts.models import DataContract, DatasetSpec, RuleBinding
from dq_core.errors import InteropError, LoadError
from dq_core.identifiers import is_version
from dq_core.interop.odcs_columns import export_column, import_column
from dq_core.interop.odcs_common import (
    Notes,
    OdcsInputError,
    as_mapping,
    custom_properties,
    dq_fields,
    validated,
    validation_message,
)
from dq_core.interop.odcs_quality import ImportedItem, default_items, import_item, restore_item
from dq_core.interop.odcs_sla import sla_bindings
from dq_core.libraries.schemas import ColumnSpec
from dq_core.loading.readers import read_yaml

API_VERSION = "v3.1.0"
PLACEHOLDER_COLUMN = "_odcs_placeholder"
_TOP_READ = frozenset(
    {"apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct", "description", "tags"}
    | {"tenant", "schema", "customProperties"}
)
_SLA_READ = frozenset({"slaProperties", "slaDefaultElement"})
_OBJECT_READ = frozenset({"name", "physicalName", "description", "properties", "quality", "customProperties"})
_STATUS_IN = {
    **dict.fromkeys(("draft", "proposed", "development", "in development"), Status.DRAFT),
    "approved": Status.APPROVED,
    **dict.fromkeys(("active", "production", "published"), Status.PUBLISHED),
    **dict.fromkeys(("deprecated", "retired"), Status.DEPRECATED),
}
_STATUS_OUT = {
    Status.DRAFT: "draft",
    Status.APPROVED: "approved",
    Status.PUBLISHED: "active",
    Status.DEPRECATED: "deprecated",
}
_VERSION_RE = re.compile(r"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_DQ_CONTRACT_FIELDS = frozenset(
    {"owner", "catalog", "rule_libraries", "schema_libraries", "infra_profile", "governance_profile"}
    | {"cleansing_policy", "action_libraries", "actions", "default_phone_region", "extensions"}
)
_DQ_DATASET_FIELDS = frozenset({"entity", "columns_from", "unexpected_columns"})

Layout = list[dict[str, Any]]  # where each quality item of an element goes back on export


@dataclass(frozen=True)
class OdcsImport:
    contract: DataContract
    warnings: tuple[str, ...]


def load_odcs_file(path: Path, *, tenant: str, environment: str) -> OdcsImport:
    """Read an ODCS YAML file with the project's strict YAML 1.2 reader and import it.

    YAML 1.2 scalars keep ``NO`` a string and dates as text; duplicate keys are errors.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InteropError(f"{path}: cannot read: {exc}") from None
    try:
        document = read_yaml(text, str(path))
    except LoadError as exc:
        raise InteropError(exc.message) from None
    return import_odcs(document, tenant=tenant, environment=environment, source=str(path))


def import_odcs(document: Mapping[str, Any], *, tenant: str, environment: str, source: str = "<odcs>") -> OdcsImport:
    """Convert an ODCS v3 document into a DataContract, with the warnings of the conversion."""
    notes = Notes()
    try:
        contract = _import(document, tenant, environment, notes)
    except OdcsInputError as exc:
        raise InteropError(f"{source}: {' '.join(str(exc).split())}") from None
    except RecursionError:  # YAML aliases can make a document contain itself
        raise InteropError(f"{source}: the document nests too deeply or contains itself") from None
    return OdcsImport(contract=contract, warnings=notes.all)


# --- import: document and header -------------------------------------------------------


def _import(document: Any, tenant: str, environment: str, notes: Notes) -> DataContract:
    if not isinstance(document, Mapping):
        raise OdcsInputError("", f"not a mapping (an ODCS document is a YAML mapping, found {type(document).__name__})")
    doc = _json_safe(document, "")
    _check_document(doc)
    header, data = _header(doc, notes)
    ours, custom = custom_properties(doc.get("customProperties"), "customProperties", "dq.contract")
    sections = {key: value for key, value in doc.items() if key not in _TOP_READ}
    if custom:
        sections["customProperties"] = custom
    for key in sections:
        if key not in _SLA_READ:  # slaProperties: warned per property by sla_bindings
            notes.warn(f"{key}: not interpreted by DQ, carried through on export")
    datasets, objects, no_schema = _datasets(doc, data["id"], notes)
    datasets = _with_sla(doc, datasets, objects, notes)
    odcs: dict[str, Any] = {"header": header, "sections": sections, "objects": objects}
    if no_schema is not None:
        odcs["noSchema"] = no_schema
    extra = dq_fields(ours.get("dq.contract"), _DQ_CONTRACT_FIELDS, "customProperties[dq.contract]")
    others = extra.pop("extensions", {})
    if not isinstance(others, Mapping):
        raise OdcsInputError("customProperties[dq.contract].extensions", "must be a mapping")
    extensions = {**others, "odcs": odcs}
    payload = {**data, **extra, "tenant": tenant, "environment": environment}
    payload |= {"datasets": datasets, "extensions": extensions}
    try:
        return DataContract.model_validate(payload)
    except ValidationError as exc:
        raise OdcsInputError("", validation_message(exc)) from None


def _with_sla(
    doc: Mapping[str, Any], datasets: list[DatasetSpec], objects: dict[str, Any], notes: Notes
) -> list[DatasetSpec]:
    """Datasets with the freshness bindings of the SLA properties; the carry records them so
    export does not write them again (the section itself is carried and written back)."""
    found = sla_bindings(doc, _sla_places(datasets, objects), notes)
    updated = []
    for dataset in datasets:
        extra = found.get(dataset.name, [])
        if extra and dataset.name in objects:
            objects[dataset.name]["sla"] = [binding.model_dump(mode="json") for binding in extra]
            dataset = dataset.model_copy(update={"bindings": (*dataset.bindings, *extra)})  # noqa: PLW2901
        updated.append(dataset)
    return updated


def _sla_places(datasets: list[DatasetSpec], objects: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Every way an SLA element may name a column -> (dataset, column)."""
    places: dict[str, tuple[str, str]] = {}
    for dataset in datasets:
        carry = as_mapping(objects.get(dataset.name))
        fields = as_mapping(carry.get("fields"))
        object_names = {dataset.name, fields.get("name"), dataset.physical_name} - {None}
        for column in dataset.columns:
            physical = as_mapping(as_mapping(as_mapping(carry.get("properties")).get(column.name)).get("fields"))
            column_names = {column.name, physical.get("physicalName")} - {None}
            for obj in object_names:
                places.update({f"{obj}.{name}": (dataset.name, column.name) for name in column_names})
            if len(datasets) == 1:
                places.update({str(name): (dataset.name, column.name) for name in column_names})
    return places


def _check_document(doc: Mapping[str, Any]) -> None:
    if doc.get("kind") != "DataContract":
        raise OdcsInputError("kind", f"expected DataContract, found {doc.get('kind')!r}")
    api = doc.get("apiVersion")
    if not isinstance(api, str) or not api.startswith("v3."):
        raise OdcsInputError("apiVersion", f"{api!r} is not supported (ODCS v3.x only)")
    for key in ("id", "version", "status"):
        if doc.get(key) is None:
            raise OdcsInputError(key, "missing (required by ODCS)")


def _header(doc: Mapping[str, Any], notes: Notes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ODCS header kept for export, and the DataContract fields read from it."""
    odcs_id = str(doc["id"])
    header: dict[str, Any] = {"id": odcs_id, "status": doc["status"]}
    name = doc.get("name")
    if name is not None:
        header["name"] = name
    version, original = _version(doc["version"], notes)
    if original is not None:
        header["version"] = original
    description, rest = _description(doc.get("description"), notes)
    if rest is not None:
        header["description"] = rest
    if doc.get("tenant") is not None:
        header["tenant"] = doc["tenant"]
    data = {
        "id": slug(str(name) if name else odcs_id, "c_", "contract"),
        "version": version,
        "status": _status(doc["status"], notes),
        "description": description,
        "domain": doc.get("domain"),
        "data_product": doc.get("dataProduct"),
        "tags": doc.get("tags") or (),
    }
    return header, data


def slug(text: str, prefix: str, fallback: str) -> str:
    """An Id from free text: lower case, other characters -> ``_``, a letter first."""
    value = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or fallback
    return prefix + value if value[0].isdigit() else value


def _version(value: Any, notes: Notes) -> tuple[str, str | None]:
    text = str(value).strip()
    if is_version(text):
        return text, None
    match = _VERSION_RE.match(text)
    if match is None:
        raise OdcsInputError("version", f"{value!r} is not a version (semantic version like 1.2.0 expected)")
    semver = ".".join(str(int(part or 0)) for part in match.groups())
    notes.warn(f"version: {text!r} read as {semver}, restored on export")
    return semver, text


def _status(value: Any, notes: Notes) -> Status:
    status = _STATUS_IN.get(str(value).strip().lower())
    if status is None:
        notes.warn(f"status: {value!r} is not a status DQ knows, read as draft, restored on export")
        return Status.DRAFT
    return status


def _description(value: Any, notes: Notes) -> tuple[str, dict[str, Any] | None]:
    """Our description (the purpose), and what export needs besides it to restore the object."""
    if value is None or isinstance(value, str):
        return value or "", None
    if not isinstance(value, Mapping):
        raise OdcsInputError("description", "must be an object (purpose, usage, limitations) or a string")
    rest = {key: item for key, item in value.items() if key != "purpose"}
    for key in rest:
        notes.carried(f"description.{key}")
    purpose = str(value.get("purpose") or "")
    return purpose, rest if rest or not purpose else None


def _json_safe(value: Any, path: str) -> Any:
    """Plain JSON data from what ``yaml.safe_load`` produced: dates and times as ISO text."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise OdcsInputError(path, f"{value} is not a JSON number")
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise OdcsInputError(path, f"unsupported YAML value of type {type(value).__name__}")


# --- import: schema objects ------------------------------------------------------------


def _datasets(
    doc: Mapping[str, Any], contract_id: str, notes: Notes
) -> tuple[list[DatasetSpec], dict[str, Any], dict[str, Any] | None]:
    """The datasets, their carried data by dataset name, and the placeholder record when there is no schema."""
    schema = doc.get("schema")
    if schema is not None and not isinstance(schema, list):
        raise OdcsInputError("schema", "must be a list of schema objects")
    if not schema:
        column = ColumnSpec(name=PLACEHOLDER_COLUMN)
        notes.warn(
            f"schema: no schema objects; placeholder dataset {contract_id!r} with column {PLACEHOLDER_COLUMN!r}"
            " added so the contract is valid, dropped on export"
        )
        placeholder = DatasetSpec(name=contract_id, columns=(column,))
        return [placeholder], {}, {"dataset": contract_id, "key": "absent" if "schema" not in doc else "empty"}
    datasets: list[DatasetSpec] = []
    objects: dict[str, Any] = {}
    for index, obj in enumerate(schema):
        dataset, carry = _dataset(obj, f"schema[{index}]", {d.name for d in datasets}, notes)
        datasets.append(dataset)
        objects[dataset.name] = carry
    return datasets, objects, None


def _dataset(obj: Any, path: str, taken: set[str], notes: Notes) -> tuple[DatasetSpec, dict[str, Any]]:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str) or not obj["name"]:
        raise OdcsInputError(path, "a schema object must be a mapping with a name")
    name = _unique_name(slug(obj["name"], "d_", "dataset"), taken, path, notes)
    ours, custom = custom_properties(obj.get("customProperties"), f"{path}.customProperties", "dq.dataset", "dq.rules")
    fields = {key: value for key, value in obj.items() if key not in _OBJECT_READ}
    for key, value in fields.items():
        if (key, value) != ("logicalType", "object"):  # what a schema object is: nothing to warn about
            notes.carried(f"schema.{key}")
    fields["name"] = obj["name"]
    if custom:
        notes.carried("schema.customProperties")
        fields["customProperties"] = custom
    columns, column_carry, bindings, layouts = _properties(obj.get("properties"), path, notes)
    names = {c.name for c in columns}
    object_bindings, object_layout = _quality(obj.get("quality"), f"{path}.quality", None, notes, names)
    layout = _number(object_layout, 0)
    for column_name, entries in layouts.items():
        column_carry[column_name]["quality"] = _number(entries, len(object_bindings))
        object_bindings += bindings[column_name]
    carry: dict[str, Any] = {"fields": fields, "properties": column_carry, "quality": layout}
    data = {
        "name": name,
        "description": obj.get("description") or "",
        "physical_name": obj.get("physicalName"),
        "columns": columns,
        "bindings": object_bindings + _dq_rules(ours.get("dq.rules"), f"{path}.customProperties[dq.rules]"),
        **dq_fields(ours.get("dq.dataset"), _DQ_DATASET_FIELDS, f"{path}.customProperties[dq.dataset]"),
    }
    if not columns and not data.get("columns_from"):
        notes.warn(f"{path}: no properties; placeholder column {PLACEHOLDER_COLUMN!r} added, dropped on export")
        data["columns"] = [ColumnSpec(name=PLACEHOLDER_COLUMN)]
        carry["placeholder"] = True
    return validated(DatasetSpec, data, path), carry


def _unique_name(name: str, taken: set[str], path: str, notes: Notes) -> str:
    if name not in taken:
        return name
    counter = 2
    while f"{name}_{counter}" in taken:
        counter += 1
    notes.warn(f"{path}: dataset name {name!r} already used, imported as {name}_{counter}")
    return f"{name}_{counter}"


def _number(entries: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """Layout entries with binding positions made absolute within the dataset."""
    return [{**entry, "binding": entry["binding"] + start} if "binding" in entry else entry for entry in entries]


def _dq_rules(value: Any, path: str) -> list[RuleBinding]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OdcsInputError(path, "must be a list of rule bindings")
    return [validated(RuleBinding, item, f"{path}[{index}]") for index, item in enumerate(value)]


def _quality(
    items: Any, path: str, column: str | None, notes: Notes, names: set[str] | None = None
) -> tuple[list[RuleBinding], list[dict[str, Any]]]:
    """Bindings of a quality list, and its layout: where each item goes back on export."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise OdcsInputError(path, "must be a list of quality items")
    bindings: list[RuleBinding] = []
    layout: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        read: ImportedItem = import_item(item, path=f"{path}[{index}]", column=column, notes=notes)
        if read.binding is None:
            layout.append({"raw": read.raw})
            continue
        unknown = [name for name in read.binding.columns if names is not None and name not in names]
        if unknown:
            raise OdcsInputError(f"{path}[{index}].arguments.properties", f"unknown properties {unknown}")
        layout.append({"binding": len(bindings), "odcs_id": read.binding.odcs_id, "fields": read.fields})
        bindings.append(read.binding)
    return bindings, layout


def _properties(
    props: Any, path: str, notes: Notes
) -> tuple[list[ColumnSpec], dict[str, Any], dict[str, list[RuleBinding]], dict[str, list[dict[str, Any]]]]:
    if props is None:
        return [], {}, {}, {}
    if not isinstance(props, list):
        raise OdcsInputError(f"{path}.properties", "must be a list of properties")
    columns: list[ColumnSpec] = []
    carry: dict[str, Any] = {}
    bindings: dict[str, list[RuleBinding]] = {}
    layouts: dict[str, list[dict[str, Any]]] = {}
    for index, prop in enumerate(props):
        where = f"{path}.properties[{index}]"
        column, fields = import_column(prop, where, notes)
        if column.name in carry:
            raise OdcsInputError(where, f"duplicate property {column.name!r}")
        quality = _quality(prop.get("quality"), f"{where}.quality", column.name, notes)
        bindings[column.name], layouts[column.name] = quality
        columns.append(column)
        carry[column.name] = {"fields": fields}
    return columns, carry, bindings, layouts


# --- export ----------------------------------------------------------------------------


def export_odcs(contract: DataContract) -> dict[str, Any]:
    """An ODCS v3.1.0 document (plain data, ready for ``yaml.safe_dump``) for a contract."""
    ext = as_mapping(contract.extensions.get("odcs"))
    header = as_mapping(ext.get("header"))
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "DataContract", "id": header.get("id", contract.id)}
    name = header.get("name") if header else contract.id
    if name is not None:
        doc["name"] = name
    doc["version"] = _export_version(contract.version, header.get("version"))
    doc["status"] = _export_status(contract.status, header.get("status"))
    doc.update(_export_about(contract, header))
    schema = _export_schema(contract, ext)
    if schema is not None:
        doc["schema"] = schema
    for key, value in as_mapping(ext.get("sections")).items():
        doc.setdefault(key, value)
    custom = _dq_contract(contract)
    if custom:
        doc["customProperties"] = [*doc.get("customProperties", []), {"property": "dq.contract", "value": custom}]
    plain: dict[str, Any] = to_plain(doc)
    return plain


def _export_version(version: str, original: Any) -> str:
    if isinstance(original, str):
        match = _VERSION_RE.match(original)
        if match and ".".join(str(int(part or 0)) for part in match.groups()) == version:
            return original
    return version


def _export_status(status: Status, original: Any) -> str:
    if isinstance(original, str) and _STATUS_IN.get(original.strip().lower(), Status.DRAFT) is status:
        return original
    return _STATUS_OUT[status]


def _export_about(contract: DataContract, header: Mapping[str, Any]) -> dict[str, Any]:
    about: dict[str, Any] = {}
    if contract.domain is not None:
        about["domain"] = contract.domain
    if contract.data_product is not None:
        about["dataProduct"] = contract.data_product
    if header.get("tenant") is not None:
        about["tenant"] = header["tenant"]
    description = dict(as_mapping(header.get("description")))
    if contract.description:
        description = {"purpose": contract.description, **description}
    if description or "description" in header:
        about["description"] = description
    if contract.tags:
        about["tags"] = list(contract.tags)
    return about


def _dq_contract(contract: DataContract) -> dict[str, Any]:
    data: dict[str, Any] = contract.model_dump(mode="json", include=set(_DQ_CONTRACT_FIELDS), exclude_defaults=True)
    others = {key: value for key, value in contract.extensions.items() if key != "odcs"}
    data.pop("extensions", None)
    if others:
        data["extensions"] = others
    return data


def _export_schema(contract: DataContract, ext: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    no_schema = as_mapping(ext.get("noSchema"))
    objects = as_mapping(ext.get("objects"))
    datasets = [d for d in contract.datasets if d.name != no_schema.get("dataset")]
    schema = [_export_dataset(d, as_mapping(objects.get(d.name))) for d in datasets]
    if not schema and no_schema.get("key") == "absent":
        return None
    return schema


def _export_dataset(dataset: DatasetSpec, carry: Mapping[str, Any]) -> dict[str, Any]:
    fields = as_mapping(carry.get("fields"))
    props_carry = as_mapping(carry.get("properties"))
    obj: dict[str, Any] = {"name": fields.get("name", dataset.name)}
    if dataset.physical_name is not None:
        obj["physicalName"] = dataset.physical_name
    if dataset.description:
        obj["description"] = dataset.description
    obj.update({key: value for key, value in fields.items() if key not in ("name", "customProperties")})
    columns = [c for c in dataset.columns if not (carry.get("placeholder") and c.name == PLACEHOLDER_COLUMN)]
    props = {c.name: export_column(c, as_mapping(as_mapping(props_carry.get(c.name)).get("fields"))) for c in columns}
    object_items, leftovers = _export_quality(dataset, carry, props)
    if props or not carry.get("placeholder"):
        obj["properties"] = list(props.values())
    if object_items:
        obj["quality"] = object_items
    custom = _entries(fields.get("customProperties"))
    dq_dataset = dataset.model_dump(mode="json", include=set(_DQ_DATASET_FIELDS), exclude_defaults=True)
    if dq_dataset:
        custom.append({"property": "dq.dataset", "value": dq_dataset})
    if leftovers:
        custom.append({"property": "dq.rules", "value": leftovers})
    if custom:
        obj["customProperties"] = custom
    return obj


def _export_quality(
    dataset: DatasetSpec, carry: Mapping[str, Any], props: dict[str, dict[str, Any]]
) -> tuple[list[Any], list[Any]]:
    """Object-level quality items (property-level ones go into ``props``) and dq.rules leftovers."""
    bindings = dataset.bindings
    used: set[int] = set()
    object_items = _from_layout(carry.get("quality"), None, bindings, used)
    for name, prop in props.items():
        entries = as_mapping(as_mapping(carry.get("properties")).get(name)).get("quality")
        items = _from_layout(entries, name, bindings, used)
        if items:
            prop["quality"] = items
    leftovers: list[Any] = []
    from_sla = _entries(carry.get("sla"))  # written back by the slaProperties section itself
    for index, binding in enumerate(bindings):
        if index in used or binding.model_dump(mode="json") in from_sla:
            continue
        placed = default_items(binding, set(props))
        if placed is None:
            leftovers.append(binding.model_dump(mode="json", exclude_defaults=True))
            continue
        for place, item in placed:
            if place is None:
                object_items.append(item)
            else:
                props[place].setdefault("quality", []).append(item)
    return object_items, leftovers


def _from_layout(entries: Any, place: str | None, bindings: tuple[RuleBinding, ...], used: set[int]) -> list[Any]:
    """The quality items of one element, in their imported order: raw items and restored bindings."""
    items: list[Any] = []
    for entry in _entries(entries):
        if "raw" in entry:
            items.append(entry["raw"])
            continue
        index = _find(entry, bindings, used)
        item = None if index is None else restore_item(bindings[index], place, as_mapping(entry.get("fields")))
        if index is not None and item is not None:
            used.add(index)
            items.append(item)
    return items


def _find(entry: Mapping[str, Any], bindings: tuple[RuleBinding, ...], used: set[int]) -> int | None:
    """The binding a layout entry stands for: same position and ODCS id, else same ODCS id."""
    index, odcs_id = entry.get("binding"), entry.get("odcs_id")
    position = index if isinstance(index, int) and 0 <= index < len(bindings) and index not in used else None
    if position is not None and bindings[position].odcs_id == odcs_id:
        return position
    if odcs_id is None:
        return None
    return next((i for i, b in enumerate(bindings) if i not in used and b.odcs_id == odcs_id), None)


def _entries(value: Any) -> list[Any]:
    """The mappings of a carried list (carried data may have been edited)."""
    return [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []
