"""``dq retention apply`` on the embedded stores, as a user runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.local.sqlite_lineage import SqliteLineageStore
from tests.e2e.test_cli import dq

SAMPLE = "libraries/contoso/samples/customers.csv"
LATER = "2100-01-01T00:00:00"  # long past the demo's 90 days of outputs


def _record(home: Path) -> str:
    result = dq("validate", SAMPLE, "--contract", "customers", "--record", "--home", str(home), "--now", "2026-11-25")
    assert result.returncode == 1, result.stderr  # the sample has defects; the run is still recorded
    return result.stdout.rsplit("recorded run ", 1)[1].split()[0]


def test_retention_apply_deletes_what_is_past_retention_and_audits_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _record(home)
    folder = home / "blobs" / "contoso" / "runs" / run_id
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "profile.json", "result.json"]

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    kept = dq("retention", "apply", "--tenant", "contoso", "--home", str(home), "--now", tomorrow)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("contoso: nothing past retention as of ")
    assert folder.is_dir()

    dry = dq("retention", "apply", "--tenant", "contoso", "--home", str(home), "--now", LATER, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"contoso: would delete 3 blobs under runs/{run_id}/ (run_folder of run {run_id}: kept 90 days" in dry.stdout
    assert "contoso: would delete 3 blobs in 1 folders past retention as of 2100-01-01 00:00:00 UTC" in dry.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "profile.json", "result.json"]

    # every tenant of the registry when none is named
    assert dq("contracts", "sync", "libraries", "--to", "sqlite", "--home", str(home)).returncode == 0
    applied = dq("retention", "apply", "--home", str(home), "--now", LATER)
    assert applied.returncode == 0, applied.stderr
    assert f"contoso: deleted 3 blobs under runs/{run_id}/" in applied.stdout
    assert not folder.exists()

    purges = [
        event
        for event in SqliteLineageStore(str(home / "lineage.db")).audit(
            "contoso", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
        )
        if event.action == "purge"
    ]
    assert [(e.object, e.actor, e.environment) for e in purges] == [(f"runs/{run_id}/", "system:retention", "dev")]
    assert purges[0].detail.startswith(f"deleted 3 blobs: run_folder of run {run_id}: kept 90 days from ")

    again = dq("retention", "apply", "--tenant", "contoso", "--home", str(home), "--now", LATER)
    assert again.returncode == 0 and again.stdout.startswith("contoso: nothing past retention")
    shown = dq(
        "lineage", "export", run_id, "--tenant", "contoso", "--home", str(home), "--out", str(tmp_path / "e.zip")
    )
    assert shown.returncode == 0, shown.stderr  # the run's lineage entities stay: the audit trail


def test_an_empty_registry_and_no_tenant_is_said_and_nothing_happens(tmp_path: Path) -> None:
    result = dq("retention", "apply", "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "no tenant in the registry of" in result.stderr and "name one with --tenant" in result.stderr
