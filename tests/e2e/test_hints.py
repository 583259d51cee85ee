"""Remediation hints as a user meets them: `dq libraries check` refuses a template with an unknown placeholder,
`dq validate` and `dq run` on the demo tenant write a hint for each failing rule into result.json, print it under
the rule and show it in the report (headless Chromium), with masked samples only; and a contract binding's hint
overrides its template's on generated data."""

from __future__ import annotations

import csv
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq
from tests.e2e.test_report_browser import PERSONAL, SAMPLE, _browse

PHONE_RULE = "customers.phone.phone_e164"


@dataclass(frozen=True)
class Done:
    out: Path
    stdout: str
    result: dict[str, Any]

    def rules(self) -> dict[str, dict[str, Any]]:
        return {rule["rule_id"]: rule for rule in self.result["validation"]["rules"]}


def _raw_personal_values() -> set[str]:
    with SAMPLE.open(encoding="utf-8") as handle:
        raw = {row[name].strip() for row in csv.DictReader(handle) for name in PERSONAL}
    return {value for value in raw if len(value) >= 5}  # long enough to be unambiguous


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> Done:
    out = tmp_path_factory.mktemp("hints-validate")
    done = dq("validate", str(SAMPLE), "--contract", "customers", "--out", str(out))
    assert done.returncode == 1, done.stderr  # the planted defects fail error rules
    return Done(out=out, stdout=done.stdout, result=json.loads((out / "result.json").read_text()))


def test_every_failing_rule_of_the_demo_has_a_hint_and_no_other_has_one(validated: Done) -> None:
    rules = validated.rules()
    failing = [rule for rule in rules.values() if rule["status"] == "failed"]
    assert len(failing) >= 8
    for rule in rules.values():
        assert (rule["hint"] is not None) == (rule["status"] == "failed"), rule["rule_id"]
    # the demo library's own hint for its phone template (core_rules.yaml), with the contract's region
    phone = rules[PHONE_RULE]
    assert phone["hint"].startswith(f"{phone['unexpected_count']} phone numbers are not in E.164 (e.g. ***, ***, ")
    assert "in region GB: set `default_phone_region` on the contract" in phone["hint"]
    # a default hint, with its rule's real parameters and unmasked samples of an unclassified column
    codes = rules["customers.country.code_list"]
    assert codes["hint"].startswith("7 values of country are not codes of iso_country (e.g. United Kingdom, USA, ")
    assert "`map_values` cleansing step" in codes["hint"]


def test_hints_show_no_raw_personal_value(validated: Done) -> None:
    raw = _raw_personal_values()
    assert len(raw) > 40
    hints = " ".join(rule["hint"] or "" for rule in validated.rules().values())
    assert sorted(value for value in raw if value in hints) == []
    assert "***" in validated.rules()["customers.email.email_format"]["hint"]


def test_dq_validate_prints_the_hint_under_its_failing_rule(validated: Done) -> None:
    lines = validated.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if f"{PHONE_RULE}:" in line)
    assert lines[at].startswith("  failed warning")
    assert lines[at + 1].strip() == "hint: " + validated.rules()[PHONE_RULE]["hint"]


def test_the_report_shows_each_hint_beside_its_failing_rule(validated: Done, tmp_path: Path) -> None:
    with _browse(validated.out / "report.html") as seen:
        page = seen.page
        assert seen.errors == [] and seen.blocked == []
        for rule in validated.rules().values():
            hint = page.locator(f'#rules-table tr[data-rule-id="{rule["rule_id"]}"] [data-field="hint"]')
            if rule["hint"] is None:
                assert hint.count() == 0, rule["rule_id"]
            else:
                assert hint.is_visible()
                assert " ".join(hint.inner_text().split()) == "Hint " + " ".join(rule["hint"].split())
        content = page.content()
        assert sorted(value for value in _raw_personal_values() if value in content) == []
        row = page.locator(f'#rules-table tr[data-rule-id="{PHONE_RULE}"]')
        row.scroll_into_view_if_needed()
        shot = tmp_path / "report-hints.png"
        page.locator("#rules").screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ROOT / "out").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "out" / "report-hints.png")


def test_a_hosted_run_carries_hints_through_the_fanned_out_validation(tmp_path: Path) -> None:
    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    out, home = tmp_path / "out", tmp_path / "home"
    done = dq(
        "run", str(SAMPLE), "--contract", "customers", "--out", str(out), "--home", str(home),
        "--salt-file", str(salt), "--chunk-rows", "100",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    rules = {rule["rule_id"]: rule for rule in json.loads((out / "result.json").read_text())["validation"]["rules"]}
    failing = [rule for rule in rules.values() if rule["status"] == "failed"]
    assert failing and all(rule["hint"] for rule in failing)
    assert all(rule["hint"] is None for rule in rules.values() if rule["status"] != "failed")
    adult = rules["adult_customers"]  # birth_date is pii: its sample is masked, signup_date is not
    assert "(e.g. (birth_date=***, signup_date=" in adult["hint"]
    assert "hint: " + adult["hint"] in done.stdout
    assert adult["hint"].replace("<", "&lt;") in (out / "report.html").read_text()


# --- authored hints through the CLI -----------------------------------------------------------


def _copy_libraries(tmp_path: Path) -> Path:
    root = tmp_path / "libraries"
    shutil.copytree(ROOT / "libraries" / "contoso", root / "contoso")
    return root


def test_libraries_check_refuses_a_library_hint_with_an_unknown_placeholder(tmp_path: Path) -> None:
    root = _copy_libraries(tmp_path)
    path = root / "contoso" / "dev" / "rules" / "core_rules.yaml"
    path.write_text(path.read_text().replace("region {default_phone_region}", "region {region}"))
    result = dq("libraries", "check", str(root))
    _assert_bad_input(result, "core_rules.yaml: rules[", "].hint: unknown hint placeholder {region}")
    assert "{default_phone_region}" in result.stderr  # the message lists what may be used


def _generated(tmp_path: Path, seed: int) -> tuple[Path, list[str]]:
    rng = random.Random(seed)
    codes = [rng.choice(["GB", "FR", "DE", "XX", "gb", ""]) for _ in range(rng.randint(300, 900))]
    data = tmp_path / "orders.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "country"])
        writer.writerows([f"O-{i:05d}", code] for i, code in enumerate(codes))
    return data, codes


@pytest.mark.parametrize("seed", [3, 11])
def test_a_binding_hint_overrides_its_templates_on_generated_data(tmp_path: Path, seed: int) -> None:
    scope = {"tenant": "acme", "environment": "dev", "version": "1.0.0", "status": "published"}
    template = {"id": "country_code", "type": "in_set", "params": {"values": ["GB", "FR", "DE"]}, "hint": "template"}
    library = {"kind": "rule_library", "id": "orders_rules", **scope, "rules": [template]}
    override = "{unexpected_count} of {element_count} orders ({unexpected_percent}%) have a country outside {values}"
    columns = [{"name": "order_id", "logical_type": "string"}, {"name": "country", "logical_type": "string"}]
    bindings = [
        {"id": "country_overridden", "rule": "country_code", "columns": ["country"], "hint": override},
        {"id": "country_template", "rule": "country_code", "columns": ["country"]},
    ]
    contract = {
        "kind": "contract", "id": "orders", **scope, "rule_libraries": ["orders_rules@1.0.0"],
        "datasets": [{"name": "orders", "columns": columns, "bindings": bindings}],
    }  # fmt: skip
    folder = tmp_path / "libraries" / "acme" / "dev"
    folder.mkdir(parents=True)
    (folder / "rules.yaml").write_text(yaml.safe_dump(library))
    (folder / "contract.yaml").write_text(yaml.safe_dump(contract))
    data, codes = _generated(tmp_path, seed)
    assert dq("libraries", "check", str(tmp_path / "libraries")).returncode == 0

    out = tmp_path / "out"
    libraries = str(tmp_path / "libraries")
    done = dq("validate", str(data), "--contract", "orders", "--libraries", libraries, "--out", str(out))
    assert done.returncode == 1, done.stderr
    rules = {rule["rule_id"]: rule for rule in json.loads((out / "result.json").read_text())["validation"]["rules"]}
    present = [code for code in codes if code]  # an empty CSV cell is null: in_set skips it
    bad = sum(code not in ("GB", "FR", "DE") for code in present)
    percent = f"{100 * bad / len(present):.2f}"
    expected = f"{bad} of {len(codes)} orders ({percent}%) have a country outside [GB, FR, DE]"
    assert rules["country_overridden"]["hint"] == expected
    assert rules["country_template"]["hint"] == "template"
    assert f"hint: {expected}" in done.stdout
