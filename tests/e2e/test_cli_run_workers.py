"""``dq run --workers N`` as a user runs it: activities in N worker processes, the same answer
whatever N, and a run that ends cleanly when a worker is killed or the user presses Ctrl-C.

Each run is a real ``dq`` process; its worker processes are found in its process tree
(psutil: the ``spawn_main`` children) while it runs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from tests.conftest import ROOT

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
TIMEOUT = 300  # seconds: a run that hangs fails the test instead of the CI job


def _extract(folder: Path, blocks: int) -> Path:
    """The sample's 20 rows ``blocks`` times, each block with customer ids of its own."""
    header, *rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines = [header]
    for block in range(blocks):
        for row in rows:
            ident, rest = row.split(",", 1)
            lines.append(f"CUS-{block:06d}{ident[8:]},{rest}" if ident else row)
    path = folder / f"customers_{blocks}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _start(tmp_path: Path, name: str, source: Path, *extra: str) -> tuple[subprocess.Popen[str], Path, Path]:
    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    home, out = tmp_path / name / "home", tmp_path / name / "out"
    args = ["run", str(source), "--job", "customers_daily", "--out", str(out), "--home", str(home)]
    args += ["--salt-file", str(salt), "--now", "2026-11-25T12:00:00+00:00", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DQ_", "APPLICATIONINSIGHTS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal gives a command
    )
    return process, home, out


def _workers(pid: int) -> set[int]:
    """The worker processes of the ``dq`` process ``pid`` now."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return set()
    found = set()
    for child in children:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _watch(process: subprocess.Popen[str], until: Any = None) -> set[int]:
    """Every worker seen until ``until()`` is true (or the run ended)."""
    seen: set[int] = set()
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        seen |= _workers(process.pid)
        if until is not None and until():
            break
        time.sleep(0.02)
    return seen


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, stdout, stderr


def _stage_done(home: Path, stage: str) -> bool:
    path = home / "lineage.db"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT 1 FROM steps WHERE step = ?", (stage,)).fetchone() is not None
    except sqlite3.OperationalError:  # the schema is not there yet
        return False


def _gone(pids: set[int]) -> bool:
    """Every process of ``pids`` has ended (waiting a little for the last ones)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


CLEANSING = ("rows_in", "rows_out", "rows_rejected", "duplicates_removed")


def _counts(out: Path) -> dict[str, Any]:
    document = json.loads((out / "result.json").read_text())
    rules = document["validation"]["rules"]
    return {
        "status": document["status"],
        "rows": document["input"]["rows"],
        "cleansing": {k: document["cleansing"][k] for k in CLEANSING},
        "rules": sorted((r["rule_id"], r["status"], r["element_count"], r["unexpected_count"]) for r in rules),
        "profile": json.loads((out / "profile.json").read_text())["row_count"],
    }


def test_two_workers_give_the_counts_of_one_and_are_two_processes(tmp_path: Path) -> None:
    source = _extract(tmp_path, 30)  # 600 rows: six chunks of 100 to fan out
    counts, workers = {}, {}
    for n in (1, 2):
        process, _, out = _start(tmp_path, f"w{n}", source, "--workers", str(n), "--chunk-rows", "100")
        workers[n] = _watch(process)
        code, _, stderr = _finish(process)
        assert code == 1, stderr  # the sample's planted defects fail error rules
        assert "Traceback" not in stderr
        counts[n] = _counts(out)
        assert _gone(workers[n])  # the workers left with the run
    assert len(workers[1]) == 1 and len(workers[2]) == 2
    assert process.pid not in workers[2]
    assert counts[1] == counts[2]
    assert counts[1]["rows"] == 600 and counts[1]["cleansing"]["rows_out"] == 390


def test_killed_workers_end_the_run_with_an_error_not_a_hang(tmp_path: Path) -> None:
    source = _extract(tmp_path, 7500)  # 150,000 rows: cleansing takes seconds
    process, home, out = _start(tmp_path, "killed", source, "--workers", "2")
    workers = _watch(process, until=lambda: _stage_done(home, "ingest"))
    time.sleep(0.5)  # cleansing has started (a worker found dead before its next activity is replaced)
    assert process.poll() is None, "the run ended before it could be interrupted"
    workers |= _workers(process.pid)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    seen = workers | _watch(process)
    code, stdout, stderr = _finish(process)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert "activity_failed:" in stderr and "died (killed by SIGKILL)" in stderr
    document = json.loads((out / "result.json").read_text())
    assert document["status"] == "error" and document["error"]["code"] == "activity_failed"
    assert "worker process" in document["error"]["message"]
    assert f"ERROR: run {document['run_id']}" in stdout
    assert _gone(seen)


def test_ctrl_c_stops_the_run_and_its_workers(tmp_path: Path) -> None:
    source = _extract(tmp_path, 3000)
    process, home, _ = _start(tmp_path, "interrupted", source, "--workers", "2")
    workers = _watch(process, until=lambda: _stage_done(home, "ingest"))
    assert process.poll() is None, "the run ended before it could be interrupted"
    workers |= _workers(process.pid)
    assert len(workers) == 2
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole process group
    code, _, stderr = _finish(process)
    assert code == 130, stderr
    assert time.monotonic() - started < 30
    assert stderr.strip().endswith("interrupted") and "Traceback" not in stderr, stderr
    assert _gone(workers)
