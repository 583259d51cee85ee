"""``run_job`` driven through the Durable SDK's own executor by the replay driver.

Real activities over real embedded stores (SQLite lineage, a local blob folder). Faults
are put where they happen: a blob read that fails as the Azure adapter reports a dropped
connection (a transient error, retried inside the activity), a working file gone (a
terminal error), or an activity that fails in the host (a failed task). The orchestrator
never retries: the history shows one TaskScheduled per activity call and no timer.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceResponseError

from activities.blueprint import ACTIVITIES
from adapters.azure._errors import azure_errors
from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from adapters.notify.http import HttpxSender
from adapters.notify.openlineage import OpenLineageClientEmitter
from adapters.notify.smtp import SmtpMailSender
from app.runtime import use_ports
from app.settings import get_settings
from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import cleanse, mask_output, step_names
from dq_core.config.canonical import canonical_json
from dq_core.errors import TransientError
from dq_core.ingest.guarded import ingest
from dq_core.lineage.evidence import export_evidence
from dq_core.lineage.models import IngestionMode
from dq_core.profiling.finish import finish_profile
from dq_core.profiling.state import profile_state
from dq_core.results.run import RunResult
from dq_core.runs.payloads import ActivityName, InputRef, OrchestratorName, RunOverrides, RunRequest
from dq_core.runs.stages import RunPorts
from dq_core.validation.context import ROW, ValidationContext
from dq_core.validation.engine import validate
from local_host.durable import ReplayDriver, replay
from local_host.runs import run_activity
from orchestrators.blueprint import ORCHESTRATORS
from services import workspace as service
from tests.conftest import LIBRARIES

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
SALT = "a-test-salt-for-hashing-0123456789"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED, TIMER_CREATED = 4, 5, 6, 10  # HistoryEventType


class Salted:
    def get(self, tenant: str, reference: str) -> str:
        return SALT


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")


@pytest.fixture(autouse=True)
def retry_at_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployment's retry policy (3 attempts), with no wait between attempts."""
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_ATTEMPTS", "3")
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_FIRST_SECONDS", "0")
    monkeypatch.setenv("DQ_ACTIVITY_RETRY_MAX_SECONDS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class FlakyBlobs(LocalBlobStore):
    """The local blob folder, whose first reads of chosen blobs (by path suffix) fail as the Azure
    adapter reports them: a dropped connection (``ServiceResponseError`` through ``azure_errors``:
    a TransientError), or with ``gone`` a missing blob (ObjectNotFound, terminal). ``reads``
    counts every read of those blobs."""

    def __init__(self, root: Path, failures: dict[str, int], *, gone: bool = False) -> None:
        super().__init__(root)
        self.failures = dict(failures)
        self.gone = gone  # the blob is not there: ResourceNotFoundError, a terminal ObjectNotFound
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        for suffix in self.failures:
            if path.endswith(suffix):
                with self._lock:
                    self.reads[suffix] += 1
                    failing = self.failures[suffix] > 0
                    self.failures[suffix] -= int(failing)
                if failing:
                    with azure_errors(f"reading blob {path} of tenant {tenant}"):
                        if self.gone:
                            raise ResourceNotFoundError("The specified blob does not exist.")
                        raise ServiceResponseError("Connection reset by peer")
        return super().get(tenant, path)


def wire(folder: Path, bundle: ResolvedBundle, blobs: LocalBlobStore) -> RunPorts:
    blobs.put("contoso", "bundles/demo.json", canonical_json(bundle))
    wired = RunPorts(
        contracts=service.workspace_from_directory(LIBRARIES).index,
        lineage=SqliteLineageStore(str(folder / "lineage.db")),
        blobs=blobs,
        secrets=Salted(),
        allow_local_files=True,
        http=HttpxSender(),  # the demo's webhook and OpenLineage hosts do not resolve: failed attempts
        mail=SmtpMailSender(),
        openlineage=OpenLineageClientEmitter(),
    )
    use_ports(wired)
    return wired


@pytest.fixture
def ports(tmp_path: Path, bundle: ResolvedBundle) -> Iterator[RunPorts]:
    yield wire(tmp_path, bundle, LocalBlobStore(tmp_path / "blobs"))
    use_ports(None)


@pytest.fixture
def flaky(tmp_path: Path, bundle: ResolvedBundle) -> Iterator[Callable[..., RunPorts]]:
    """Ports of their own (beside ``ports``) whose blob store fails the first reads of chosen
    blobs (``FlakyBlobs``)."""
    folder = tmp_path / "flaky"
    folder.mkdir()
    yield lambda failures, gone=False: wire(folder, bundle, FlakyBlobs(folder / "blobs", failures, gone=gone))
    use_ports(None)


def customers(folder: Path, blocks: int) -> Path:
    """The sample's 20 rows (its planted defects included) ``blocks`` times, each block with
    customer ids of its own: 13 rows of each block come out of cleansing."""
    header, *rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines = [header]
    for block in range(blocks):
        for row in rows:
            ident, rest = row.split(",", 1)
            lines.append(f"CUS-{block:04d}{ident[8:]},{rest}" if ident else row)  # a bad id stays bad
    path = folder / f"customers_{blocks}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """260 rows after cleansing: three chunks of 100."""
    return customers(tmp_path, 20)


def request(*paths: Path, chunk_rows: int = 100, max_parallelism: int | None = None) -> RunRequest:
    return RunRequest(
        tenant="contoso",
        environment="dev",
        bundle_path="bundles/demo.json",
        inputs=tuple(InputRef(uri=path.resolve().as_uri()) for path in paths),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=chunk_rows, max_parallelism=max_parallelism, now=NOW),
    )


class Calls:
    """The real activities, counted; ``failures[name]`` makes the next N calls of one raise."""

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self.failures = dict(failures or {})

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def __call__(self, name: str, payload: str) -> Any:
        self.counts[name] += 1
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            raise TransientError(f"{name}: the store is briefly unavailable")
        return run_activity(name, payload)


def drive(calls: Callable[[str, str], Any], req: RunRequest, statuses: list[Any] | None = None) -> Any:
    clock = {"now": datetime(2026, 11, 25, 9, tzinfo=UTC)}

    def sleep(seconds: float) -> None:  # retries wait on timers: move the clock, not the test
        clock["now"] = clock["now"].fromtimestamp(clock["now"].timestamp() + seconds, UTC)

    driver = ReplayDriver(
        ORCHESTRATORS,
        calls,
        workers=3,
        clock=lambda: clock["now"],
        sleep=sleep,
        on_status=(lambda _id, status: statuses.append(status)) if statuses is not None else None,
    )
    return driver.run(OrchestratorName.RUN_JOB.value, req.model_dump(mode="json"), "contoso:customers_daily:test")


def same(a: Any, b: Any) -> bool:
    """Equal, floats within 1e-12 relative (merging moments of chunks rounds differently)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def result_of(ports: RunPorts, outcome: Any) -> RunResult:
    run = outcome.output["runs"][0]
    return RunResult.model_validate_json(ports.blobs.get("contoso", run["result_path"])[0])


def scheduled(outcome: Any) -> Counter[str]:
    """TaskScheduled events by activity name: one per activity call the orchestrator made."""
    return Counter(e["Name"] for e in outcome.history if e["EventType"] == TASK_SCHEDULED)


def most_in_flight(outcome: Any, name: str) -> int:
    """The most activities of one name scheduled and not yet answered at any point of the history."""
    open_ids: set[int] = set()
    most = 0
    for event in outcome.history:
        if event["EventType"] == TASK_SCHEDULED and event["Name"] == name:
            open_ids.add(event["EventId"])
            most = max(most, len(open_ids))
        elif event["EventType"] in (TASK_COMPLETED, TASK_FAILED):
            open_ids.discard(event["TaskScheduledId"])
    return most


def no_orchestrator_retries(outcome: Any) -> bool:
    """No timer (the SDK's retries wait on timers) and no failed task in the history."""
    return not [e for e in outcome.history if e["EventType"] in (TIMER_CREATED, TASK_FAILED)]


def test_every_activity_name_has_exactly_one_stage() -> None:
    assert set(ACTIVITIES) == set(ActivityName)
    assert len({stage for stage, _ in ACTIVITIES.values()}) == len(ActivityName)


def test_fan_out_runs_one_activity_per_chunk_and_reports_progress(ports: RunPorts, extract: Path) -> None:
    calls, statuses = Calls(), list[Any]()
    outcome = drive(calls, request(extract), statuses)
    assert not outcome.failed, outcome.error
    run = outcome.output["runs"][0]
    assert run["status"] == "failed"  # the sample has planted defects
    result = result_of(ports, outcome)
    assert result.cleansing is not None and result.cleansing.rows_out == 260
    chunks = -(-result.cleansing.rows_in // 100)  # 400 rows in chunks of 100
    # cleansing: round 0 (trim ... cast) per ingested chunk; the deduplicate step opens round 1,
    # over key partitions: one, under 50,000 rows (partitions_for); profile and validate follow it
    assert calls["cleanse_chunk"] == chunks + 1 == 5
    assert calls["profile_chunk"] == calls["validate_chunk"] == calls["validate_partition"] == 1
    assert calls["ingest_file"] == calls["merge_cleansing"] == calls["validate_dataset"] == 1
    assert calls["merge_fills"] == 0  # the policy imputes a constant: no aggregate barrier
    assert scheduled(outcome) == calls.counts and no_orchestrator_retries(outcome)
    stages = [s["stage"] for s in statuses]
    assert stages.index("cleanse") < stages.index("profile") < stages.index("validate") < stages.index("act")
    cleansing = [s for s in statuses if s["stage"] == "cleanse"]
    assert cleansing[-1]["chunks_done"] == cleansing[-1]["chunks_total"] == 5
    validating = [s for s in statuses if s["stage"] == "validate"]
    assert validating[-1]["chunks_done"] == validating[-1]["chunks_total"] == 2  # a chunk and a key partition
    assert validating[-1]["rules_failed"] > 0
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert set(steps) == {"resolve", "ingest", "cleanse", "profile", "validate", "anomaly_check", "act", "finalise"}
    assert steps["validate"].status == "failed" and steps["profile"].metrics["chunks"] == 1
    assert steps["cleanse"].metrics["rounds"] == 2 and steps["cleanse"].metrics["activities"] == 5
    record = ports.lineage.get_run("contoso", run["run_id"])
    assert record.status == "failed" and record.result_sha256 is not None


def test_result_equals_the_engines_run_directly_on_the_whole_file(
    ports: RunPorts, bundle: ResolvedBundle, extract: Path
) -> None:
    outcome = drive(Calls(), request(extract))
    result = result_of(ports, outcome)

    ctx = CleansingContext(bundle=bundle, salt=SALT.encode(), defer_masking=True)
    output = cleanse(ingest(extract, bundle).frame, ctx)
    masked, _, report = mask_output(output.cleansed, output.rejects, output.report, ctx)
    profile = finish_profile(profile_state(masked))
    steps = step_names(bundle)  # the failing rules' attribution to cleansing steps too
    context = ValidationContext(now=NOW, current_profile=profile, dataset_name="customers", cleansing_steps=steps)
    direct = validate(output.cleansed, bundle, context)

    assert result.cleansing == report
    assert result.profile is not None and result.profile.row_count == profile.row_count
    orchestrated = ports.blobs.get("contoso", f"runs/{result.run_id}/profile.json")[0]
    assert same(json.loads(orchestrated), profile.model_dump(mode="json"))  # merged chunks == whole
    assert result.validation is not None
    assert [r.model_dump() for r in result.validation.rules] == [r.model_dump() for r in direct.rules]
    cleansed = pl.concat(
        [
            pl.read_parquet(ports.blobs.get("contoso", name)[0])
            for name in ports.blobs.list("contoso", f"runs/{result.run_id}/cleansed/")
        ]
    )
    assert cleansed.sort(ROW).equals(masked.sort(ROW))
    assert all(email is None or email.startswith("sha256:") for email in cleansed["email"].to_list())


def test_the_unmasked_working_files_are_deleted_when_the_run_ends(ports: RunPorts, extract: Path) -> None:
    outcome = drive(Calls(), request(extract))
    run_id = outcome.output["runs"][0]["run_id"]
    folder = f"runs/{run_id}/"
    left = ports.blobs.list("contoso", folder)
    working = tuple(folder + name for name in ("work/", "ingested/", "cleanse/", "validate/"))
    assert not [name for name in left if name.startswith(working)]
    assert [name for name in left if name.startswith(folder + "cleansed/")]  # the masked output stays
    assert folder + "report.html" in left and folder + "result.json" in left
    (finalise,) = [s for s in ports.lineage.steps("contoso", run_id) if s.step == "finalise"]
    ingest = next(s for s in ports.lineage.steps("contoso", run_id) if s.step == "ingest")
    deleted = finalise.metrics["working_files_deleted"]
    assert isinstance(deleted, int) and deleted > int(str(ingest.metrics["chunks"]))  # ingested/ and work/


def test_a_chunk_that_fails_twice_is_retried_inside_its_activity_and_the_run_goes_on(
    ports: RunPorts,
    flaky: Callable[..., RunPorts],
    tmp_path: Path,
    extract: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clean = drive(Calls(), request(extract))
    expected = result_of(ports, clean)

    store = flaky({"/ingested/part-00001.parquet": 2})  # the second chunk's cleansing: two dropped reads
    calls = Calls()
    with caplog.at_level(logging.WARNING, logger="dq.retrying"):
        outcome = drive(calls, request(extract))
    assert not outcome.failed, outcome.error
    assert isinstance(store.blobs, FlakyBlobs)
    assert store.blobs.failures == {"/ingested/part-00001.parquet": 0}  # both faults were met

    assert calls["cleanse_chunk"] == 5  # one activity call per unit: the retries were inside it
    assert scheduled(outcome)["cleanse_chunk"] == 5 and no_orchestrator_retries(outcome)
    retried = [r.getMessage() for r in caplog.records if r.name == "dq.retrying"]
    assert len(retried) == 2 and all(m.startswith("cleanse_chunk: attempt ") for m in retried)
    assert "attempt 1 of 3" in retried[0] and "attempt 2 of 3" in retried[1]
    assert "service unreachable" in retried[0]

    run = outcome.output["runs"][0]
    assert run["status"] == "failed" and run.get("error") is None  # the data's verdict, not an error
    result = result_of(ports, outcome)
    assert result.cleansing == expected.cleansing
    assert result.validation is not None and expected.validation is not None
    assert [r.model_dump() for r in result.validation.rules] == [r.model_dump() for r in expected.validation.rules]
    steps = {step.step: step.status for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["validate"] == "failed" and "error" not in steps.values()


def test_retries_running_out_inside_an_activity_end_the_run_with_status_error_and_its_reason(
    flaky: Callable[..., RunPorts], extract: Path
) -> None:
    ports = flaky({"/ingested/part-00000.parquet": 99})  # the store never answers cleansing's first read
    calls = Calls()
    outcome = drive(calls, request(extract))
    assert isinstance(ports.blobs, FlakyBlobs)
    assert ports.blobs.reads["/ingested/part-00000.parquet"] == 3  # DQ_ACTIVITY_RETRY_ATTEMPTS
    assert calls["cleanse_chunk"] == 4 and calls["profile_chunk"] == 0  # round 0's window: the stage stops there
    assert scheduled(outcome)["cleanse_chunk"] == 4 and no_orchestrator_retries(outcome)
    run = outcome.output["runs"][0]
    assert run["status"] == "error" and run["error"]["code"] == "retries_exhausted"
    assert "service unreachable" in run["error"]["message"]
    assert run["error"]["message"].endswith("(gave up after 3 attempts)")
    result = result_of(ports, outcome)
    assert result.status.value == "error" and result.error is not None
    assert result.input is not None and result.input.rows == 400  # what finished before the error is kept
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["cleanse"].status == "error"
    assert "gave up after 3 attempts" in str(steps["cleanse"].metrics["message"])
    assert ports.lineage.get_run("contoso", run["run_id"]).error is not None
    assert {a["trigger"] for a in run["actions"]} == {"on_error", "always"}


def test_a_terminal_error_in_a_chunk_ends_the_run_with_its_reason_and_nothing_hangs(
    flaky: Callable[..., RunPorts], extract: Path
) -> None:
    ports = flaky({"/ingested/part-00001.parquet": 99}, gone=True)  # the second chunk's working file is gone
    calls = Calls()
    outcome = drive(calls, request(extract, max_parallelism=2))
    assert not outcome.failed, outcome.error  # the orchestration completed: nothing left Running
    assert isinstance(ports.blobs, FlakyBlobs)
    assert ports.blobs.reads["/ingested/part-00001.parquet"] == 1  # a terminal error is not retried
    counts = scheduled(outcome)
    assert counts["cleanse_chunk"] == 2  # the first window (chunks 0 and 1): the stage stopped there
    assert counts["merge_cleansing"] == counts["validate_chunk"] == counts["check_anomalies"] == 0
    assert counts["build_result"] == counts["finalise_run"] == 1 and no_orchestrator_retries(outcome)
    run = outcome.output["runs"][0]
    assert run["status"] == "error" and run["error"]["code"] == "not_found"
    assert "ingested/part-00001.parquet" in run["error"]["message"]
    result = result_of(ports, outcome)
    assert result.status.value == "error" and result.error is not None and result.error.code == "not_found"
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["cleanse"].status == "error" and "not found" in str(steps["cleanse"].metrics["message"])
    assert ports.lineage.get_run("contoso", run["run_id"]).status == "error"
    assert {a["trigger"] for a in run["actions"]} == {"on_error", "always"}


def test_an_activity_that_fails_in_the_host_ends_the_run_with_status_error_and_is_not_retried(
    ports: RunPorts, extract: Path
) -> None:
    calls = Calls({"merge_cleansing": 99})  # the host reports the activity failed (a crash, a timeout)
    outcome = drive(calls, request(extract))
    assert calls["merge_cleansing"] == 1 and calls["profile_chunk"] == 0  # the orchestrator never retries
    assert not [e for e in outcome.history if e["EventType"] == TIMER_CREATED]
    run = outcome.output["runs"][0]
    assert run["status"] == "error" and run["error"]["code"] == "activity_failed"
    assert "briefly unavailable" in run["error"]["message"]
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["cleanse"].status == "error"


def test_two_hundred_chunks_run_in_windows_of_max_parallelism_with_progress(ports: RunPorts, tmp_path: Path) -> None:
    big = customers(tmp_path, 1000)  # 20,000 rows in: 200 chunks of 100
    calls, statuses = Calls(), list[Any]()
    outcome = drive(calls, request(big, max_parallelism=16), statuses)
    assert not outcome.failed, outcome.error
    run = outcome.output["runs"][0]
    assert run["status"] == "failed" and run.get("error") is None
    result = result_of(ports, outcome)
    assert result.cleansing is not None and result.cleansing.rows_out == 13_000

    counts = scheduled(outcome)
    assert counts["cleanse_chunk"] == 200 + 1  # round 0 per chunk, round 1 over one key partition
    once = ("resolve_run", "ingest_file", "merge_cleansing", "merge_profile", "validate_partition", "validate_dataset")
    assert all(counts[name] == 1 for name in (*once, "check_anomalies", "build_result", "finalise_run"))
    assert counts["profile_chunk"] == counts["validate_chunk"] == 1
    assert sum(counts.values()) == 201 + 2 + 9 + len(run["actions"])  # and nothing else: no retry
    assert counts == calls.counts and no_orchestrator_retries(outcome)
    assert most_in_flight(outcome, "cleanse_chunk") == 16

    seen = [(s["chunks_done"], s["chunks_total"]) for s in statuses if s["stage"] == "cleanse"]
    assert {total for _, total in seen} == {201}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 201  # progress, never backwards
    assert set(done) == set(range(0, 201, 16)) | {200, 201}  # one step per window of 16, then round 1
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["cleanse"].metrics["activities"] == 201


def test_a_failing_action_never_changes_the_verdict(ports: RunPorts) -> None:
    calls = Calls({"run_action": 99})
    outcome = drive(calls, request(SAMPLE))
    run = outcome.output["runs"][0]
    assert run["status"] == "failed"
    assert run["actions"] and all(a["status"] == "failed" for a in run["actions"])
    result = result_of(ports, outcome)
    assert result.status.value == "failed" and [a.status for a in result.actions] == ["failed"] * len(run["actions"])


def test_one_action_whose_activity_fails_leaves_the_other_actions_outcomes_alone(ports: RunPorts) -> None:
    calls = Calls(
        {"run_action": 1}
    )  # the first action activity to run raises; the others deliver or fail by themselves
    outcome = drive(calls, request(SAMPLE))
    run = outcome.output["runs"][0]
    assert run["status"] == "failed"
    assert len(run["actions"]) >= 2
    lost = [a for a in run["actions"] if a["type"] == "unknown"]
    assert len(lost) == 1 and "briefly unavailable" in lost[0]["detail"] and lost[0]["status"] == "failed"
    executed = [a for a in run["actions"] if a["type"] != "unknown"]
    assert len(executed) == len(run["actions"]) - 1 and all(a["attempts"] >= 1 for a in executed)
    assert [a.action_id for a in result_of(ports, outcome).actions] == [a["action_id"] for a in run["actions"]]


def test_several_input_files_run_one_sub_orchestration_each(ports: RunPorts, tmp_path: Path) -> None:
    second = tmp_path / "customers_second.csv"
    second.write_bytes(SAMPLE.read_bytes())
    outcome = drive(Calls(), request(SAMPLE, second))
    runs = outcome.output["runs"]
    assert len(runs) == 2 and runs[0]["run_id"] != runs[1]["run_id"]
    created = [e for e in outcome.history if e["EventType"] == 7]
    assert [e["InstanceId"] for e in created] == ["contoso:customers_daily:test:0", "contoso:customers_daily:test:1"]
    for run in runs:
        assert ports.lineage.get_run("contoso", run["run_id"]).status == "failed"


def test_replaying_the_same_history_gives_the_same_actions_and_output(ports: RunPorts) -> None:
    outcome = drive(Calls(), request(SAMPLE))
    input_json = json.dumps(request(SAMPLE).model_dump(mode="json"))
    fn = ORCHESTRATORS[OrchestratorName.RUN_JOB.value]
    states = [replay(fn, outcome.history, "contoso:customers_daily:test", input_json)[1] for _ in range(2)]
    assert states[0] == states[1]
    assert states[0] is not None and states[0]["isDone"] and states[0]["output"] == outcome.output
    scheduled = [e["Name"] for e in outcome.history if e["EventType"] == 4]
    assert scheduled[:3] == ["resolve_run", "ingest_file", "cleanse_chunk"]
    assert scheduled[-1] == "finalise_run"


def test_a_run_that_never_finalised_keeps_its_working_files_out_of_the_evidence_pack(
    ports: RunPorts, extract: Path
) -> None:
    """Its rounds' partitions and key partitions hold unmasked values: never in a pack."""
    outcome = drive(Calls({"finalise_run": 99}), request(extract))  # the close failed in the host
    run_id = outcome.output["runs"][0]["run_id"]
    left = ports.blobs.list("contoso", f"runs/{run_id}/")
    assert any("/cleanse/" in name for name in left) and any("/validate/" in name for name in left)
    pack = zipfile.ZipFile(io.BytesIO(export_evidence(ports.lineage, ports.blobs, "contoso", run_id)))
    names = pack.namelist()
    assert "outputs/result.json" in names
    working = ("outputs/cleanse/", "outputs/validate/", "outputs/work/", "outputs/ingested/")
    assert not [name for name in names if name.startswith(working)]


def test_a_run_may_not_flood_the_shared_task_hub_with_chunks(
    tmp_path: Path, bundle: ResolvedBundle, extract: Path
) -> None:
    """The attack: a tiny chunk_rows on a large file makes rows/100 activities on the task hub every
    tenant shares. Past infra.limits.max_chunks the run stops at ingest with a named error."""
    data = bundle.model_dump(mode="json")
    data["infra"]["limits"]["max_chunks"] = 3
    data.pop("sha256")
    capped = ResolvedBundle.model_validate(data)
    ports = wire(tmp_path, capped, LocalBlobStore(tmp_path / "capped"))
    try:
        calls = Calls()
        outcome = drive(calls, request(extract))  # 400 rows in chunks of 100: 4 chunks
        run = outcome.output["runs"][0]
        assert run["status"] == "error" and run["error"]["code"] == "too_many_chunks"
        assert "more than 3 chunks of 100 rows" in run["error"]["message"]
        assert calls["cleanse_chunk"] == 0 and calls["build_result"] == calls["finalise_run"] == 1
        left = ports.blobs.list("contoso", f"runs/{run['run_id']}/ingested/")
        assert not left  # what it wrote before the refusal is deleted with the other working files
    finally:
        use_ports(None)
