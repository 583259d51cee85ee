"""``dq schema`` (editor schemas, the rule reference) and ``dq libraries check`` reporting every
problem of a file in one run, as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq

SCHEMAS = ROOT / "schemas"


def test_libraries_check_reports_every_problem_of_a_file_in_one_run(libraries_copy: Path) -> None:
    path = libraries_copy / "contoso" / "dev" / "rules" / "core_rules.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in (
        ("[^@\\s]+@", "[^@\\s+@"),  # rules[0]: a pattern that does not compile
        ("type: not_future", "type: not_in_future"),  # rules[2]: an unknown type
        ("params: {min: 0}", "params: {min: 0, minimum: 1}"),  # rules[3]: an unknown parameter
        ("must_be_between: [5, 1000000]", "must_be_between: [1000000, 5]"),  # rules[4]: bounds the wrong way
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    result = dq("libraries", "check", str(libraries_copy))
    _assert_bad_input(
        result,
        "core_rules.yaml: rules[0].params.pattern: invalid regular expression",
        "core_rules.yaml: rules[2]: unknown type 'not_in_future'",
        "core_rules.yaml: rules[3].params.minimum: unknown field",
        "core_rules.yaml: rules[4].params.threshold: must_be_between: lower bound 1000000.0 is above upper bound 5.0",
        "4 problem(s) in",
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("load_failed: ") for line in lines[:4])


def test_schema_prints_the_committed_schema_of_a_kind() -> None:
    result = dq("schema", "contract")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (SCHEMAS / "contract.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.stdout)["$id"] == "urn:dq-platform:schema:contract"


def test_schema_all_writes_every_kind_and_check_names_a_stale_file(tmp_path: Path) -> None:
    written = dq("schema", "--all", "--out", str(tmp_path / "schemas"))
    assert written.returncode == 0, written.stderr
    names = sorted(path.name for path in (tmp_path / "schemas").iterdir())
    assert names == sorted(path.name for path in SCHEMAS.glob("*.json")) and len(names) == 9
    for name in names:
        assert (tmp_path / "schemas" / name).read_bytes() == (SCHEMAS / name).read_bytes()
    assert dq("schema", "--all", "--out", "schemas/", "--check").returncode == 0
    (tmp_path / "schemas" / "catalog.schema.json").write_text("{}", encoding="utf-8")
    stale = dq("schema", "--all", "--out", str(tmp_path / "schemas"), "--check")
    assert stale.returncode == 1
    assert stale.stderr.strip() == f"stale: {tmp_path / 'schemas' / 'catalog.schema.json'} differs from the models" + (
        " (write it with the same command without --check)"
    )


def test_schema_writes_the_rule_reference(tmp_path: Path) -> None:
    result = dq("schema", "--rules-md", str(tmp_path / "rules.md"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rules.md").read_text(encoding="utf-8") == (ROOT / "docs" / "rules.md").read_text(
        encoding="utf-8"
    )
    assert dq("schema", "--rules-md", "docs/rules.md", "--check").returncode == 0


def test_schema_options_that_do_not_go_together_are_bad_input() -> None:
    _assert_bad_input(dq("schema", "--all"), "invalid_option: --all: give the folder to write with --out")
    _assert_bad_input(dq("schema", "contract", "--all"), "not allowed with argument")
    _assert_bad_input(dq("schema", "nope"), "invalid choice: 'nope'")
    _assert_bad_input(
        dq("schema", "contract", "--check"), "invalid_option: --check: give the file to compare with --out"
    )
