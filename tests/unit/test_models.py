"""The configuration model: strict, normalised, and honest about secrets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dq_core.config.base import Ref, Status
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER, MODEL_BY_KIND
from dq_core.jobs.models import check_cron
from dq_core.libraries.actions import ActionLibrary
from dq_core.libraries.rules import RULE_TYPES, RuleLibrary, Scope, Threshold, rule_type_name

HEADER = {"tenant": "Contoso", "environment": "dev", "id": " Core_Rules ", "version": "1.0.0"}


def _rules(*rules: dict[str, Any]) -> RuleLibrary:
    return RuleLibrary.model_validate({**HEADER, "rules": list(rules)})


def test_nan_and_infinity_are_refused() -> None:
    with pytest.raises(ValidationError):
        Threshold.model_validate({"must_be_less_than": float("nan")})


def test_numeric_versions_are_refused() -> None:
    with pytest.raises(ValidationError, match="read as a number"):
        RuleLibrary.model_validate({**HEADER, "version": 1.10})  # YAML's 1.10 is the float 1.1


def test_ids_are_normalised() -> None:
    library = RuleLibrary.model_validate(HEADER)
    assert (library.tenant, library.id, library.version, library.status) == (
        "contoso",
        "core_rules",
        "1.0.0",
        Status.DRAFT,
    )


@pytest.mark.parametrize(
    "bad", [{"id": "9lives"}, {"version": "1.0"}, {"version": "v1.0.0"}, {"environment": "staging"}]
)
def test_bad_header_fields_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RuleLibrary.model_validate({**HEADER, **bad})


def test_models_are_frozen_and_forbid_unknown_keys() -> None:
    library = _rules()
    with pytest.raises(ValidationError):
        library.id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        RuleLibrary.model_validate({**HEADER, "colour": "red"})


def test_every_kind_has_one_model_in_the_union() -> None:
    for kind, model in MODEL_BY_KIND.items():
        assert model.model_fields["kind"].default is kind
        parsed = CONFIG_OBJECT_ADAPTER.validate_python({**HEADER, "kind": kind.value, **_minimal(kind.value)})
        assert type(parsed) is model


def _minimal(kind: str) -> dict[str, Any]:
    return {
        "contract": {"datasets": [{"name": "d", "columns": [{"name": "c"}]}]},
        "job_definition": {"contract": "c@1.0.0"},
    }.get(kind, {})


def test_every_rule_type_is_one_union_member_with_a_scope() -> None:
    names = [rule_type_name(model) for model in RULE_TYPES]
    assert len(names) == len(set(names))
    assert {
        "not_null",
        "unique",
        "regex",
        "range",
        "compound_unique",
        "row_count",
        "custom_sql",
        "metric",
        "referential",
    } <= set(names)
    for model in RULE_TYPES:
        assert model.model_fields["params"].annotation.scope in set(Scope)  # type: ignore[union-attr]


def test_rule_library_sorts_templates_and_refuses_duplicates() -> None:
    library = _rules({"id": "zeta", "type": "not_null"}, {"id": "alpha", "type": "unique"})
    assert [rule.id for rule in library.rules] == ["alpha", "zeta"]
    with pytest.raises(ValidationError, match="duplicate rule template 'alpha'"):
        _rules({"id": "alpha", "type": "not_null"}, {"id": "alpha", "type": "unique"})


def test_regex_is_checked_by_python_and_by_the_polars_engine() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        _rules({"id": "r", "type": "regex", "params": {"pattern": "(unclosed"}})
    with pytest.raises(ValidationError, match="look-around"):
        _rules({"id": "r", "type": "regex", "params": {"pattern": "(?<=a)b"}})


def test_threshold_operators_in_both_spellings() -> None:
    threshold = Threshold.model_validate({"mustBeBetween": [1, 5], "must_not_be": 3})
    assert threshold.must_be_between == (1.0, 5.0)
    assert threshold.holds(2) and not threshold.holds(3) and not threshold.holds(6)
    with pytest.raises(ValidationError, match="at least one operator"):
        Threshold.model_validate({})
    with pytest.raises(ValidationError, match="lower bound"):
        Threshold.model_validate({"must_be_between": [5, 1]})


def test_refs_pin_versions() -> None:
    assert Ref.model_validate("core_rules@1.2.0") == Ref(id="core_rules", version="1.2.0")
    with pytest.raises(ValidationError, match="must pin a version"):
        Ref.model_validate("core_rules")


def _actions(*actions: dict[str, Any]) -> ActionLibrary:
    return ActionLibrary.model_validate({**HEADER, "actions": list(actions)})


def test_secrets_only_by_reference() -> None:
    ok = _actions({"id": "t", "type": "teams", "webhook_url": "secret://teams-url"})
    assert ok.actions[0].webhook_url == "secret://teams-url"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="by reference only"):
        _actions({"id": "t", "type": "teams", "webhook_url": "https://outlook.office.com/webhook/abc"})
    with pytest.raises(ValidationError, match="looks like a credential"):
        _actions({"id": "w", "type": "webhook", "url": "https://x.example", "headers": {"Authorization": "Bearer abc"}})


def test_action_fallbacks_must_exist_and_not_cycle() -> None:
    hook = {"type": "webhook", "url": "https://x.example"}
    with pytest.raises(ValidationError, match="fallback 'nope' is not in this library"):
        _actions({"id": "a", **hook, "fallback": "nope"})
    with pytest.raises(ValidationError, match="fallback cycle: a -> b -> a"):
        _actions({"id": "a", **hook, "fallback": "b"}, {"id": "b", **hook, "fallback": "a"})


@pytest.mark.parametrize("cron", ["0 6 * * 1-5", "*/15 * * * *", "0 0 1,15 * *"])
def test_cron_accepts_five_fields(cron: str) -> None:
    assert check_cron(cron) == cron


@pytest.mark.parametrize("cron", ["0 6 * *", "61 * * * *", "0 25 * * *", "a b c d e"])
def test_cron_refuses_bad_expressions(cron: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        check_cron(cron)
