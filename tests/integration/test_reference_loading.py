"""Reference datasets read from the BlobStore port: a local folder and Azurite behave alike."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from dq_core.contracts.models import ReferenceDatasetSpec
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.runs.references import load_references

pytestmark = pytest.mark.integration

TENANT = "contoso"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _spec(**fields: Any) -> ReferenceDatasetSpec:
    return ReferenceDatasetSpec.model_validate({"name": "airports", "columns": ["faa"], **fields})


def _run(run_id: str, job_id: str, status: str, minutes_ago: int) -> RunRecord:
    return RunRecord(
        tenant=TENANT,
        run_id=run_id,
        environment="dev",
        status=status,
        started_at=NOW - timedelta(minutes=minutes_ago),
        ingestion_mode=IngestionMode.LOCAL,
        input_uri="landing/airports.csv",
        job_id=job_id,
        contract_id="airports",
        contract_version="1.0.0",
        contract_sha256="0" * 64,
        bundle_sha256="0" * 64,
    )


def test_a_blob_path_reads_only_the_distinct_keys(blob_store: Any) -> None:
    blob_store.put(TENANT, "reference/airports.csv", b"faa,name\nJFK,Kennedy\nLGA,LaGuardia\nJFK,again\n,blank\n")
    loaded = load_references([_spec(blob="reference/airports.csv")], TENANT, blob_store, now=NOW)
    assert loaded.errors == {}
    assert sorted(loaded.values["airports.faa"].to_list()) == ["JFK", "LGA"]
    assert list(loaded.values) == ["airports.faa"]  # the name column is never kept


def test_a_glob_joins_every_matching_part(blob_store: Any) -> None:
    blob_store.put(TENANT, "reference/airports/part-0.parquet", _parquet(pl.DataFrame({"faa": ["JFK", "BOS"]})))
    blob_store.put(TENANT, "reference/airports/part-1.parquet", _parquet(pl.DataFrame({"faa": ["BOS", "ORD"]})))
    blob_store.put(TENANT, "reference/other/part-0.parquet", _parquet(pl.DataFrame({"faa": ["XXX"]})))
    loaded = load_references([_spec(blob="reference/airports/*.parquet")], TENANT, blob_store, now=NOW)
    assert sorted(loaded.values["airports.faa"].to_list()) == ["BOS", "JFK", "ORD"]


def test_what_cannot_be_read_is_a_reason_not_an_exception(blob_store: Any) -> None:
    blob_store.put(TENANT, "reference/codes.csv", b"code\nA\n")
    loaded = load_references(
        [
            _spec(blob="reference/missing.csv"),
            _spec(name="by_glob", blob="reference/none/*.parquet"),
            _spec(name="wrong_column", blob="reference/codes.csv"),
            _spec(name="nowhere"),
        ],
        TENANT,
        blob_store,
        now=NOW,
    )
    assert loaded.values == {}
    assert loaded.errors == {
        "airports": "the blob 'reference/missing.csv' does not exist",
        "by_glob": "no blob matches 'reference/none/*.parquet'",
        "wrong_column": "codes.csv has no column 'faa'",
        "nowhere": "the contract gives no location (blob or latest_output_of) and the run none",
    }


def test_an_override_wins_over_the_contracts_location(blob_store: Any) -> None:
    blob_store.put(TENANT, "reference/today.csv", b"faa\nSFO\n")
    loaded = load_references(
        [_spec(blob="reference/missing.csv")],
        TENANT,
        blob_store,
        overrides={"airports": "reference/today.csv"},
        now=NOW,
    )
    assert loaded.values["airports.faa"].to_list() == ["SFO"]


def test_a_local_file_is_refused_where_local_files_are_not_read(blob_store: Any, tmp_path: Any) -> None:
    local = tmp_path / "airports.csv"
    local.write_text("faa\nJFK\n")
    overrides = {"airports": local.as_uri()}
    refused = load_references([_spec()], TENANT, blob_store, overrides=overrides, now=NOW)
    assert refused.errors["airports"].startswith("local files are not read by this host")
    assert str(tmp_path) not in refused.errors["airports"]
    read = load_references([_spec()], TENANT, blob_store, overrides=overrides, allow_local_files=True, now=NOW)
    assert read.values["airports.faa"].to_list() == ["JFK"]


def test_latest_output_of_reads_the_cleansed_output_of_the_jobs_newest_passed_run(
    blob_store: Any, lineage_store: Any
) -> None:
    lineage_store.put_run(_run("old", "airports_daily", "passed", minutes_ago=60))
    lineage_store.put_run(_run("newest-failed", "airports_daily", "failed", minutes_ago=5))
    lineage_store.put_run(_run("good", "airports_daily", "passed", minutes_ago=30))
    lineage_store.put_run(_run("other-job", "carriers_daily", "passed", minutes_ago=1))
    for run_id, codes in (("old", ["OLD"]), ("newest-failed", ["BAD"]), ("good", ["JFK", "LGA"])):
        blob_store.put(TENANT, f"runs/{run_id}/cleansed/part-00000.parquet", _parquet(pl.DataFrame({"faa": codes})))
    blob_store.put(TENANT, "runs/other-job/cleansed/part-00000.parquet", _parquet(pl.DataFrame({"faa": ["NO"]})))
    specs = [_spec(latest_output_of="airports_daily"), _spec(name="never_ran", latest_output_of="nobody_daily")]
    loaded = load_references(specs, TENANT, blob_store, lineage_store, now=NOW)
    assert sorted(loaded.values["airports.faa"].to_list()) == ["JFK", "LGA"]
    assert loaded.errors == {"never_ran": "job 'nobody_daily' has no passed run"}
