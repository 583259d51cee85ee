"""The deployment smoke test's HTTP steps, against a real ``dq serve``.

``scripts/azure_smoke.sh`` cannot run here (no Azure CLI, no deployment): it only gets a token
with ``az account get-access-token`` and runs ``scripts/demo_api.py smoke``. That walk runs here
as the script runs it, a subprocess with the token in ``DQ_API_TOKEN``, against ``dq serve`` with
the demo libraries and a local test token (``DQ_AUTH_MODE=local-key``): the same code as the demo
(``demo_api.py demo``, run by scripts/demo.sh) and as a smoke test of a deployment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import LIBRARIES, ROOT
from tests.e2e.test_cli import dq
from tests.serve_support import served

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
SALT = "a-test-salt-for-hashing-0123456789"


def _walk(url: str, token: str | None, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQ_")}
    if token is not None:
        env["DQ_API_TOKEN"] = token
    command = [sys.executable, "scripts/demo_api.py", "smoke", url, str(SAMPLE), str(out), "--timeout", "120", *extra]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_smoke_walk_takes_an_upload_to_its_verdict_and_prints_the_report_url(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert dq("token", "keygen", "--home", str(home)).returncode == 0
    minted = dq("token", "mint", "--tenant", "contoso", "--role", "DQ.Operator", "--home", str(home))
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    settings = {"DQ_ENVIRONMENT": "local", "DQ_AUTH_MODE": "local-key", "DQ_SECRET_CONTOSO__DQ_MASK_SALT": SALT}
    with served(home, settings, "--libraries", str(LIBRARIES)) as api:
        walked = _walk(api.url, token, tmp_path / "out")
        forged = _walk(api.url, token[:-4] + "AAAA", tmp_path / "forged")
        unknown = _walk(api.url, token, tmp_path / "unknown", "--dataset", "no_such_dataset")
        tokenless = _walk(api.url, None, tmp_path / "tokenless")

    assert walked.returncode == 0, walked.stdout + walked.stderr
    lines = walked.stdout.splitlines()
    assert any(line.startswith("GET /api/health -> {'status': 'ok'") for line in lines)
    assert any(line.startswith("GET /api/health/ready -> ") for line in lines)
    assert any(
        line.startswith("PUT /api/tenants/contoso/uploads/customers -> contoso:customers_daily:") for line in lines
    )
    assert "verdict: failed" in walked.stdout  # the sample's planted defects: a data outcome
    (report_line,) = [line for line in lines if line.startswith("report: ")]
    assert report_line.startswith(f"report: {api.url}/api/tenants/contoso/runs/")
    assert "/report (with a DQ.Reader bearer token" in report_line
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<html" in report.lower()
    assert token not in walked.stdout + walked.stderr  # the token is never printed

    # a failed step: exit 1 and one line naming it, no traceback
    assert forged.returncode == 1
    assert forged.stderr.strip().startswith("smoke: PUT /api/tenants/contoso/uploads/customers: HTTP 401")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().startswith("smoke: PUT /api/tenants/contoso/uploads/no_such_dataset: HTTP ")
    for failed in (forged, unknown):
        assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
    assert tokenless.returncode == 2 and "set DQ_API_TOKEN" in tokenless.stderr
