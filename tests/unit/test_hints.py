"""Remediation hints: one default per rule type, authored overrides checked when loaded, rendered for failing
rules only from the result's own (masked) numbers and samples, on hand-made and generated data."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract, ReferenceDatasetSpec
from dq_core.errors import HintError
from dq_core.libraries.cleansing import CleansingStepSpec
from dq_core.libraries.governance import Role
from dq_core.libraries.rules import RULE_TYPES, RuleLibrary, rule_type_name
from dq_core.loading.loader import FileProblems, parse_object
from dq_core.results.csv_export import to_csv
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate
from dq_core.validation.hints import (
    DEFAULT_HINTS,
    RESULT_PLACEHOLDERS,
    HintTemplateError,
    bounds_text,
    check_hint,
    hint_placeholders,
    render_hint,
    with_hint,
)
from dq_core.validation.masking import MASK
from dq_core.validation.results import RuleResult, RuleStatus, Sample, ValidationResult
from services.workspace import check_workspace, workspace_from_directory
from tests.conftest import ROOT
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SCOPE = {"tenant": "t", "environment": "dev", "version": "1.0.0"}


def _params_of(model: Any) -> set[str]:
    return set(model.model_fields["params"].annotation.model_fields)


# --- the registry ---------------------------------------------------------------------------


def test_every_rule_type_of_the_union_has_exactly_one_default_hint_that_checks() -> None:
    names = [rule_type_name(model) for model in RULE_TYPES]
    assert sorted(DEFAULT_HINTS) == sorted(names)
    for model in RULE_TYPES:
        name = rule_type_name(model)
        assert check_hint(DEFAULT_HINTS[name], name, _params_of(model)) == DEFAULT_HINTS[name]


def test_the_defaults_point_at_settings_that_exist() -> None:
    """Every `word` a default hint quotes is a cleansing step type, a rule or contract field, or a setting."""
    step_models = CleansingStepSpec.__origin__.__args__  # type: ignore[attr-defined]
    steps = {rule_type_name(model) for model in step_models}
    fields: set[str] = set()
    for model in (*step_models, DataContract, ReferenceDatasetSpec):
        fields |= set(model.model_fields)
    for model in RULE_TYPES:
        fields |= _params_of(model)
    for name, template in DEFAULT_HINTS.items():
        for quoted in re.findall(r"`([^`]+)`", template):
            word = quoted.split(":")[0].strip()
            assert word in steps | fields, f"{name}: `{quoted}` names no step, field or setting"


# --- the template language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{regoin} is wrong", "unknown hint placeholder {regoin}"),
        ("{column.__class__}", "not a plain name"),
        ("{values[0]}", "not a plain name"),
        ("{} rows", "not a plain name"),
        ("{0} rows", "not a plain name"),
        ("{column!r}", "conversion or format spec"),
        ("{unexpected_percent:.1f}%", "conversion or format spec"),
        ("{column:{pattern}}", "conversion or format spec"),
        ("open { brace", "is not a template"),
        ("close } brace", "is not a template"),
    ],
)
def test_a_template_that_is_not_a_plain_name_lookup_is_refused(template: str, fragment: str) -> None:
    with pytest.raises(HintTemplateError) as caught:
        check_hint(template, "regex", {"pattern"})
    assert fragment in str(caught.value)


def test_placeholders_are_the_result_fields_and_the_types_own_parameters() -> None:
    assert hint_placeholders("{{literal}} {samples} and {pattern}") == ["samples", "pattern"]
    assert check_hint("{pattern}: {samples}", "regex", {"pattern"})
    with pytest.raises(HintTemplateError, match=r"\{pattern\} for rule type 'not_null'"):
        check_hint("{pattern}", "not_null", set())
    for name in RESULT_PLACEHOLDERS:
        assert check_hint(f"{{{name}}}", "not_null", set())


def test_rendering_is_a_lookup_that_never_raises_nor_reaches_an_attribute() -> None:
    values = {"column": "phone"}
    assert render_hint("{column.__class__.__mro__}", values) == "none"  # never evaluated
    assert render_hint("unbalanced {", values) == "unbalanced {"
    assert render_hint("{{column}} is {column}", values) == "{column} is phone"
    assert len(render_hint("{column}" * 400, values)) == 1000


# --- authored hints are checked when loaded -------------------------------------------------


def _library(hint: str) -> dict[str, Any]:
    rule = {"id": "phone_e164", "type": "regex", "params": {"pattern": "^\\+"}, "hint": hint}
    return {"kind": "rule_library", "id": "lib", **SCOPE, "rules": [rule]}


def test_a_library_template_with_an_unknown_placeholder_is_refused_at_load_with_its_path() -> None:
    with pytest.raises(FileProblems) as caught:
        parse_object(_library("{unexpected_count} bad, region {region}"), "rules.yaml")
    assert caught.value.path == "rules[0].hint"
    assert "unknown hint placeholder {region} for rule type 'regex'" in caught.value.message
    assert parse_object(_library("{unexpected_count} bad: {pattern}"), "rules.yaml").kind.value == "rule_library"


def test_an_inline_binding_hint_is_checked_against_its_check() -> None:
    with pytest.raises(ValidationError, match=r"unknown hint placeholder \{pattern\}"):
        bundle_of({"check": {"type": "not_null"}, "columns": ["n"], "hint": "{pattern}"})


def _contract(binding: dict[str, Any]) -> dict[str, Any]:
    dataset = {"name": "data", "columns": [{"name": "phone", "logical_type": "string"}], "bindings": [binding]}
    return {"kind": "contract", "id": "c", **SCOPE, "rule_libraries": ["lib@1.0.0"], "datasets": [dataset]}


def _resolve(library_hint: str, binding: dict[str, Any]) -> Any:
    index = InMemoryConfigIndex()
    index.add(RuleLibrary.model_validate(_library(library_hint)), "lib.yaml")
    contract = DataContract.model_validate(_contract(binding))
    index.add(contract, "contract.yaml")
    return resolve_bundle(index, contract, location="contract.yaml")


def test_a_binding_overriding_a_template_hint_is_checked_when_the_contract_resolves() -> None:
    binding = {"id": "p", "rule": "phone_e164", "columns": ["phone"], "hint": "{unexpected_count} in {regoin}"}
    with pytest.raises(HintError) as caught:
        _resolve("{pattern}", binding)
    assert caught.value.code == "hint_invalid"
    assert caught.value.path == "datasets[0].bindings[0].hint"
    assert caught.value.one_line().startswith("hint_invalid: contract.yaml: datasets[0].bindings[0].hint: unknown")


def test_libraries_check_names_the_bad_placeholder_of_a_contract_binding(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text(yaml.safe_dump(_library("{pattern}")))
    binding = {"id": "p", "rule": "phone_e164", "columns": ["phone"], "hint": "set {default_region}"}
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(_contract(binding)))
    problems = check_workspace(workspace_from_directory(tmp_path))
    assert [(p.code, p.path) for p in problems] == [("hint_invalid", "datasets[0].bindings[0].hint")]
    assert "{default_region}" in problems[0].message and "{default_phone_region}" in problems[0].message


# --- which hint a result gets ---------------------------------------------------------------


PHONES = pl.DataFrame({"phone": ["+441234567890", "07700 900123", "0044 20 7946 0958"]})


@pytest.mark.parametrize(
    ("library_hint", "binding_hint", "expected"),
    [
        (None, None, "2 values of phone do not match ^\\+ (e.g. 07700 900123, 0044 20 7946 0958)"),
        ("{unexpected_count} of {element_count} phones: {pattern}", None, "2 of 3 phones: ^\\+"),
        ("{unexpected_count} of {element_count} phones", "binding: {samples} ({unexpected_percent}%)", "binding: "),
    ],
)
def test_the_binding_hint_wins_over_the_template_which_wins_over_the_default(
    library_hint: str | None, binding_hint: str | None, expected: str
) -> None:
    library = _library(library_hint or "")
    if library_hint is None:
        del library["rules"][0]["hint"]
    binding: dict[str, Any] = {"id": "p", "rule": "phone_e164", "columns": ["phone"]}
    if binding_hint is not None:
        binding["hint"] = binding_hint
    index = InMemoryConfigIndex()
    index.add(RuleLibrary.model_validate(library), "lib.yaml")
    contract = DataContract.model_validate(_contract(binding))
    index.add(contract, "contract.yaml")
    result = validate(PHONES, resolve_bundle(index, contract), ValidationContext(now=NOW)).by_id()["p"]
    assert result.status is RuleStatus.FAILED
    assert result.hint is not None and result.hint.startswith(expected), result.hint
    if binding_hint is not None:
        assert result.hint == "binding: 07700 900123, 0044 20 7946 0958 (66.67%)"


def test_only_failing_rules_get_a_hint() -> None:
    bundle = bundle_of(
        check("regex", ["s"], "fails", params={"pattern": "^a"}),
        check("regex", ["s"], "passes", params={"pattern": "."}),
        check("regex", ["n"], "errors", params={"pattern": "."}),  # n is not in the data
        check("row_count", [], "rows", params={"threshold": {"must_be_between": [5, 10]}}),
    )
    frame = pl.DataFrame({"s": ["a", "b"]})
    results = validate(frame, bundle, ValidationContext(now=NOW)).by_id()
    assert results["fails"].hint is not None and "(e.g. b)" in results["fails"].hint
    assert results["passes"].hint is None
    assert results["errors"].status is RuleStatus.ERROR and results["errors"].hint is None
    assert results["rows"].hint == (
        "the data has 2 rows, expected between 5 and 10; check that the extract is complete (not truncated,"
        " not delivered twice)"
    )


MASKED_RULES = (
    check("not_regex", ["phone"], "deny", params={"pattern": "^0"}),
    check("column_comparison", rule_id="pair", params={"left": "phone", "op": "!=", "right": "region"}),
)


@pytest.mark.parametrize(
    ("roles", "deny", "pair"),
    [
        (frozenset(), f"(e.g. {MASK}, {MASK})", f"(e.g. (phone={MASK}, region=GB))"),
        (frozenset({Role.ADMIN}), "(e.g. 0000, 07700 900123)", "(e.g. (phone=GB, region=GB))"),
    ],
)
def test_a_classified_column_shows_only_masked_samples_in_its_hint(
    roles: frozenset[Role], deny: str, pair: str
) -> None:
    """Samples come from the result, which validation masked unless the caller holds a raw-value role."""
    columns = [{"name": "phone", "classification": "confidential"}, {"name": "region"}]
    frame = pl.DataFrame({"phone": ["0000", "07700 900123", "GB"], "region": ["FR", "FR", "GB"]})
    results = validate(frame, bundle_of(*MASKED_RULES, columns=columns), ValidationContext(caller_roles=roles))
    hints = {rule.rule_id: rule.hint or "" for rule in results.rules}
    assert deny in hints["deny"] and pair in hints["pair"]
    if not roles:
        assert not any(raw in hint for raw in ("0000", "07700") for hint in hints.values())


def test_with_hint_shows_five_samples_and_counts_the_rest() -> None:
    samples = tuple(Sample(row=i, values={"code": f"x{i}"}) for i in range(8))
    result = RuleResult(
        rule_id="r", type="in_set", columns=("code",), severity="error", status=RuleStatus.FAILED,
        unexpected_count=8, unexpected_samples=samples, params={"values": ["a", "b"]},
    )  # fmt: skip
    hinted = with_hint(result, "{samples} not in {values}; {observed_value}")
    assert hinted.hint == "x0, x1, x2, x3, x4, … 3 more not in [a, b]; n/a"
    assert with_hint(result.model_copy(update={"status": RuleStatus.PASSED}), "{samples}").hint is None


# --- generated data -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_hints_carry_the_counts_of_generated_data(seed: int) -> None:
    rng = random.Random(seed)
    rows = rng.randint(200, 2000)
    codes = [rng.choice(["a", "b", "c", "zz", None]) for _ in range(rows)]
    amounts = [rng.uniform(-50, 150) for _ in range(rows)]
    frame = pl.DataFrame({"code": codes, "x": amounts})
    bundle = bundle_of(
        check("in_set", ["code"], "codes", params={"values": ["a", "b"]}),
        check("range", ["x"], "amounts", params={"min": 0, "max": 100}, hint="{unexpected_count}/{element_count} x"),
        check("unique", ["code"], "unique_codes"),
    )
    results = validate(frame, bundle, ValidationContext(now=NOW)).by_id()
    bad_codes = sum(code in ("c", "zz") for code in codes)
    non_null = sum(code is not None for code in codes)
    assert results["codes"].hint is not None
    assert results["codes"].hint.startswith(f"{bad_codes} values of code are not one of [a, b] (e.g. ")
    first = next(code for code in codes if code in ("c", "zz"))
    assert f"(e.g. {first}, " in results["codes"].hint
    assert f"{100 * bad_codes / non_null:.2f}" == f"{results['codes'].unexpected_percent:.2f}"
    outside = sum(not 0 <= x <= 100 for x in amounts)
    assert results["amounts"].hint == f"{outside}/{rows} x"
    assert results["unique_codes"].hint is not None
    assert results["unique_codes"].hint.startswith(f"{non_null} rows share their code with another row")


def test_the_demo_library_hint_checks() -> None:
    library = parse_object(yaml.safe_load((ROOT / "libraries/contoso/dev/rules/core_rules.yaml").read_text()), "core")
    assert isinstance(library, RuleLibrary)
    phone = next(rule for rule in library.rules if rule.id == "phone_e164")
    assert phone.hint is not None and "{default_phone_region}" in phone.hint


def test_result_csv_carries_the_hint_of_a_failing_rule_and_defuses_formulas() -> None:
    failing = RuleResult(
        rule_id="r", type="regex", columns=("s",), severity="error", status=RuleStatus.FAILED, hint="-1 is wrong"
    )
    passing = failing.model_copy(update={"rule_id": "p", "status": RuleStatus.PASSED, "hint": None})
    rows = list(csv.DictReader(io.StringIO(to_csv(ValidationResult.of([failing, passing])))))
    assert [(row["rule_id"], row["hint"]) for row in rows] == [("r", "'-1 is wrong"), ("p", "")]


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"min": 0}, "≥ 0"),
        ({"max": 5, "max_inclusive": False}, "< 5"),
        ({"min": 1, "max": 120}, "between 1 and 120"),
        ({"min": 1, "max": 120, "min_inclusive": False}, "> 1 and ≤ 120"),
        ({"min": "2020-01-01"}, "≥ 2020-01-01"),
        ({}, "n/a"),
    ],
)
def test_bounds_read_as_words(params: dict[str, Any], text: str) -> None:
    assert bounds_text(params) == text
