"""Loaders: errors name the file and the path inside it, for every authoring format."""

from __future__ import annotations

from pathlib import Path

import pytest

from dq_core.errors import LoadError
from dq_core.libraries.rules import RULE_TYPES, rule_type_name
from dq_core.libraries.schemas import SchemaLibrary
from dq_core.loading.loader import FileProblems, load_directory, load_file
from dq_core.loading.xlsx import write_xlsx

HEADER = "kind: rule_library\ntenant: contoso\nenvironment: dev\nid: r\nversion: 1.0.0\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(LoadError) as caught:
        load_file(path, path.name)
    return caught.value.one_line()


def test_bad_regex_names_file_and_path(tmp_path: Path) -> None:
    text = HEADER + "rules:\n  - {id: a, type: not_null}\n  - {id: b, type: regex, params: {pattern: '[a-'}}\n"
    message = _error(_write(tmp_path, "rules.yaml", text))
    assert message.startswith("load_failed: rules.yaml: rules[1].params.pattern: invalid regular expression")


def test_unknown_rule_type_names_the_type_and_choices(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "rules.yaml", HEADER + "rules:\n  - {id: a, type: not_nul}\n"))
    assert "rules.yaml: rules[0]: unknown type 'not_nul' (expected one of not_null," in message


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "broken.yaml", HEADER + "rules: [\n"))
    assert message.startswith("load_failed: broken.yaml: line ")
    assert "invalid YAML" in message


def test_duplicate_keys_are_errors_in_yaml_and_json(tmp_path: Path) -> None:
    assert "duplicate key 'id'" in _error(_write(tmp_path, "dup.yaml", HEADER + "id: again\n"))
    assert "duplicate key 'id'" in _error(
        _write(tmp_path, "dup.json", '{"kind": "rule_library", "id": "a", "id": "b"}')
    )


def test_yaml_12_scalars_keep_norway_and_dates_as_strings(tmp_path: Path) -> None:
    text = (
        "kind: schema_library\ntenant: contoso\nenvironment: dev\nid: s\nversion: 1.0.0\n"
        "code_lists:\n  - id: countries\n    codes: [{code: NO}, {code: 2024-01-01}, {code: yes}]\n"
    )
    library = load_file(_write(tmp_path, "s.yaml", text))
    assert isinstance(library, SchemaLibrary)
    assert library.code_lists[0].values() == ("NO", "2024-01-01", "yes")


def test_missing_kind_and_non_mapping(tmp_path: Path) -> None:
    assert "kind: missing" in _error(_write(tmp_path, "a.yaml", "id: x\n"))
    assert "expected a mapping at the top, found list" in _error(_write(tmp_path, "b.json", "[1, 2]"))


def test_xlsx_errors_point_at_sheet_and_row(tmp_path: Path) -> None:
    data = {
        "kind": "rule_library",
        "tenant": "contoso",
        "environment": "dev",
        "id": "r",
        "version": "1.0.0",
        "rules": [{"id": "a", "type": "not_null"}, {"id": "b", "type": "regex", "params": {"pattern": "(x"}}],
    }
    path = tmp_path / "rules.xlsx"
    path.write_bytes(write_xlsx(data))
    message = _error(path)
    assert "rules.xlsx: rules[1].params.pattern (sheet 'rules', row 3): invalid regular expression" in message


def test_garbage_xlsx_and_unknown_extension(tmp_path: Path) -> None:
    bad = tmp_path / "rules.xlsx"
    bad.write_bytes(b"not a zip file")
    assert "not a readable .xlsx workbook" in _error(bad)
    assert "unsupported file type '.toml'" in _error(_write(tmp_path, "x.toml", "a = 1"))


def test_directory_load_collects_every_problem(tmp_path: Path) -> None:
    _write(tmp_path, "good.yaml", HEADER)
    _write(tmp_path, "bad1.yaml", HEADER + "rules: [{id: a, type: nope}]\n")
    _write(tmp_path, "bad2.json", "{")
    _write(tmp_path, "data.csv", "a,b\n1,2\n")  # not configuration: ignored
    report = load_directory(tmp_path, relative_to=tmp_path)
    assert [loaded.source for loaded in report.objects] == ["good.yaml"]
    assert sorted(problem.location for problem in report.problems) == ["bad1.yaml", "bad2.json"]


# --- every problem of a file in one pass ------------------------------------------------------

SEVERAL = HEADER + (
    "extends: [core_rules]\n"
    "rules:\n"
    "  - {id: a, type: not_nul}\n"
    "  - {id: b, type: regex, params: {pattern: '[a-'}}\n"
    "  - {id: c, type: range, params: {min: [1]}}\n"
    "  - {id: d, type: not_null, mostly: 2}\n"
    "  - {id: e, type: in_set, params: {values: [x]}}\n"
)


def test_a_file_with_several_problems_reports_each_once_in_one_pass(tmp_path: Path) -> None:
    _write(tmp_path, "rules.yaml", SEVERAL)
    report = load_directory(tmp_path, relative_to=tmp_path)
    assert report.objects == []
    assert [problem.one_line() for problem in report.problems] == [
        "load_failed: rules.yaml: extends[0]: reference 'core_rules' must pin a version, as id@1.0.0",
        "load_failed: rules.yaml: rules[0]: unknown type 'not_nul' (expected one of "
        + ", ".join(rule_type_name(model) for model in RULE_TYPES)
        + ")",
        "load_failed: rules.yaml: rules[1].params.pattern: invalid regular expression: unterminated character set"
        " at position 0",
        "load_failed: rules.yaml: rules[2].params.min: Input should be a valid number or a valid string",
        "load_failed: rules.yaml: rules[3].mostly: Input should be less than or equal to 1",
    ]


def test_one_file_still_raises_one_error_that_reads_as_its_first_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules.yaml", SEVERAL)
    with pytest.raises(FileProblems) as caught:
        load_file(path, path.name)
    assert caught.value.one_line() == caught.value.problems[0].one_line()
    assert caught.value.path == "extends[0]" and len(caught.value.problems) == 5


def test_a_list_is_not_called_too_short_because_its_items_failed(tmp_path: Path) -> None:
    text = (
        "kind: contract\ntenant: contoso\nenvironment: dev\nid: c\nversion: 1.0.0\n"
        "datasets:\n  - name: d\n    columns: [{name: a, logical_type: strin}]\n"
    )
    with pytest.raises(FileProblems) as caught:
        load_file(_write(tmp_path, "c.yaml", text), "c.yaml")
    assert [problem.path for problem in caught.value.problems] == ["datasets[0].columns[0].logical_type"]
    empty = "kind: contract\ntenant: contoso\nenvironment: dev\nid: c\nversion: 1.0.0\ndatasets: []\n"
    assert "datasets: Tuple should have at least 1 item" in _error(_write(tmp_path, "e.yaml", empty))


def test_every_problem_of_a_workbook_names_its_sheet_and_row(tmp_path: Path) -> None:
    data = {
        "kind": "rule_library",
        "tenant": "contoso",
        "environment": "dev",
        "id": "r",
        "version": "1.0.0",
        "rules": [{"id": "a", "type": "regex", "params": {"pattern": "(x"}}, {"id": "b", "type": "nope"}],
    }
    (tmp_path / "rules.xlsx").write_bytes(write_xlsx(data))
    problems = load_directory(tmp_path, relative_to=tmp_path).problems
    assert [problem.path for problem in problems] == [
        "rules[0].params.pattern (sheet 'rules', row 2)",
        "rules[1] (sheet 'rules', row 3)",
    ]
