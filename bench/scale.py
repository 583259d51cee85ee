"""The scale-out half of the benchmark: ``dq run`` at growing sizes with 1 and 2 workers.

    .venv/bin/python bench/run.py --only scale                       # 200k, 2M, 10M rows; 1 and 2 workers
    .venv/bin/python bench/run.py --only scale --scale-sizes 200000 --scale-workers 1,2

For each size of the CRM extract (``bench.generate.crm_customers``, cached in bench/data/)
and each worker count, ``dq run FILE --contract customers ... --workers N --chunk-rows C``
runs as a user runs it (a fresh process, imports included; C is the infra profile's
default ``chunk_rows`` unless --scale-chunk-rows says otherwise). With --scale-repeats R the
worker counts take turns (1, 2, 1, 2, ...) R times, and each count reports its median run: this
machine's speed drifts by a fifth within minutes, and turns spread the drift over both. While it runs, its whole
process tree is sampled every --scale-interval seconds (psutil): the resident set of every
process, by pid, and the kernel's high-water mark of each (``VmHWM``, so a spike between two
samples still counts); ``wait4`` adds the largest peak the kernel saw in the tree. Reported:
wall seconds, rows/s, the peak RSS of every process and the largest of them, the peak of the
tree's sum, and the run's stages from the lineage store (each from the end of the step before
it to its own end, in the order they ended: whatever stages the run records). The number of
activities per stage comes from the activities' own log lines (``DQ_LOG_FORMAT=json``: one
``dq.activities`` line per activity with its stage and milliseconds), or, where no line came,
from the step's ``activities``/``partitions``/``chunks`` metric.

Checks: every count of result.json (cleansing, every rule, the profile's row, null and
distinct counts: :func:`bench.orchestration.differences`) equal between worker counts at one
size, and equal to the engines called directly on the whole dataset
(:func:`bench.orchestration.engines_direct`) at sizes up to --scale-direct-max.

Targets (pass/fail): the peak RSS of every process ≤ 1024 MB at the largest size; 2 workers
≥ 1.7× faster than 1 worker at 2M rows.

With --scale-one-key every row of the extract carries the same ``customer_id``, the demo
policy's deduplication key (``crm_customers_{rows}_one_key.csv``): the file a bad export or an
attacker makes, whose every row meets in one deduplication partition; the memory target holds
for it as for the plain extract.

Model: how many activities a 100M-row file becomes and its wall time at 50 parallel instances,
from the run with the fewest workers at the largest size (:func:`model`; its assumptions are
printed with it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api
from bench import orchestration as orch

TARGET_RSS_MB = 1024.0  # every process of dq run at the largest size (issue 17)
TARGET_SPEEDUP = 1.7  # 2 workers against 1 at SPEEDUP_ROWS
SPEEDUP_ROWS = 2_000_000
MODEL_ROWS = 100_000_000
MODEL_PARALLEL = 50
COUNT_METRICS = ("activities", "partitions", "chunks")  # a step's own count, when no log line came
HELPERS = ("resource_tracker", "forkserver")  # multiprocessing's own processes, not workers
ACTIVITY_LINE = re.compile(r"^(?P<name>\w+) (?P<status>succeeded|failed) in (?P<ms>\d+) ms$")


# --- sampling a process tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One process at one moment: its resident set and the kernel's high-water mark so far (MB)."""

    at: float  # seconds since the command started
    pid: int
    role: str  # "parent" (the command), "worker", or a helper process (HELPERS)
    name: str
    rss_mb: float
    hwm_mb: float


@dataclass(frozen=True)
class ProcessPeak:
    pid: int
    role: str
    name: str
    peak_mb: float
    first_s: float
    last_s: float


def process_peaks(samples: Iterable[Sample]) -> list[ProcessPeak]:
    """The peak of every process seen (the larger of its sampled RSS and high-water mark), the
    command first, then its children in the order they appeared."""
    found: dict[int, ProcessPeak] = {}
    for s in samples:
        peak = max(s.rss_mb, s.hwm_mb)
        known = found.get(s.pid)
        if known is None:
            found[s.pid] = ProcessPeak(s.pid, s.role, s.name, peak, s.at, s.at)
        else:
            found[s.pid] = ProcessPeak(
                s.pid,
                known.role,
                known.name,
                max(known.peak_mb, peak),
                min(known.first_s, s.at),
                max(known.last_s, s.at),
            )
    return sorted(found.values(), key=lambda p: (p.role != "parent", p.first_s, p.pid))


def tree_peak_mb(samples: Iterable[Sample]) -> float:
    """The largest sum of the resident sets of the tree at one sampling moment."""
    totals: dict[float, float] = defaultdict(float)
    for s in samples:
        totals[s.at] += s.rss_mb
    return max(totals.values(), default=0.0)


def _hwm_mb(pid: int) -> float:
    """VmHWM of a process (Linux), 0 when it is gone or the system has none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _sample_tree(root: Any, at: float) -> list[Sample]:
    import psutil

    found = []
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    for process in members:
        try:
            rss = process.memory_info().rss / 2**20
            command = " ".join(process.cmdline()[1:])
        except psutil.Error:
            continue  # ended between the listing and the read
        role = "parent" if process.pid == root.pid else process_role(command)
        found.append(Sample(at, process.pid, role, command[:80], rss, _hwm_mb(process.pid)))
    return found


def process_role(command: str) -> str:
    """What a child of ``dq run`` is, by its command line: multiprocessing's helpers by name, else a worker."""
    return next((helper for helper in HELPERS if helper in command), "worker")


def measure_tree(
    command: list[str], stdout: Path, stderr: Path, env: Mapping[str, str], interval: float
) -> dict[str, Any]:
    """Run ``command`` from the repository root while a thread samples its process tree."""
    import psutil

    samples: list[Sample] = []
    done = threading.Event()
    with stdout.open("w") as out, stderr.open("w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=dict(env))
        root = psutil.Process(process.pid)

        def sample() -> None:
            while not done.is_set():
                samples.extend(_sample_tree(root, round(time.perf_counter() - start, 3)))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    peaks = process_peaks(samples)
    return {
        "seconds": seconds,
        "exit": process.returncode,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wait4_maxrss_mb": usage.ru_maxrss / 1024,  # the largest peak of one process in the tree, per the kernel
        "processes": peaks,
        "tree_peak_mb": tree_peak_mb(samples),
        "samples": len({s.at for s in samples}),
        "stdout": stdout.read_text(),
        "stderr": stderr.read_text(),
    }


# --- what the run says about itself --------------------------------------------------------------


def activity_log(lines: Iterable[str]) -> dict[str, dict[str, list[float]]]:
    """Seconds of every activity by stage and activity name, from the ``dq.activities`` JSON lines."""
    found: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        matched = (
            ACTIVITY_LINE.match(str(record.get("message", ""))) if record.get("logger") == "dq.activities" else None
        )
        if matched and record.get("stage"):
            found[str(record["stage"])][matched["name"]].append(int(matched["ms"]) / 1000)
    return {stage: dict(names) for stage, names in found.items()}


def run_steps(home: Path, run_id: str) -> list[dict[str, Any]]:
    """The run's lineage steps in the order they ended: each one's seconds from the end of the
    step before (the run's start for the first) to its own end, and its metrics."""
    from adapters.local.sqlite_lineage import SqliteLineageStore

    store = SqliteLineageStore(str(home / "lineage.db"))
    previous = store.get_run(orch.TENANT, run_id).started_at
    steps = []
    for step in sorted(store.steps(orch.TENANT, run_id), key=lambda s: s.finished_at or s.started_at):
        end = step.finished_at or step.started_at
        steps.append({"stage": step.step, "seconds": (end - previous).total_seconds(), "metrics": step.metrics})
        previous = end
    return steps


def stage_figures(steps: list[dict[str, Any]], logged: Mapping[str, Mapping[str, list[float]]]) -> list[dict[str, Any]]:
    """Per lineage step: seconds, and its activities by name (count, logged seconds) — from the log
    lines of that stage, else one activity per the step's count metric."""
    figures = []
    for step in steps:
        names = logged.get(step["stage"])
        if names:
            activities = {name: {"count": len(times), "seconds": round(sum(times), 3)} for name, times in names.items()}
        else:
            metrics = step["metrics"]
            key = next((k for k in COUNT_METRICS if isinstance(metrics.get(k), int) and metrics[k] > 0), None)
            if step["stage"] == "ingest" and key == "chunks":
                key = None  # the chunks ingest writes, not its activities
            activities = {f"{step['stage']} ({key})": {"count": int(metrics[key]), "seconds": None}} if key else {}
        figures.append({"stage": step["stage"], "seconds": round(step["seconds"], 3), "activities": activities})
    return figures


# --- the 100M-row model --------------------------------------------------------------------------

MODEL_ASSUMPTIONS = (
    "Modelled from the run with the fewest workers (W) at the largest size measured (N rows), stage by stage.",
    "A stage fans out through each of its activities that ran more than once (a stage may have several, one after "
    "the other: chunks, then partitions). Each one's count grows with the rows (one activity per chunk or partition "
    "of the same size): ceil(count × 100M / N).",
    "The stage's seconds less its other activities' logged seconds are shared among its fan-outs by their logged "
    "seconds; one activity takes its share / ceil(count / W) and they run in waves of the parallel instances: "
    "ceil(activities / 50) waves.",
    "A stage that did not fan out, and a fanned-out stage's other activities (its merge or finish), are serial: a "
    "fixed part plus a part per row, the straight line through their seconds at the smallest and the largest size "
    "measured, neither part negative (one size: all per row, seconds × 100M / N).",
    "Not modelled: instance start-up (cold starts), storage throughput limits, the orchestrator's history growing "
    "with the number of activities, and a shuffle whose partitions do not grow with the rows.",
)


def serial_seconds(seconds: float, rows: int, target_rows: int, small: tuple[float, int] | None) -> float:
    """A serial stage at ``target_rows``: the line through (small rows, small seconds) and (rows, seconds),
    its slope and intercept never negative; without a smaller size, seconds per row × target_rows."""
    if small is None or small[1] >= rows:
        return seconds * target_rows / rows
    per_row = max((seconds - small[0]) / (rows - small[1]), 0.0)
    fixed = max(seconds - per_row * rows, 0.0)
    return fixed + per_row * target_rows


def model(
    stages: list[dict[str, Any]],
    rows: int,
    workers: int,
    smaller: tuple[list[dict[str, Any]], int] | None = None,
    target_rows: int = MODEL_ROWS,
    parallel: int = MODEL_PARALLEL,
) -> dict[str, Any]:
    """The modelled wall time of ``target_rows`` at ``parallel`` instances (see MODEL_ASSUMPTIONS), from
    ``stages`` measured at ``rows`` with ``workers``; ``smaller``: the stages at a smaller size, and it."""
    scale = target_rows / rows
    small_stages = {s["stage"]: s for s in smaller[0]} if smaller else {}
    lines = []
    for stage in stages:
        activities = stage["activities"]
        fanned = {name: a for name, a in activities.items() if a["count"] > 1}
        small = small_stages.get(stage["stage"])
        if not fanned:
            at_small = (small["seconds"], smaller[1]) if small and smaller else None
            modelled = serial_seconds(stage["seconds"], rows, target_rows, at_small)
            lines.append({"stage": stage["stage"], "fan_outs": [], "serial_s": round(modelled, 3)})
            continue
        others = sum(a["seconds"] or 0.0 for name, a in activities.items() if name not in fanned)
        small_others = (
            (
                sum(
                    a["seconds"] or 0.0
                    for name, a in small["activities"].items()
                    if name in activities and name not in fanned
                ),
                smaller[1],
            )
            if small and smaller
            else None
        )
        fanned_s = max(stage["seconds"] - others, 0.0)
        logged = sum(a["seconds"] or 0.0 for a in fanned.values())
        fan_outs = []
        for name, a in fanned.items():
            share = (a["seconds"] or 0.0) / logged if logged else 1 / len(fanned)
            per_activity = fanned_s * share / math.ceil(a["count"] / workers)
            at_target = math.ceil(a["count"] * scale)
            waves = math.ceil(at_target / parallel)
            fan_outs.append(
                {
                    "activity": name,
                    "activities_measured": a["count"],
                    "activities": at_target,
                    "per_activity_s": round(per_activity, 3),
                    "waves": waves,
                    "modelled_s": round(waves * per_activity, 3),
                }
            )
        serial = serial_seconds(others, rows, target_rows, small_others)
        lines.append({"stage": stage["stage"], "fan_outs": fan_outs, "serial_s": round(serial, 3)})
    for line in lines:
        line["modelled_s"] = round(line["serial_s"] + sum(f["modelled_s"] for f in line["fan_outs"]), 3)
    return {
        "rows": target_rows,
        "parallel": parallel,
        "from_rows": rows,
        "from_workers": workers,
        "serial_fit_rows": [smaller[1], rows] if smaller and smaller[1] < rows else None,
        "stages": lines,
        "total_s": round(sum(line["modelled_s"] for line in lines), 3),
        "assumptions": list(MODEL_ASSUMPTIONS),
    }


# --- one run, and the whole half -----------------------------------------------------------------


def default_chunk_rows() -> int:
    from dq_core.libraries.infra import InfraProfile

    return int(InfraProfile.model_fields["chunk_rows"].default)


DEMO_FILE_LIMIT = "max_file_bytes: 1073741824"
BENCH_FILE_LIMIT = "max_file_bytes: 4294967296"


def bench_libraries(folder: Path) -> Path:
    """The demo libraries with the standard infra profile's file limit raised from 1 GiB to 4 GiB:
    the 10M-row extract is 1.3 GB, which the demo profile refuses (``too_large``) by design."""
    target = folder / "libraries"
    if not target.exists():
        shutil.copytree(ROOT / "libraries", target)
        infra = target / "contoso" / "dev" / "infra" / "standard.yaml"
        text = infra.read_text(encoding="utf-8")
        if DEMO_FILE_LIMIT not in text:
            msg = f"{infra}: the demo file limit changed; update bench/scale.py"
            raise SystemExit(msg)
        infra.write_text(text.replace(DEMO_FILE_LIMIT, BENCH_FILE_LIMIT), encoding="utf-8")
    return target


def scaled_run(
    path: Path, rows: int, workers: int, chunk_rows: int, work: Path, salt_file: Path, interval: float
) -> dict[str, Any]:
    """``dq run --workers N`` in a fresh process, its tree sampled; its figures and its result.json."""
    command = [
        *orch.dq_run_command(path, work, salt_file),
        *("--workers", str(workers), "--chunk-rows", str(chunk_rows)),
        *("--libraries", str(bench_libraries(work.parent))),
    ]
    env = api._env(DQ_LOG_FORMAT="json")  # no ambient DQ_ setting; the activities' log lines as JSON
    logs = work.parent / f"{work.name}"
    measured = measure_tree(command, logs.with_suffix(".out"), logs.with_suffix(".err"), env, interval)
    found = re.search(r"run ([0-9a-f-]{36})", measured["stdout"])
    if measured["exit"] not in (0, 1) or found is None:  # 1: the validation failed, as planted
        raise SystemExit(f"dq run exited {measured['exit']}:\n{measured['stdout']}\n{measured['stderr'][-4000:]}")
    stages = stage_figures(run_steps(work, found.group(1)), activity_log(measured["stderr"].splitlines()))
    result = json.loads((work / "out" / "result.json").read_text())
    peaks: list[ProcessPeak] = measured["processes"]
    largest = max([p.peak_mb for p in peaks] + [measured["wait4_maxrss_mb"]])
    return {
        "rows": rows,
        "workers": workers,
        "chunk_rows": chunk_rows,
        "seconds": round(measured["seconds"], 3),
        "rows_per_s": round(rows / measured["seconds"]),
        "cpu_s": round(measured["cpu_s"], 3),
        "peak_rss_max_mb": round(largest, 1),
        "tree_peak_mb": round(measured["tree_peak_mb"], 1),
        "processes": [
            {
                "pid": p.pid,
                "role": p.role,
                "name": p.name,
                "peak_mb": round(p.peak_mb, 1),
                "seen_s": [p.first_s, p.last_s],
            }
            for p in peaks
        ],
        "samples": measured["samples"],
        "stages": stages,
        "stages_s": {s["stage"]: s["seconds"] for s in stages},
        "outcome": orch.outcome(result),
        "result": result,
    }


ONE_KEY = "CUS-000001"


def one_key_data(path: Path) -> Path:
    """``path``'s extract with the deduplication key ``customer_id`` the same in every row (made once)."""
    target = path.with_name(f"{path.stem}_one_key.csv")
    if not target.exists():
        partial = target.with_suffix(".partial")
        scan = pl.scan_csv(path, infer_schema=False)
        scan.with_columns(pl.lit(ONE_KEY).alias("customer_id")).sink_csv(partial)
        partial.replace(target)
    return target


def one_size(
    rows: int, workers: list[int], args: argparse.Namespace, scratch: Path, salt_file: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """The runs of one size (median wall of --scale-repeats per worker count, the counts taken in
    turn) and what differs."""
    path = orch.data(args.data, rows)
    if args.scale_one_key:
        path = one_key_data(path)
    with path.open("rb") as handle:  # into the page cache before the first timed run
        while handle.read(1 << 24):
            pass
    problems: list[str] = []
    reference: tuple[str, dict[str, Any]] | None = None
    if rows <= args.scale_direct_max:
        work = scratch / f"direct-{rows}"
        orch.engines_direct(path, work, salt_file)
        reference = ("engines direct", json.loads((work / "out" / "result.json").read_text()))
        shutil.rmtree(work)
    by_count: dict[int, list[dict[str, Any]]] = {count: [] for count in workers}
    for index in range(args.scale_repeats):  # worker counts alternate: the machine's drift hits each alike
        for count in workers:
            work = scratch / f"run-{rows}-{count}-{index}"
            run = scaled_run(path, rows, count, args.scale_chunk_rows, work, salt_file, args.scale_interval)
            shutil.rmtree(work)
            result = run.pop("result")
            if reference is None:
                reference = (f"dq run --workers {count}", result)
            else:
                problems += [
                    f"{rows:,} rows, --workers {count} vs {reference[0]}: {d}"
                    for d in orch.differences(result, reference[1])
                ]
            by_count[count].append(run)
            print(
                f"  {rows:,} rows, {count} worker(s), run {index + 1}/{args.scale_repeats}: {run['seconds']:.2f}s, "
                f"peak {run['peak_rss_max_mb']:.0f} MB ({len(run['processes'])} processes), stages {run['stages_s']}",
                flush=True,
            )
    lines = []
    for runs in by_count.values():
        middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        lines.append(
            {
                **middle,
                "all_s": [r["seconds"] for r in runs],
                "peak_rss_max_mb": max(r["peak_rss_max_mb"] for r in runs),
                "checked_against": reference[0] if reference else None,
            }
        )
    return lines, problems


def targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets on what was measured: pass, fail, or not measured."""
    largest = max((r["rows"] for r in runs), default=0)
    at_largest = [r for r in runs if r["rows"] == largest]
    worst = max((r["peak_rss_max_mb"] for r in at_largest), default=None)
    found = [
        {
            "target": f"peak RSS of every process ≤ {TARGET_RSS_MB:.0f} MB at the largest size ({largest:,} rows)",
            "value": worst,
            "passed": None if worst is None else worst <= TARGET_RSS_MB,  # None: not measured
        }
    ]
    by_workers = {r["workers"]: r["seconds"] for r in runs if r["rows"] == SPEEDUP_ROWS}
    speedup = by_workers[1] / by_workers[2] if 1 in by_workers and 2 in by_workers else None
    found.append(
        {
            "target": f"2 workers ≥ {TARGET_SPEEDUP}× faster than 1 worker at {SPEEDUP_ROWS:,} rows",
            "value": round(speedup, 2) if speedup else None,
            "passed": None if speedup is None else speedup >= TARGET_SPEEDUP,
        }
    )
    return found


def speedups(runs: list[dict[str, Any]]) -> dict[int, float]:
    """Wall time with the fewest workers / with the most, per size."""
    found = {}
    for rows in sorted({r["rows"] for r in runs}):
        at = sorted((r for r in runs if r["rows"] == rows), key=lambda r: r["workers"])
        if len(at) > 1:
            found[rows] = round(at[0]["seconds"] / at[-1]["seconds"], 2)
    return found


# --- printing ------------------------------------------------------------------------------------


def _stages_text(stages: list[dict[str, Any]]) -> str:
    parts = []
    for s in stages:
        fan = max((a["count"] for a in s["activities"].values()), default=0)
        parts.append(f"{s['stage']} {s['seconds']:.2f}" + (f" ({fan}×)" if fan > 1 else ""))
    return " · ".join(parts)


def markdown(report: dict[str, Any]) -> str:
    data = ", one customer_id in every row" if report.get("one_key") else ""
    lines = [
        f"dq run, demo cleansing policy, chunk_rows {report['chunk_rows']:,}{data}:",
        "",
        "| rows | workers | wall s | rows/s | peak RSS max MB | per-process peaks MB | tree peak MB "
        "| stages s (activities) |",
        "| ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for r in report["runs"]:
        per = ", ".join(f"{p['role']} {p['peak_mb']:.0f}" for p in r["processes"])
        lines.append(
            f"| {r['rows']:,} | {r['workers']} | {r['seconds']:.2f} | {r['rows_per_s']:,} | {r['peak_rss_max_mb']:.0f} "
            f"| {per} | {r['tree_peak_mb']:.0f} | {_stages_text(r['stages'])} |"
        )
    lines.append("")
    speed = report["speedups"]
    if speed:
        lines += [
            "Speed-up, fewest → most workers: " + ", ".join(f"{rows:,} rows ×{v}" for rows, v in speed.items()),
            "",
        ]
    lines.append(
        "Counts (cleansing, every rule, profile) equal between worker counts"
        + (f" and to the engines called directly (≤ {report['direct_max']:,} rows)" if report["direct_max"] else "")
        + f": {'yes' if report['counts_equal'] else 'NO'}"
    )
    lines += ["", "| target | measured | |", "| --- | ---: | --- |"]
    for t in report["targets"]:
        verdict = "not measured" if t["value"] is None else "pass" if t["passed"] else "FAIL"
        lines.append(f"| {t['target']} | {'' if t['value'] is None else t['value']} | {verdict} |")
    m = report.get("model_100m")
    if m:
        lines += [
            "",
            f"A {m['rows']:,}-row file at {m['parallel']} parallel instances (default chunk_rows "
            f"{report['default_chunk_rows']:,}: {math.ceil(m['rows'] / report['default_chunk_rows']):,} chunks), "
            f"modelled from {m['from_rows']:,} rows with {m['from_workers']} worker(s)"
            + (
                f" (serial parts fitted through {m['serial_fit_rows'][0]:,} and {m['from_rows']:,} rows)"
                if m["serial_fit_rows"]
                else ""
            )
            + ":",
            "",
            "| stage | activity | activities measured | activities at 100M | s per activity | waves | modelled s |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for stage in m["stages"]:
            for f in stage["fan_outs"]:
                lines.append(
                    f"| {stage['stage']} | {f['activity']} | {f['activities_measured']:,} | {f['activities']:,} "
                    f"| {f['per_activity_s']:.2f} | {f['waves']:,} | {f['modelled_s']:.1f} |"
                )
            if stage["serial_s"] or not stage["fan_outs"]:
                what = "the rest, serial" if stage["fan_outs"] else "serial"
                lines.append(f"| {stage['stage']} | ({what}) | 1 | 1 | | | {stage['serial_s']:.1f} |")
        lines += [f"| **total** | | | | | | **{m['total_s']:.0f} s ({m['total_s'] / 60:.1f} min)** |", ""]
        lines += [f"- {a}" for a in m["assumptions"]]
    return "\n".join(lines)


def scale_runs(args: argparse.Namespace) -> dict[str, Any]:
    """The ``scale`` section of bench/results.json (bench/run.py --only scale)."""
    sizes = [int(s) for s in args.scale_sizes.split(",")]
    workers = sorted({int(w) for w in args.scale_workers.split(",")})
    default = default_chunk_rows()
    args.scale_chunk_rows = args.scale_chunk_rows or default
    runs: list[dict[str, Any]] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dq-bench-scale-") as folder:
        scratch = Path(folder)
        salt_file = scratch / "salt"
        salt_file.write_bytes(orch.SALT)
        for rows in sizes:
            lines, found = one_size(rows, workers, args, scratch, salt_file)
            runs += lines
            problems += found
            if found:
                print("COUNTS DIFFER:\n  " + "\n  ".join(found), flush=True)
    largest = max(sizes)
    fewest = min(workers)
    base = next(r for r in runs if r["rows"] == largest and r["workers"] == fewest)
    small = next(r for r in runs if r["rows"] == min(sizes) and r["workers"] == fewest)
    report = {
        "one_key": args.scale_one_key,
        "chunk_rows": args.scale_chunk_rows,
        "default_chunk_rows": default,
        "direct_max": args.scale_direct_max,
        "runs": runs,
        "speedups": speedups(runs),
        "counts_equal": not problems,
        "differences": problems,
        "targets": targets(runs),
        "model_100m": model(base["stages"], largest, fewest, (small["stages"], small["rows"])),
    }
    report["markdown"] = markdown(report)
    print(report["markdown"], flush=True)
    return report


def add_options(parser: argparse.ArgumentParser) -> None:
    """bench/run.py's options for this half."""
    parser.add_argument("--scale-sizes", default="200000,2000000,10000000", help="scale: rows of dq run")
    parser.add_argument("--scale-workers", default="1,2", help="scale: dq run --workers values")
    parser.add_argument("--scale-repeats", type=int, default=1, help="scale: runs per size and worker count")
    parser.add_argument(
        "--scale-chunk-rows", type=int, default=0, help="scale: dq run --chunk-rows (default: the infra profile's)"
    )
    parser.add_argument(
        "--scale-direct-max",
        type=int,
        default=2_000_000,
        help="scale: compare with the engines called directly up to this many rows",
    )
    parser.add_argument("--scale-interval", type=float, default=0.2, help="scale: seconds between samples")
    parser.add_argument(
        "--scale-one-key", action="store_true", help="scale: the same deduplication key in every row of the extract"
    )
    parser.add_argument(
        "--scale-key",
        default="scale",
        help="scale: the section of bench/results.json it writes (another keeps the default's runs)",
    )


if __name__ == "__main__":
    main_parser = argparse.ArgumentParser(description="scale-out benchmark (use bench/run.py --only scale)")
    main_parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    add_options(main_parser)
    print(json.dumps(scale_runs(main_parser.parse_args()), indent=2, default=str))
