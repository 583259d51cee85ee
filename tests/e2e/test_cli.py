"""The ``dq`` command as a user drives it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LIBRARIES, ROOT


def dq(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _assert_bad_input(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_libraries_check_passes_on_the_demo_tenant() -> None:
    result = dq("libraries", "check", "libraries/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert "contoso/dev" in result.stdout


@pytest.mark.parametrize(
    ("relative", "old", "new", "fragments"),
    [
        ("contoso/dev/rules/core_rules.yaml", "rules:\n", "rules: [\n", ("core_rules.yaml: line", "invalid YAML")),
        (
            "contoso/dev/rules/core_rules.yaml",
            "type: not_future",
            "type: not_in_future",
            ("core_rules.yaml: rules[2]: unknown type 'not_in_future'",),
        ),
        (
            "contoso/dev/rules/core_rules.yaml",
            "[^@\\s]+@",
            "[^@\\s+@",
            ("core_rules.yaml: rules[0].params.pattern: invalid regular expression",),
        ),
        (
            "contoso/dev/contracts/customers.yaml",
            "governance_profile: customer_pii@1.0.0",
            "governance_profile: customer_pii@1.1.0",
            ("customers.yaml: governance_profile: governance_profile customer_pii@1.1.0 does not exist",),
        ),
        (
            "contoso/dev/jobs/customers_daily.yaml",
            "on_error: [data_team_email]",
            "on_error: [data_team_pager]",
            ("customers_daily.yaml", "action 'data_team_pager' is not in the referenced action libraries"),
        ),
        (
            "contoso/dev/cleansing/customers_policy.yaml",
            "  - {type: trim}\n",
            "  - {type: trim}\n  - {type: null_values, values: [NA, NULL]}\n",
            ("customers_policy.yaml: steps[1].values: a marker is null", "write NULL in quotes ('NULL')"),
        ),
        (
            "contoso/dev/cleansing/customers_policy.yaml",
            "  - {type: mask}\n",
            "  - {type: mask}\n  - {type: null_values, values: [NA]}\n",
            ("customers_policy.yaml: steps: step 11 (null_values) comes after a mask step: put mask last",),
        ),
    ],
    ids=[
        "bad-yaml",
        "unknown-rule-type",
        "bad-regex",
        "dangling-reference",
        "unknown-action",
        "unquoted-null",
        "step-after-mask",
    ],
)
def test_libraries_check_names_file_and_path_on_broken_copies(
    libraries_copy: Path, relative: str, old: str, new: str, fragments: tuple[str, ...]
) -> None:
    path = libraries_copy / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    _assert_bad_input(dq("libraries", "check", str(libraries_copy)), *fragments)


def test_libraries_check_reports_a_reference_cycle(libraries_copy: Path) -> None:
    schemas = libraries_copy / "contoso" / "dev" / "schemas"
    (schemas / "extra.yaml").write_text(
        "kind: schema_library\ntenant: contoso\nenvironment: dev\nid: extra\nversion: 1.0.0\n"
        "extends: [reference_data@1.0.0]\n"
    )
    source = schemas / "reference_data.json"
    data = json.loads(source.read_text())
    data["extends"] = ["extra@1.0.0"]
    source.write_text(json.dumps(data))
    _assert_bad_input(dq("libraries", "check", str(libraries_copy)), "reference cycle: schema_library")


def test_bundle_prints_canonical_json_of_the_contract() -> None:
    result = dq("bundle", "customers", "--tenant", "contoso", "--env", "dev")
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    assert bundle["schema_id"] == "dq.bundle/v1"
    assert result.stdout.strip() == json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert len(bundle["sha256"]) == 64
    assert any(rule["id"] == "customers.email.email_format" for rule in bundle["rules"])


def test_bundle_of_a_job_and_its_summary() -> None:
    result = dq("bundle", "customers_daily", "--job", "--summary", "--libraries", str(LIBRARIES))
    assert result.returncode == 0, result.stderr
    assert "data_team_webhook (webhook, on_failure)" in result.stdout
    assert "contract customers@1.0.0" in result.stdout


def test_contracts_show_and_list() -> None:
    shown = dq("contracts", "show", "customers", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == "customers"
    listed = dq("contracts", "list")
    assert listed.stdout.startswith("customers\t1.0.0\tpublished")


def test_unknown_contract_and_missing_directory_are_bad_input() -> None:
    _assert_bad_input(
        dq("contracts", "show", "suppliers"), "not_found: contract 'suppliers' does not exist in contoso/dev"
    )
    _assert_bad_input(dq("libraries", "check", "no/such/dir"), "no/such/dir: no such file or directory")


def test_convert_yaml_to_xlsx_and_back(tmp_path: Path) -> None:
    xlsx = tmp_path / "core_rules.xlsx"
    assert (
        dq(
            "libraries", "convert", "libraries/contoso/dev/rules/core_rules.yaml", "--to", "xlsx", "--out", str(xlsx)
        ).returncode
        == 0
    )
    back = dq("libraries", "convert", str(xlsx), "--to", "json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["rules"][0]["id"] == "email_format"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["libraries"],
        ["libraries", "check"],
        ["libraries", "convert"],
        ["contracts"],
        ["contracts", "show"],
        ["contracts", "list"],
        ["contracts", "import-odcs"],
        ["contracts", "export-odcs"],
        ["bundle"],
    ],
)
def test_help_everywhere(command: list[str]) -> None:
    result = dq(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: dq")
