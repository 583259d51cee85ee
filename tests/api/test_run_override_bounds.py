"""A run's overrides over HTTP (issue 14, item 4): bounded, and checked when the run is asked for.

Attacks: ``chunk_rows: 1`` made a run 590 times slower and starved the API (a chunk costs
three Parquet files and two activities whatever its size); a parallelism of 256 fanned out
as many activities at once; ``ingest.delimiter: "ab"`` was accepted (202), then raised a
``TypeError`` inside the run, retried as if transient. Each is now a 400 problem that names
the field, and nothing starts. Real pieces: the FastAPI app, SQLite registry with the demo
libraries published, the local Durable extension with a stand-in ``run_job``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runtime import use_ports
from app.settings import get_settings
from dq_core.runs.payloads import OrchestratorName
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.api.conftest import assert_problem, bearer
from tests.api.test_runs_routes import BASE, LANDED, SAMPLE, accept_run, serving, wire

BAD_OVERRIDES = [
    ({"chunk_rows": 1}, "overrides.chunk_rows: Input should be greater than or equal to 100"),
    ({"chunk_rows": 99}, "overrides.chunk_rows: Input should be greater than or equal to 100"),
    ({"chunk_rows": 5_000_001}, "overrides.chunk_rows: Input should be less than or equal to 5000000"),
    ({"max_parallelism": 0}, "overrides.max_parallelism: Input should be greater than or equal to 1"),
    ({"max_parallelism": 65}, "overrides.max_parallelism: Input should be less than or equal to 64"),
    ({"ingest": {"delimiter": "ab"}}, "overrides.ingest.delimiter: Value error, the delimiter must be one ASCII"),
    ({"ingest": {"delimiter": "\n"}}, "overrides.ingest.delimiter"),
    ({"ingest": {"delimiter": "é"}}, "overrides.ingest.delimiter"),
    ({"ingest": {"quote": ""}}, "overrides.ingest.quote: Value error, the quote character must be one ASCII"),
    ({"ingest": {"quote": "''"}}, "overrides.ingest.quote"),
    ({"ingest": {"delimiter": ";", "quote": ";"}}, "the delimiter and the quote character must differ"),
    ({"ingest": {"encoding": "no-such-codec"}}, "overrides.ingest.encoding: Value error, 'no-such-codec' is not a"),
    ({"ingest": {"encoding": "rot13"}}, "'rot13' is not a known text encoding"),
    ({"ingest": {"encoding": "x" * 65}}, "overrides.ingest.encoding: String should have at most 64 characters"),
    ({"ingest": {"format": "exe"}}, "overrides.ingest.format: Input should be 'csv', 'csv.gz', 'parquet'"),
    ({"references": {"airports": "file:///etc/hosts"}}, "references.airports: give a path in the tenant's container"),
    ({"references": {"airports": "../fabrikam/airports.csv"}}, "is not a path in the tenant's container"),
    ({"references": {"airports": "https://example.org/airports.csv"}}, "is not a path in the tenant's container"),
]


@pytest.fixture
def ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunPorts]:
    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    yield wire(tmp_path)
    use_ports(None)
    get_settings.cache_clear()


@pytest.fixture
def stand_in(ports: RunPorts) -> Iterator[LocalDurableExtension]:
    with LocalDurableExtension({OrchestratorName.RUN_JOB.value: accept_run}, lambda name, payload: None) as running:
        yield running


@pytest.fixture
def api(ports: RunPorts, stand_in: LocalDurableExtension) -> Iterator[TestClient]:
    with serving(ports, stand_in) as client:
        yield client


@pytest.mark.parametrize(("overrides", "detail"), BAD_OVERRIDES)
def test_out_of_range_and_malformed_overrides_are_400_before_anything_starts(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts, overrides: dict[str, Any], detail: str
) -> None:
    etag = ports.blobs.put("contoso", LANDED, SAMPLE.read_bytes())
    started = api.post(
        f"{BASE}/jobs/customers_daily/runs",
        json={"input_uri": LANDED, "etag": etag, "overrides": overrides},
        headers=bearer("otto"),
    )
    assert detail in assert_problem(started, 400, "invalid_request")["detail"]
    notified = api.post(
        f"{BASE}/uploads/notify", json={"path": LANDED, "etag": etag, "overrides": overrides}, headers=bearer("otto")
    )
    assert detail in assert_problem(notified, 400, "invalid_request")["detail"]
    assert stand_in.instance_ids() == []


def test_overrides_at_their_bounds_start_a_run_that_carries_them(
    api: TestClient, stand_in: LocalDurableExtension, ports: RunPorts
) -> None:
    overrides = {
        "chunk_rows": 100,
        "max_parallelism": 64,
        "ingest": {"format": "csv", "encoding": "cp1252", "delimiter": "\t", "quote": "'"},
    }
    started = api.post(
        f"{BASE}/jobs/customers_daily/runs", json={"input_uri": LANDED, "overrides": overrides}, headers=bearer("otto")
    )
    assert started.status_code == 202, started.text
    ceiling = api.post(
        f"{BASE}/jobs/customers_daily/runs",
        json={"input_uri": LANDED, "overrides": {"chunk_rows": 5_000_000, "max_parallelism": 1}},
        headers=bearer("otto"),
    )
    assert ceiling.status_code == 202, ceiling.text
    assert len(stand_in.instance_ids()) == 2
