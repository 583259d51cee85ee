"""``run_job`` driven through the Durable SDK's own executor by the replay driver.

Real activities over real embedded stores (SQLite lineage, a local blob folder), with
a wrapper that makes chosen activities fail, to see retries, terminal errors and
fan-out as the Durable runtime would produce them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from activities.blueprint import ACTIVITIES
from app.local_durable import ReplayDriver, replay
from app.local_run import run_activity
from app.runtime import use_ports
from dq_core import service
from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import cleanse, mask_output
from dq_core.config.canonical import canonical_json
from dq_core.errors import TransientError
from dq_core.ingest.guarded import ingest
from dq_core.lineage.models import IngestionMode
from dq_core.local.folder_blobs import LocalBlobStore
from dq_core.local.sqlite_lineage import SqliteLineageStore
from dq_core.profiling.finish import finish_profile
from dq_core.profiling.state import profile_state
from dq_core.results.run import RunResult
from dq_core.runs.payloads import ActivityName, InputRef, OrchestratorName, RunOverrides, RunRequest
from dq_core.runs.stages import RunPorts
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate
from orchestrators.blueprint import ORCHESTRATORS
from tests.conftest import LIBRARIES

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
SALT = "a-test-salt-for-hashing-0123456789"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


class Salted:
    def get(self, tenant: str, reference: str) -> str:
        return SALT


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")


@pytest.fixture
def ports(tmp_path: Path, bundle: ResolvedBundle) -> Any:
    workspace = service.workspace_from_directory(LIBRARIES)
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put("contoso", "bundles/demo.json", canonical_json(bundle))
    wired = RunPorts(
        contracts=workspace.index,
        lineage=SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=blobs,
        secrets=Salted(),
        allow_local_files=True,
    )
    use_ports(wired)
    yield wired
    use_ports(None)


def request(*paths: Path, chunk_rows: int = 7) -> RunRequest:
    return RunRequest(
        tenant="contoso",
        environment="dev",
        bundle_path="bundles/demo.json",
        inputs=tuple(InputRef(uri=path.resolve().as_uri()) for path in paths),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=RunOverrides(chunk_rows=chunk_rows, now=NOW),
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


def test_every_activity_name_has_exactly_one_stage() -> None:
    assert set(ACTIVITIES) == set(ActivityName)
    assert len({stage for stage, _ in ACTIVITIES.values()}) == len(ActivityName)


def test_fan_out_runs_one_activity_per_chunk_and_reports_progress(ports: RunPorts) -> None:
    calls, statuses = Calls(), []
    outcome = drive(calls, request(SAMPLE), statuses)
    assert not outcome.failed, outcome.error
    run = outcome.output["runs"][0]
    assert run["status"] == "failed"  # the sample has planted defects
    result = result_of(ports, outcome)
    assert result.cleansing is not None and result.cleansing.rows_out == 13
    chunks = -(-result.cleansing.rows_out // 7)  # 13 rows in chunks of 7
    assert calls["profile_chunk"] == calls["validate_chunk"] == chunks == 2
    assert calls["ingest_file"] == calls["cleanse_dataset"] == calls["validate_dataset"] == 1
    stages = [s["stage"] for s in statuses]
    assert stages.index("profile") < stages.index("validate") < stages.index("act") < stages.index("finalise")
    validating = [s for s in statuses if s["stage"] == "validate"]
    assert validating[-1]["chunks_done"] == validating[-1]["chunks_total"] == 2
    assert validating[-1]["rules_failed"] > 0
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert set(steps) == {"resolve", "ingest", "cleanse", "profile", "validate", "anomaly_check", "act", "finalise"}
    assert steps["validate"].status == "failed" and steps["profile"].metrics["chunks"] == 2
    record = ports.lineage.get_run("contoso", run["run_id"])
    assert record.status == "failed" and record.result_sha256 is not None


def test_result_equals_the_engines_run_directly_on_the_whole_file(ports: RunPorts, bundle: ResolvedBundle) -> None:
    outcome = drive(Calls(), request(SAMPLE, chunk_rows=4))
    result = result_of(ports, outcome)

    ctx = CleansingContext(bundle=bundle, salt=SALT.encode(), defer_masking=True)
    output = cleanse(ingest(SAMPLE, bundle).frame, ctx)
    masked, _, report = mask_output(output.cleansed, output.rejects, output.report, ctx)
    profile = finish_profile(profile_state(masked))
    direct = validate(
        output.cleansed, bundle, ValidationContext(now=NOW, current_profile=profile, dataset_name="customers")
    )

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
    assert cleansed.equals(masked)
    assert all(email is None or email.startswith("sha256:") for email in cleansed["email"].to_list())


def test_the_unmasked_working_files_are_deleted_when_the_run_ends(ports: RunPorts) -> None:
    outcome = drive(Calls(), request(SAMPLE))
    run_id = outcome.output["runs"][0]["run_id"]
    folder = f"runs/{run_id}/"
    left = ports.blobs.list("contoso", folder)
    assert not [name for name in left if name.startswith((folder + "work/", folder + "ingested/"))]
    assert [name for name in left if name.startswith(folder + "cleansed/")]  # the masked output stays
    assert folder + "report.html" in left and folder + "result.json" in left
    (finalise,) = [s for s in ports.lineage.steps("contoso", run_id) if s.step == "finalise"]
    ingest = next(s for s in ports.lineage.steps("contoso", run_id) if s.step == "ingest")
    deleted = finalise.metrics["working_files_deleted"]
    assert isinstance(deleted, int) and deleted > int(str(ingest.metrics["chunks"]))  # ingested/ and work/


def test_a_transient_failure_is_retried_then_the_run_goes_on(ports: RunPorts) -> None:
    calls = Calls({"ingest_file": 2})
    outcome = drive(calls, request(SAMPLE))
    assert calls["ingest_file"] == 3  # two failures, then success
    assert outcome.output["runs"][0]["status"] == "failed"  # the data's verdict, not an error
    timers = [e for e in outcome.history if e["EventType"] == 10]
    assert len(timers) == 2  # one back-off timer per retry


def test_retries_exhausted_end_the_run_with_status_error_and_its_reason(ports: RunPorts) -> None:
    calls = Calls({"cleanse_dataset": 99})
    outcome = drive(calls, request(SAMPLE))
    assert calls["cleanse_dataset"] == 3  # RetryOptions: three attempts
    assert calls["profile_chunk"] == 0
    run = outcome.output["runs"][0]
    assert run["status"] == "error" and run["error"]["code"] == "activity_failed"
    assert "briefly unavailable" in run["error"]["message"]
    result = result_of(ports, outcome)
    assert result.status.value == "error" and result.error is not None
    assert result.input is not None and result.input.rows == 20  # what finished before the error is kept
    steps = {step.step: step for step in ports.lineage.steps("contoso", run["run_id"])}
    assert steps["cleanse"].status == "error"
    assert "briefly unavailable" in str(steps["cleanse"].metrics["message"])
    assert ports.lineage.get_run("contoso", run["run_id"]).error is not None
    assert {a["trigger"] for a in run["actions"]} == {"on_error", "always"}


def test_a_terminal_error_is_not_retried(ports: RunPorts, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    calls = Calls()
    outcome = drive(calls, request(empty))
    run = outcome.output["runs"][0]
    assert calls["ingest_file"] == 1
    assert run["status"] == "error" and run["error"]["code"] == "empty_file"
    assert empty.read_bytes() == b""


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
    assert scheduled[:3] == ["resolve_run", "ingest_file", "cleanse_dataset"]
    assert scheduled[-1] == "finalise_run"
