"""ODCS v3 interop: the official examples import, export validly and round-trip losslessly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import validator_for  # type: ignore[import-untyped]

from dq_core.config.base import Severity, Status
from dq_core.config.canonical import canonical_json
from dq_core.contracts.models import DataContract, DatasetSpec, RuleBinding
from dq_core.errors import InteropError
from dq_core.interop.odcs import PLACEHOLDER_COLUMN, OdcsImport, export_odcs, import_odcs, load_odcs_file
from dq_core.libraries.rules import (
    CustomSqlRule,
    Dimension,
    FreshnessRule,
    MetricRule,
    OdcsMetric,
    Threshold,
    Unit,
)
from dq_core.libraries.schemas import Classification, ColumnSpec
from tests.conftest import ODCS_EXAMPLES

FIXTURES = Path(__file__).parent / "odcs_fixtures"
EVERYTHING = FIXTURES / "everything.odcs.yaml"
EXAMPLES = sorted(ODCS_EXAMPLES.glob("*.odcs.yaml"))
SCHEMA = json.loads((ODCS_EXAMPLES / "odcs-json-schema-v3.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = validator_for(SCHEMA)(SCHEMA)
# top-level ODCS keys DQ reads; every other top-level section must be named in a warning
READ = {"apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct", "description", "tags"}
READ |= {"tenant", "schema"}


def _load(path: Path) -> OdcsImport:
    return load_odcs_file(path, tenant="Contoso", environment="dev")


def _import(document: Any) -> OdcsImport:
    return import_odcs(document, tenant="contoso", environment="dev", source="contract.odcs.yaml")


def _schema_errors(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def _reimport(contract: DataContract) -> DataContract:
    """Export, write and read as YAML, import again."""
    text = yaml.safe_dump(export_odcs(contract), sort_keys=False, allow_unicode=True)
    return _import(yaml.safe_load(text)).contract


def _everything() -> dict[str, Any]:
    document = yaml.safe_load(EVERYTHING.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _binding(contract: DataContract, odcs_id: str) -> RuleBinding:
    found = [b for d in contract.datasets for b in d.bindings if b.odcs_id == odcs_id]
    assert len(found) == 1, odcs_id
    return found[0]


# --- the official examples -------------------------------------------------------------


def test_all_official_examples_are_present() -> None:
    assert len(EXAMPLES) == 18
    assert {p.name.split("__")[0] for p in EXAMPLES} >= {"all", "quality", "schema", "server", "sla"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_imports_with_warnings_naming_unread_sections(path: Path) -> None:
    result = _load(path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(result.contract.datasets) >= 1
    assert result.contract.tenant == "contoso"
    for section in set(document) - READ - {"customProperties", "slaProperties", "slaDefaultElement"}:
        assert any(w.startswith(f"{section}: not interpreted") for w in result.warnings), section
    for index, sla in enumerate(document.get("slaProperties", [])):  # none names a column of its document
        assert any(w.startswith(f"slaProperties[{index}]: ") for w in result.warnings), sla
    assert len(result.warnings) == len(set(result.warnings))  # each message once
    canonical_json(result.contract)  # extensions are JSON: no dates left from yaml.safe_load


def test_server_example_warns_about_servers_and_gets_a_placeholder_dataset() -> None:
    result = _load(ODCS_EXAMPLES / "server__azure-server.odcs.yaml")
    assert "servers: not interpreted by DQ, carried through on export" in result.warnings
    assert any(w.startswith("schema: no schema objects") for w in result.warnings)
    (dataset,) = result.contract.datasets
    assert [c.name for c in dataset.columns] == [PLACEHOLDER_COLUMN]
    exported = export_odcs(result.contract)
    assert "schema" not in exported  # the placeholder is not written back
    assert exported["servers"][0]["location"] == "az://my-data-location"
    assert exported["status"] == "in development"
    assert result.contract.status is Status.DRAFT


def test_full_example_maps_header_schema_and_quality() -> None:
    result = _load(ODCS_EXAMPLES / "all__full-example.odcs.yaml")
    contract = result.contract
    assert contract.id == "c_53581432_6c55_4ba2_a65f_72344a91553a"
    assert (contract.version, contract.status) == ("1.1.0", Status.PUBLISHED)
    assert (contract.domain, contract.data_product) == ("seller", "my quantum")
    assert contract.description == "Views built on top of the seller tables."
    assert contract.tags == ("transactions",)
    tbl = contract.dataset("tbl")
    assert tbl.physical_name == "tbl_1"
    first = tbl.columns[0]
    assert (first.name, first.logical_type.value) == ("transaction_reference_date", "date")
    assert first.primary_key_position is None  # -1 means none
    assert first.examples == ("2022-10-03", "2020-01-28")
    assert tbl.columns[1].classification is Classification.RESTRICTED
    row_count, nulls = tbl.bindings
    assert isinstance(row_count.check, MetricRule) and row_count.columns == ()
    assert row_count.check.params.threshold == Threshold(must_be_greater_than=1_000_000)
    assert isinstance(nulls.check, MetricRule) and nulls.columns == ("rcvr_cntry_code",)
    assert nulls.check.dimension is Dimension.COMPLETENESS
    warnings = result.warnings
    for name in ("servers", "team", "roles", "support", "price", "contractCreatedTs"):
        assert f"{name}: not interpreted by DQ, carried through on export" in warnings
    assert sum(w.startswith("quality.businessImpact") for w in warnings) == 1  # once, not per item
    assert "schema.relationships: not interpreted, carried through on export" in warnings


def test_custom_and_text_items_are_warned_and_carried() -> None:
    result = _load(ODCS_EXAMPLES / "quality__column-custom.odcs.yaml")
    assert result.contract.datasets[0].bindings == ()
    assert any("quality[0]: type custom (soda) is not executed" in w for w in result.warnings)
    quality = export_odcs(result.contract)["schema"][0]["properties"][0]["quality"]
    assert [q["engine"] for q in quality] == ["soda", "soda"]
    assert quality[1]["implementation"]["must_be_less_than"] == 1


def test_percent_invalid_values_example() -> None:
    (binding,) = _load(ODCS_EXAMPLES / "quality__column-validity.odcs.yaml").contract.datasets[0].bindings
    assert isinstance(binding.check, MetricRule)
    params = binding.check.params
    assert (params.metric, params.unit) == (OdcsMetric.INVALID_VALUES, Unit.PERCENT)
    assert params.valid_values == ("", None, "n/a")
    assert params.threshold == Threshold(must_be_less_or_equal_to=5)


def test_sql_example_keeps_the_query_and_binds_the_property() -> None:
    (binding,) = _load(ODCS_EXAMPLES / "quality__column-accuracy.odcs.yaml").contract.datasets[0].bindings
    assert isinstance(binding.check, CustomSqlRule)
    assert binding.check.params.query.startswith("select count(*) from Air_Quality")
    assert binding.columns == ("DataValue",)


def test_nested_properties_are_warned_and_restored() -> None:
    path = ODCS_EXAMPLES / "schema__all-schema-types.odcs.yaml"
    result = _load(path)
    assert "schema[2].properties[0]: nested properties are not validated, carried through on export" in result.warnings
    original = yaml.safe_load(path.read_text(encoding="utf-8"))["schema"][2]["properties"][0]["items"]
    assert export_odcs(result.contract)["schema"][2]["properties"][0]["items"] == original


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_export_validates_against_the_odcs_schema(path: Path) -> None:
    exported = export_odcs(_load(path).contract)
    assert exported["apiVersion"] == "v3.1.0"
    assert _schema_errors(exported) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trip_is_lossless(path: Path) -> None:
    contract = _load(path).contract
    again = _reimport(contract)
    assert again == contract
    assert export_odcs(again) == export_odcs(contract)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_export_restores_the_document(path: Path) -> None:
    """Up to the documented normalisations: apiVersion, defaults (false, -1), type library, stripped text."""
    original = yaml.safe_load(path.read_text(encoding="utf-8"))
    exported = export_odcs(_load(path).contract)
    assert exported["id"] == str(original["id"])
    assert exported["version"] == str(original["version"])
    assert exported["status"] == original["status"]
    assert [o["name"] for o in exported.get("schema", [])] == [o["name"] for o in original.get("schema") or []]
    assert set(exported) - {"apiVersion"} == set(original) - {"apiVersion"}
    for obj, before in zip(exported.get("schema", []), original.get("schema") or [], strict=True):
        assert [p["name"] for p in obj.get("properties", [])] == [p["name"] for p in before.get("properties", [])]
        assert len(obj.get("quality", [])) == len(before.get("quality", []))


# --- a contract using every construct --------------------------------------------------


def test_everything_fixture_is_valid_odcs_and_exports_validly() -> None:
    document = _everything()
    document["apiVersion"] = "v3.1.0"
    spelled = {"nullCheck": "nullValues", "uniqueCheck": "duplicateValues", "validValues": "invalidValues"}
    for prop in document["schema"][0]["properties"]:  # the deprecated 3.0 spellings, as 3.1.0 writes them
        for item in prop.get("quality", []):
            if item.get("dimension") == "cp":  # a synonym the ODCS docs allow but its JSON Schema does not
                item["dimension"] = "completeness"
            if "rule" in item:
                item["metric"] = spelled[item.pop("rule")]
                item.setdefault("arguments", {}).update({"validValues": item.pop("validValues", [])})
                item.setdefault("mustBe", 0) if "mustNotBe" not in item else None
    assert _schema_errors(json.loads(json.dumps(document, default=str))) == []
    assert _schema_errors(export_odcs(_import(_everything()).contract)) == []


def test_everything_header() -> None:
    result = _import(_everything())
    contract = result.contract
    assert (contract.id, contract.version, contract.status) == ("sales_orders", "1.0.0", Status.DRAFT)
    assert (contract.domain, contract.data_product, contract.tags) == ("sales", "orders-product", ("orders", "finance"))
    assert contract.description == "Orders placed in the web shop."
    assert "version: '1.0' read as 1.0.0, restored on export" in result.warnings
    exported = export_odcs(contract)
    assert (exported["id"], exported["name"], exported["version"], exported["status"]) == (
        "9A1B-Orders_Contract",
        "Sales Orders",
        "1.0",
        "proposed",
    )
    assert exported["tenant"] == "ContosoRetail"
    assert exported["description"]["limitations"] == "No refunds."
    assert exported["contractCreatedTs"] == "2024-05-01T10:00:00+00:00"


def test_everything_columns() -> None:
    orders = _import(_everything()).contract.dataset("orders_table")
    assert orders.physical_name == "orders_v1"
    columns = {c.name: c for c in orders.columns}
    order_id = columns["order_id"]
    assert (order_id.required, order_id.unique, order_id.primary_key) == (True, True, True)
    assert order_id.primary_key_position == 1
    assert (order_id.physical_type, order_id.business_name) == ("bigint", "Order id")
    assert (order_id.minimum, order_id.format) == (1, "i64")
    assert order_id.classification is Classification.INTERNAL
    email = columns["customer_email"]
    assert (email.pattern, email.min_length, email.max_length, email.format) == ("^[^@]+@[^@]+$", 3, 254, "email")
    assert email.classification is Classification.CONFIDENTIAL  # sensitive
    assert columns["status"].classification is Classification.PII  # gdpr
    assert (columns["amount"].minimum, columns["amount"].maximum) == (0, 100_000)
    assert columns["created_at"].minimum == "2020-01-01 00:00:00"
    exported = export_odcs(_import(_everything()).contract)["schema"][0]["properties"]
    assert exported[0]["classification"] == "Internal"  # original spelling restored
    assert exported[4]["logicalTypeOptions"]["exclusiveMinimum"] == 0  # carried, not interpreted


def test_everything_quality_metrics_and_operators() -> None:
    contract = _import(_everything()).contract
    expected: dict[str, tuple[OdcsMetric, tuple[str, ...], Threshold]] = {
        "q_rows": (OdcsMetric.ROW_COUNT, (), Threshold(must_be_greater_than=100)),
        "q_key": (OdcsMetric.DUPLICATE_VALUES, ("order_id", "line_no"), Threshold(must_be=0)),
        "q_order_nulls": (OdcsMetric.NULL_VALUES, ("order_id",), Threshold(must_be=0)),
        "q_email_missing": (OdcsMetric.MISSING_VALUES, ("customer_email",), Threshold(must_be_less_than=5)),
        "q_email_pattern": (OdcsMetric.INVALID_VALUES, ("customer_email",), Threshold(must_be=0)),
        "q_status_values": (OdcsMetric.INVALID_VALUES, ("status",), Threshold(must_be_greater_or_equal_to=0)),
    }
    for odcs_id, (metric, columns, threshold) in expected.items():
        binding = _binding(contract, odcs_id)
        assert isinstance(binding.check, MetricRule), odcs_id
        params = binding.check.params
        assert (params.metric, binding.columns, params.threshold) == (metric, columns, threshold), odcs_id
    missing = _binding(contract, "q_email_missing").check
    assert isinstance(missing, MetricRule)
    assert (missing.params.unit, missing.params.missing_values) == (Unit.PERCENT, (None, "", "N/A"))
    assert missing.dimension is Dimension.COMPLETENESS  # the synonym cp
    pattern = _binding(contract, "q_email_pattern").check
    assert isinstance(pattern, MetricRule)
    assert pattern.params.pattern == "^[^@]+@[^@]+$"
    assert (pattern.severity, pattern.dimension) == (Severity.WARNING, Dimension.CONFORMITY)
    rows = _binding(contract, "q_rows").check
    assert rows is not None
    assert (rows.severity, rows.dimension) == (Severity.WARNING, Dimension.COMPLETENESS)
    key = _binding(contract, "q_key").check
    assert key is not None
    assert key.message == "order id and line number identify a line"


def test_everything_sql_checks_keep_placeholders() -> None:
    contract = _import(_everything()).contract
    on_object = _binding(contract, "q_sql_object")
    assert isinstance(on_object.check, CustomSqlRule) and on_object.columns == ()
    assert on_object.check.params.threshold == Threshold(must_be_less_or_equal_to=0)
    between = _binding(contract, "q_amount_range")
    assert isinstance(between.check, CustomSqlRule) and between.columns == ("amount",)
    assert between.check.params.query == "SELECT COUNT(*) FROM {object} WHERE {property} > 50000"
    assert between.check.params.threshold == Threshold(must_be_between=(0, 10))
    outside = _binding(contract, "q_amount_not_between").check
    assert isinstance(outside, CustomSqlRule)
    assert outside.params.threshold == Threshold(must_not_be_between=(-1, 1))


def test_everything_deprecated_rule_spelling_and_defaults() -> None:
    result = _import(_everything())
    orders = result.contract.dataset("orders_table")
    unique = next(b for b in orders.bindings if b.check and b.check.message == "unique order ids")
    assert isinstance(unique.check, MetricRule)
    assert (unique.check.params.metric, unique.columns) == (OdcsMetric.DUPLICATE_VALUES, ("order_id",))
    assert unique.odcs_id is None
    (line_nulls,) = [b for b in orders.bindings if b.columns == ("line_no",)]
    assert isinstance(line_nulls.check, MetricRule)
    assert line_nulls.check.params.metric is OdcsMetric.NULL_VALUES
    assert line_nulls.check.params.threshold == Threshold(must_be=0)
    status_checks = [b.check for b in orders.bindings if b.columns == ("status",)]
    legacy = status_checks[1]
    assert isinstance(legacy, MetricRule)
    assert (legacy.params.valid_values, legacy.params.threshold) == (("open", "shipped"), Threshold(must_not_be=3))
    defaulted = "schema[0].properties[1].quality[0]: no operator given, read as mustBe: 0 (no offending rows)"
    assert defaulted in result.warnings
    assert any(w.startswith("quality.rule: deprecated") for w in result.warnings)
    exported = export_odcs(result.contract)["schema"][0]["properties"][0]["quality"][1]
    assert (exported["metric"], "rule" in exported) == ("duplicateValues", False)  # written in the 3.1.0 spelling


def test_everything_carried_quality_fields_and_raw_items() -> None:
    result = _import(_everything())
    for key in ("businessImpact", "schedule", "scheduler", "method", "tags", "customProperties"):
        assert sum(w.startswith(f"quality.{key}:") for w in result.warnings) == 1, key
    assert any("schema[0].quality[3]: type text is not executable" in w for w in result.warnings)
    obj = export_odcs(result.contract)["schema"][0]
    rows, key, sql, text, custom = obj["quality"]
    assert (rows["businessImpact"], rows["schedule"], rows["scheduler"]) == ("operational", "0 20 * * *", "cron")
    assert key["arguments"]["properties"] == ["order_id", "line_no"]
    assert sql["method"] == "reconciliation"
    assert (text["type"], custom["engine"]) == ("text", "soda")
    duplicates = obj["properties"][3]["quality"][2]
    assert duplicates["customProperties"] == [{"property": "note", "value": "statuses repeat on purpose"}]


def test_everything_round_trip_is_lossless() -> None:
    contract = _import(_everything()).contract
    again = _reimport(contract)
    assert again == contract
    assert export_odcs(again) == export_odcs(contract)
    assert sum(len(d.bindings) for d in contract.datasets) == 15


def test_everything_uses_every_operator_and_metric() -> None:
    exported = export_odcs(_import(_everything()).contract)
    items = [q for obj in exported["schema"] for p in obj["properties"] for q in p.get("quality", [])]
    items += [q for obj in exported["schema"] for q in obj.get("quality", [])]
    operators = {key for item in items for key in item if key.startswith("must")}
    assert operators == {
        "mustBe",
        "mustNotBe",
        "mustBeGreaterThan",
        "mustBeGreaterOrEqualTo",
        "mustBeLessThan",
        "mustBeLessOrEqualTo",
        "mustBeBetween",
        "mustNotBeBetween",
    }
    assert {item.get("metric") for item in items} >= {m.value for m in OdcsMetric}
    assert {item["type"] for item in items} == {"library", "sql", "text", "custom"}


def test_export_follows_edits_of_the_imported_contract() -> None:
    contract = _import(_everything()).contract
    orders = contract.dataset("orders_table")
    first = orders.bindings[0]
    assert first.odcs_id == "q_rows" and isinstance(first.check, MetricRule)
    params = first.check.params.model_copy(update={"threshold": Threshold(must_be_between=(5, 9))})
    edited = first.model_copy(update={"check": first.check.model_copy(update={"params": params})})
    bindings = (edited, *orders.bindings[1:])
    changed = contract.model_copy(update={"datasets": (orders.model_copy(update={"bindings": bindings}),)})
    rows = export_odcs(changed)["schema"][0]["quality"][0]
    assert (rows["mustBeBetween"], "mustBeGreaterThan" in rows) == ([5, 9], False)
    assert rows["businessImpact"] == "operational"  # carried fields stay with their binding


# --- contracts written natively ----------------------------------------------------------


def _native() -> DataContract:
    columns = [
        {"name": "id", "logical_type": "integer", "required": True, "primary_key": True},
        {"name": "code", "logical_type": "string", "pattern": "^[A-Z]{3}$", "minimum": 1},
        {"name": "price", "logical_type": "decimal", "attribute": "product.price"},
        {"name": "kind", "logical_type": "string"},
    ]
    bindings = [
        {"check": {"type": "not_null"}, "columns": ["id", "code"]},
        {"check": {"type": "unique"}, "columns": ["id"]},
        {"check": {"type": "in_set", "params": {"values": ["a", "b"]}}, "columns": ["kind"]},
        {"check": {"type": "regex", "params": {"pattern": "^[A-Z]+$"}}, "columns": ["code"]},
        {"check": {"type": "compound_unique"}, "columns": ["id", "kind"]},
        {"check": {"type": "row_count", "params": {"threshold": {"must_be_greater_than": 0}}}},
        {"check": {"type": "range", "params": {"min": 0}}, "columns": ["price"]},
        {"rule": "core:not_empty", "columns": ["kind"]},
        {"check": {"type": "not_null"}, "columns": ["kind"], "mostly": 0.9},
        {
            "id": "price_nulls",
            "check": {"type": "metric", "params": {"metric": "nullValues", "threshold": {"must_be": 0}}},
            "columns": ["price"],
        },
        {"check": {"type": "metric", "params": {"metric": "rowCount", "threshold": {"must_be": 1, "must_not_be": 2}}}},
    ]
    return DataContract.model_validate(
        {
            "tenant": "contoso",
            "environment": "dev",
            "id": "products",
            "version": "2.1.0",
            "status": "published",
            "owner": "team@example.com",
            "catalog": "cat@1.0.0",
            "extensions": {"lineage": {"source": "erp"}},
            "datasets": [
                {"name": "products", "entity": "product", "columns": columns, "bindings": bindings},
                {"name": "empty", "columns_from": [{"library": "ref", "column_set": "audit"}]},
            ],
        }
    )


def test_native_contract_exports_valid_odcs() -> None:
    exported = export_odcs(_native())
    assert _schema_errors(exported) == []
    assert (exported["id"], exported["name"], exported["status"]) == ("products", "products", "active")
    obj = exported["schema"][0]
    props = {p["name"]: p for p in obj["properties"]}
    assert props["price"]["logicalType"] == "number"
    dq_column = {"property": "dq.column", "value": {"logical_type": "decimal", "attribute": "product.price"}}
    assert dq_column in props["price"]["customProperties"]
    assert [q["metric"] for q in props["id"]["quality"]] == ["nullValues", "duplicateValues"]
    assert props["kind"]["quality"][0]["arguments"] == {"validValues": ["a", "b"]}
    assert props["code"]["quality"][1]["arguments"] == {"pattern": "^[A-Z]+$"}
    binding_id = {"property": "dq.binding", "value": {"id": "price_nulls"}}
    assert props["price"]["quality"][0]["customProperties"] == [binding_id]
    assert [q["metric"] for q in obj["quality"]] == ["duplicateValues", "rowCount"]
    (leftovers,) = [c["value"] for c in obj["customProperties"] if c["property"] == "dq.rules"]
    assert [b.get("rule") or b["check"]["type"] for b in leftovers] == ["range", "core:not_empty", "not_null", "metric"]


def test_native_contract_survives_export_and_import() -> None:
    contract = _native()
    again = _reimport(contract)
    fields = set(DataContract.model_fields) - {"extensions", "datasets"}
    assert {f: getattr(again, f) for f in fields} == {f: getattr(contract, f) for f in fields}
    assert again.extensions["lineage"] == {"source": "erp"}
    products = again.dataset("products")
    assert products.columns == contract.dataset("products").columns
    assert products.entity == "product"
    assert again.dataset("empty").columns_from == contract.dataset("empty").columns_from
    originals = contract.dataset("products").bindings
    leftovers = [b for b in originals if b.rule or b.mostly or (b.check and b.check.type in ("range", "metric"))]
    assert len(leftovers) == 5
    for binding in leftovers:
        assert binding in products.bindings
    metric_checks = [b.check for b in products.bindings if isinstance(b.check, MetricRule)]
    assert Threshold(must_be=0) in {c.params.threshold for c in metric_checks}
    natural = {(b.check.params.metric, b.columns) for b in products.bindings if isinstance(b.check, MetricRule)}
    assert natural >= {
        (OdcsMetric.NULL_VALUES, ("id",)),
        (OdcsMetric.NULL_VALUES, ("code",)),
        (OdcsMetric.DUPLICATE_VALUES, ("id",)),
        (OdcsMetric.INVALID_VALUES, ("kind",)),
        (OdcsMetric.DUPLICATE_VALUES, ("id", "kind")),
    }
    assert next(b for b in products.bindings if b.odcs_id is None and b.id == "price_nulls").columns == ("price",)
    assert _reimport(again) == again  # stable from the first ODCS form on


def test_export_output_is_plain_yaml_data() -> None:
    exported = export_odcs(_import(_everything()).contract)
    assert yaml.safe_load(yaml.safe_dump(exported)) == exported


# --- header mapping ----------------------------------------------------------------------


def _minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "abc",
        "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "t", "properties": [{"name": "a", "logicalType": "string"}]}],
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("status", "ours", "warned"),
    [
        ("draft", Status.DRAFT, False),
        ("proposed", Status.DRAFT, False),
        ("active", Status.PUBLISHED, False),
        ("Deprecated", Status.DEPRECATED, False),
        ("retired", Status.DEPRECATED, False),
        ("wip", Status.DRAFT, True),
    ],
)
def test_status_mapping(status: str, ours: Status, warned: bool) -> None:
    result = _import(_minimal(status=status))
    assert result.contract.status is ours
    assert any(w.startswith("status:") for w in result.warnings) is warned
    assert export_odcs(result.contract)["status"] == status


@pytest.mark.parametrize(
    ("version", "ours"), [("1.0", "1.0.0"), (2, "2.0.0"), ("v1.2", "1.2.0"), ("3.4.5-rc.1", "3.4.5-rc.1")]
)
def test_versions_are_coerced_and_restored(version: Any, ours: str) -> None:
    contract = _import(_minimal(version=version)).contract
    assert contract.version == ours
    assert export_odcs(contract)["version"] == str(version)


@pytest.mark.parametrize(
    ("changes", "contract_id"),
    [
        ({"id": "53581432-6c55"}, "c_53581432_6c55"),
        ({"name": "My Table!"}, "my_table"),
        ({"id": "Orders-V2"}, "orders_v2"),
    ],
)
def test_contract_ids_are_slugified_and_the_odcs_id_restored(changes: dict[str, Any], contract_id: str) -> None:
    document = _minimal(**changes)
    contract = _import(document).contract
    assert contract.id == contract_id
    assert export_odcs(contract)["id"] == document["id"]


def test_string_description_and_colliding_dataset_names() -> None:
    schema = [{"name": n, "properties": [{"name": "a"}]} for n in ("Orders", "orders", "ORDERS")]
    result = _import(_minimal(description="Plain text.", schema=schema))
    assert result.contract.description == "Plain text."
    assert [d.name for d in result.contract.datasets] == ["orders", "orders_2", "orders_3"]
    assert [o["name"] for o in export_odcs(result.contract)["schema"]] == ["Orders", "orders", "ORDERS"]


def test_unknown_classification_logical_type_and_quality_texts_are_warned_and_restored() -> None:
    prop = {
        "name": "a",
        "logicalType": "uuid",
        "classification": "4",
        "quality": [
            {"metric": "nullValues", "mustBe": 0, "severity": "critical", "unit": "count", "dimension": "validity"}
        ],
    }
    result = _import(_minimal(schema=[{"name": "t", "properties": [prop]}]))
    column = result.contract.datasets[0].columns[0]
    assert (column.logical_type.value, column.classification) == ("string", None)
    (binding,) = result.contract.datasets[0].bindings
    assert binding.check is not None
    assert (binding.check.severity, binding.check.dimension) == (Severity.ERROR, None)
    for start in ("schema[0].properties[0].logicalType", "schema[0].properties[0].classification"):
        assert any(w.startswith(start) for w in result.warnings), start
    for part in ("severity: 'critical'", "unit: unit 'count'", "dimension: 'validity'"):
        assert any(part in w for w in result.warnings), part
    exported = export_odcs(result.contract)["schema"][0]["properties"][0]
    assert (exported["logicalType"], exported["classification"]) == ("uuid", "4")
    item = exported["quality"][0]
    assert (item["severity"], item["unit"], item["dimension"]) == ("critical", "count", "validity")


def test_dq_custom_properties_are_read_back() -> None:
    obj = {
        "name": "t",
        "properties": [{"name": "a", "customProperties": [{"property": "dq.column", "value": {"attribute": "e.a"}}]}],
        "customProperties": [
            {"property": "dq.rules", "value": [{"check": {"type": "not_future"}, "columns": ["a"]}]},
            {"property": "dq.dataset", "value": {"entity": "e"}},
        ],
    }
    result = _import(_minimal(schema=[obj], customProperties=[{"property": "dq.contract", "value": {"owner": "me"}}]))
    contract = result.contract
    dataset = contract.datasets[0]
    assert (contract.owner, dataset.entity, dataset.columns[0].attribute) == ("me", "e", "e.a")
    assert dataset.bindings[0].check is not None and dataset.bindings[0].check.type == "not_future"
    assert not any("customProperties" in w for w in result.warnings)


# --- documents that cannot be converted --------------------------------------------------


def _quality_doc(*items: dict[str, Any], prop: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = [{"name": "a", "quality": list(items)}, {"name": "b"}] if prop is None else [prop]
    return _minimal(schema=[{"name": "t", "properties": properties}])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "contract.odcs.yaml: not a mapping"),
        ("text", "contract.odcs.yaml: not a mapping"),
        (_minimal(kind="DataProduct"), "contract.odcs.yaml: kind: expected DataContract, found 'DataProduct'"),
        (_minimal(apiVersion="v2.2.2"), "contract.odcs.yaml: apiVersion: 'v2.2.2' is not supported"),
        (_minimal(version="latest"), "contract.odcs.yaml: version: 'latest' is not a version"),
        (_minimal(status=None), "contract.odcs.yaml: status: missing"),
        (_minimal(schema={"name": "t"}), "contract.odcs.yaml: schema: must be a list"),
        (_minimal(schema=[{"properties": []}]), "schema[0]: a schema object must be a mapping with a name"),
        (_minimal(tags=[{"a": 1}]), "contract.odcs.yaml: tags.0: Input should be a valid string"),
        (
            _quality_doc({"metric": "nullValues", "mustBe": 0}, {"metric": "foo", "mustBe": 0}),
            "contract.odcs.yaml: schema[0].properties[0].quality[1]: unknown metric 'foo'",
        ),
        (
            _quality_doc({"metric": "rowCount", "mustBeBetween": [5]}),
            "contract.odcs.yaml: schema[0].properties[0].quality[0].mustBeBetween: needs two numbers",
        ),
        (
            _quality_doc({"metric": "rowCount", "mustBeBetween": [9, 5]}),
            "schema[0].properties[0].quality[0].mustBeBetween: lower bound 9 must be below upper bound 5",
        ),
        (
            _quality_doc({"metric": "rowCount", "mustBe": "many"}),
            "schema[0].properties[0].quality[0].mustBe: expected a number, found 'many'",
        ),
        (
            _quality_doc({"metric": "nullValues", "mustBe": 0, "mustBeLessThan": 3}),
            "schema[0].properties[0].quality[0]: give exactly one operator, found mustBe, mustBeLessThan",
        ),
        (
            _quality_doc({"metric": "missingValues", "mustBe": 0}),
            "schema[0].properties[0].quality[0]: metric missingValues needs arguments.missingValues",
        ),
        (
            _quality_doc({"metric": "invalidValues", "mustBe": 0}),
            "schema[0].properties[0].quality[0]: metric invalidValues needs arguments.validValues or arguments.pattern",
        ),
        (
            _quality_doc({"metric": "invalidValues", "mustBe": 0, "arguments": {"pattern": "(["}}),
            "schema[0].properties[0].quality[0].arguments.pattern: invalid regular expression",
        ),
        (_quality_doc({"type": "sql", "mustBe": 0}), "quality[0]: a sql quality item needs a query"),
        (_quality_doc({"type": "magic"}), "schema[0].properties[0].quality[0].type: unknown quality type 'magic'"),
        (
            _minimal(schema=[{"name": "t", "properties": [{"name": "a", "quality": ["nullValues"]}]}]),
            "must be a mapping",
        ),
        (_quality_doc(prop={"name": "a", "quality": {}}), "schema[0].properties[0].quality: must be a list"),
        (
            _minimal(schema=[{"name": "t", "properties": [{"name": "a"}, {"name": "a"}]}]),
            "schema[0].properties[1]: duplicate property 'a'",
        ),
        (
            _minimal(
                schema=[
                    {
                        "name": "t",
                        "properties": [{"name": "a"}],
                        "quality": [
                            {"metric": "duplicateValues", "mustBe": 0, "arguments": {"properties": ["a", "zz"]}}
                        ],
                    }
                ]
            ),
            "schema[0].quality[0].arguments.properties: unknown properties ['zz']",
        ),
        (
            _minimal(schema=[{"name": "t", "properties": [{"name": "a", "required": "sometimes"}]}]),
            "schema[0].properties[0]: required: Input should be a valid boolean",
        ),
    ],
)
def test_bad_documents_raise_interop_errors_naming_the_path(document: Any, message: str) -> None:
    with pytest.raises(InteropError) as caught:
        _import(document)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.one_line().startswith("interop_failed: ")


def test_unplaceable_items_and_sql_without_operator_are_kept_raw() -> None:
    items = [{"metric": "nullValues", "mustBe": 0}, {"metric": "rowCount"}, {"type": "sql", "query": "SELECT 1"}]
    result = _import(_minimal(schema=[{"name": "t", "properties": [{"name": "a"}], "quality": items}]))
    assert result.contract.datasets[0].bindings == ()
    assert any("schema[0].quality[0]: metric nullValues needs a property here" in w for w in result.warnings)
    assert any("schema[0].quality[1]: rowCount without an operator" in w for w in result.warnings)
    assert any("schema[0].quality[2]: sql check without an operator" in w for w in result.warnings)
    assert export_odcs(result.contract)["schema"][0]["quality"] == items


def test_unread_arguments_are_carried() -> None:
    item = {"metric": "duplicateValues", "mustBe": 0, "arguments": {"properties": ["a", "b"], "sample": 10}}
    result = _import(_quality_doc(item))
    (binding,) = result.contract.datasets[0].bindings
    assert binding.columns == ("a",)  # on a property, the property is the column
    assert "quality.arguments.properties: not interpreted, carried through on export" in result.warnings
    assert "quality.arguments.sample: not interpreted, carried through on export" in result.warnings
    exported = export_odcs(result.contract)["schema"][0]["properties"][0]["quality"][0]
    assert exported["arguments"] == {"properties": ["a", "b"], "sample": 10}


def test_a_document_containing_itself_is_refused() -> None:
    document = yaml.safe_load(
        "&doc {kind: DataContract, apiVersion: v3.1.0, id: x, version: 1.0.0, status: a, me: *doc}"
    )
    with pytest.raises(InteropError, match="contains itself"):
        _import(document)


def test_the_input_document_is_not_modified() -> None:
    document = _everything()
    before = copy.deepcopy(document)
    _import(document)
    assert document == before


# --- files ---------------------------------------------------------------------------------


def test_load_odcs_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "contract.odcs.yaml"
    path.write_text(yaml.safe_dump(_quality_doc({"metric": "foo", "mustBe": 0})), encoding="utf-8")
    with pytest.raises(InteropError) as caught:
        load_odcs_file(path, tenant="contoso", environment="dev")
    assert f"{path}: schema[0].properties[0].quality[0]: unknown metric 'foo'" in str(caught.value)


@pytest.mark.parametrize("text", ["kind: [unclosed", "a: 1\n---\nb: 2\n"])
def test_load_odcs_file_refuses_bad_yaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        InteropError, match=r"bad\.odcs\.yaml: (line \d+, column \d+: invalid YAML|expected one YAML document)"
    ):
        load_odcs_file(path, tenant="contoso", environment="dev")


def test_load_odcs_file_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InteropError, match="cannot read"):
        load_odcs_file(tmp_path / "missing.yaml", tenant="contoso", environment="dev")


def test_tenant_and_environment_parameters_are_validated() -> None:
    with pytest.raises(InteropError, match="environment"):
        import_odcs(_minimal(), tenant="contoso", environment="staging")


def test_models_accept_what_the_importer_builds() -> None:
    """The exported form of a placeholder-free contract needs no placeholder on the way back."""
    dataset = DatasetSpec(name="t", columns=(ColumnSpec(name="a"),))
    contract = DataContract.model_validate(
        {"tenant": "x", "environment": "dev", "id": "c", "version": "1.0.0", "datasets": [dataset]}
    )
    result = _import(export_odcs(contract))
    assert not any(PLACEHOLDER_COLUMN in w for w in result.warnings)
    assert result.contract.datasets[0].columns == dataset.columns


def test_quality_name_is_kept_for_the_rule_id_and_written_back() -> None:
    items = [
        {"metric": "nullValues", "mustBe": 0, "name": "No missing a"},
        {"metric": "nullValues", "mustBe": 0, "id": "a_nulls", "name": "a has no nulls"},
        {"metric": "nullValues", "mustBe": 0},
    ]
    prop = {"name": "a", "logicalType": "string", "quality": items}
    contract = _import(_minimal(schema=[{"name": "t", "properties": [prop]}])).contract
    named, with_id, bare = contract.datasets[0].bindings
    assert (named.odcs_name, named.odcs_id) == ("No missing a", None)
    assert (with_id.odcs_name, with_id.odcs_id) == ("a has no nulls", "a_nulls")
    assert (bare.odcs_name, bare.odcs_id) == (None, None)
    exported = export_odcs(contract)["schema"][0]["properties"][0]["quality"]
    assert [item.get("name") for item in exported] == ["No missing a", "a has no nulls", None]
    assert _reimport(contract) == contract


def test_sla_latency_becomes_a_freshness_rule_and_the_section_is_written_back() -> None:
    document = yaml.safe_load((ODCS_EXAMPLES / "all__full-example.odcs.yaml").read_text(encoding="utf-8"))
    assert document["slaProperties"][0]["element"] == "tab1.txn_ref_dt"  # no object of the example is tab1
    document["slaProperties"][0]["element"] = "tbl.txn_ref_dt"  # object name . the property's physical name
    result = _import(document)
    tbl = result.contract.datasets[0]
    (fresh,) = [b for b in tbl.bindings if isinstance(b.check, FreshnessRule)]
    assert isinstance(fresh.check, FreshnessRule)
    column = "transaction_reference_date"
    assert (fresh.check.params.column, fresh.check.params.max_age, fresh.columns) == (column, "P4D", (column,))
    assert not any(w.startswith("slaProperties[0]") for w in result.warnings)
    assert any(w.startswith("slaProperties[1]: property 'generalAvailability' is not checked") for w in result.warnings)
    exported = export_odcs(result.contract)
    assert exported["slaProperties"] == json.loads(json.dumps(document["slaProperties"], default=str))
    assert "dq.rules" not in json.dumps(exported)  # the rule is not written twice
    assert _reimport(result.contract) == result.contract


@pytest.mark.parametrize(
    ("sla", "max_age", "odcs_id"),
    [
        ({"property": "freshness", "value": 6, "unit": "h", "element": "t.a"}, "PT6H", None),
        ({"property": "latency", "value": 30, "unit": "minutes", "element": "a", "id": "s1"}, "PT30M", "s1"),
        ({"property": "latency", "value": 2, "unit": "days"}, "P2D", None),  # slaDefaultElement
    ],
)
def test_sla_units_elements_and_ids(sla: dict[str, Any], max_age: str, odcs_id: str | None) -> None:
    contract = _import(_minimal(slaProperties=[sla], slaDefaultElement="t.a")).contract
    (binding,) = contract.datasets[0].bindings
    assert isinstance(binding.check, FreshnessRule) and binding.check.params.max_age == max_age
    assert (binding.id, binding.odcs_id, binding.columns) == (None, odcs_id, ("a",))


@pytest.mark.parametrize(
    ("sla", "fragment"),
    [
        ({"property": "latency", "value": 4, "unit": "y", "element": "t.a"}, "its value and unit"),
        ({"property": "latency", "value": 4, "unit": "d", "element": "other.a"}, "its element"),
        ({"property": "latency", "value": 4, "unit": "d"}, "its element"),
        ({"property": "retention", "value": 3, "unit": "y"}, "property 'retention' is not checked by DQ"),
    ],
)
def test_sla_properties_dq_cannot_check_stay_warnings(sla: dict[str, Any], fragment: str) -> None:
    result = _import(_minimal(slaProperties=[sla]))
    assert result.contract.datasets[0].bindings == ()
    assert any(w.startswith("slaProperties[0]: ") and fragment in w for w in result.warnings), result.warnings
    assert export_odcs(result.contract)["slaProperties"] == [sla]


def test_logical_type_object_on_a_schema_object_is_not_warned_about() -> None:
    schema = [{"name": "t", "logicalType": "object", "properties": [{"name": "a", "logicalType": "string"}]}]
    result = _import(_minimal(schema=schema))
    assert not [w for w in result.warnings if "logicalType" in w], result.warnings
    assert export_odcs(result.contract)["schema"][0]["logicalType"] == "object"
    other = _import(_minimal(schema=[{**schema[0], "logicalType": "array"}]))
    assert "schema.logicalType: not interpreted, carried through on export" in other.warnings
