"""DQ_LIBRARIES, DQ_TENANT and DQ_ENV give every command its --libraries, --tenant and --env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser
from tests.conftest import LIBRARIES, ROOT


def _dq(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DQ_LIBRARIES", "DQ_TENANT", "DQ_ENV")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_commands_run_from_anywhere_with_the_environment(tmp_path: Path) -> None:
    where = {"DQ_LIBRARIES": str(LIBRARIES), "DQ_TENANT": "contoso", "DQ_ENV": "dev"}
    listed = _dq("contracts", "list", cwd=tmp_path, **where)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("customers\t1.0.0\tpublished")
    checked = _dq("libraries", "check", cwd=tmp_path, DQ_LIBRARIES=str(LIBRARIES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    sample = LIBRARIES / "contoso" / "samples" / "customers.csv"
    out = tmp_path / "out"
    validated = _dq("validate", str(sample), "--contract", "customers", "--out", str(out), cwd=tmp_path, **where)
    assert validated.returncode == 1, validated.stderr  # the sample's planted defects
    assert json.loads((out / "result.json").read_text())["contract"]["id"] == "customers"
    # an option on the command line wins over the environment
    wrong = _dq("contracts", "list", "--tenant", "contoso", cwd=tmp_path, **{**where, "DQ_TENANT": "nobody"})
    assert wrong.returncode == 0, wrong.stderr
    unknown = _dq("contracts", "list", cwd=tmp_path, **{**where, "DQ_TENANT": "nobody"})
    assert (unknown.returncode, unknown.stdout) == (0, "")  # the environment's tenant has no contracts
    without = _dq("contracts", "list", cwd=tmp_path)  # no libraries folder here and no DQ_LIBRARIES
    assert without.returncode == 2 and "libraries" in without.stderr


def test_tenant_and_env_from_the_environment_make_required_options_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQ_TENANT", "contoso")
    monkeypatch.setenv("DQ_ENV", "test")
    monkeypatch.setenv("DQ_LIBRARIES", "/srv/dq/libraries")
    parser = build_parser()
    imported = parser.parse_args(["contracts", "import-odcs", "c.odcs.yaml"])
    assert (imported.tenant, imported.env) == ("contoso", "test")
    published = parser.parse_args(["contracts", "publish", "customers", "--version", "1.0.0", "--actor", "ana"])
    assert (published.tenant, published.env) == ("contoso", "test")
    assert parser.parse_args(["lineage", "export", "run-1"]).tenant == "contoso"
    assert parser.parse_args(["libraries", "check"]).directory == Path("/srv/dq/libraries")
    listed = parser.parse_args(["contracts", "list", "--env", "prod"])
    assert (listed.libraries, listed.tenant, listed.env) == (Path("/srv/dq/libraries"), "contoso", "prod")


def test_without_the_environment_the_defaults_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DQ_TENANT", "DQ_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DQ_LIBRARIES", "")  # empty counts as unset
    parser = build_parser()
    listed = parser.parse_args(["contracts", "list"])
    assert (listed.libraries, listed.tenant, listed.env) == (Path("libraries"), None, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["contracts", "import-odcs", "c.odcs.yaml"])  # --tenant and --env are required
