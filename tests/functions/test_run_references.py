"""A hosted run (no local files, as in Azure) reads its reference dataset from the tenant's container through the
orchestrator; a local file given to such a run is refused; a job's latest passed output is found in the lineage."""

from __future__ import annotations

import json

import polars as pl

from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.canonical import canonical_json
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract
from dq_core.lineage.models import IngestionMode
from dq_core.runs.payloads import InputRef, RunOverrides, RunRequest, RunSummary
from dq_core.runs.stages import RunPorts
from local_host.runs import run_locally

TENANT = "contoso"
FLIGHTS = b"flight,origin\n1,JFK\n2,LGA\n3,XXX\n4,\n5,QQQ\n6,JFK\n"
AIRPORTS = b"faa,name\nJFK,Kennedy\nLGA,LaGuardia\n"


def _request(ports: RunPorts, overrides: RunOverrides | None = None) -> RunRequest:
    contract = DataContract.model_validate(
        {
            "tenant": TENANT,
            "environment": "dev",
            "id": "flights",
            "version": "1.0.0",
            "reference_datasets": [{"name": "airports", "columns": ["faa"], "blob": "reference/airports.csv"}],
            "datasets": [
                {
                    "name": "flights",
                    "columns": [{"name": "flight", "logical_type": "integer"}, {"name": "origin"}],
                    "bindings": [
                        {
                            "id": "origin_known",
                            "check": {
                                "type": "referential",
                                "params": {"reference_dataset": "airports", "reference_column": "faa"},
                            },
                            "columns": ["origin"],
                        }
                    ],
                }
            ],
        }
    )
    index = InMemoryConfigIndex()
    index.add(contract, "inline")
    bundle = resolve_bundle(index, contract)
    ports.blobs.put(TENANT, "bundles/flights.json", canonical_json(bundle), overwrite=True)
    ports.blobs.put(TENANT, "landing/flights.csv", FLIGHTS, overwrite=True)
    return RunRequest(
        tenant=TENANT,
        environment="dev",
        bundle_path="bundles/flights.json",
        inputs=(InputRef(uri="landing/flights.csv"),),
        ingestion_mode=IngestionMode.HTTP,
        overrides=overrides or RunOverrides(),
    )


def _run(ports: RunPorts, request: RunRequest) -> tuple[RunSummary, dict[str, object]]:
    summary, outcome = run_locally(request, ports, workers=2)
    assert summary is not None, outcome.error
    run = summary.runs[0]
    document = json.loads(ports.blobs.get(TENANT, f"runs/{run.run_id}/result.json")[0])
    return run, document


def _origin(document: dict[str, object]) -> dict[str, object]:
    validation = document["validation"]
    assert isinstance(validation, dict)
    rule: dict[str, object] = validation["rules"][0]
    return rule


def test_a_hosted_run_reads_the_reference_from_the_tenants_container(ports: RunPorts) -> None:
    ports.blobs.put(TENANT, "reference/airports.csv", AIRPORTS)
    run, document = _run(ports, _request(ports))
    flights = pl.read_csv(FLIGHTS).filter(pl.col("origin").is_not_null())
    expected = flights.join(pl.read_csv(AIRPORTS), left_on="origin", right_on="faa", how="anti").height
    assert run.status == "failed"
    assert _origin(document)["unexpected_count"] == expected == 2
    assert f"runs/{run.run_id}/references.json" in ports.blobs.list(TENANT, f"runs/{run.run_id}/")


def test_an_override_reads_another_blob_and_a_missing_one_is_the_rules_error(ports: RunPorts) -> None:
    ports.blobs.put(TENANT, "reference/more/airports.csv", AIRPORTS + b"XXX,Somewhere\nQQQ,Elsewhere\n")
    run, document = _run(ports, _request(ports, RunOverrides(references={"airports": "reference/more/*.csv"})))
    assert run.status == "passed" and _origin(document)["unexpected_count"] == 0
    run, document = _run(ports, _request(ports))  # the contract's reference/airports.csv does not exist
    assert run.status == "failed"
    assert _origin(document)["status"] == "error"
    assert _origin(document)["error"] == (
        "reference dataset 'airports' cannot be read: the blob 'reference/airports.csv' does not exist"
    )


def test_a_hosted_run_refuses_a_local_file(ports: RunPorts) -> None:
    overrides = RunOverrides(references={"airports": "file:///etc/hosts"})
    run, document = _run(ports, _request(ports, overrides))
    assert run.status == "error"
    assert run.error is not None
    assert run.error.message == "reference 'airports': this host reads references from the tenant's container only"
    assert document["status"] == "error"
