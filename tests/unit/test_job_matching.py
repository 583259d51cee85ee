"""Which published job definitions a blob, a schedule minute or an upload's dataset starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dq_core.config.base import Status
from dq_core.config.index import InMemoryConfigIndex
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.errors import ConfigError
from dq_core.jobs.matching import (
    MAX_CATCH_UP,
    due_jobs,
    is_app_written,
    is_due,
    job_dataset,
    jobs_for_blob,
    jobs_for_dataset,
    latest_published,
    minute_of,
    path_matches,
    slots_to_check,
)
from dq_core.jobs.models import JobDefinition, ScheduleTrigger
from dq_core.registry.models import StoredObject


def job(job_id: str, *triggers: dict[str, Any], version: str = "1.0.0", **fields: Any) -> JobDefinition:
    value = CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "job_definition",
            "tenant": "contoso",
            "environment": "dev",
            "id": job_id,
            "version": version,
            "contract": "customers@1.0.0",
            "triggers": list(triggers) or [{"type": "manual"}],
            **fields,
        }
    )
    assert isinstance(value, JobDefinition)
    return value


def blob(pattern: str) -> dict[str, Any]:
    return {"type": "blob", "path_pattern": pattern}


def schedule(cron: str, timezone: str = "UTC", input_uri: str = "landing/x.csv") -> dict[str, Any]:
    return {"type": "schedule", "cron": cron, "timezone": timezone, "input_uri": input_uri}


def stored(obj: JobDefinition, status: Status) -> StoredObject:
    return StoredObject(
        tenant=obj.tenant,
        environment=obj.environment.value,
        key=obj.key,
        status=status,
        sha256="0" * 64,
        created_by="author",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        document=obj.model_dump(mode="json"),
    )


# --- live versions ----------------------------------------------------------------------------


def test_only_the_newest_published_version_of_each_job_is_live() -> None:
    rows = [
        stored(job("a", version="1.2.0"), Status.PUBLISHED),
        stored(job("a", version="1.10.0"), Status.PUBLISHED),  # semantic, not text, order
        stored(job("a", version="2.0.0"), Status.DRAFT),
        stored(job("b", version="1.0.0"), Status.DEPRECATED),
        stored(job("c", version="1.0.0"), Status.APPROVED),
        stored(job("d", version="3.0.0"), Status.PUBLISHED),
    ]
    live = latest_published(reversed(rows))
    assert [(j.id, j.version) for j in live] == [("a", "1.10.0"), ("d", "3.0.0")]


# --- blob paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("landing/crm/customers_*.csv", "landing/crm/customers_2026.csv", True),
        ("landing/crm/customers_*.csv", "landing/crm/sub/customers_2026.csv", False),  # * stops at /
        ("landing/crm/customers_*.csv", "landing/crm/Customers_2026.csv", False),  # case-sensitive
        ("landing/crm/customers_*.csv", "landing/crm/customers_2026.csv.gz", False),
        ("landing/*/customers_?.csv", "landing/erp/customers_1.csv", True),
        ("landing/**/*.csv", "landing/a.csv", True),  # ** may be no segment
        ("landing/**/*.csv", "landing/a/b/c.csv", True),
        ("landing/**", "landing/a/b/c.csv", True),
        ("**/*.csv", "x.csv", True),
        ("landing/[ab].csv", "landing/b.csv", True),
        ("landing/[ab].csv", "landing/c.csv", False),
        ("landing/x.csv", "landing/x.csv", True),
        ("landing/x.csv", "landing/x.csv/y", False),
    ],
)
def test_path_patterns_are_slash_aware_globs(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


def test_blobs_the_app_writes_match_nothing() -> None:
    catch_all = job("all", blob("**"))
    for path in ("runs/r/result.json", "uploads/customers/x.csv", "profiles/p.json", "bundles/b.json"):
        assert is_app_written(path) and jobs_for_blob([catch_all], path) == []
    assert not is_app_written("landing/runs/x.csv")
    assert [m.job.id for m in jobs_for_blob([catch_all], "landing/runs/x.csv")] == ["all"]


def test_each_job_matches_once_with_its_first_matching_trigger() -> None:
    twice = job("twice", blob("landing/*.csv"), blob("landing/**"), schedule("0 6 * * *"))
    other = job("other", blob("elsewhere/*.csv"))
    manual = job("manual")
    matches = jobs_for_blob([twice, other, manual], "landing/a.csv")
    assert [(m.job.id, m.trigger.path_pattern) for m in matches] == [("twice", "landing/*.csv")]


# --- schedules --------------------------------------------------------------------------------


def trigger(cron: str, timezone: str = "UTC") -> ScheduleTrigger:
    return ScheduleTrigger.model_validate(schedule(cron, timezone))


@pytest.mark.parametrize(
    ("cron", "timezone", "slot", "expected"),
    [
        ("0 6 * * 1-5", "UTC", datetime(2026, 11, 25, 6, 0, 59, tzinfo=UTC), True),  # Wednesday, any second
        ("0 6 * * 1-5", "UTC", datetime(2026, 11, 25, 6, 1, tzinfo=UTC), False),
        ("0 6 * * 1-5", "UTC", datetime(2026, 11, 29, 6, 0, tzinfo=UTC), False),  # Sunday
        ("0 6 * * 7", "UTC", datetime(2026, 11, 29, 6, 0, tzinfo=UTC), True),  # 7 is Sunday too
        ("*/15 * * * *", "UTC", datetime(2026, 11, 25, 13, 45, tzinfo=UTC), True),
        ("0 6 31 2 *", "UTC", datetime(2026, 2, 28, 6, 0, tzinfo=UTC), False),  # never
        ("30 8 * * *", "Europe/Berlin", datetime(2026, 11, 25, 7, 30, tzinfo=UTC), True),  # CET, UTC+1
        ("30 8 * * *", "Europe/Berlin", datetime(2026, 7, 1, 6, 30, tzinfo=UTC), True),  # CEST, UTC+2
        ("30 8 * * *", "Europe/Berlin", datetime(2026, 7, 1, 7, 30, tzinfo=UTC), False),
        ("0 0 * * *", "America/New_York", datetime(2026, 11, 25, 5, 0, tzinfo=UTC), True),
        ("0 6 * * *", "UTC", datetime(2026, 11, 25, 6, 0), True),  # naive: UTC
    ],
)
def test_a_schedule_is_due_when_its_wall_clock_minute_matches(
    cron: str, timezone: str, slot: datetime, expected: bool
) -> None:
    assert is_due(trigger(cron, timezone), slot) is expected


def test_a_wall_clock_time_skipped_by_dst_never_fires_and_a_repeated_one_fires_twice() -> None:
    # Europe/Berlin: 2026-03-29 02:00 -> 03:00 (no 02:30); 2026-10-25 03:00 -> 02:00 (02:30 twice)
    night = trigger("30 2 * * *", "Europe/Berlin")
    spring = [datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=m) for m in range(180)]
    assert [s for s in spring if is_due(night, s)] == []
    autumn = [datetime(2026, 10, 24, 23, 0, tzinfo=UTC) + timedelta(minutes=m) for m in range(240)]
    assert [s.strftime("%H:%M") for s in autumn if is_due(night, s)] == ["00:30", "01:30"]


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "", "UTC; rm"])
def test_an_unknown_time_zone_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="time zone"):
        is_due(trigger("0 6 * * *", name), datetime(2026, 11, 25, 6, tzinfo=UTC))


def test_due_jobs_reports_broken_schedules_and_keeps_going() -> None:
    good = job("good", schedule("0 6 * * *"), schedule("*/30 * * * *", input_uri="landing/half.csv"))
    broken = job("broken", schedule("0 6 * * *", "Nowhere/Land"))
    slots = [datetime(2026, 11, 25, 5, 59, tzinfo=UTC), datetime(2026, 11, 25, 6, 0, 30, tzinfo=UTC)]
    found = due_jobs([broken, good], slots)
    assert [(m.job.id, m.trigger.input_uri, m.slot) for m in found.due] == [
        ("good", "landing/x.csv", datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
        ("good", "landing/half.csv", datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
    ]
    assert found.problems == ["job broken@1.0.0: schedule '0 6 * * *': time zone 'Nowhere/Land' is unknown"]


def test_a_tick_checks_its_minute_and_the_missed_ones() -> None:
    now = datetime(2026, 11, 25, 6, 3, 12, tzinfo=UTC)
    assert slots_to_check(now) == [datetime(2026, 11, 25, 6, 3, tzinfo=UTC)]
    assert [s.minute for s in slots_to_check(now, datetime(2026, 11, 25, 5, 59, 30, tzinfo=UTC))] == [0, 1, 2, 3]
    assert slots_to_check(now, now) == [datetime(2026, 11, 25, 6, 3, tzinfo=UTC)]  # "last" may be this tick
    long_ago = slots_to_check(now, datetime(2026, 11, 24, tzinfo=UTC))
    assert long_ago[0] == minute_of(now) - MAX_CATCH_UP and len(long_ago) == 16


# --- datasets ---------------------------------------------------------------------------------


def contract_index() -> InMemoryConfigIndex:
    index = InMemoryConfigIndex()
    contract = CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "contract",
            "tenant": "contoso",
            "environment": "dev",
            "id": "customers",
            "version": "1.0.0",
            "datasets": [
                {"name": "customers", "columns": [{"name": "x"}]},
                {"name": "prospects", "columns": [{"name": "y"}]},
            ],
        }
    )
    index.add(contract, "test")
    return index


def test_a_job_runs_its_own_dataset_or_its_contracts_first() -> None:
    index = contract_index()
    assert job_dataset(job("a"), index) == "customers"
    assert job_dataset(job("b", dataset="prospects"), index) == "prospects"
    jobs = [job("a"), job("b", dataset="prospects"), job("c", contract="missing@1.0.0")]
    assert [j.id for j in jobs_for_dataset(jobs, "customers", index)] == ["a"]
    assert [j.id for j in jobs_for_dataset(jobs, "prospects", index)] == ["b"]
    assert jobs_for_dataset(jobs, "orders", index) == []
    with pytest.raises(ConfigError, match="missing"):
        job_dataset(jobs[2], index)
