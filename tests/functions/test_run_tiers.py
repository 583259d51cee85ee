"""Run files are written in the access tiers of the bundle's infra profile; an upload, in its raw tier."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.local.folder_blobs import LocalBlobStore
from app.runtime import use_ports
from dq_core.bundle.models import ResolvedBundle
from dq_core.libraries.infra import StorageTier
from dq_core.ports import ContractStore
from services.run_starts import Starting, upload_and_start
from tests.functions.test_run_job import Calls, customers, drive, request, wire
from tests.unit.test_starting import InMemoryStarter


class TierRecordingBlobs(LocalBlobStore):
    """The real folder store (which has no tiers), noting the tier each blob was last written in."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.tiers: dict[str, StorageTier | None] = {}

    def put(
        self,
        tenant: str,
        path: str,
        data: bytes,
        *,
        overwrite: bool = False,
        if_match: str | None = None,
        tier: StorageTier | None = None,
    ) -> str:
        self.tiers[path] = tier
        return super().put(tenant, path, data, overwrite=overwrite, if_match=if_match, tier=tier)


@pytest.fixture
def tiered(tmp_path: Path) -> ResolvedBundle:
    """The demo job's bundle with outputs in cool and reports in archive."""
    from services import workspace as service
    from tests.conftest import LIBRARIES

    bundle = service.job_bundle(
        service.workspace_from_directory(LIBRARIES), service.Scope("contoso", "dev"), "customers_daily"
    )
    document = bundle.model_dump(mode="json", by_alias=True)
    document["infra"]["storage"] = {"raw": "cool", "outputs": "cool", "reports": "archive"}
    return ResolvedBundle.model_validate({**document, "sha256": ""})


@pytest.fixture
def blobs(tmp_path: Path, tiered: ResolvedBundle) -> Iterator[TierRecordingBlobs]:
    store = TierRecordingBlobs(tmp_path / "blobs")
    wire(tmp_path, tiered, store)
    yield store
    use_ports(None)


def test_outputs_reports_and_working_files_go_to_their_tiers(tmp_path: Path, blobs: TierRecordingBlobs) -> None:
    outcome = drive(Calls(), request(customers(tmp_path, 20)))
    assert not outcome.failed, outcome.error
    folder = f"runs/{outcome.output['runs'][0]['run_id']}/"
    written = {path.removeprefix(folder): tier for path, tier in blobs.tiers.items() if path.startswith(folder)}
    cool, cold = StorageTier.COOL, StorageTier.COLD  # archive is written as cold: every file is read back
    assert {name: written[name] for name in ("rejects.parquet", "cleansed/part-00000.parquet")} == {
        "rejects.parquet": cool,
        "cleansed/part-00000.parquet": cool,
    }
    for report in ("bundle.json", "cleansing.json", "profile.json", "validation.json", "result.json", "report.html"):
        assert written[report] is cold, report
    assert {tier for name, tier in written.items() if name.startswith(("ingested/", "work/"))} == {None}
    assert blobs.tiers["bundles/demo.json"] is None  # not a run's file
    assert [path for path, tier in blobs.tiers.items() if path.startswith("profiles/")] != []
    assert {tier for path, tier in blobs.tiers.items() if path.startswith("profiles/")} == {None}


def test_an_upload_is_stored_in_the_raw_tier_of_its_jobs_profile(tmp_path: Path, registry: ContractStore) -> None:
    """The demo job runs with the contract's infra profile ``standard``, whose raw tier is hot."""
    store = TierRecordingBlobs(tmp_path / "uploads")
    starting = Starting(registry=registry, blobs=store, starter=InMemoryStarter(), environment="dev")
    uploaded = asyncio.run(
        upload_and_start(
            starting,
            "contoso",
            "customers",
            "customers.csv",
            b"customer_id\nCUS-000001\n",
            job_id=None,
            content_type="text/csv",
            actor="otto",
            correlation_id=None,
        )
    )
    assert uploaded.path.startswith("uploads/customers/")
    assert store.tiers == {uploaded.path: StorageTier.HOT}
