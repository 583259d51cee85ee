"""Bundle materialisation over the demo tenant, and the errors of broken references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.errors import ResolutionError
from dq_core.libraries.actions import Trigger
from services import workspace as service
from tests.conftest import LIBRARIES

SCOPE = service.Scope("contoso", "dev")


@pytest.fixture(scope="module")
def workspace() -> service.Workspace:
    loaded = service.workspace_from_directory(LIBRARIES)
    assert loaded.problems == []
    return loaded


def test_demo_libraries_check_clean(workspace: service.Workspace) -> None:
    assert service.check_workspace(workspace) == []
    assert len(workspace.index) >= 9


def test_catalog_rules_apply_to_every_mapped_column(workspace: service.Workspace) -> None:
    bundle = service.contract_bundle(workspace, SCOPE, "customers")
    by_id = {rule.id: rule for rule in bundle.rules}
    email = by_id["customers.email.email_format"]
    assert (email.origin, email.columns, email.template) == ("catalog", ("email",), "core_rules@1.0.0:email_format")
    # not_in_future is written once on two attributes: both mapped columns get it
    assert {"customers.birth_date.not_in_future", "customers.signup_date.not_in_future"} <= by_id.keys()
    # a catalog code list becomes a rule, and the bundle carries the list itself
    assert by_id["customers.country.code_list"].rule.params.code_list == "iso_country"  # type: ignore[union-attr]
    assert [code_list.id for code_list in bundle.code_lists] == ["iso_country"]


def test_column_constraints_and_bindings_become_rules(workspace: service.Workspace) -> None:
    bundle = service.contract_bundle(workspace, SCOPE, "customers")
    by_id = {rule.id: rule for rule in bundle.rules}
    assert by_id["customers.customer_id.unique"].rule.type == "unique"
    assert by_id["customers.source_system.required"].origin == "schema"  # from the schema library's column set
    segment = by_id["segment_values"]
    assert segment.template == "customer_rules@1.0.0:segment_values"  # authored in the XLSX library
    assert segment.rule.mostly == 0.98
    nulls = by_id["email_completeness"]
    assert (nulls.odcs_id, nulls.rule.severity.value) == ("email_nulls", "warning")


def test_governance_classifies_mapped_columns(workspace: service.Workspace) -> None:
    bundle = service.contract_bundle(workspace, SCOPE, "customers")
    email = bundle.dataset.column("email")
    segment = bundle.dataset.column("segment")
    assert email is not None and (email.classification.value, email.masking.value) == ("pii", "hash")
    assert segment is not None and segment.classification.value == "internal"


def test_job_bundle_adds_actions_per_outcome_and_their_fallbacks(workspace: service.Workspace) -> None:
    bundle = service.job_bundle(workspace, SCOPE, "customers_daily")
    triggers = {action.action.id: action.triggers for action in bundle.actions}
    assert triggers["data_team_webhook"] == (Trigger.ON_FAILURE,)
    assert triggers["lineage"] == (Trigger.ALWAYS,)  # contract-level action: its own trigger
    assert Trigger.ON_ERROR in triggers["data_team_email"]
    assert bundle.job is not None and bundle.job.id == "customers_daily"


def test_bundle_hash_is_stable_and_verified_on_reload(workspace: service.Workspace) -> None:
    first = service.contract_bundle(workspace, SCOPE, "customers")
    second = service.contract_bundle(service.workspace_from_directory(LIBRARIES), SCOPE, "customers")
    assert canonical_json(first) == canonical_json(second)
    reloaded = ResolvedBundle.model_validate(json.loads(canonical_json(first)))
    assert reloaded.sha256 == first.sha256
    tampered = json.loads(canonical_json(first))
    tampered["infra"]["chunk_rows"] = 7_000
    with pytest.raises(ValueError, match="does not match its content"):
        ResolvedBundle.model_validate(tampered)
    sources = {(s.kind.value, s.id) for s in first.sources}
    assert ("rule_library", "customer_rules") in sources and ("catalog", "contoso_catalog") in sources


def _problems(root: Path) -> list[str]:
    return [problem.one_line() for problem in service.check_workspace(service.workspace_from_directory(root))]


def test_dangling_reference_names_file_path_and_known_versions(libraries_copy: Path) -> None:
    contract = libraries_copy / "contoso" / "dev" / "contracts" / "customers.yaml"
    contract.write_text(contract.read_text().replace("infra_profile: standard@1.0.0", "infra_profile: standard@2.0.0"))
    problems = _problems(libraries_copy)
    assert any(
        "contoso/dev/contracts/customers.yaml: infra_profile: infra_profile standard@2.0.0 does not exist" in p
        and "known versions: 1.0.0" in p
        for p in problems
    ), problems


def test_reference_cycle_is_reported(libraries_copy: Path) -> None:
    rules = libraries_copy / "contoso" / "dev" / "rules"
    (rules / "base.yaml").write_text(
        "kind: rule_library\ntenant: contoso\nenvironment: dev\nid: base\nversion: 1.0.0\nextends: [core_rules@1.0.0]\n"
    )
    core = rules / "core_rules.yaml"
    core.write_text(core.read_text().replace("status: published\n", "status: published\nextends: [base@1.0.0]\n"))
    problems = _problems(libraries_copy)
    assert any("extends[0]: reference cycle: rule_library" in p for p in problems), problems


def test_unknown_template_and_missing_column(libraries_copy: Path) -> None:
    contract = libraries_copy / "contoso" / "dev" / "contracts" / "customers.yaml"
    text = contract.read_text()
    contract.write_text(
        text.replace(
            "rule: customer_rules:segment_values, columns: [segment]", "rule: segment_values, columns: [sgment]"
        )
    )
    assert any("datasets[0].bindings[1]: column 'sgment' is not in the dataset" in p for p in _problems(libraries_copy))
    contract.write_text(text.replace("rule: expected_volume", "rule: expected_volumes"))
    assert any(
        "datasets[0].bindings[0].rule: rule template 'expected_volumes' is not in the referenced rule libraries" in p
        for p in _problems(libraries_copy)
    )


def test_unknown_catalog_attribute(libraries_copy: Path) -> None:
    contract = libraries_copy / "contoso" / "dev" / "contracts" / "customers.yaml"
    contract.write_text(contract.read_text().replace("attribute: customer.email}", "attribute: customer.e_mail}"))
    with pytest.raises(ResolutionError, match=r"'customer\.e_mail' is not in catalog"):
        service.contract_bundle(service.workspace_from_directory(libraries_copy), SCOPE, "customers")


def test_rule_ids_are_named_as_authored(libraries_copy: Path) -> None:
    """Binding id, then ODCS id, then ODCS name (slugified), then a readable slug; never ``metric#2``."""
    contract = libraries_copy / "contoso" / "dev" / "contracts" / "customers.yaml"
    nulls = "check: {type: metric, params: {metric: nullValues, threshold: {must_be: 0}}}, columns: [email]"
    contract.write_text(
        contract.read_text().replace(
            "        odcs_id: email_nulls\n",
            "        odcs_id: email_nulls\n"
            f"      - {{{nulls}, odcs_id: email-q1}}\n"
            f"      - {{{nulls}, odcs_name: 'No missing e-mail'}}\n"
            f"      - {{{nulls}}}\n"
            f"      - {{{nulls}}}\n"
            "      - {check: {type: unique}, columns: [customer_id]}\n",
        )
    )
    workspace = service.workspace_from_directory(libraries_copy)
    bundle = service.contract_bundle(workspace, SCOPE, "customers")
    by_id = {rule.id: rule for rule in bundle.rules}
    assert by_id["email-q1"].odcs_id == "email-q1"
    assert "no_missing_e_mail" in by_id
    assert {"customers.email.null_values", "customers.email.null_values.2"} <= by_id.keys()
    assert by_id["customers.customer_id.unique"].origin == "schema"  # the readable id of the schema rule is kept
    assert by_id["customers.customer_id.unique.2"].origin == "contract"
    assert not [rule.id for rule in bundle.rules if "#" in rule.id]
