"""``dq run`` logs: quiet by default, JSON lines with the run's context with ``DQ_LOG_FORMAT=json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    args = ["run", str(SAMPLE), "--job", "customers_daily", "--out", str(tmp_path / "out")]
    args += ["--home", str(tmp_path / "home"), "--salt-file", str(salt)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DQ_", "APPLICATIONINSIGHTS_"))}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_dq_run_writes_json_log_lines_with_the_run_context_when_asked(tmp_path: Path) -> None:
    result = _run(tmp_path, DQ_LOG_FORMAT="json")
    assert result.returncode == 1, result.stderr  # the sample's planted defects
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    activities = [line for line in lines if line["logger"] == "dq.activities"]
    assert {line["stage"] for line in activities} >= {"resolve", "ingest", "cleanse", "validate", "finalise"}
    for line in activities:
        assert line["tenant"] == "contoso" and line["run_id"] == document["run_id"]
        assert line["job_id"] == "customers_daily" and line["environment"] == "dev"


def test_dq_run_keeps_stderr_free_of_log_lines_by_default(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "dq.activities" not in result.stderr and not any(line.startswith("{") for line in result.stderr.splitlines())
