"""The pure parts of the scale benchmark (bench/scale.py): the peaks per process from samples of a
process tree, the activities read from the run's log lines and lineage steps, the 100M-row model's
arithmetic, the targets; and the sampler on a real process tree."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import polars as pl
import pytest

from bench.scale import (
    MODEL_ASSUMPTIONS,
    Sample,
    activity_log,
    markdown,
    measure_tree,
    model,
    one_key_data,
    process_peaks,
    process_role,
    serial_seconds,
    stage_figures,
    targets,
    tree_peak_mb,
)


def test_every_process_keeps_its_own_peak_the_larger_of_rss_and_high_water_mark() -> None:
    samples = [
        Sample(0.0, 10, "parent", "cli run", 100.0, 120.0),
        Sample(0.2, 10, "parent", "cli run", 300.0, 300.0),
        Sample(0.2, 11, "worker", "spawn_main", 200.0, 210.0),
        Sample(0.4, 10, "parent", "cli run", 150.0, 300.0),
        Sample(0.4, 11, "worker", "spawn_main", 500.0, 650.0),  # a spike between samples: only the HWM saw it
        Sample(0.4, 12, "worker", "spawn_main", 90.0, 95.0),
        Sample(0.6, 12, "worker", "spawn_main", 80.0, 95.0),
    ]
    peaks = process_peaks(reversed(samples))  # any order in, parent first, children as they appeared
    assert [(p.pid, p.role, p.peak_mb) for p in peaks] == [
        (10, "parent", 300.0),
        (11, "worker", 650.0),
        (12, "worker", 95.0),
    ]
    assert (peaks[0].first_s, peaks[0].last_s) == (0.0, 0.4)
    assert (peaks[2].first_s, peaks[2].last_s) == (0.4, 0.6)
    assert tree_peak_mb(samples) == 150.0 + 500.0 + 90.0  # the moment 0.4 holds the largest sum
    assert process_peaks([]) == [] and tree_peak_mb([]) == 0.0


def _line(stage: str, message: str, logger: str = "dq.activities") -> str:
    return json.dumps({"level": "INFO", "logger": logger, "message": message, "stage": stage, "run_id": "r"})


def test_activities_are_counted_by_stage_from_their_log_lines() -> None:
    lines = [
        "not json",
        _line("profile", "profile_chunk succeeded in 120 ms"),
        _line("profile", "profile_chunk succeeded in 80 ms"),
        _line("profile", "merge_profile succeeded in 15 ms"),
        _line("validate", "validate_chunk failed in 7 ms"),
        _line("validate", "validate_chunk succeeded in 1 ms", logger="dq.telemetry"),  # another logger
        _line("cleanse", "cleanse_dataset raised OSError"),  # not a finished activity
        "{broken json",
    ]
    logged = activity_log(lines)
    assert logged == {
        "profile": {"profile_chunk": [0.12, 0.08], "merge_profile": [0.015]},
        "validate": {"validate_chunk": [0.007]},
    }
    steps = [
        {"stage": "ingest", "seconds": 1.5, "metrics": {"rows": 10, "chunks": 4}},  # chunks written, one activity
        {"stage": "cleanse", "seconds": 9.0, "metrics": {"partitions": 8, "chunks": 4}},
        {"stage": "profile", "seconds": 0.4, "metrics": {"chunks": 4}},
        {"stage": "finalise", "seconds": 0.1, "metrics": {"activities": 2, "chunks": 5}},
    ]
    figures = stage_figures(steps, logged)
    assert figures[0] == {"stage": "ingest", "seconds": 1.5, "activities": {}}
    assert figures[1]["activities"] == {"cleanse (partitions)": {"count": 8, "seconds": None}}
    assert figures[2]["activities"] == {  # the log lines win over the metric
        "profile_chunk": {"count": 2, "seconds": 0.2},
        "merge_profile": {"count": 1, "seconds": 0.015},
    }
    assert figures[3]["activities"] == {"finalise (activities)": {"count": 2, "seconds": None}}


def test_the_100m_model_runs_fanned_out_activities_in_waves_and_scales_the_serial_stages() -> None:
    stages = [
        {"stage": "resolve", "seconds": 0.3, "activities": {"resolve_run": {"count": 1, "seconds": 0.2}}},
        {"stage": "ingest", "seconds": 11.0, "activities": {}},
        {
            "stage": "profile",
            "seconds": 16.0,
            "activities": {
                "profile_chunk": {"count": 8, "seconds": 14.0},
                "merge_profile": {"count": 1, "seconds": 0.8},
            },
        },
        {
            "stage": "validate",
            "seconds": 10.0,
            "activities": {  # two fan-outs, one after the other; the log says 3:1
                "validate_chunk": {"count": 8, "seconds": 6.0},
                "validate_partition": {"count": 4, "seconds": 2.0},
                "validate_dataset": {"count": 1, "seconds": 2.0},
            },
        },
        {"stage": "act", "seconds": 9.0, "activities": {"act (chunks)": {"count": 9, "seconds": None}}},
    ]
    smaller = [
        {"stage": "resolve", "seconds": 0.3, "activities": {}},
        {"stage": "ingest", "seconds": 2.0, "activities": {}},
    ]
    result = model(stages, 2_000_000, 1, (smaller, 200_000))
    lines = {line["stage"]: line for line in result["stages"]}
    # resolve: the same at both sizes, so a fixed cost; ingest: 1 s fixed + 9 s per 1.8M rows
    assert (lines["resolve"]["fan_outs"], lines["resolve"]["modelled_s"]) == ([], pytest.approx(0.3))
    assert lines["ingest"]["modelled_s"] == pytest.approx(1.0 + 9.0 / 1_800_000 * 100_000_000)
    [profile] = lines["profile"]["fan_outs"]
    assert (profile["activity"], profile["activities_measured"], profile["activities"]) == ("profile_chunk", 8, 400)
    assert profile["per_activity_s"] == pytest.approx((16.0 - 0.8) / 8)
    assert profile["waves"] == 8  # 400 activities at 50 at a time
    assert lines["profile"]["serial_s"] == pytest.approx(0.8 * 50)  # merge_profile, per row
    assert lines["profile"]["modelled_s"] == pytest.approx(8 * 1.9 + 40.0)
    chunk, partition = lines["validate"]["fan_outs"]
    assert chunk["per_activity_s"] == pytest.approx(8.0 * 0.75 / 8) and chunk["waves"] == 8
    assert partition["per_activity_s"] == pytest.approx(8.0 * 0.25 / 4)
    assert (partition["activities"], partition["waves"]) == (200, 4)
    assert lines["validate"]["modelled_s"] == pytest.approx(8 * 0.75 + 4 * 0.5 + 2.0 * 50)
    [act] = lines["act"]["fan_outs"]  # counted from a metric: no logged seconds, the whole stage
    assert (act["activities"], act["waves"], act["per_activity_s"]) == (450, 9, pytest.approx(1.0))
    assert result["total_s"] == pytest.approx(sum(line["modelled_s"] for line in lines.values()), abs=0.01)
    assert result["assumptions"] == list(MODEL_ASSUMPTIONS)

    two = model(stages, 2_000_000, 2)  # two workers: 8 activities ran in 4 waves; no smaller size: all per row
    two_lines = {line["stage"]: line for line in two["stages"]}
    assert two_lines["profile"]["fan_outs"][0]["per_activity_s"] == pytest.approx(15.2 / 4)
    assert two_lines["ingest"]["modelled_s"] == pytest.approx(11.0 * 50)
    assert math.isclose(serial_seconds(5.0, 1_000, 2_000, (6.0, 500)), 5.0)  # slower when smaller: no negative slope

    # merge_profile took as long at 200k rows (where profile_chunk ran once): a fixed cost, not per row
    small_profile = {
        "stage": "profile",
        "seconds": 2.0,
        "activities": {"profile_chunk": {"count": 1, "seconds": 1.0}, "merge_profile": {"count": 1, "seconds": 0.8}},
    }
    fixed = model(stages, 2_000_000, 1, ([*smaller, small_profile], 200_000))
    profile_line = next(line for line in fixed["stages"] if line["stage"] == "profile")
    assert profile_line["serial_s"] == pytest.approx(0.8)
    assert profile_line["modelled_s"] == pytest.approx(8 * 1.9 + 0.8)


def _run(rows: int, workers: int, seconds: float, peak: float) -> dict[str, object]:
    return {"rows": rows, "workers": workers, "seconds": seconds, "peak_rss_max_mb": peak}


def test_targets_pass_fail_or_not_measured() -> None:
    runs = [_run(2_000_000, 1, 100.0, 700.0), _run(2_000_000, 2, 55.0, 800.0), _run(200_000, 2, 9.0, 3000.0)]
    rss, speed = targets(runs)
    assert (rss["value"], rss["passed"]) == (800.0, True)  # only the largest size counts
    assert (speed["value"], speed["passed"]) == (round(100 / 55, 2), True)
    rss, speed = targets([_run(2_000_000, 1, 100.0, 1100.0), _run(2_000_000, 2, 60.0, 900.0)])
    assert (rss["passed"], speed["passed"]) == (False, False)
    _, speed = targets([_run(200_000, 1, 10.0, 300.0), _run(200_000, 2, 5.0, 300.0)])
    assert (speed["value"], speed["passed"]) == (None, None)


CHILD = """
import multiprocessing, sys, time
def hold(mb):
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(1.5)
if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    workers = [multiprocessing.Process(target=hold, args=(mb,)) for mb in (150, 60)]
    for w in workers: w.start()
    for w in workers: w.join()
    print("done")
"""


def test_the_sampler_sees_the_peak_of_every_process_of_a_real_tree(tmp_path: Path) -> None:
    script = tmp_path / "tree.py"
    script.write_text(CHILD)
    measured = measure_tree(
        [sys.executable, str(script)], tmp_path / "out", tmp_path / "err", {"PATH": "/usr/bin:/bin"}, 0.05
    )
    assert measured["exit"] == 0 and measured["stdout"].strip() == "done"
    peaks = measured["processes"]
    assert peaks[0].role == "parent" and peaks[0].peak_mb < 100
    children = sorted(p.peak_mb for p in peaks if p.role == "worker")
    assert len(children) == 2  # the two workers; the resource tracker that spawn starts is not one
    assert process_role("-B -c from multiprocessing.resource_tracker import main;main(9)") == "resource_tracker"
    assert children[-1] >= 150 and 60 <= children[-2] < 150
    assert measured["wait4_maxrss_mb"] >= 150
    assert measured["tree_peak_mb"] >= 150 + 60


def test_the_markdown_shows_every_run_its_processes_the_targets_and_the_model() -> None:
    stages = [
        {"stage": "ingest", "seconds": 4.0, "activities": {}},
        {"stage": "cleanse", "seconds": 20.0, "activities": {"cleanse_chunk": {"count": 8, "seconds": 19.0}}},
    ]
    processes = [{"pid": 1, "role": "parent", "peak_mb": 300.4}, {"pid": 2, "role": "worker", "peak_mb": 712.6}]
    runs = [
        {
            **_run(2_000_000, 1, 24.0, 712.6),
            "rows_per_s": 83_333,
            "tree_peak_mb": 990.0,
            "processes": processes,
            "stages": stages,
        }
    ]
    report = {
        "chunk_rows": 250_000,
        "default_chunk_rows": 250_000,
        "direct_max": 2_000_000,
        "runs": runs,
        "speedups": {},
        "counts_equal": True,
        "targets": targets(runs),
        "model_100m": model(stages, 2_000_000, 1),
    }
    text = markdown(report)
    assert (
        "| 2,000,000 | 1 | 24.00 | 83,333 | 713 | parent 300, worker 713 | 990 | ingest 4.00 · cleanse 20.00 (8×) |"
        in text
    )
    assert "| 712.6 | pass |" in text and "| not measured |" in text
    assert "| cleanse | cleanse_chunk | 8 | 400 | 2.50 | 8 | 20.0 |" in text  # 400 chunks of 250,000 rows
    assert "| ingest | (serial) | 1 | 1 | | | 200.0 |" in text
    assert "(400 chunks)" not in text and "400 chunks" in text
    assert all(f"- {line}" in text for line in MODEL_ASSUMPTIONS)


def test_the_one_key_extract_has_the_plain_rows_with_one_customer_id(tmp_path: Path) -> None:
    plain = tmp_path / "crm_customers_3.csv"
    plain.write_text("customer_id,email\nCUS-1,a@x.org\nCUS-2,\nCUS-3,c@y.com\n", encoding="utf-8")
    skewed = one_key_data(plain)
    assert skewed.name == "crm_customers_3_one_key.csv"
    frame = pl.read_csv(skewed, infer_schema=False)
    assert frame["customer_id"].unique().to_list() == ["CUS-000001"]
    assert frame["email"].to_list() == ["a@x.org", None, "c@y.com"]
    assert one_key_data(plain) == skewed  # made once
