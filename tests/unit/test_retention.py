"""Retention, pure: which folders are due when, and the access tier each run file is written in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dq_core.config.base import Kind, ObjectKey
from dq_core.config.canonical import canonical_json
from dq_core.errors import InputError
from dq_core.jobs.models import JobDefinition
from dq_core.libraries.infra import Retention, StorageTier, StorageTiers
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.retention import (
    DEFAULT_PERIODS,
    UPLOAD_FOLDER,
    Purpose,
    RetentionPeriods,
    due_deletions,
    periods_of_bundle,
)
from dq_core.runs.files import readable, tier_of, upload_tier
from services import workspace as service
from services.run_starts import upload_folder
from tests.conftest import LIBRARIES

END = datetime(2026, 3, 1, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)
KEPT = RetentionPeriods(raw_days=30, outputs_days=90)
RUN_FILES = ("bundle.json", "result.json", "rejects.parquet", "cleansed/part-00000.parquet", "report.html")


def run(run_id: str, *, end: datetime | None = END, input_uri: str = "landing/crm/customers.csv") -> RunRecord:
    started = (end or END) - timedelta(minutes=5)
    return RunRecord(
        tenant="contoso",
        run_id=run_id,
        environment="dev",
        status="passed" if end else "running",
        started_at=started,
        finished_at=end,
        ingestion_mode=IngestionMode.UPLOAD if input_uri.startswith("uploads/") else IngestionMode.HTTP,
        input_uri=input_uri,
        contract_id="customers",
        contract_version="1.0.0",
        contract_sha256="c" * 64,
        bundle_sha256="b" * 64,
    )


def folder(run_id: str, *names: str) -> list[str]:
    return [f"runs/{run_id}/{name}" for name in names or RUN_FILES]


def due_at(now: datetime, runs: list[RunRecord], stored: list[str]) -> list[tuple[str, Purpose]]:
    found = due_deletions("contoso", runs, {r.run_id: KEPT for r in runs}, stored, now)
    return [(item.prefix, item.purpose) for item in found]


# --- the periods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "outputs", "governance", "expected"),
    [
        (30, 90, 365, (30, 90)),  # the infra profile shortens the governance ceiling
        (30, 90, 60, (30, 60)),  # the governance ceiling caps the outputs
        (30, 90, 7, (7, 7)),  # ... and the raw copies
        (120, 90, 365, (90, 90)),  # raw copies never outlive the run's outputs
    ],
)
def test_governance_is_a_ceiling_and_raw_never_outlives_outputs(
    raw: int, outputs: int, governance: int, expected: tuple[int, int]
) -> None:
    kept = RetentionPeriods.of(Retention(raw_days=raw, outputs_days=outputs), governance)
    assert (kept.raw_days, kept.outputs_days) == expected


def test_the_defaults_are_the_profiles_defaults() -> None:
    assert RetentionPeriods(raw_days=30, outputs_days=90) == DEFAULT_PERIODS


def test_a_stored_bundle_gives_its_periods_and_anything_else_is_refused() -> None:
    workspace = service.workspace_from_directory(LIBRARIES)
    bundle = service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")
    assert (bundle.infra.retention.raw_days, bundle.infra.retention.outputs_days) == (30, 90)
    assert bundle.governance.retention_days == 730
    assert periods_of_bundle(canonical_json(bundle)) == RetentionPeriods(raw_days=30, outputs_days=90)
    for broken in (b"not json", b"{}", b'{"infra": {}, "governance": {"retention_days": "soon"}}'):
        with pytest.raises(InputError, match="not a bundle with retention settings"):
            periods_of_bundle(broken)


# --- run folders -----------------------------------------------------------------------------


def test_a_run_folder_is_kept_for_exactly_its_days_and_due_one_second_later() -> None:
    runs, stored = [run("r1")], folder("r1")
    at_retention = END + timedelta(days=90)
    assert due_at(at_retention, runs, stored) == []
    assert due_at(at_retention + SECOND, runs, stored) == [("runs/r1/", Purpose.RUN_FOLDER)]
    found = due_deletions("contoso", runs, {"r1": KEPT}, stored, at_retention + SECOND)[0]
    assert (found.blobs, found.days, found.since, found.run_ids, found.environment) == (5, 90, END, ("r1",), "dev")
    assert found.describe() == "run_folder of run r1: kept 90 days from 2026-03-01T12:00:00+00:00"


def test_new_runs_are_kept_and_old_ones_due() -> None:
    runs = [run("old", end=END - timedelta(days=200)), run("new", end=END - timedelta(days=10))]
    assert due_at(END, runs, folder("old") + folder("new")) == [("runs/old/", Purpose.RUN_FOLDER)]


def test_working_files_a_run_left_are_due_after_the_raw_days() -> None:
    """A run that never finalised leaves its unmasked working files: raw days, not output days."""
    stored = folder("r1", "bundle.json", "ingested/part-00000.parquet", "work/part-00000.parquet", "work/part-1")
    runs = [run("r1")]
    assert due_at(END + timedelta(days=30), runs, stored) == []
    assert due_at(END + timedelta(days=30) + SECOND, runs, stored) == [
        ("runs/r1/ingested/", Purpose.WORKING_FILES),
        ("runs/r1/work/", Purpose.WORKING_FILES),
    ]
    # a finalised run has none left: nothing is due before the outputs' time
    assert due_at(END + timedelta(days=31), runs, folder("r1")) == []


def test_only_folders_that_still_hold_blobs_are_due() -> None:
    runs = [run("r1"), run("r10")]
    later = END + timedelta(days=365)
    assert due_at(later, runs, folder("r10")) == [("runs/r10/", Purpose.RUN_FOLDER)]  # runs/r1/ is gone already
    assert due_at(later, runs, []) == []  # a second pass finds nothing to do


def test_a_run_that_never_recorded_an_end_counts_from_its_start() -> None:
    stuck = run("stuck", end=None)
    started = END - timedelta(minutes=5)
    assert due_at(started + timedelta(days=90), [stuck], folder("stuck")) == []
    assert due_at(started + timedelta(days=90) + SECOND, [stuck], folder("stuck")) == [
        ("runs/stuck/", Purpose.RUN_FOLDER)
    ]


def test_a_run_without_periods_keeps_the_defaults() -> None:
    short = RetentionPeriods(raw_days=1, outputs_days=2)
    runs = [run("told"), run("untold")]
    stored = folder("told") + folder("untold")
    found = due_deletions("contoso", runs, {"told": short}, stored, END + timedelta(days=3))
    assert [item.prefix for item in found] == ["runs/told/"]
    found = due_deletions("contoso", runs, {"told": short}, stored, END + timedelta(days=90) + SECOND)
    assert [item.prefix for item in found] == ["runs/told/", "runs/untold/"]


# --- raw upload copies -----------------------------------------------------------------------

UPLOAD = "uploads/customers/20260301T115500-0a1b2c3d/customers.csv"


def test_an_upload_is_due_after_the_raw_days_of_its_run() -> None:
    runs = [run("r1", input_uri=UPLOAD)]
    stored = [UPLOAD]
    assert due_at(END + timedelta(days=30), runs, stored) == []
    assert due_at(END + timedelta(days=30) + SECOND, runs, stored) == [
        ("uploads/customers/20260301T115500-0a1b2c3d/", Purpose.UPLOAD)
    ]


def test_an_upload_read_by_two_runs_is_kept_until_the_later_one_is_past() -> None:
    runs = [run("first", input_uri=UPLOAD), run("again", input_uri=UPLOAD, end=END + timedelta(days=20))]
    assert due_at(END + timedelta(days=31), runs, [UPLOAD]) == []
    found = due_deletions("contoso", runs, {}, [UPLOAD], END + timedelta(days=50) + SECOND)
    assert [(item.prefix, item.run_ids, item.since) for item in found] == [
        ("uploads/customers/20260301T115500-0a1b2c3d/", ("again", "first"), END + timedelta(days=20))
    ]


def test_an_upload_no_run_names_counts_from_the_time_in_its_folder_name() -> None:
    uploaded = datetime(2026, 3, 1, 11, 55, tzinfo=UTC)
    stored = [UPLOAD, "uploads/customers/not-an-upload-folder/x.csv", "uploads/loose.csv"]
    assert due_deletions("contoso", [], {}, stored, uploaded + timedelta(days=30)) == []
    found = due_deletions("contoso", [], {}, stored, uploaded + timedelta(days=30) + SECOND)
    assert [(item.prefix, item.run_ids, item.environment, item.days) for item in found] == [
        ("uploads/customers/20260301T115500-0a1b2c3d/", (), None, 30)
    ]
    assert found[0].describe().startswith("upload named by no run: kept 30 days from 2026-03-01T11:55:00")


def test_the_upload_pattern_reads_the_folders_the_upload_route_names() -> None:
    made = upload_folder("customers.v2", datetime(2026, 3, 1, 11, 55, 7, tzinfo=UTC))
    match = UPLOAD_FOLDER.match(made + "file.csv")
    assert match is not None and match.group(0) == made
    assert re.fullmatch(r"uploads/customers\.v2/20260301T115507-[0-9a-f]{8}/", made)


def test_files_the_tenant_landed_itself_are_never_due() -> None:
    runs = [run("r1", input_uri="landing/crm/customers.csv")]
    stored = [*folder("r1"), "landing/crm/customers.csv"]
    assert due_at(END + timedelta(days=3650), runs, stored) == [("runs/r1/", Purpose.RUN_FOLDER)]


# --- access tiers on write -------------------------------------------------------------------

TIERS = StorageTiers(raw=StorageTier.COOL, outputs=StorageTier.COOL, reports=StorageTier.ARCHIVE)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("runs/r1/cleansed/part-00000.parquet", StorageTier.COOL),  # outputs
        ("runs/r1/rejects.parquet", StorageTier.COOL),
        ("runs/r1/result.json", StorageTier.COLD),  # reports; archive is written as cold
        ("runs/r1/bundle.json", StorageTier.COLD),
        ("runs/r1/report.html", StorageTier.COLD),
        ("runs/r1/profile/state-00000.json", StorageTier.COLD),
        ("runs/r1/ingested/part-00000.parquet", None),  # unmasked working files: the store's default
        ("runs/r1/work/part-00000.parquet", None),
        ("profiles/customers/customers/latest.json", None),  # outside the run folder
    ],
)
def test_each_run_file_is_written_in_the_tier_of_its_kind(path: str, expected: StorageTier | None) -> None:
    assert tier_of(path, TIERS) == expected
    assert tier_of(path, None) is None  # a stage without the bundle at hand: the store's default


def test_archive_is_never_written_since_every_file_is_read_back() -> None:
    assert [readable(tier) for tier in StorageTier] == [
        StorageTier.HOT,
        StorageTier.COOL,
        StorageTier.COLD,
        StorageTier.COLD,
    ]


def test_an_upload_is_stored_in_the_raw_tier_of_its_jobs_profile(libraries_copy: Path) -> None:
    workspace = service.workspace_from_directory(LIBRARIES)
    job = workspace.index.get(
        "contoso", "dev", ObjectKey(kind=Kind.JOB_DEFINITION, id="customers_daily", version="1.0.0")
    )
    assert isinstance(job, JobDefinition) and job.infra_profile is None  # the contract's profile
    assert upload_tier(workspace.index, "contoso", "dev", job) is StorageTier.HOT  # standard: raw hot

    infra = libraries_copy / "contoso" / "dev" / "infra" / "standard.yaml"
    infra.write_text(infra.read_text(encoding="utf-8").replace("raw: hot", "raw: archive"), encoding="utf-8")
    changed = service.workspace_from_directory(libraries_copy)
    assert upload_tier(changed.index, "contoso", "dev", job) is StorageTier.COLD
    orphan = job.model_copy(update={"infra_profile": job.contract.model_copy(update={"id": "nowhere"})})
    assert upload_tier(changed.index, "contoso", "dev", orphan) is None  # the run reports the broken reference
