"""Runs routes over HTTP: start, follow, list, result, lineage, evidence, report, uploads, notifications.

Real pieces: the FastAPI app through TestClient, the SQLite registry with the demo libraries
published, SQLite lineage and a local blob folder in tmp_path (one test: Table and Blob
Storage on Azurite), and the Durable SDK's ``DurableOrchestrationClient`` talking HTTP to the
local Durable extension. The extension runs either the real ``run_job`` with every activity,
or a stand-in ``run_job`` that completes at once with its input (to see what was started).
Callers are picked by name (tests/api/conftest.py): otto is an Operator, rita a Reader,
eve holds every role for fabrikam only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import azure.durable_functions as df
import polars as pl
import pytest
from azure.durable_functions.models.utils import http_utils
from fastapi.testclient import TestClient

from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from api import routes_runs
from api.context import ApiContext
from api.main import create_app
from app.runtime import use_ports
from app.settings import get_settings
from dq_core.lineage.evidence import verify_evidence
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.results.run import RunResult
from dq_core.runs.payloads import OrchestratorName
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from services import runs as runs_service
from tests.api.conftest import NamedAuthenticator, assert_problem, bearer
from tests.conftest import LIBRARIES
from tests.registry_support import demo_registry, job, publish

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
BASE = "/api/tenants/contoso"
SALT = "a-test-salt-for-hashing-0123456789"
DONE = ("Completed", "Failed", "Terminated")


class Salted:
    """The tenant's secrets: the masking salt, whatever the name."""

    def get(self, tenant: str, reference: str) -> str:
        return SALT


def accept_run(context: df.DurableOrchestrationContext) -> Any:
    """A stand-in ``run_job``: completes at once with the request it was started with."""
    yield from ()
    return context.get_input()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def dev(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def wire(tmp_path: Path, lineage: LineageStore | None = None, blobs: BlobStore | None = None) -> RunPorts:
    """The stores the API reads and the activities write (installed for the activities)."""
    ports = RunPorts(
        contracts=demo_registry(tmp_path / "registry.db"),
        lineage=lineage or SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=blobs or LocalBlobStore(tmp_path / "blobs"),
        secrets=Salted(),
    )
    use_ports(ports)
    return ports


@pytest.fixture
def ports(tmp_path: Path, dev: None) -> Iterator[RunPorts]:
    yield wire(tmp_path)
    use_ports(None)


@contextmanager
def serving(ports: RunPorts, extension: LocalDurableExtension) -> Iterator[TestClient]:
    """The API over ``ports``, starting runs through a real Durable client on ``extension``.
    One event loop serves every request; the SDK's shared HTTP session is closed in it at the end."""
    registry: Any = ports.contracts
    ctx = ApiContext(
        ports=ports,
        contracts=registry,
        authenticator=NamedAuthenticator(),
        environment="dev",
        starter=lambda: df.DurableOrchestrationClient(extension.client_binding()),
    )
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        try:
            yield client
        finally:
            assert client.portal is not None
            client.portal.call(http_utils._close_session)


@pytest.fixture
def stand_in(ports: RunPorts) -> Iterator[LocalDurableExtension]:
    with LocalDurableExtension({OrchestratorName.RUN_JOB.value: accept_run}, lambda name, payload: None) as running:
        yield running


@pytest.fixture
def api(ports: RunPorts, stand_in: LocalDurableExtension) -> Iterator[TestClient]:
    with serving(ports, stand_in) as client:
        yield client


def follow(client: TestClient, status_url: str, who: str = "otto", timeout: float = 120) -> dict[str, Any]:
    """GET the instance status (this API) until the instance is done."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(status_url, headers=bearer(who))
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()
        if status["runtime_status"] in DONE:
            return status
        assert time.monotonic() < deadline, f"{status_url} still {status['runtime_status']}"
        time.sleep(0.2)


# --- a real run, end to end -----------------------------------------------------------------------


def check_finished_run(client: TestClient, status: dict[str, Any], lineage: LineageStore) -> str:
    """A completed instance of the demo job: the run, its result, lineage and evidence pack via the API."""
    assert status["runtime_status"] == "Completed", status["output"]
    assert status["custom_status"]["stage"] == "finalise"
    (run_id,) = status["run_ids"]
    (summary,) = status["output"]["runs"]
    assert summary["run_id"] == run_id and summary["status"] == "failed"  # the sample has planted defects

    detail = client.get(f"{BASE}/runs/{run_id}", headers=bearer("rita"))
    assert detail.status_code == 200, detail.text
    run, result = detail.json()["run"], detail.json()["result"]
    assert run["status"] == "failed" and run["job_id"] == "customers_daily"
    assert result["run_id"] == run_id and result["status"] == "failed"
    assert result["validation"]["summary"]["failed"] > 0

    raw = client.get(f"{BASE}/runs/{run_id}/result", headers=bearer("rita"))
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/json"
    assert hashlib.sha256(raw.content).hexdigest() == run["result_sha256"]  # byte for byte as stored
    assert RunResult.model_validate_json(raw.content).run_id == run_id

    steps = client.get(f"{BASE}/runs/{run_id}/lineage", headers=bearer("rita"))
    assert steps.status_code == 200
    by_stage = {step["step"]: step for step in steps.json()["steps"]}
    assert {"resolve", "ingest", "cleanse", "profile", "validate", "finalise"} <= set(by_stage)
    assert by_stage["validate"]["status"] == "failed" and by_stage["ingest"]["status"] == "succeeded"

    pack = client.get(f"{BASE}/runs/{run_id}/evidence", headers=bearer("rita"))
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    assert pack.headers["content-disposition"] == f'attachment; filename="evidence-{run_id}.zip"'
    assert verify_evidence(pack.content, recorded=lineage.get_run("contoso", run_id)) == []

    listed = client.get(f"{BASE}/runs", params={"job_id": "customers_daily"}, headers=bearer("rita"))
    assert [r["run_id"] for r in listed.json()["runs"]] == [run_id] and listed.json()["next"] is None
    return run_id


def test_an_upload_runs_the_demo_job_and_is_followed_to_its_result(ports: RunPorts) -> None:
    header, *lines = SAMPLE.read_text(encoding="utf-8").splitlines()  # the sample's rows (and defects), 250 of them
    rows = (f"CUS-{i:06d},{lines[i % len(lines)].split(',', 1)[1]}" for i in range(250))
    data = "\n".join([header, *rows, ""]).encode("utf-8")
    with LocalDurableExtension() as real, serving(ports, real) as client:
        response = client.put(
            f"{BASE}/uploads/customers",
            params={"filename": "crm export.csv"},
            content=data,
            headers=bearer("otto", **{"Content-Type": "text/csv; charset=utf-8"}),
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["blob_path"].startswith("uploads/customers/") and accepted["blob_path"].endswith(
            "/crm export.csv"
        )
        stored, etag = ports.blobs.get("contoso", accepted["blob_path"])
        assert stored == data and accepted["etag"] == etag
        assert accepted["instance_id"] == "contoso:customers_daily:" + etag.strip('"')
        assert response.headers["location"] == accepted["status_url"]
        assert accepted["status_url"] == f"http://testserver{BASE}/instances/{accepted['instance_id']}"

        status = follow(client, accepted["status_url"], who="rita")
        run_id = check_finished_run(client, status, ports.lineage)
        run = ports.lineage.get_run("contoso", run_id)
        assert run.ingestion_mode is IngestionMode.UPLOAD
        assert run.trigger["actor"] == "otto" and run.trigger["content_type"] == "text/csv"

        # the same file version started again by job: the instance exists (Completed), nothing runs
        again = client.post(
            f"{BASE}/jobs/customers_daily/runs",
            json={"input_uri": accepted["blob_path"], "etag": etag},
            headers=bearer("otto"),
        )
        conflict = assert_problem(again, 409, "run_already_started")
        assert "already started (Completed)" in conflict["detail"]
        assert again.headers["location"] == accepted["status_url"]
        assert real.instance_ids() == [accepted["instance_id"]]

        # started by job without an ETag: a second run of the uploaded file, with overrides
        second = client.post(
            f"{BASE}/jobs/customers_daily/runs",
            json={"input_uri": accepted["blob_path"], "overrides": {"chunk_rows": 100}},
            headers=bearer("otto"),
        )
        assert second.status_code == 202, second.text
        status = follow(client, second.json()["status_url"])
        assert status["runtime_status"] == "Completed", status["output"]
        (rerun,) = status["run_ids"]
        rerun_record = ports.lineage.get_run("contoso", rerun)
        assert rerun_record.status == "failed" and rerun_record.ingestion_mode is IngestionMode.HTTP
        assert rerun_record.input_uri == accepted["blob_path"] and rerun_record.trigger["actor"] == "otto"
        chunks = client.get(f"{BASE}/runs/{rerun}/lineage", headers=bearer("rita")).json()["steps"]
        assert next(s for s in chunks if s["step"] == "ingest")["metrics"]["chunks"] == 3  # chunk_rows 100 applied
        newest_first = [flat(pages(client, limit=1)), flat(pages(client, status="failed"))]
        assert newest_first == [[rerun, run_id], [rerun, run_id]]


# --- starting and following (stand-in run_job) ----------------------------------------------------


def test_a_start_is_202_with_our_status_url_and_the_same_etag_again_is_a_409(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    body = {"input_uri": "landing/crm/customers.csv", "etag": '"0x8DC2A"', "overrides": {"chunk_rows": 500}}
    trace = "0af7651916cd43dd8448eb211c80319c"
    response = api.post(
        f"{BASE}/jobs/customers_daily/runs",
        json=body,
        headers=bearer("otto", traceparent=f"00-{trace}-b7ad6b7169203331-01"),
    )
    assert response.status_code == 202, response.text
    started = response.json()
    instance = "contoso:customers_daily:0x8DC2A"
    assert started == {
        "job_id": "customers_daily",
        "instance_id": instance,
        "status_url": f"http://testserver{BASE}/instances/{instance}",
    }
    assert response.headers["location"] == started["status_url"]

    status = follow(api, started["status_url"])
    assert status["runtime_status"] == "Completed" and status["name"] == "run_job"
    request = status["output"]  # the stand-in answers with the request it was started with
    assert (request["tenant"], request["environment"], request["job_id"]) == ("contoso", "dev", "customers_daily")
    assert request["inputs"] == [{"uri": "landing/crm/customers.csv", "etag": '"0x8DC2A"'}]
    assert request["overrides"]["chunk_rows"] == 500 and request["correlation_id"] == trace
    assert request["trigger"] == {"type": "http", "actor": "otto"}

    conflict = assert_problem(
        api.post(f"{BASE}/jobs/customers_daily/runs", json=body, headers=bearer("otto")), 409, "run_already_started"
    )
    assert conflict["detail"].startswith(f"instance {instance} exists: already started (Completed)")
    assert stand_in.instance_ids() == [instance]
    audit = ports.lineage.audit("contoso", datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC))
    assert [(e.action, e.actor, e.correlation_id) for e in audit] == [("start_run", "otto", trace)]
    assert audit[0].detail == f"{instance} on landing/crm/customers.csv"


def test_without_an_etag_every_start_is_a_new_run(api: TestClient, stand_in: LocalDurableExtension) -> None:
    body = {"input_uri": "landing/crm/customers.csv"}
    first = api.post(f"{BASE}/jobs/customers_daily/runs", json=body, headers=bearer("otto")).json()
    second = api.post(f"{BASE}/jobs/customers_daily/runs", json=body, headers=bearer("otto")).json()
    assert first["instance_id"] != second["instance_id"]
    assert all(s["instance_id"].startswith("contoso:customers_daily:") for s in (first, second))
    assert sorted(stand_in.instance_ids()) == sorted([first["instance_id"], second["instance_id"]])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "input_uri"),
        ({"input_uri": "file:///etc/passwd"}, "must be a path in the tenant's container"),
        ({"input_uri": "landing/../../other"}, "must not contain"),
        ({"input_uri": "runs/r1/work/chunk-00000.parquet"}, "folder the app writes itself"),
        ({"input_uri": "landing/x.csv", "color": "red"}, "color"),
        ({"input_uri": "landing/x.csv", "overrides": {"chunk_rows": 0}}, "chunk_rows"),
        ({"input_uri": "landing/x.csv", "etag": '""'}, "etag: the ETag is empty"),
    ],
)
def test_bad_start_bodies_are_400_problems(
    api: TestClient, stand_in: LocalDurableExtension, body: dict[str, Any], where: str
) -> None:
    response = api.post(f"{BASE}/jobs/customers_daily/runs", json=body, headers=bearer("otto"))
    found = assert_problem(response, 400, "invalid_request")
    assert where in found["detail"]
    assert stand_in.instance_ids() == []


def test_a_job_without_a_published_version_is_a_404(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    ports.contracts.put(job("drafted", {"type": "manual"}), actor="author")
    for job_id in ("drafted", "nonexistent"):
        response = api.post(f"{BASE}/jobs/{job_id}/runs", json={"input_uri": "landing/x.csv"}, headers=bearer("otto"))
        assert assert_problem(response, 404, "not_found")["detail"] == (
            f"job {job_id!r} has no published version in contoso/dev"
        )
    assert stand_in.instance_ids() == []


def test_starting_uploading_and_notifying_need_the_operator_role(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    ports.blobs.put("contoso", "landing/crm/customers_1.csv", b"a\n1\n")
    attempts = [
        api.post(f"{BASE}/jobs/customers_daily/runs", json={"input_uri": "landing/x.csv"}, headers=bearer("rita")),
        api.post(
            f"{BASE}/uploads/customers?filename=x.csv",
            content=b"a\n1\n",
            headers=bearer("rita", **{"Content-Type": "text/csv"}),
        ),
        api.post(
            f"{BASE}/uploads/notify",
            json={"path": "landing/crm/customers_1.csv", "etag": "0x1"},
            headers=bearer("rita"),
        ),
    ]
    for response in attempts:
        assert "DQ.Operator" in assert_problem(response, 403, "forbidden")["detail"]
    assert assert_problem(api.get(f"{BASE}/runs"), 401, "unauthenticated")
    assert api.get(f"{BASE}/runs", headers=bearer("rita")).status_code == 200  # a Reader reads
    other = api.post(f"{BASE}/jobs/customers_daily/runs", json={"input_uri": "landing/x.csv"}, headers=bearer("eve"))
    assert assert_problem(other, 403, "forbidden")["detail"] == "eve@example.com may not act for tenant 'contoso'"
    assert stand_in.instance_ids() == []
    assert ports.blobs.list("contoso", "uploads/") == []
    denied = ports.lineage.audit("contoso", datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC))
    assert [e.action for e in denied] == ["denied"] * 3 and {e.actor for e in denied} == {"rita"}


def test_an_instance_of_another_tenant_is_never_looked_up(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    fabrikam = "fabrikam:customers_daily:0x1"
    assert stand_in.start_instance(OrchestratorName.RUN_JOB.value, fabrikam, {})[0] == 202
    stand_in.wait(fabrikam, timeout=30)
    # a contoso caller naming fabrikam's instance under its own tenant: not found, whatever exists
    refused = assert_problem(api.get(f"{BASE}/instances/{fabrikam}", headers=bearer("otto")), 404, "not_found")
    assert refused["detail"] == f"tenant contoso has no instance {fabrikam!r}"
    # and under fabrikam's tenant: not a tenant otto may act for
    assert_problem(api.get(f"/api/tenants/fabrikam/instances/{fabrikam}", headers=bearer("otto")), 403, "forbidden")
    assert api.get(f"/api/tenants/fabrikam/instances/{fabrikam}", headers=bearer("eve")).status_code == 200
    assert_problem(api.get(f"{BASE}/instances/contoso:customers_daily:nope", headers=bearer("otto")), 404, "not_found")
    assert_problem(api.get(f"{BASE}/instances/contoso:x:a%3Fb", headers=bearer("otto")), 404, "not_found")


# --- uploads --------------------------------------------------------------------------------------


def upload(client: TestClient, data: bytes, *, dataset: str = "customers", who: str = "otto", **options: Any) -> Any:
    params = options.pop("params", {"filename": "customers.csv"})
    headers = bearer(who, **{"Content-Type": options.pop("content_type", "text/csv")}, **options.pop("headers", {}))
    return client.post(f"{BASE}/uploads/{dataset}", params=params, content=data, headers=headers, **options)


def test_an_upload_over_the_limit_is_a_413_and_stores_nothing(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_runs, "MAX_UPLOAD_BYTES", 10)
    declared = assert_problem(upload(api, b"x" * 11), 413, "upload_too_large")
    assert declared["detail"] == "11 bytes, over the limit of 10"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"a,b\n"
        yield b"1,2\n" * 4

    streamed = assert_problem(upload(api, chunks()), 413, "upload_too_large")
    assert streamed["detail"].startswith("more than ")
    assert upload(api, b"a,b\n1,2\n").status_code == 202  # 8 bytes pass
    assert len(ports.blobs.list("contoso", "uploads/")) == 1 and len(stand_in.instance_ids()) == 1


def test_upload_refusals(api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts) -> None:
    assert_problem(upload(api, b"a\n1\n", content_type="multipart/form-data"), 415, "unsupported_media_type")
    assert "?filename=" in assert_problem(upload(api, b"a\n1\n", params={}), 400, "invalid_request")["detail"]
    unsafe = upload(api, b"a\n1\n", params={"filename": "../etc/passwd"})
    assert "file name '../etc/passwd'" in assert_problem(unsafe, 400, "invalid_request")["detail"]
    assert "body is empty" in assert_problem(upload(api, b""), 400, "invalid_request")["detail"]
    missing = assert_problem(upload(api, b"a\n1\n", dataset="orders"), 404, "not_found")
    assert missing["detail"] == "no published job runs dataset 'orders' in contoso/dev"
    assert_problem(upload(api, b"a\n1\n", dataset="..x"), 400, "invalid_request")
    assert ports.blobs.list("contoso") == [] and stand_in.instance_ids() == []


def test_an_upload_names_its_file_by_header_and_chooses_among_several_jobs(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    publish(ports.contracts, job("customers_adhoc"))  # dataset: the contract's first
    ambiguous = assert_problem(upload(api, b"a\n1\n"), 400, "invalid_request")
    assert (
        ambiguous["detail"]
        == "several jobs run dataset 'customers': choose one with ?job= (customers_adhoc, customers_daily)"
    )
    response = upload(api, b"a\n1\n", params={"job": "customers_adhoc"}, headers={"x-file-name": "drop.csv"})
    assert response.status_code == 202, response.text
    assert response.json()["job_id"] == "customers_adhoc" and response.json()["blob_path"].endswith("/drop.csv")
    status = follow(api, response.json()["status_url"])
    assert status["output"]["ingestion_mode"] == "upload" and status["output"]["job_id"] == "customers_adhoc"
    # the same bytes again: the embedded store's ETag is a content hash, so the same instance: one run
    again = upload(api, b"a\n1\n", params={"job": "customers_adhoc", "filename": "drop.csv"})
    assert assert_problem(again, 409, "run_already_started")
    assert len(ports.blobs.list("contoso", "uploads/")) == 1 and len(stand_in.instance_ids()) == 1


def test_a_refused_duplicate_upload_stores_nothing(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    """Attack (issue 14): the same bytes uploaded again were answered 409 yet stored, every time."""
    first = upload(api, b"a\n1\n", params={"filename": "drop.csv"})
    assert first.status_code == 202, first.text
    follow(api, first.json()["status_url"])
    for name in ("drop.csv", "again.csv", "drop.csv"):  # POST and PUT alike
        send = api.put if name == "again.csv" else api.post
        again = send(
            f"{BASE}/uploads/customers",
            params={"filename": name},
            content=b"a\n1\n",
            headers=bearer("otto", **{"Content-Type": "text/csv"}),
        )
        assert assert_problem(again, 409, "run_already_started")["detail"].startswith(
            f"instance {first.json()['instance_id']} exists"
        )
    assert ports.blobs.list("contoso", "uploads/") == [first.json()["blob_path"]]  # exactly one object
    assert ports.blobs.get("contoso", first.json()["blob_path"])[0] == b"a\n1\n"
    assert stand_in.instance_ids() == [first.json()["instance_id"]]


# --- notifications ---------------------------------------------------------------------------------


LANDED = "landing/crm/customers_2026.csv"


def notify(client: TestClient, body: Any, who: str = "otto") -> Any:
    return client.post(f"{BASE}/uploads/notify", json=body, headers=bearer(who))


def test_a_notification_starts_the_bound_jobs_once(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    etag = ports.blobs.put("contoso", LANDED, SAMPLE.read_bytes())
    body = {
        "blob_uri": f"https://account.blob.core.windows.net/dq-contoso/{LANDED}",
        "etag": etag,
        "metadata": {"tenant": "contoso", "source": "sftp-gateway"},
        "overrides": {"chunk_rows": 250, "ingest": {"delimiter": ";"}},
    }
    response = notify(api, body)
    assert response.status_code == 202, response.text
    instance = "contoso:customers_daily:" + etag.strip('"')
    (run,) = response.json()["runs"]
    assert response.json()["path"] == LANDED
    assert run == {
        "job_id": "customers_daily",
        "instance_id": instance,
        "started": True,
        "reason": "started",
        "status_url": f"http://testserver{BASE}/instances/{instance}",
    }
    request = follow(api, run["status_url"])["output"]
    assert request["ingestion_mode"] == "blob_event" and request["inputs"] == [{"uri": LANDED, "etag": etag}]
    assert request["trigger"] == {
        "type": "notify",
        "path_pattern": "landing/crm/customers_*.csv",
        "metadata": {"tenant": "contoso", "source": "sftp-gateway"},
        "actor": "otto",
    }
    assert request["overrides"]["chunk_rows"] == 250 and request["overrides"]["ingest"]["delimiter"] == ";"

    # delivered again (by path this time): nothing starts, 200
    again = notify(api, {"path": LANDED, "etag": etag})
    assert again.status_code == 200
    assert again.json()["runs"][0]["started"] is False
    assert again.json()["runs"][0]["reason"] == "already started (Completed)"
    assert stand_in.instance_ids() == [instance]


class RefusingSomeStarts:
    """The real Durable client, except that starting one job's instances fails (a store hiccup)."""

    def __init__(self, client: Any, refused_job: str) -> None:
        self.client, self.refused_job = client, refused_job

    async def get_status(self, instance_id: str) -> Any:
        return await self.client.get_status(instance_id)

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any | None = None) -> Any:
        if instance_id and f":{self.refused_job}:" in instance_id:
            raise Exception("task hub briefly unavailable")
        return await self.client.start_new(name, instance_id, client_input)


def test_a_partly_failed_notification_audits_what_started_and_a_retry_starts_only_the_rest(
    ports: RunPorts, stand_in: LocalDurableExtension
) -> None:
    publish(ports.contracts, job("customers_mirror", {"type": "blob", "path_pattern": "landing/crm/*.csv"}))
    etag = ports.blobs.put("contoso", LANDED, SAMPLE.read_bytes())
    refusing = {"job": "customers_mirror"}
    ctx = ApiContext(
        ports=ports,
        contracts=cast(Any, ports.contracts),
        authenticator=NamedAuthenticator(),
        environment="dev",
        starter=lambda: RefusingSomeStarts(df.DurableOrchestrationClient(stand_in.client_binding()), refusing["job"]),
    )
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        try:
            failed = notify(client, {"path": LANDED, "etag": etag})
            assert_problem(failed, 503, "start_failed")
            assert "customers_mirror" in failed.json()["detail"]
            refusing["job"] = "nothing"  # the store is back
            retried = notify(client, {"path": LANDED, "etag": etag})
        finally:
            assert client.portal is not None
            client.portal.call(http_utils._close_session)
    assert retried.status_code == 202, retried.text
    assert {(r["job_id"], r["started"]) for r in retried.json()["runs"]} == {
        ("customers_daily", False),
        ("customers_mirror", True),
    }
    now = datetime.now(UTC)
    starts = [e for e in ports.lineage.audit("contoso", now - timedelta(hours=1), now) if e.action == "start_run"]
    assert sorted(e.object for e in starts) == ["job_definition customers_daily", "job_definition customers_mirror"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"etag": "0x1"}, "give exactly one of blob_uri and path"),
        (
            {"path": LANDED, "blob_uri": f"https://a.blob.core.windows.net/dq-contoso/{LANDED}", "etag": "0x1"},
            "exactly one",
        ),
        ({"path": LANDED}, "etag"),
        ({"path": "landing/../secrets.csv", "etag": "0x1"}, "must not contain"),
        ({"path": LANDED, "etag": "0x1", "colour": "red"}, "colour"),
        ({"path": LANDED, "etag": "0x1", "metadata": {"bad key": "x"}}, "metadata key"),
        ({"path": LANDED, "etag": "0x1", "overrides": {"max_parallelism": 0}}, "max_parallelism"),
        ({"blob_uri": "ftp://host/dq-contoso/x.csv", "etag": "0x1"}, "http(s) URL"),
        ({"blob_uri": "http://[::1/dq-contoso/x.csv", "etag": "0x1"}, "http(s) URL"),
        ({"path": "runs/abc/result.json", "etag": "0x1"}, "folder the app writes itself"),
        ({"path": LANDED, "etag": '""'}, "the ETag is empty"),
        ([LANDED], "body"),
    ],
)
def test_bad_notifications_are_400_problems(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts, body: Any, where: str
) -> None:
    ports.blobs.put("contoso", LANDED, b"a\n1\n")
    assert where in assert_problem(notify(api, body), 400, "invalid_request")["detail"]
    assert stand_in.instance_ids() == []


def test_a_notification_of_another_tenants_blob_is_refused(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    ports.blobs.put("contoso", LANDED, b"a\n1\n")
    ports.blobs.put("fabrikam", LANDED, b"a\n1\n")
    other = {"blob_uri": f"https://account.blob.core.windows.net/dq-fabrikam/{LANDED}", "etag": "0x1"}
    assert "dq-contoso" in assert_problem(notify(api, other), 403, "forbidden")["detail"]
    azurite_style = {"blob_uri": f"http://127.0.0.1:10000/devstoreaccount1/dq-fabrikam/{LANDED}", "etag": "0x1"}
    assert_problem(notify(api, azurite_style), 403, "forbidden")
    lying = {"path": LANDED, "etag": "0x1", "metadata": {"DQ_Tenant": "fabrikam"}}
    assert "names tenant 'fabrikam'" in assert_problem(notify(api, lying), 403, "forbidden")["detail"]
    absent = assert_problem(notify(api, {"path": "landing/crm/customers_9.csv", "etag": "0x1"}), 404, "not_found")
    assert absent["detail"] == "no blob landing/crm/customers_9.csv in the tenant's container"
    ports.blobs.put("contoso", "landing/other/x.csv", b"a\n1\n")
    unbound = assert_problem(notify(api, {"path": "landing/other/x.csv", "etag": "0x1"}), 404, "not_found")
    assert unbound["detail"] == "no published job of contoso/dev is bound to landing/other/x.csv"
    assert stand_in.instance_ids() == []


# --- listing and reading runs --------------------------------------------------------------------


T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def record(
    lineage: LineageStore, run_id: str, at: datetime, *, job_id: str = "customers_daily", status: str = "passed"
) -> RunRecord:
    run = RunRecord(
        tenant="contoso",
        run_id=run_id,
        environment="dev",
        status=status,
        started_at=at,
        finished_at=None if status == "running" else at + timedelta(minutes=1),
        ingestion_mode=IngestionMode.HTTP,
        input_uri="landing/crm/customers.csv",
        job_id=job_id,
        job_version="1.0.0",
        contract_id="customers",
        contract_version="1.0.0",
        contract_sha256="0" * 64,
        bundle_sha256="1" * 64,
    )
    lineage.put_run(run)
    return run


@pytest.fixture
def history(ports: RunPorts) -> list[RunRecord]:
    """Twelve runs of two jobs over twelve hours (three share one start time), and one of fabrikam."""
    made = []
    for hour in range(12):
        job_id = "customers_daily" if hour % 3 else "orders_daily"
        status = ("passed", "failed", "error", "running")[hour % 4]
        made.append(record(ports.lineage, f"run-{hour:02d}", T0 + timedelta(hours=hour), job_id=job_id, status=status))
    for suffix in ("a", "b"):  # same start as run-05
        made.append(record(ports.lineage, f"run-05{suffix}", T0 + timedelta(hours=5), status="failed"))
    ports.lineage.put_run(made[0].model_copy(update={"tenant": "fabrikam", "run_id": "theirs"}))
    return sorted(made, key=lambda r: (r.started_at, r.run_id), reverse=True)


def pages(client: TestClient, **params: Any) -> list[list[str]]:
    """Every page of a listing, following ``next`` (and checking ``next_url`` says the same)."""
    found: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"{BASE}/runs", params=query, headers=bearer("rita"))
        assert response.status_code == 200, response.text
        page = response.json()
        found.append([run["run_id"] for run in page["runs"]])
        cursor = page["next"]
        if cursor is None:
            assert page["next_url"] is None
            return found
        assert f"cursor={cursor}" in page["next_url"]
        assert len(found) < 50


def flat(found: list[list[str]]) -> list[str]:
    return [run_id for page in found for run_id in page]


def test_runs_are_listed_newest_first_with_filters_and_pages(api: TestClient, history: list[RunRecord]) -> None:
    everything = [r.run_id for r in history]
    assert pages(api) == [everything]
    paged = pages(api, limit=4)
    assert [len(page) for page in paged] == [4, 4, 4, 2]
    assert flat(paged) == everything  # the three runs sharing a start time are neither lost nor repeated
    assert flat(pages(api, limit=1)) == everything

    orders = [r.run_id for r in history if r.job_id == "orders_daily"]
    assert flat(pages(api, job_id="orders_daily", limit=2)) == orders == ["run-09", "run-06", "run-03", "run-00"]
    failed = [r.run_id for r in history if r.status == "failed"]
    assert flat(pages(api, status="failed", limit=2)) == failed
    assert flat(pages(api, job_id="customers_daily", status="running")) == ["run-11", "run-07"]
    window = {"since": (T0 + timedelta(hours=3)).isoformat(), "until": (T0 + timedelta(hours=6)).isoformat()}
    assert flat(pages(api, **window, limit=2)) == ["run-05b", "run-05a", "run-05", "run-04", "run-03"]
    assert pages(api, job_id="nothing_here") == [[]]


def test_paging_reads_the_store_in_windows_and_a_page_may_stop_at_the_scan_budget(
    api: TestClient, history: list[RunRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_service, "_FIRST_BATCH", 2)  # windows of two runs: the tie at 05:00 spans windows
    assert flat(pages(api, limit=1)) == [r.run_id for r in history]
    assert flat(pages(api, limit=3)) == [r.run_id for r in history]
    monkeypatch.setattr(runs_service, "SCAN_BUDGET", 3)  # at most three runs examined per page
    orders = pages(api, job_id="orders_daily", limit=10)
    assert flat(orders) == ["run-09", "run-06", "run-03", "run-00"]
    assert len(orders) == 5  # fourteen runs, three examined per page


def test_bad_list_queries_are_400_problems(api: TestClient, history: list[RunRecord]) -> None:
    for params in ({"limit": 0}, {"limit": 201}, {"status": "green"}, {"since": "yesterday"}, {"job_id": "Bad!"}):
        assert_problem(api.get(f"{BASE}/runs", params=params, headers=bearer("rita")), 400, "invalid_request")
    for params in (
        {"cursor": "not-a-cursor"},
        {"cursor": "c1.e30.AAAA"},
        {"since": T0.isoformat(), "until": T0.isoformat()},
        {"since": "0001-01-01T00:00:00+05:00"},
    ):
        assert_problem(api.get(f"{BASE}/runs", params=params, headers=bearer("rita")), 400, "invalid_query")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def test_a_cursor_the_api_never_issued_is_a_400(
    api: TestClient, ports: RunPorts, history: list[RunRecord], stand_in: LocalDurableExtension
) -> None:
    """Attack (issue 14): hand-made cursors (base64 JSON naming any time and run) were accepted."""
    first = api.get(f"{BASE}/runs", params={"limit": 2}, headers=bearer("rita")).json()
    issued = first["next"]
    assert [r["run_id"] for r in first["runs"]] == [history[0].run_id, history[1].run_id]
    version, position, signature = issued.split(".")
    later = {"at": (T0 + timedelta(hours=4)).isoformat(), "run": "run-04"}
    forged = {
        "unsigned, as the old cursors": _b64(json.dumps(later).encode()),
        "another position, same signature": f"{version}.{_b64(json.dumps(later).encode())}.{signature}",
        "a flipped signature byte": f"{version}.{position}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}"
        + signature[-1],
        "no signature": f"{version}.{position}.",
        "another version": f"c0.{position}.{signature}",
        "not base64": f"{version}.{position}.%%%%",
        "not ascii": f"{version}.{position}.é",
        "truncated": issued[:-4],
    }
    for what, cursor in forged.items():
        refused = api.get(f"{BASE}/runs", params={"limit": 2, "cursor": cursor}, headers=bearer("rita"))
        assert "cursor is not one this API gave" in assert_problem(refused, 400, "invalid_query")["detail"], what
    # the cursor is bound to the filters it was issued under (not to the page size)
    for other in ({"job_id": "orders_daily"}, {"status": "failed"}, {"since": T0.isoformat()}):
        refused = api.get(f"{BASE}/runs", params={"cursor": issued, **other}, headers=bearer("rita"))
        assert_problem(refused, 400, "invalid_query")
    second = api.get(f"{BASE}/runs", params={"limit": 5, "cursor": issued}, headers=bearer("rita"))
    assert [r["run_id"] for r in second.json()["runs"]] == [r.run_id for r in history[2:7]]

    # and to its tenant: fabrikam's cursor is refused for contoso, though eve's own listing takes it
    ports.lineage.put_run(history[1].model_copy(update={"tenant": "fabrikam", "run_id": "theirs-2"}))
    theirs = api.get("/api/tenants/fabrikam/runs", params={"limit": 1}, headers=bearer("eve")).json()["next"]
    assert theirs is not None
    assert_problem(api.get(f"{BASE}/runs", params={"limit": 1, "cursor": theirs}, headers=bearer("rita")), 400,
                   "invalid_query")  # fmt: skip
    rest = api.get("/api/tenants/fabrikam/runs", params={"limit": 1, "cursor": theirs}, headers=bearer("eve"))
    assert rest.status_code == 200 and [r["run_id"] for r in rest.json()["runs"]] == ["theirs"]

    # and to its deployment: another key (another deployment, or a key rotated) does not take it
    with serving(ports, stand_in) as elsewhere:
        assert_problem(elsewhere.get(f"{BASE}/runs", params={"cursor": issued}, headers=bearer("rita")), 400,
                       "invalid_query")  # fmt: skip


def test_a_running_run_has_no_result_or_evidence_yet_and_unknown_runs_are_404(
    api: TestClient, history: list[RunRecord]
) -> None:
    running = api.get(f"{BASE}/runs/run-03", headers=bearer("rita"))  # hour 3: running
    assert running.status_code == 200 and running.json()["run"]["status"] == "running"
    assert running.json()["result"] is None
    for part in ("result", "evidence"):
        detail = assert_problem(api.get(f"{BASE}/runs/run-03/{part}", headers=bearer("rita")), 409, "run_not_finished")
        assert detail["detail"].startswith("run run-03 is running")
    for path in ("runs/theirs", "runs/theirs/lineage", "runs/theirs/evidence", "runs/nobody", "runs/nobody/report"):
        assert_problem(api.get(f"{BASE}/{path}", headers=bearer("rita")), 404, "not_found")
    assert_problem(api.get(f"{BASE}/runs/run-00/result", headers=bearer("rita")), 404, "not_found")  # no result.json


def test_a_report_is_served_as_html_once_the_run_has_one(
    api: TestClient, history: list[RunRecord], ports: RunPorts
) -> None:
    absent = assert_problem(api.get(f"{BASE}/runs/run-01/report", headers=bearer("rita")), 404, "not_found")
    assert absent["detail"] == "run run-01 has no report.html (yet)"
    page = b"<!doctype html><html><body><h1>run-01: failed</h1></body></html>"
    ports.blobs.put("contoso", "runs/run-01/report.html", page)
    response = api.get(f"{BASE}/runs/run-01/report", headers=bearer("rita"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.content == page
    assert response.headers["content-security-policy"].startswith("sandbox allow-scripts; default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_failed_rows_are_served_as_parquet_once_the_run_wrote_them(
    api: TestClient, history: list[RunRecord], ports: RunPorts
) -> None:
    absent = assert_problem(api.get(f"{BASE}/runs/run-01/failed-rows", headers=bearer("rita")), 404, "not_found")
    assert absent["detail"] == "run run-01 wrote no failed_rows.parquet"
    unfinished = api.get(f"{BASE}/runs/run-03/failed-rows", headers=bearer("rita"))
    running = assert_problem(unfinished, 409, "run_not_finished")
    assert running["detail"].startswith("run run-03 is running")
    rows = pl.DataFrame({"_dq_source_row": [4, 9], "_dq_failed_rules": [["a"], ["a", "b"]], "email": ["***", None]})
    buffer = io.BytesIO()
    rows.write_parquet(buffer)
    ports.blobs.put("contoso", "runs/run-01/failed_rows.parquet", buffer.getvalue())
    response = api.get(f"{BASE}/runs/run-01/failed-rows", headers=bearer("rita"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.apache.parquet"
    assert pl.read_parquet(io.BytesIO(response.content)).equals(rows)
    assert 'filename="run-01-failed_rows.parquet"' in response.headers["content-disposition"]
    assert_problem(api.get(f"{BASE}/runs/theirs/failed-rows", headers=bearer("rita")), 404, "not_found")


def test_every_runs_route_is_documented_with_an_operation_id() -> None:
    ctx: Any = ApiContext(ports=None, contracts=None, authenticator=None, environment="dev", starter=lambda: None)
    document = create_app(ctx).openapi()
    assert document["openapi"].startswith("3.1")
    ours = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/tenants/{tenant}/") and any(p in path for p in ("/runs", "/instances", "/uploads"))
    }
    assert {operation["operationId"] for operation in ours.values()} == {
        "start_run",
        "get_instance",
        "notify_upload",
        "upload_file",
        "put_upload_file",
        "list_runs",
        "get_run",
        "get_run_result",
        "get_run_lineage",
        "get_run_evidence",
        "get_run_report",
        "get_run_failed_rows",
    }
    for (method, path), operation in ours.items():
        assert {"400", "401", "403", "404", "503"} <= set(operation["responses"]), (method, path)
    upload_op = ours[("post", "/api/tenants/{tenant}/uploads/{dataset}")]
    assert {"409", "413", "415"} <= set(upload_op["responses"])
    assert "text/csv" in upload_op["requestBody"]["content"]
    assert (
        "application/zip"
        in ours[("get", "/api/tenants/{tenant}/runs/{run_id}/evidence")]["responses"]["200"]["content"]
    )


# --- Azure Table and Blob Storage (Azurite) ---------------------------------------------------------


def azurite() -> str:
    value = os.environ.get("DQ_TEST_AZURITE_CONNECTION")
    if not value:
        pytest.fail("DQ_TEST_AZURITE_CONNECTION is not set: run the suite with scripts/test.sh (it starts Azurite)")
    return value


@pytest.mark.integration
def test_a_notified_blob_on_azurite_runs_to_a_result_read_back_through_the_api(tmp_path: Path, dev: None) -> None:
    from adapters.azure.blob_store import AzureBlobStore
    from adapters.azure.table_lineage import TableLineageStore

    connection, name = azurite(), "r" + uuid.uuid4().hex[:9]
    blobs = AzureBlobStore.from_connection_string(connection, container_prefix=name + "-")
    ports = wire(tmp_path, TableLineageStore.from_connection_string(connection, prefix=name), blobs)
    try:
        etag = blobs.put("contoso", LANDED, SAMPLE.read_bytes())
        container = blobs.container_name("contoso")
        uri = f"http://127.0.0.1:10000/devstoreaccount1/{container}/{LANDED.replace('_', '%5F')}"
        with LocalDurableExtension() as real, serving(ports, real) as client:
            response = notify(client, {"blob_uri": uri, "etag": etag, "metadata": {"tenant": "contoso"}})
            assert response.status_code == 202, response.text
            (run,) = response.json()["runs"]
            assert run["instance_id"] == "contoso:customers_daily:" + etag.strip('"')
            status = follow(client, run["status_url"])
            run_id = check_finished_run(client, status, ports.lineage)
            assert ports.lineage.get_run("contoso", run_id).input_etag == etag
            other = notify(client, {"blob_uri": uri.replace(container, "dq-fabrikam"), "etag": etag})
            assert_problem(other, 403, "forbidden")
    finally:
        use_ports(None)
