"""``POST /api/tenants/{tenant}/uploads/{dataset}`` through the registered function."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from app.local_extension import LocalDurableExtension
from dq_core.ports import ContractStore
from dq_core.results.run import RunResult
from dq_core.runs.stages import RunPorts
from tests.conftest import LIBRARIES
from tests.functions.conftest import call, started
from tests.registry_support import job, publish
from triggers import uploads

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"


def upload(
    body: bytes,
    *,
    dataset: str = "customers",
    tenant: str = "contoso",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost:7071/api/tenants/{tenant}/uploads/{dataset}",
        params={"filename": "customers.csv"} if params is None else params,
        headers=headers,
        route_params={"tenant": tenant, "dataset": dataset},
        body=body,
    )


def send(functions: dict[str, Any], client: Any, req: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = call(functions["upload_file"].get_user_function().client_function(req, client))
    return response


def problem(response: func.HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_body())
    assert body["status"] == status and "\n" not in body["detail"]
    return body


def test_an_upload_is_stored_and_runs_the_bound_job(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, ports: RunPorts
) -> None:
    data = SAMPLE.read_bytes()
    response = send(functions, client, upload(data, params={"filename": "crm export.csv"}))
    assert response.status_code == 202, response.get_body()
    path = response.headers["x-dq-blob-path"]
    assert re.fullmatch(r"uploads/customers/\d{8}T\d{6}-[0-9a-f]{8}-crm export\.csv", path)
    stored, etag = ports.blobs.get("contoso", path)
    assert stored == data
    instance = json.loads(response.get_body())["id"]
    assert instance == "contoso:customers_daily:" + etag.strip('"')
    request = started(extension, instance)
    assert request["ingestion_mode"] == "upload"
    assert (request["job_id"], request["job_version"]) == ("customers_daily", "1.0.0")
    assert request["inputs"] == [{"uri": path, "etag": etag}]
    assert request["trigger"] == {"type": "upload", "file_name": "crm export.csv", "bytes": len(data)}


def test_the_file_name_may_come_from_a_header(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, ports: RunPorts
) -> None:
    response = send(functions, client, upload(b"a,b\n1,2\n", params={}, headers={"x-file-name": "drop.csv"}))
    assert response.status_code == 202
    assert response.headers["x-dq-blob-path"].endswith("-drop.csv")
    assert ports.blobs.list("contoso", "uploads/customers/") == [response.headers["x-dq-blob-path"]]


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({}, "file name missing"),
        ({"filename": "../etc/passwd"}, "invalid file name"),
        ({"filename": "a\\b.csv"}, "invalid file name"),
        ({"filename": ".."}, "invalid file name"),
        ({"filename": " padded.csv"}, "invalid file name"),
        ({"filename": "bell\x07.csv"}, "invalid file name"),
    ],
)
def test_a_missing_or_unsafe_file_name_is_a_400(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, ports: RunPorts, params: Any, title: str
) -> None:
    assert problem(send(functions, client, upload(b"a\n1\n", params=params)), 400)["title"] == title
    assert ports.blobs.list("contoso") == [] and extension.instance_ids() == []


def test_an_empty_body_is_a_400_and_an_oversized_one_a_413(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    ports: RunPorts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert problem(send(functions, client, upload(b"")), 400)["title"] == "empty upload"
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 10)
    too_large = problem(send(functions, client, upload(b"x" * 11)), 413)
    assert too_large["detail"] == "11 bytes, over the limit of 10"
    assert ports.blobs.list("contoso") == [] and extension.instance_ids() == []


def test_a_dataset_no_published_job_runs_is_a_404_and_nothing_is_stored(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, ports: RunPorts
) -> None:
    found = problem(send(functions, client, upload(b"a\n1\n", dataset="orders")), 404)
    assert found["detail"] == "no published job runs dataset 'orders' in contoso/dev"
    chosen = problem(send(functions, client, upload(b"a\n1\n", params={"filename": "x.csv", "job": "other"})), 404)
    assert chosen["detail"] == "job 'other' runs dataset 'customers' in contoso/dev"
    assert problem(send(functions, client, upload(b"a\n1\n", dataset="../x")), 400)["title"] == "invalid dataset"
    assert ports.blobs.list("contoso") == [] and extension.instance_ids() == []


def test_several_jobs_on_one_dataset_need_the_job_parameter(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, registry: ContractStore
) -> None:
    publish(registry, job("customers_adhoc"))  # no dataset of its own: the contract's first, customers
    ambiguous = problem(send(functions, client, upload(b"a\n1\n")), 400)
    assert ambiguous["detail"] == "choose one with ?job= (customers_adhoc, customers_daily)"
    response = send(functions, client, upload(b"a\n1\n", params={"filename": "x.csv", "job": "customers_adhoc"}))
    assert response.status_code == 202
    assert started(extension, json.loads(response.get_body())["id"])["job_id"] == "customers_adhoc"


def test_the_same_bytes_twice_run_once_locally(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, ports: RunPorts
) -> None:
    # the embedded blob store's ETags are content hashes: a second upload of the same bytes is stored, not run
    first = send(functions, client, upload(b"a,b\n1,2\n"))
    assert first.status_code == 202
    extension.wait(json.loads(first.get_body())["id"])
    again = problem(send(functions, client, upload(b"a,b\n1,2\n")), 409)
    assert again["instance_id"] == json.loads(first.get_body())["id"]
    assert len(ports.blobs.list("contoso", "uploads/")) == 2 and len(extension.instance_ids()) == 1


def test_an_upload_runs_the_real_orchestration_to_a_result(functions: dict[str, Any], ports: RunPorts) -> None:
    with LocalDurableExtension() as real:  # run_job, run_file and every activity, over the installed ports
        client = df.DurableOrchestrationClient(real.client_binding())
        response = send(functions, client, upload(SAMPLE.read_bytes()))
        assert response.status_code == 202
        instance = json.loads(response.get_body())["id"]
        status = real.wait(instance, timeout=120)
    assert status.runtime_status == "Completed", status.output
    run = status.output["runs"][0]
    result = RunResult.model_validate_json(ports.blobs.get("contoso", run["result_path"])[0])
    assert result.input.uri == response.headers["x-dq-blob-path"]
    assert result.input.rows == result.cleansing.rows_in > 0
    assert result.status == run["status"] == "failed"  # the sample has planted defects
    assert ports.lineage.get_run("contoso", run["run_id"]).status == "failed"
