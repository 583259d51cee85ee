"""``dq libraries check`` refuses the custom-SQL attack (issue 14, attack 1) with one line."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import dq

MARKER = "root-secret-line-0001"

LIBRARY = """\
tenant: acme
environment: dev
kind: rule_library
id: steal
version: 1.0.0
rules:
  - id: steal
    type: custom_sql
    params:
      query: SELECT COUNT(*) FROM read_csv('{path}')
      threshold: {{must_be: 0}}
"""


def test_libraries_check_refuses_sql_that_reads_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(f"{MARKER}\n")
    folder = tmp_path / "libraries" / "acme" / "dev" / "rules"
    folder.mkdir(parents=True)
    (folder / "steal.yaml").write_text(LIBRARY.format(path=secret))
    result = dq("libraries", "check", str(tmp_path / "libraries"))
    assert result.returncode == 2
    assert "rules[0].params.query: SQL refused: table function read_csv() is not allowed" in result.stderr
    assert MARKER not in result.stdout + result.stderr and "Traceback" not in result.stderr
