"""The retention clean-up over real stores: a local folder with SQLite lineage, and Azurite's
Blob Storage with Azure Table lineage. Old runs' folders and raw uploads go, new ones stay,
each deletion leaves an audit event; run files are written in their access tiers."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.errors import TransientError
from dq_core.libraries.infra import StorageTier, StorageTiers
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.runs.files import RunFiles
from services import retention
from services import workspace as service
from services.retention import RetentionService, all_runs
from tests.conftest import LIBRARIES

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 3, tzinfo=UTC)
TENANT = "contoso"
UPLOAD = "uploads/customers/20260601T080000-0a1b2c3d/customers.csv"


@pytest.fixture(params=["local", "azure"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[LineageStore, BlobStore]:
    """(lineage, blobs): SQLite and a folder, or Azure Table Storage and Blob Storage on Azurite."""
    if request.param == "local":
        from adapters.local.folder_blobs import LocalBlobStore
        from adapters.local.sqlite_lineage import SqliteLineageStore

        return SqliteLineageStore(str(tmp_path / "lineage.db")), LocalBlobStore(tmp_path / "blobs")
    from adapters.azure.blob_store import AzureBlobStore
    from adapters.azure.table_lineage import TableLineageStore

    connection = _azurite()
    name = "t" + uuid.uuid4().hex[:9]
    return (
        TableLineageStore.from_connection_string(connection, prefix=name),
        AzureBlobStore.from_connection_string(connection, container_prefix=name + "-"),
    )


def _azurite() -> str:
    value = os.environ.get("DQ_TEST_AZURITE_CONNECTION")
    if not value:
        pytest.fail("DQ_TEST_AZURITE_CONNECTION is not set: run the suite with scripts/test.sh")
    return value


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    """The demo job's bundle: infra standard (raw 30, outputs 90 days), governance 730 days."""
    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope(TENANT, "dev"), "customers_daily")


def record(lineage: LineageStore, run_id: str, ago: timedelta, input_uri: str = "landing/crm/customers.csv") -> None:
    finished = NOW - ago
    lineage.put_run(
        RunRecord(
            tenant=TENANT,
            run_id=run_id,
            environment="dev",
            status="failed",
            started_at=finished - timedelta(minutes=3),
            finished_at=finished,
            ingestion_mode=IngestionMode.UPLOAD if input_uri.startswith("uploads/") else IngestionMode.HTTP,
            input_uri=input_uri,
            contract_id="customers",
            contract_version="1.0.0",
            contract_sha256="c" * 64,
            bundle_sha256="b" * 64,
        )
    )


def store_run_folder(blobs: BlobStore, bundle: ResolvedBundle, run_id: str) -> list[str]:
    """What a finished run leaves: its bundle, result, reports, cleansed rows and rejects."""
    files = RunFiles(blobs, TENANT, bundle.infra.storage)
    folder = f"runs/{run_id}/"
    rows = pl.DataFrame({"customer_id": ["CUS-000001"]})
    files.write_bytes(folder + "bundle.json", canonical_json(bundle))
    files.write_bytes(folder + "result.json", b"{}")
    files.write_bytes(folder + "report.html", b"<html></html>")
    files.write_frame(folder + "rejects.parquet", rows)
    files.write_chunks(folder + "cleansed/", rows, 100)
    return list(blobs.list(TENANT, folder))


def test_old_runs_and_uploads_are_deleted_new_ones_kept_and_each_deletion_audited(
    stores: tuple[LineageStore, BlobStore], bundle: ResolvedBundle
) -> None:
    lineage, blobs = stores
    record(lineage, "old", timedelta(days=90, seconds=1))  # one second past the 90 days of the outputs
    record(lineage, "edge", timedelta(days=90))  # exactly 90 days: kept
    record(lineage, "uploaded", timedelta(days=45), input_uri=UPLOAD)  # raw copy past its 30 days, outputs kept
    record(lineage, "new", timedelta(days=1))
    for run_id in ("old", "edge", "uploaded", "new"):
        assert len(store_run_folder(blobs, bundle, run_id)) == 5
    blobs.put(TENANT, UPLOAD, b"customer_id\nCUS-000001\n")
    blobs.put(TENANT, "landing/crm/customers.csv", b"customer_id\n")  # the tenant's own file
    service_ = RetentionService(lineage, blobs, "dev")

    dry = service_.apply(TENANT, NOW, dry_run=True)
    assert [(item.due.prefix, item.deleted) for item in dry.purged] == [
        ("runs/old/", 5),
        ("uploads/customers/20260601T080000-0a1b2c3d/", 1),
    ]
    assert len(blobs.list(TENANT, "runs/old/")) == 5 and blobs.list(TENANT, "uploads/") == [UPLOAD]
    assert lineage.audit(TENANT, NOW - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)) == []

    outcome = service_.apply(TENANT, NOW, correlation_id="pass-1")
    assert (outcome.deleted, outcome.problems) == (6, [])
    assert blobs.list(TENANT, "runs/old/") == [] and blobs.list(TENANT, "uploads/") == []
    for kept in ("edge", "uploaded", "new"):
        assert len(blobs.list(TENANT, f"runs/{kept}/")) == 5
    assert blobs.list(TENANT, "landing/") == ["landing/crm/customers.csv"]
    assert lineage.get_run(TENANT, "old").run_id == "old"  # the lineage entities stay: the audit trail

    events = lineage.audit(TENANT, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    assert [(e.action, e.object, e.actor, e.environment, e.correlation_id) for e in events] == [
        ("purge", "runs/old/", "system:retention", "dev", "pass-1"),
        ("purge", "uploads/customers/20260601T080000-0a1b2c3d/", "system:retention", "dev", "pass-1"),
    ]
    assert events[0].detail.startswith("deleted 5 blobs: run_folder of run old: kept 90 days from ")
    assert events[1].detail.startswith("deleted 1 blobs: upload of run uploaded: kept 30 days from ")

    again = service_.apply(TENANT, NOW)
    assert again.purged == []  # nothing left to delete, nothing audited twice
    assert len(lineage.audit(TENANT, NOW - timedelta(days=1), datetime.now(UTC) + timedelta(hours=1))) == 2


def test_every_run_is_read_page_by_page(
    stores: tuple[LineageStore, BlobStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    lineage, _ = stores
    monkeypatch.setattr(retention, "PAGE", 2)
    for index in range(5):
        record(lineage, f"r{index}", timedelta(days=index))
    for twin in ("twin", "triplet"):  # started in the same microsecond as r2: more than a page
        record(lineage, twin, timedelta(days=2))
    found = [run.run_id for run in all_runs(lineage, TENANT, NOW)]
    assert sorted(found) == ["r0", "r1", "r2", "r3", "r4", "triplet", "twin"]
    assert len(found) == len(set(found))


class RefusingBlobs:
    """A real store that cannot delete one folder (a lock, a storage outage for that prefix)."""

    def __init__(self, inner: BlobStore, refused: str) -> None:
        self.inner, self.refused = inner, refused

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete_prefix(self, tenant: str, prefix: str) -> int:
        if prefix == self.refused:
            raise TransientError(f"{prefix}: the service is busy")
        return self.inner.delete_prefix(tenant, prefix)


def test_a_folder_that_cannot_be_deleted_never_stops_the_others(
    stores: tuple[LineageStore, BlobStore], bundle: ResolvedBundle
) -> None:
    lineage, blobs = stores
    for run_id in ("a", "b"):
        record(lineage, run_id, timedelta(days=400))
        store_run_folder(blobs, bundle, run_id)
    outcome = RetentionService(lineage, RefusingBlobs(blobs, "runs/a/"), "dev", actor="ann").apply(TENANT, NOW)
    assert outcome.problems == ["contoso/runs/a/: transient: runs/a/: the service is busy"]
    assert blobs.list(TENANT, "runs/b/") == [] and len(blobs.list(TENANT, "runs/a/")) == 5
    events = lineage.audit(TENANT, NOW, datetime.now(UTC) + timedelta(hours=1))
    assert [(e.object, e.actor) for e in events] == [("runs/b/", "ann")]  # only what was deleted


def test_a_shorter_governance_retention_wins_over_the_infra_profile(
    stores: tuple[LineageStore, BlobStore], bundle: ResolvedBundle
) -> None:
    lineage, blobs = stores
    document = bundle.model_dump(mode="json", by_alias=True)
    document["governance"]["retention_days"] = 7
    strict = ResolvedBundle.model_validate({**document, "sha256": ""})
    record(lineage, "strict", timedelta(days=8))
    store_run_folder(blobs, strict, "strict")
    record(lineage, "standard", timedelta(days=8))
    store_run_folder(blobs, bundle, "standard")
    outcome = RetentionService(lineage, blobs, "dev").apply(TENANT, NOW)
    assert [(item.due.prefix, item.due.days) for item in outcome.purged] == [("runs/strict/", 7)]


def test_run_files_are_written_in_their_access_tiers_on_azurite(bundle: ResolvedBundle) -> None:
    from azure.storage.blob import BlobServiceClient

    from adapters.azure.blob_store import AzureBlobStore

    connection = _azurite()
    blobs = AzureBlobStore.from_connection_string(connection, container_prefix="t" + uuid.uuid4().hex[:9] + "-")
    tiers = StorageTiers(raw=StorageTier.COOL, outputs=StorageTier.COOL, reports=StorageTier.ARCHIVE)
    files = RunFiles(blobs, TENANT, tiers)
    rows = pl.DataFrame({"customer_id": ["CUS-000001"]})
    files.write_frame("runs/r1/rejects.parquet", rows)
    files.write_bytes("runs/r1/result.json", b"{}")
    files.write_chunks("runs/r1/work/", rows, 100)
    blobs.put(TENANT, "uploads/customers/20260601T080000-0a1b2c3d/c.csv", b"x", tier=StorageTier.COLD)

    container = BlobServiceClient.from_connection_string(connection).get_container_client(blobs.container_name(TENANT))

    def tier(path: str) -> tuple[str, bool]:
        properties = container.get_blob_client(path).get_blob_properties()
        return str(properties.blob_tier), bool(properties.blob_tier_inferred)

    assert tier("runs/r1/rejects.parquet") == ("Cool", False)  # outputs
    assert tier("runs/r1/result.json") == ("Cold", False)  # reports: archive is written as cold
    assert tier("runs/r1/work/part-00000.parquet") == ("Hot", True)  # working files: the account's default
    assert tier("uploads/customers/20260601T080000-0a1b2c3d/c.csv") == ("Cold", False)
    assert files.read_bytes("runs/r1/result.json") == b"{}"  # readable as written
