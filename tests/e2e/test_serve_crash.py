"""``dq serve`` killed in the middle of a run (SIGKILL: no shutdown, no clean-up), then started again
on the same home and port, as a developer's laptop reboots.

The attack of issue 14: after the kill the run stayed ``running`` forever (its result and evidence
pack a 409 forever), the instance's status URL answered 404, and the same upload (same ETag)
started a second run although the API promises a 409. Now the restarted server continues the
interrupted instance from its saved history and ends the run with status ``error`` and the reason,
answers the status URL of before, and refuses the same upload again without storing it.
"""

from __future__ import annotations

import base64
import io
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.lineage.models import IngestionMode, RunRecord
from tests.auth_support import TokenFactory
from tests.conftest import LIBRARIES, ROOT
from tests.registry_support import demo_registry, job, publish
from tests.serve_support import free_port, serve_env, serve_process

SECRETS = {"DQ_SECRET_CONTOSO__DQ_MASK_SALT": "a-test-salt-for-hashing-0123456789"}
SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
BASE = "/api/tenants/contoso"
WORK_STAGES = ("ingest", "cleanse", "profile", "validate")
FAN_OUT = ("profile", "validate")
ROWS = 150_000  # in chunks of 1,000: a run of many seconds, so the kill lands in its middle


def big_customers_file(rows: int) -> bytes:
    """The demo sample's rows (planted defects included) repeated under new ids."""
    header, *lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    body = (f"CUS-{i:07d},{lines[i % len(lines)].split(',', 1)[1]}" for i in range(rows))
    return "\n".join([header, *body, ""]).encode("utf-8")


def slow_registry(home: Path) -> None:
    """The demo tenant, and a job ``customers_slow`` whose infra profile cuts files in 1,000-row chunks."""
    store = demo_registry(home / "registry.db")
    tiny = {
        "kind": "infra_profile",
        "tenant": "contoso",
        "environment": "dev",
        "id": "tiny_chunks",
        "version": "1.0.0",
        "chunk_rows": 1000,
        "max_parallelism": 2,
    }
    publish(store, CONFIG_OBJECT_ADAPTER.validate_python(tiny))
    publish(store, job("customers_slow", dataset="customers", infra_profile="tiny_chunks@1.0.0"))


def wait_for_stage(url: str, headers: dict[str, str], stages: tuple[str, ...], timeout: float = 120) -> dict[str, Any]:
    """The instance's status once its run is in one of ``stages`` with a chunk done (others in flight)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = httpx.get(url, headers=headers).json()
        custom = status.get("custom_status") or {}
        assert status["runtime_status"] in ("Pending", "Running"), f"the run ended before the kill: {status}"
        if custom.get("stage") in stages and custom.get("chunks_done", 0) >= 1:
            return status
        time.sleep(0.05)
    msg = f"{url} never reached {stages}"
    raise AssertionError(msg)


def follow(url: str, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url, headers=headers)
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()
        if status["runtime_status"] not in ("Pending", "Running"):
            return status
        time.sleep(0.2)
    msg = f"{url} still running after {timeout} s"
    raise AssertionError(msg)


def test_a_run_killed_mid_stage_ends_in_error_and_its_upload_is_still_a_409(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    slow_registry(home)
    data = big_customers_file(ROWS)
    factory = TokenFactory()
    operator = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Operator"])}
    port = free_port()
    upload = {"params": {"filename": "customers.csv", "job": "customers_slow"}, "content": data}
    csv = {**operator, "Content-Type": "text/csv"}
    with factory.serve() as jwks:
        settings = {**factory.settings_env(jwks.url), **SECRETS}
        with serve_process(home, settings, port=port) as first:
            accepted = httpx.put(f"{first.url}{BASE}/uploads/customers", headers=csv, timeout=60, **upload)
            assert accepted.status_code == 202, accepted.text
            started = accepted.json()
            status_url = started["status_url"]
            mid_run = wait_for_stage(status_url, operator, FAN_OUT)  # chunk activities in flight
            run_id = mid_run["custom_status"]["run_id"]
            first.process.send_signal(signal.SIGKILL)  # no shutdown: the process is gone mid-stage
            first.process.wait(timeout=30)
        stage = mid_run["custom_status"]["stage"]
        assert first.process.returncode == -signal.SIGKILL
        killed = SqliteLineageStore(str(home / "lineage.db")).get_run("contoso", run_id)
        assert killed.status == "running"  # what the old server left behind, forever

        with serve_process(home, settings, port=port) as second:
            # the status URL issued before the crash answers; the instance ends with the run in error
            status = follow(status_url, operator)
            assert status["runtime_status"] == "Completed", status
            assert status["run_ids"] == [run_id]
            (summary,) = status["output"]["runs"]
            reason = summary["error"]["message"]
            assert summary["status"] == "error" and summary["error"]["code"] == "interrupted"
            assert reason.startswith("interrupted: dq serve stopped while the run was in stage ")
            assert reason.split()[-1] in WORK_STAGES and WORK_STAGES.index(reason.split()[-1]) >= WORK_STAGES.index(
                stage
            )

            # the run, its result and its evidence pack agree: error, with the reason (no 409)
            run = httpx.get(f"{second.url}{BASE}/runs/{run_id}", headers=operator).json()
            assert run["run"]["status"] == "error" and run["run"]["error"] == reason
            assert run["run"]["finished_at"] is not None
            result = httpx.get(f"{second.url}{BASE}/runs/{run_id}/result", headers=operator)
            assert result.status_code == 200, result.text
            assert result.json()["status"] == "error" and result.json()["error"]["message"] == reason
            evidence = httpx.get(f"{second.url}{BASE}/runs/{run_id}/evidence", headers=operator)
            assert evidence.status_code == 200, evidence.text
            assert "result.json" in " ".join(zipfile.ZipFile(io.BytesIO(evidence.content)).namelist())
            steps = httpx.get(f"{second.url}{BASE}/runs/{run_id}/lineage", headers=operator).json()["steps"]
            interrupted = [s for s in steps if s["metrics"].get("code") == "interrupted"]
            assert [(s["step"], s["status"]) for s in interrupted] == [(reason.split()[-1], "error")]
            assert steps[-1]["step"] == "finalise" and steps[-1]["status"] == "error"
            assert not LocalBlobStore(home / "blobs").list("contoso", f"runs/{run_id}/work/")  # working files gone

            # the same upload again: the instance exists, 409, nothing stored and nothing started
            again = httpx.put(f"{second.url}{BASE}/uploads/customers", headers=csv, timeout=60, **upload)
            assert again.status_code == 409, again.text
            assert again.json()["code"] == "run_already_started"
            assert again.headers["location"] == status_url
            uploads = LocalBlobStore(home / "blobs").list("contoso", "uploads/")
            assert uploads == [started["blob_path"]]
            assert LocalBlobStore(home / "blobs").get("contoso", started["blob_path"])[0] == data
            runs = httpx.get(f"{second.url}{BASE}/runs", headers=operator).json()["runs"]
            assert [r["run_id"] for r in runs] == [run_id]
        assert second.process.returncode == 0, second.stderr[-2000:]
        assert "Traceback" not in second.stderr, second.stderr[-2000:]
        assert f"instance {started['instance_id']} was Running when the host stopped" in second.stderr


def seed_runs(home: Path) -> None:
    """Three finished runs of contoso and two of fabrikam, in the server's lineage store."""
    lineage = SqliteLineageStore(str(home / "lineage.db"))
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    for tenant, count in (("contoso", 3), ("fabrikam", 2)):
        for hour in range(count):
            at = start + timedelta(hours=hour)
            lineage.put_run(
                RunRecord(
                    tenant=tenant,
                    run_id=f"{tenant}-run-{hour}",
                    environment="dev",
                    status="passed",
                    started_at=at,
                    finished_at=at + timedelta(minutes=1),
                    ingestion_mode=IngestionMode.HTTP,
                    input_uri="landing/crm/customers.csv",
                    job_id="customers_daily",
                    contract_id="customers",
                    contract_version="1.0.0",
                    contract_sha256="0" * 64,
                    bundle_sha256="1" * 64,
                )
            )


def test_cursors_are_signed_by_the_servers_key_and_survive_its_restart(tmp_path: Path) -> None:
    """Attack (issue 14): a cursor the API never issued was taken. Over a real dq serve: forged,
    changed and other tenants' cursors are 400; an issued one still pages after a restart (the key
    is kept under --home, never in the code)."""
    home = tmp_path / "home"
    home.mkdir()
    demo_registry(home / "registry.db")
    seed_runs(home)
    factory = TokenFactory()
    contoso = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Reader"])}
    fabrikam = {"Authorization": factory.bearer(tenants=["fabrikam"], roles=["DQ.Reader"])}
    port = free_port()
    with factory.serve() as jwks:
        settings = {**factory.settings_env(jwks.url), **SECRETS}
        with serve_process(home, settings, port=port) as first:
            page = httpx.get(f"{first.url}{BASE}/runs", params={"limit": 1}, headers=contoso).json()
            issued = page["next"]
            theirs = httpx.get(f"{first.url}/api/tenants/fabrikam/runs", params={"limit": 1}, headers=fabrikam)
            other_tenant = theirs.json()["next"]
            hand_made = base64.urlsafe_b64encode(b'{"at":"2026-11-01T08:00:00+00:00","run":"x"}').decode()
            for cursor in (hand_made, issued[:-2] + ("AA" if not issued.endswith("AA") else "BB"), other_tenant):
                refused = httpx.get(f"{first.url}{BASE}/runs", params={"limit": 1, "cursor": cursor}, headers=contoso)
                assert refused.status_code == 400, refused.text
                assert refused.json()["code"] == "invalid_query"
                assert "cursor is not one this API gave" in refused.json()["detail"]
            # one server per home: a second one would take the first one's running instances for interrupted
            command = [sys.executable, "-m", "cli", "serve", "--home", str(home), "--port", str(free_port())]
            twin = subprocess.run(
                command, cwd=ROOT, env=serve_env(settings), capture_output=True, text=True, check=False
            )
            assert twin.returncode == 2
            assert twin.stderr.strip() == (
                f"config_invalid: another dq serve uses the home folder {home}: give each server its own --home"
            )
        assert (home / "auth" / "cursor-key").stat().st_mode & 0o777 == 0o600
        with serve_process(home, settings, port=port) as second:
            after = httpx.get(f"{second.url}{BASE}/runs", params={"limit": 5, "cursor": issued}, headers=contoso)
            assert after.status_code == 200, after.text
            assert [r["run_id"] for r in after.json()["runs"]] == ["contoso-run-1", "contoso-run-0"]
        assert second.process.returncode == 0, second.stderr[-2000:]
