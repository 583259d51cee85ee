"""``run_job`` with its activities in worker processes (``local_host.workers``), as ``dq run`` runs it.

Real worker processes (``spawn``), each composing its ports from ``dq run``'s recipe
(:class:`local_host.composition.WorkerPorts`: the embedded stores under a home folder, a salt
file), run the real activities over real files. The activity each worker runs is a
module-level function of this file around the real one (``local_host.runs.run_activity``):
it records which process ran what and how often that process validated a bundle, or
kills its own process to show what a dead worker does to a run.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from adapters.local.folder_blobs import LocalBlobStore
from app.bootstrap import stores
from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.lineage.models import IngestionMode
from dq_core.results.run import RunResult
from dq_core.runs.payloads import ActivityName, InputRef, JobSummary, RunOverrides, RunRequest
from local_host.composition import WorkerPorts
from local_host.durable import Outcome
from local_host.runs import run_activity, run_locally
from local_host.workers import PoolClosed, WorkerFailed, WorkerPool
from services import workspace as service
from tests.conftest import LIBRARIES
from tests.functions.test_run_job import NOW, customers

LOG = "WORKERS_TEST_LOG"  # where the activities below append what they did (inherited by the workers)
SLOW = {ActivityName.PROFILE_CHUNK.value, ActivityName.VALIDATE_CHUNK.value}
SURVIVING = {"resolve_run", "ingest_file", "build_result", "run_action", "finalise_run"}
_VALIDATIONS = [0]  # bundle validations in this process (a worker's own count)


def _count_validations() -> None:
    """From the first activity of a worker on, count its bundle validations."""
    if getattr(ResolvedBundle, "_counted", False):
        return
    original = ResolvedBundle.model_validate_json

    def counting(cls: type[ResolvedBundle], data: Any, **options: Any) -> ResolvedBundle:
        _VALIDATIONS[0] += 1
        return original(data, **options)

    ResolvedBundle.model_validate_json = classmethod(counting)  # type: ignore[method-assign,assignment]
    ResolvedBundle._counted = True  # type: ignore[attr-defined]


def recorded(name: str, payload: str) -> Any:
    """The real activity, and a line: which process ran it, its bundle validations so far."""
    _count_validations()
    if name in SLOW:
        time.sleep(0.3)  # a chunk takes long enough for the other worker to take the next one
    answer = run_activity(name, payload)
    with Path(os.environ[LOG]).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"pid": os.getpid(), "activity": name, "validations": _VALIDATIONS[0]}) + "\n")
    return answer


def dying(name: str, payload: str) -> Any:
    """``recorded``, but the first activity after ingestion kills its worker (as the OOM killer or a
    user would)."""
    if name not in SURVIVING:
        marker = Path(os.environ[LOG]).with_suffix(".killed")
        try:
            marker.touch(exist_ok=False)
        except FileExistsError:
            pass
        else:
            marker.write_text(name)
            os.kill(os.getpid(), signal.SIGKILL)
    return recorded(name, payload)


def whoami(name: str, payload: str) -> Any:
    return {"pid": os.getpid()}


def sleeping(name: str, payload: str) -> Any:
    time.sleep(120)
    return {}


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "activities.jsonl"
    path.touch()
    monkeypatch.setenv(LOG, str(path))
    return path


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _setup(tmp_path: Path, home: Path) -> tuple[RunRequest, WorkerPorts]:
    """The demo job's bundle stored under ``home``, a request over 260 rows in chunks of 100, the recipe."""
    bundle = service.job_bundle(service.workspace_from_directory(LIBRARIES), service.Scope("contoso", "dev"),
                                "customers_daily")  # fmt: skip
    path = f"bundles/{bundle.sha256}.json"
    LocalBlobStore(home / "blobs").put("contoso", path, canonical_json(bundle), overwrite=True)
    salt = tmp_path / "salt"
    salt.write_text("a-test-salt-for-hashing-0123456789")
    request = RunRequest(
        tenant="contoso",
        environment="dev",
        job_id="customers_daily",
        bundle_path=path,
        inputs=(InputRef(uri=customers(tmp_path, 20).resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=100, now=NOW),
    )
    return request, WorkerPorts(home, salt, "contoso", bundle.governance.salt_secret)


def _result(home: Path, summary: JobSummary | None, outcome: Outcome) -> RunResult:
    assert summary is not None, outcome.error
    (run,) = summary.runs
    blobs = LocalBlobStore(home / "blobs")
    assert blobs.list("contoso", f"runs/{run.run_id}/result.json"), run  # the run's verdict was written
    data = blobs.get("contoso", f"runs/{run.run_id}/result.json")[0]
    return RunResult.model_validate_json(data)


def test_activities_run_in_two_processes_each_validating_the_bundle_once(tmp_path: Path, log: Path) -> None:
    home = tmp_path / "home"
    request, recipe = _setup(tmp_path, home)
    with WorkerPool(2, recipe, activity=recorded) as pool:
        summary, outcome = run_locally(request, None, pool=pool)
        workers = set(pool.pids)
    result = _result(home, summary, outcome)
    lines = _lines(log)
    pids = {line["pid"] for line in lines}
    assert len(pids) == 2 and pids == workers and os.getpid() not in pids  # both workers, never this process
    assert {line["activity"] for line in lines} >= {"resolve_run", "ingest_file", "profile_chunk", "validate_chunk",
                                                     "build_result", "finalise_run"}  # fmt: skip
    assert sum(line["activity"] == ActivityName.CLEANSE_CHUNK.value for line in lines) >= 4  # 400 rows in chunks of 100
    for pid in pids:
        mine = [line for line in lines if line["pid"] == pid]
        assert len(mine) >= 3  # a worker outlives its activities...
        assert mine[-1]["validations"] == 1  # ...and validated the bundle once for all of them
    assert not [p for p in workers if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]

    # the same run on threads of this process gives the same result
    other = tmp_path / "threads"
    other.mkdir()
    again, threads_recipe = _setup(other, other / "home")
    in_process = _result(other / "home", *run_locally(again, threads_recipe.ports(stores(other / "home")), workers=3))
    assert result.status == in_process.status == "failed"
    assert result.cleansing is not None and in_process.cleansing is not None
    assert result.cleansing.model_dump() == in_process.cleansing.model_dump()
    assert result.validation is not None and in_process.validation is not None
    assert [(r.rule_id, r.status, r.unexpected_count) for r in result.validation.rules] == [
        (r.rule_id, r.status, r.unexpected_count) for r in in_process.validation.rules
    ]


def test_a_killed_worker_fails_its_activity_and_the_run_still_closes(tmp_path: Path, log: Path) -> None:
    home = tmp_path / "home"
    request, recipe = _setup(tmp_path, home)
    with ThreadPoolExecutor(1) as waiter, WorkerPool(1, recipe, activity=dying) as pool:  # a hang: the pool closes
        first = pool.pids
        summary, outcome = waiter.submit(run_locally, request, None, pool=pool).result(timeout=240)
        after = pool.pids
    result = _result(home, summary, outcome)
    assert result.status == "error" and result.error is not None
    assert result.error.code == "activity_failed"
    assert f"worker process {first[0]} died (killed by SIGKILL)" in result.error.message
    killed = log.with_suffix(".killed").read_text()
    assert f"activity {killed}:" in result.error.message
    lines = _lines(log)
    ran = [line["activity"] for line in lines]
    assert ran[:2] == ["resolve_run", "ingest_file"]
    assert "build_result" in ran and ran[-1] == "finalise_run"  # the verdict and the close, on a fresh worker
    assert {line["pid"] for line in lines} == {first[0], after[0]} and first != after


def test_closing_the_pool_on_an_interruption_answers_what_was_running_or_waiting(tmp_path: Path) -> None:
    pool = WorkerPool(1, WorkerPorts(tmp_path / "home"), activity=sleeping)
    (pid,) = pool.pids
    running, waiting = pool.submit("resolve_run", "{}"), pool.submit("ingest_file", "{}")
    time.sleep(1)
    started = time.monotonic()
    pool.close(terminate=True)
    for future in (running, waiting):
        assert isinstance(future.exception(timeout=30), PoolClosed)
    assert time.monotonic() - started < 20  # not the 120 s the activity would sleep
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    with pytest.raises(PoolClosed):
        pool.submit("resolve_run", "{}")


def test_a_worker_that_cannot_compose_its_ports_fails_the_activity_with_the_reason(tmp_path: Path) -> None:
    recipe = WorkerPorts(tmp_path / "home", tmp_path / "no-such-salt", "contoso", "dq-mask-salt")
    with WorkerPool(1, recipe) as pool:
        error = pool.submit("resolve_run", "{}").exception(timeout=120)
    assert isinstance(error, WorkerFailed)
    assert "could not start: DQError:" in str(error) and "cannot read the salt file" in str(error)


def _dead(pid: int) -> bool:
    """A zombie whose every thread has ended (a process's files close with its last thread, not
    when its main thread turns zombie)."""
    return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE and len(list(Path(f"/proc/{pid}/task").iterdir())) <= 1


def test_a_worker_found_dead_before_its_next_activity_is_replaced_and_nothing_fails(tmp_path: Path) -> None:
    with WorkerPool(1, WorkerPorts(tmp_path / "home"), activity=whoami) as pool:
        first = json.loads(pool.submit("resolve_run", "{}").result(timeout=120))["pid"]
        assert json.loads(pool.submit("ingest_file", "{}").result(timeout=120))["pid"] == first  # reused
        os.kill(first, signal.SIGKILL)  # while it waits for work
        deadline = time.monotonic() + 30
        while not _dead(first) and time.monotonic() < deadline:
            time.sleep(0.05)  # dead, not yet reaped: the pool reaps its own processes
        second = json.loads(pool.submit("cleanse_chunk", "{}").result(timeout=120))["pid"]
    assert second != first and pool.pids == [second]


def test_a_worker_killed_as_it_is_handed_an_activity_lost_nothing_and_another_takes_it(tmp_path: Path) -> None:
    """Killed while idle, a moment before it is handed work (the race of ``dq run``'s kill test): it never
    said it took the activity, so a fresh process takes it. Frozen (SIGSTOP) while the activity is sent,
    then killed, the process dies before it can take it, whatever the timing."""
    with WorkerPool(1, WorkerPorts(tmp_path / "home"), activity=whoami) as pool:
        first = json.loads(pool.submit("resolve_run", "{}").result(timeout=120))["pid"]
        os.kill(first, signal.SIGSTOP)
        handed = pool.submit("ingest_file", "{}")
        time.sleep(0.5)  # the slot sends the activity into the frozen process's pipe
        os.kill(first, signal.SIGKILL)
        second = json.loads(handed.result(timeout=120))["pid"]
    assert second != first and pool.pids == [second]
