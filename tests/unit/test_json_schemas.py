"""The editors' JSON Schemas (schemas/) are the models': committed as generated, they accept
every file the loader accepts (the demo libraries, ODCS imports, generated libraries, the
reference's examples) and flag what it refuses. The demo YAML files name their schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from dq_core.authoring import examples
from dq_core.authoring.json_schema import all_schema_files, schema_file_name, schema_of
from dq_core.config.base import Kind
from dq_core.errors import LoadError
from dq_core.interop.odcs import load_odcs_file
from dq_core.loading.loader import config_files, load_file, parse_object, read_document
from dq_core.loading.readers import read_yaml
from dq_core.loading.writers import to_authoring
from tests.conftest import DEMO, LIBRARIES, ODCS_EXAMPLES, ROOT
from tests.unit.test_canonical import rule_library

SCHEMAS = ROOT / "schemas"
MODELINE = "# yaml-language-server: $schema="
HEADER = {"tenant": "contoso", "environment": "dev", "id": "x", "version": "1.0.0"}


@cache
def _validator(kind: Kind) -> Draft202012Validator:
    return Draft202012Validator(schema_of(kind))


def _errors(data: Any) -> list[str]:
    return [
        f"{list(error.absolute_path)}: {error.message}" for error in _validator(Kind(data["kind"])).iter_errors(data)
    ]


def test_the_committed_schemas_are_what_the_models_give() -> None:
    expected = all_schema_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMAS.glob("*.json")}
    assert sorted(committed) == sorted(expected)
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert not stale, f"stale: {stale}: run `dq schema --all --out schemas/` and commit them"


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_each_schema_is_a_valid_draft_2020_12_schema_with_an_id(kind: Kind) -> None:
    schema = json.loads((SCHEMAS / schema_file_name(kind)).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(kind.value)
    assert schema["title"] and "kind" in schema["required"]


@pytest.mark.parametrize("path", config_files(LIBRARIES), ids=lambda p: p.name)
def test_every_demo_file_validates_against_its_schema(path: Path) -> None:
    data, _ = read_document(path)  # YAML, JSON and XLSX alike
    assert _errors(data) == []
    written_out = load_file(path).model_dump(mode="json", by_alias=True)  # every default spelled out
    assert _errors(written_out) == []


@pytest.mark.parametrize("path", sorted(LIBRARIES.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_demo_yaml_names_its_schema_on_the_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE)
    target = (path.parent / first.removeprefix(MODELINE)).resolve()
    assert target == SCHEMAS / schema_file_name(load_file(path).kind)
    assert target.is_file()


def test_json_files_cannot_name_their_schema() -> None:
    """What docs/configuration.md says: the models refuse unknown keys, ``$schema`` too."""
    document = json.loads((DEMO / "governance" / "pii.json").read_text(encoding="utf-8"))
    with pytest.raises(LoadError, match=r"\$schema: unknown field"):
        parse_object({"$schema": "../../../../schemas/governance_profile.schema.json", **document}, "pii.json")


@pytest.mark.parametrize("path", sorted(ODCS_EXAMPLES.glob("*.odcs.yaml")), ids=lambda p: p.name)
def test_contracts_imported_from_odcs_validate(path: Path) -> None:
    contract = load_odcs_file(path, tenant="contoso", environment="dev").contract
    assert _errors(to_authoring(contract)) == []
    assert _errors(contract.model_dump(mode="json", by_alias=True)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_library())
def test_every_rule_library_the_loader_accepts_the_schema_accepts(data: dict[str, Any]) -> None:
    parse_object(data, "generated")
    assert _errors(data) == []


def test_the_reference_examples_validate_in_their_libraries() -> None:
    def parsed(table: dict[str, str]) -> list[Any]:
        return [read_yaml(text, "example") for text in table.values()]

    assert _errors({"kind": "rule_library", **HEADER, "rules": parsed(examples.RULE_EXAMPLES)}) == []
    assert _errors({"kind": "cleansing_policy", **HEADER, "steps": parsed(examples.STEP_EXAMPLES)}) == []
    assert _errors({"kind": "action_library", **HEADER, "actions": parsed(examples.ACTION_EXAMPLES)}) == []


def test_what_the_loader_accepts_beyond_the_fields() -> None:
    """References as ``id@version`` or a mapping; the ODCS spelling of threshold operators."""
    library = {
        "kind": "rule_library",
        **HEADER,
        "extends": ["core_rules@1.0.0", {"id": "base", "version": "2.1.0-rc.1"}],
        "rules": [{"id": "r", "type": "row_count", "params": {"threshold": {"mustBeGreaterThan": 0}}}],
    }
    parse_object(library, "r.yaml")
    assert _errors(library) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"rules": [{"id": "a", "type": "not_nul"}]}, "['rules', 0]"),
        ({"rules": [{"id": "a", "type": "not_null", "mostly": 1.5}]}, "['rules', 0]"),
        ({"rules": [{"id": "a", "type": "regex", "params": {}}]}, "['rules', 0]"),
        ({"rules": [{"id": "a", "type": "range", "params": {"minimum": 0}}]}, "['rules', 0]"),
        ({"extends": ["core_rules"]}, "['extends', 0]"),
        ({"version": 1.1}, "['version']"),
        ({"owners": "me"}, "[]"),
    ],
    ids=[
        "unknown-type",
        "mostly-above-1",
        "missing-pattern",
        "unknown-param",
        "unpinned-ref",
        "number-version",
        "extra",
    ],
)
def test_what_the_loader_refuses_the_schema_flags(change: dict[str, Any], where: str) -> None:
    library = {"kind": "rule_library", **HEADER, **change}
    with pytest.raises(LoadError):
        parse_object(library, "r.yaml")
    assert any(error.startswith(where) for error in _errors(library)), _errors(library)


def test_a_file_without_kind_is_flagged() -> None:
    errors = list(_validator(Kind.RULE_LIBRARY).iter_errors({**HEADER}))
    assert any("'kind' is a required property" in error.message for error in errors)
