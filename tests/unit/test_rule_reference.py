"""docs/rules.md is the models, rendered: it fails here when they differ, and every example in
it is a valid instance of its model."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from dq_core.authoring import examples
from dq_core.authoring.fields import field_description, model_description
from dq_core.authoring.reference import COMMAND, DATASETS_TEXT, PAGE, render_rules_md, type_text
from dq_core.contracts.models import DatasetSpec, RuleBinding
from dq_core.libraries.actions import ActionCommon, ActionSpec, DeliveryPolicy
from dq_core.libraries.cleansing import CleansingStepSpec, StepCommon
from dq_core.libraries.rules import RULE_TYPES, LengthParams, RegexParams, RuleCommon, RuleSpec, Threshold
from dq_core.libraries.schemas import ColumnSpec
from dq_core.loading.readers import read_yaml
from tests.conftest import ROOT

STEPS: tuple[type[BaseModel], ...] = CleansingStepSpec.__origin__.__args__  # type: ignore[attr-defined]
ACTIONS: tuple[type[BaseModel], ...] = ActionSpec.__origin__.__args__  # type: ignore[attr-defined]


def _tags(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(getattr(model.model_fields["type"].annotation, "__args__", ()))


def test_the_committed_page_is_what_the_models_give() -> None:
    committed = (ROOT / PAGE).read_text(encoding="utf-8")
    assert committed == render_rules_md(), f"{PAGE} differs from the models: run `{COMMAND}` and commit it"


def test_the_page_follows_a_change_of_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the drift test relies on: the page is read from the models, not from a copy."""
    info = RegexParams.model_fields["pattern"]
    monkeypatch.setattr(info, "description", "A pattern, described differently.")
    changed = render_rules_md()
    assert "A pattern, described differently." in changed
    assert changed != (ROOT / PAGE).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("union", "members", "table"),
    [
        (RuleSpec, RULE_TYPES, examples.RULE_EXAMPLES),
        (CleansingStepSpec, STEPS, examples.STEP_EXAMPLES),
        (ActionSpec, ACTIONS, examples.ACTION_EXAMPLES),
    ],
    ids=["rules", "steps", "actions"],
)
def test_every_type_has_one_example_and_it_is_valid(
    union: Any, members: tuple[type[BaseModel], ...], table: dict[str, str]
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(union)
    assert sorted(table) == sorted(_tags(model)[0] for model in members)
    for tag, text in table.items():
        parsed = adapter.validate_python(read_yaml(text, f"example {tag}"))
        assert parsed.type == tag


def test_the_bindings_example_is_valid() -> None:
    bindings = read_yaml(examples.BINDINGS_EXAMPLE, "bindings example")["bindings"]
    assert [RuleBinding.model_validate(item).id for item in bindings] == [
        "volume",
        "segment_values",
        "email_completeness",
    ]


def _documented() -> list[tuple[type[BaseModel], str]]:
    """Every field the page has a row for."""
    models: list[type[BaseModel]] = [ColumnSpec, RuleCommon, Threshold, StepCommon, ActionCommon, DeliveryPolicy]
    models += [model.model_fields["params"].annotation for model in RULE_TYPES]  # type: ignore[misc]
    models += [*STEPS, *ACTIONS]
    return [(model, name) for model in models for name in model.model_fields if name not in ("type", "params")]


def test_every_parameter_says_what_it_means() -> None:
    undocumented = [f"{model.__name__}.{name}" for model, name in _documented() if not field_description(model, name)]
    assert not undocumented, "give these a Field(description=...) or a comment after them: " + ", ".join(undocumented)


def test_every_rule_type_says_what_it_checks_and_counts() -> None:
    for model in RULE_TYPES:
        paragraphs = model_description(model).split("\n\n")
        assert len(paragraphs) >= 2, model.__name__
        assert paragraphs[-1].startswith("Counts:"), model.__name__
    for model in (*STEPS, *ACTIONS):
        assert model_description(model), model.__name__


def test_the_page_has_a_section_and_an_index_entry_for_every_type() -> None:
    page = render_rules_md()
    for kind, members in (("rule", RULE_TYPES), ("step", STEPS), ("action", ACTIONS)):
        for model in members:
            for tag in _tags(model):
                assert f'<a id="{kind}-{tag}"></a>' in page
                assert f"(#{kind}-{tag})" in page
    assert "| `must_be_less_than` / `mustBeLessThan` | number |" in page


def test_types_read_as_words() -> None:
    schema = LengthParams.model_json_schema()
    assert type_text(schema["properties"]["min"], {}) == "integer ≥ 0"
    assert type_text({"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}, {}) == (
        "non-empty list of non-empty strings"
    )
    assert type_text({"anyOf": [{"enum": ["a", "b"]}, {"const": "c"}, {"type": "null"}]}, {}) == "one of `a`, `b`, `c`"
    assert type_text({"type": "number", "exclusiveMinimum": 0, "maximum": 60}, {}) == "number > 0, ≤ 60"


def test_the_datasets_section_names_every_field_of_a_dataset_and_a_binding() -> None:
    """Datasets and bindings are described in prose: a field added to the models must be added there."""
    section = DATASETS_TEXT
    for model in (DatasetSpec, RuleBinding):
        for name in model.model_fields:
            assert f"`{name}`" in section, f"{model.__name__}.{name} is not described in {PAGE}"
    assert all(f"| `{name}` |" in render_rules_md() for name in ColumnSpec.model_fields)
