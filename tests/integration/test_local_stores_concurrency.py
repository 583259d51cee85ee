"""The embedded stores written from several processes at once, as ``dq run``'s workers write them.

Each case starts real processes (``spawn``, as the worker pool does) that wait on one barrier
and then hammer the same SQLite lineage file or the same blob folder.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from dq_core.lineage.models import MetricPoint, StepRecord
from dq_core.registry.models import ConflictError

PROCESSES = 4
START = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _together(target: Any, *args: Any) -> list[Any]:
    """Run ``target(barrier, index, *args)`` in PROCESSES spawned processes; their answers, in order."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with context.Pool(PROCESSES) as pool:
            return pool.starmap(target, [(barrier, index, *args) for index in range(PROCESSES)], chunksize=1)


def _write_lineage(barrier: Any, index: int, path: str, count: int) -> int:
    barrier.wait()
    store = SqliteLineageStore(path)  # every process creates the schema and turns WAL on at once
    for n in range(count):
        at = START + timedelta(seconds=n)
        step = StepRecord(tenant="contoso", run_id=f"run-{index}", step=f"step-{n}", status="succeeded",
                          started_at=at, finished_at=at, metrics={"n": n})  # fmt: skip
        store.put_step(step)
        store.append_metric(MetricPoint(tenant="contoso", key="rows", at=at, run_id=f"run-{index}-{n}", value=float(n)))
    return count


def test_several_processes_write_one_new_lineage_file_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "lineage.db")
    written = _together(_write_lineage, path, 150)
    store = SqliteLineageStore(path)
    for index in range(PROCESSES):
        steps = store.steps("contoso", f"run-{index}")
        assert [step.metrics["n"] for step in sorted(steps, key=lambda s: int(s.step[5:]))] == list(range(150))
    assert len(store.metric_history("contoso", "rows", limit=10_000)) == sum(written)


def _increment(barrier: Any, index: int, root: Path, count: int) -> int:
    """Add 1 to a shared counter ``count`` times, read-modify-write guarded by the ETag."""
    store = LocalBlobStore(root)
    barrier.wait()
    conflicts = 0
    for _ in range(count):
        while True:
            data, etag = store.get("contoso", "counter.txt")
            try:
                store.put("contoso", "counter.txt", str(int(data) + 1).encode(), if_match=etag)
                break
            except ConflictError:
                conflicts += 1
    return conflicts


def test_etag_guarded_updates_from_several_processes_lose_none(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("contoso", "counter.txt", b"0")
    _together(_increment, tmp_path / "blobs", 60)
    assert store.get("contoso", "counter.txt")[0] == str(PROCESSES * 60).encode()


def _create(barrier: Any, index: int, root: Path, names: int) -> list[str]:
    """Try to create each of ``names`` blobs (create-only); the ones this process created."""
    store = LocalBlobStore(root)
    barrier.wait()
    mine = []
    for n in range(names):
        try:
            store.put("contoso", f"claims/{n}.txt", f"process {index}".encode())
        except ConflictError:
            continue
        mine.append(f"claims/{n}.txt")
    return mine


def test_a_blob_created_by_several_processes_at_once_is_created_once(tmp_path: Path) -> None:
    claimed = _together(_create, tmp_path / "blobs", 80)
    names = [name for mine in claimed for name in mine]
    assert sorted(names) == sorted(f"claims/{n}.txt" for n in range(80))  # each by exactly one process
    store = LocalBlobStore(tmp_path / "blobs")
    for index, mine in enumerate(claimed):
        assert all(store.get("contoso", name)[0] == f"process {index}".encode() for name in mine)


def _churn(barrier: Any, index: int, root: Path, rounds: int) -> int:
    """Process 0 deletes a run folder over and over; the others write into it meanwhile."""
    store = LocalBlobStore(root)
    barrier.wait()
    for n in range(rounds):
        if index == 0:
            store.delete_prefix("contoso", "runs/r1/")
        else:
            store.put("contoso", f"runs/r1/chunks/{index}/part-{n}.parquet", b"x" * 512, overwrite=True)
            store.put("contoso", f"runs/r2/{index}-{n}.json", b"{}", overwrite=True)
    return rounds


def test_writes_into_a_folder_that_another_process_deletes_never_fail(tmp_path: Path) -> None:
    assert _together(_churn, tmp_path / "blobs", 150) == [150] * PROCESSES
    store = LocalBlobStore(tmp_path / "blobs")
    assert len(store.list("contoso", "runs/r2/")) == (PROCESSES - 1) * 150
    assert not list((tmp_path / "blobs").rglob("*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("count", [1, 3])
def test_the_lineage_file_is_in_wal_mode_with_a_busy_timeout(tmp_path: Path, count: int) -> None:
    stores = [SqliteLineageStore(str(tmp_path / "lineage.db")) for _ in range(count)]
    for store in stores:
        db = store._db()
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
