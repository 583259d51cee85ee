"""The API half of the benchmark: ``dq serve`` under HTTP load, token validation, report rendering.

    .venv/bin/python bench/run.py --only api                       # ~5 s per endpoint and concurrency
    .venv/bin/python bench/run.py --only api --api-seconds 10 --api-concurrency 1,4,16

Setup, all through the product (nothing is stubbed):

- a fresh ``--home`` with a local signing key (``dq token keygen``) and one ``DQ.Admin`` token
  for tenant contoso (``dq token mint``);
- ``dq serve --libraries libraries`` in a subprocess on a free port (``DQ_ENVIRONMENT=local
  DQ_AUTH_MODE=local-key``; in ``local`` the demo files are stored under ``local`` and
  published; ``--log-level warning``: no per-request access log line), then, over HTTP with
  the token, the demo sample ``customers.csv`` uploaded a few times (``PUT /uploads/customers``),
  each run followed to ``Completed`` through the real orchestrator.

Measured:

- HTTP load from a separate process (``--load``: a thread pool, one ``httpx.Client`` with
  keep-alive per thread, each thread sending its next request when the last one answered) on
  ``GET /api/health``, ``/config/contracts``, ``/runs``, ``/runs/{id}/result`` and a request with
  a tampered token (the 401 path): requests per second and p50/p95/p99 latency at each
  concurrency. Client and server share the machine's cores, so these are floors for one
  ``dq serve`` process, not a deployment's capacity.
  (The first run of this part found every keep-alive answer waiting ~40 ms for the client's
  delayed ACK: ``local_host.serve.listen`` made its socket with protocol 0, so asyncio left Nagle
  on. It now names IPPROTO_TCP; tests/unit/test_serve_socket.py keeps it so.)
- ``TokenValidator.authenticate`` in-process (the authenticator ``dq serve`` builds for
  ``local-key``), with ``timeit``: a valid token, and a tampered one (``Unauthenticated``).
- ``render_report`` in-process on the run folders of ``dq run`` (result, profile, bundle's
  governance and the lineage steps, as ``dq report`` reads them): the demo sample, and the
  orchestration half's 200,000-row CRM extract; the HTML's size in bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TENANT = "contoso"
SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
SALT = "bench-api-salt-0123456789abcdefghij"
UPLOADS = 3  # finished runs recorded before the load
STARTUP_SECONDS = 60.0
# the kinds in the order their objects reference each other (published references first)
KINDS = (
    "schema-libraries",
    "rule-libraries",
    "catalogs",
    "governance-profiles",
    "infra-profiles",
    "cleansing-policies",
    "action-libraries",
    "contracts",
    "jobs",
)


def _dq(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def _env(**settings: str) -> dict[str, str]:
    """This process's environment without any DQ_ setting, plus ``settings``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DQ_")}  # noqa: TID251 - a bench, not dq_core
    return {**inherited, "PYTHONUNBUFFERED": "1", **settings}


LOCAL = {"DQ_ENVIRONMENT": "local", "DQ_AUTH_MODE": "local-key"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def admin_token(home: Path) -> str:
    for args in (
        ("token", "keygen", "--home", str(home)),
        ("token", "mint", "--tenant", TENANT, "--role", "DQ.Admin", "--subject", "bench-admin", "--home", str(home)),
    ):
        done = _dq(*args, env=_env(DQ_ENVIRONMENT="local"))
        if done.returncode != 0:
            raise SystemExit(f"dq {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def served(home: Path) -> Iterator[str]:
    """``dq serve`` in a subprocess on a free port, healthy; stopped with SIGINT, which must end it cleanly."""
    port = _free_port()
    command = [sys.executable, "-m", "cli", "serve", "--home", str(home), "--port", str(port)]
    command += ["--libraries", str(ROOT / "libraries"), "--log-level", "warning"]
    env = _env(**LOCAL, DQ_SECRET_CONTOSO__DQ_MASK_SALT=SALT)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if process.poll() is not None:
                    err.seek(0)
                    raise SystemExit(f"dq serve exited {process.returncode}: {err.read().strip()[-2000:]}")
                try:
                    if httpx.get(f"{url}/api/health", timeout=2.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"dq serve did not answer /api/health within {STARTUP_SECONDS} s")
                time.sleep(0.2)
            yield url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            err.seek(0)
            stderr = err.read()
    if process.returncode != 0 or "Traceback" in stderr:
        raise SystemExit(f"dq serve did not stop cleanly (exit {process.returncode}): {stderr.strip()[-2000:]}")


def upload_runs(client: httpx.Client, count: int) -> list[str]:
    """Upload the demo sample ``count`` times and follow each run to Completed; the run ids."""
    run_ids: list[str] = []
    for index in range(count):
        answer = client.put(
            f"/api/tenants/{TENANT}/uploads/customers",
            params={"filename": f"customers-{index}.csv"},
            content=SAMPLE.read_bytes() + b"\n" * index,  # new content, new instance id (ETag)
            headers={"Content-Type": "text/csv"},
        )
        if answer.status_code != 202:
            raise SystemExit(f"upload: {answer.status_code} {answer.text}")
        status_url = answer.json()["status_url"]
        deadline = time.monotonic() + 120
        while True:
            status = client.get(status_url).json()
            if status.get("runtime_status") in ("Completed", "Failed", "Terminated"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"upload run not finished after 120 s: {status}")
            time.sleep(0.2)
        if status["runtime_status"] != "Completed":
            raise SystemExit(f"upload run ended {status['runtime_status']}: {status}")
        run_ids += status["run_ids"]
    return run_ids


# --- the load generator (a separate process) ------------------------------------------------------


def load(url: str, token: str, concurrency: int, seconds: float, expect: int) -> dict[str, Any]:
    """``concurrency`` threads, each with its own keep-alive client, each sending GET ``url`` as soon
    as its last answer arrived, for ``seconds`` (after a short warm-up); latencies of every answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    unexpected: list[int] = [0] * concurrency
    start_line = threading.Barrier(concurrency + 1)
    stop_at: list[float] = [0.0]

    def worker(slot: int) -> None:
        with httpx.Client(headers=headers, timeout=30.0) as client:
            for _ in range(5):  # warm-up: connection, first-call paths
                client.get(url)
            start_line.wait()
            mine = latencies[slot]
            while True:
                began = time.perf_counter()
                if began >= stop_at[0]:
                    return
                answer = client.get(url)
                answer.read()
                mine.append(time.perf_counter() - began)
                if answer.status_code != expect:
                    unexpected[slot] += 1

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600  # set for real once everyone is warm
    start_line.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for slot in latencies for x in slot)
    return {
        "concurrency": concurrency,
        "requests": len(every),
        "seconds": round(elapsed, 3),
        "rps": round(len(every) / elapsed, 1),
        "p50_ms": round(_quantile(every, 0.50) * 1000, 2),
        "p95_ms": round(_quantile(every, 0.95) * 1000, 2),
        "p99_ms": round(_quantile(every, 0.99) * 1000, 2),
        "unexpected_status": sum(unexpected),
    }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_child(url: str, token: str, concurrency: int, seconds: float, expect: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--load", url, "--concurrency", str(concurrency)]
    command += ["--seconds", str(seconds), "--expect", str(expect)]
    env = {**os.environ, "BENCH_TOKEN": token}  # noqa: TID251 - a bench, not dq_core; the token stays out of argv
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load generator exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- in-process: token validation and report rendering ---------------------------------------------


def token_costs(home: Path, token: str) -> dict[str, Any]:
    """Per-call cost of the authenticator ``dq serve`` builds for local-key: a valid token and a tampered
    one (the signature's last bytes changed: refused as ``Unauthenticated``, the 401 path)."""
    from app.auth import build_authenticator
    from app.settings import AppSettings
    from dq_core.security.principal import Unauthenticated

    authenticator = build_authenticator(AppSettings(environment="local", auth_mode="local-key"), home)
    valid, tampered = f"Bearer {token}", f"Bearer {token[:-4]}AAAA"
    principal = authenticator.authenticate(valid)
    if TENANT not in principal.tenants:
        raise SystemExit(f"the minted token does not carry tenant {TENANT}: {principal}")

    def refused() -> None:
        try:
            authenticator.authenticate(tampered)
        except Unauthenticated:
            return
        raise SystemExit("a tampered token was accepted")

    out: dict[str, Any] = {}
    for name, call in (("valid", lambda: authenticator.authenticate(valid)), ("rejected", refused)):
        timer = timeit.Timer(call)
        number, _ = timer.autorange()
        per_call = min(timer.repeat(repeat=5, number=number)) / number
        out[f"{name}_us"] = round(per_call * 1e6, 1)
        out[f"{name}_per_s"] = round(1 / per_call)
    return out


def dq_run(source: Path, work: Path) -> Path:
    """``dq run`` of the demo contract on ``source`` into ``work``; the run folder (--out)."""
    salt = work / "salt"
    work.mkdir(parents=True, exist_ok=True)
    salt.write_text(SALT + "\n")
    out = work / "out"
    done = _dq(
        *("run", str(source), "--contract", "customers", "--tenant", TENANT, "--env", "dev"),
        *("--salt-file", str(salt), "--home", str(work / "home"), "--out", str(out)),
        env=_env(),
    )
    if done.returncode not in (0, 1) or not (out / "result.json").is_file():  # 1: the run failed its rules
        raise SystemExit(f"dq run {source.name} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return out


def render_cost(folder: Path, home: Path, repeats: int) -> dict[str, Any]:
    """``render_report`` on a run folder as ``dq report`` reads it; best of ``repeats`` and the size."""
    from adapters.local.sqlite_lineage import SqliteLineageStore
    from dq_core.bundle.models import ResolvedBundle
    from dq_core.profiling.models import ProfileResult
    from dq_core.reporting import governance_of, render_report
    from dq_core.results.run import RunResult

    result = RunResult.model_validate_json((folder / "result.json").read_bytes())
    profile = ProfileResult.model_validate_json((folder / "profile.json").read_bytes())
    governance = governance_of(ResolvedBundle.model_validate_json((folder / "bundle.json").read_bytes()))
    steps = SqliteLineageStore(str(home / "lineage.db")).steps(result.tenant, result.run_id)
    began = time.perf_counter()
    html = render_report(result, profile=profile, steps=steps, governance=governance)  # first: templates load
    first = time.perf_counter() - began
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        html = render_report(result, profile=profile, steps=steps, governance=governance)
        times.append(time.perf_counter() - began)
    return {
        "rows_in": result.cleansing.rows_in if result.cleansing else None,
        "rules": len(result.validation.rules) if result.validation else 0,
        "profile_columns": len(profile.columns),
        "render_ms": round(min(times) * 1000, 2),
        "render_median_ms": round(statistics.median(times) * 1000, 2),
        "first_render_ms": round(first * 1000, 2),  # the demo's includes loading the templates
        "report_bytes": len(html.encode("utf-8")),
        "result_bytes": (folder / "result.json").stat().st_size,
    }


# --- the half of bench/run.py ----------------------------------------------------------------------


ENDPOINT_LABELS = {
    "health": "`GET /api/health`",
    "contracts": "`GET /config/contracts`",
    "runs": "`GET /runs`",
    "run_result": "`GET /runs/{id}/result`",
    "rejected_401": "tampered token → 401",
}


def http_load(url: str, token: str, run_id: str, seconds: float, concurrencies: list[int]) -> dict[str, Any]:
    endpoints = {
        "health": ("/api/health", token, 200),
        "contracts": (f"/api/tenants/{TENANT}/config/contracts", token, 200),
        "runs": (f"/api/tenants/{TENANT}/runs", token, 200),
        "run_result": (f"/api/tenants/{TENANT}/runs/{run_id}/result", token, 200),
        "rejected_401": (f"/api/tenants/{TENANT}/config/contracts", token[:-4] + "AAAA", 401),
    }
    http: dict[str, list[dict[str, Any]]] = {}
    for name, (path, bearer, expect) in endpoints.items():
        http[name] = []
        for concurrency in concurrencies:
            measured = load_child(url + path, bearer, concurrency, seconds, expect)
            http[name].append(measured)
            print(
                f"  {name:<13} c={concurrency}: {measured['rps']:>7} req/s, p50 {measured['p50_ms']} ms, "
                f"p95 {measured['p95_ms']} ms, p99 {measured['p99_ms']} ms"
                + (f", {measured['unexpected_status']} unexpected" if measured["unexpected_status"] else ""),
                flush=True,
            )
            if measured["unexpected_status"]:
                raise SystemExit(f"{name}: {measured['unexpected_status']} answers were not {expect}")
    return http


def api_runs(seconds: float, concurrencies: list[int], data: Path) -> dict[str, Any]:
    from bench import orchestration

    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="dq-bench-api-"))
    try:
        # report rendering first: dq run on the demo sample and on the 200k CRM extract
        big_source = orchestration.data(data, 200_000)
        reports = {}
        for name, source in (("demo", SAMPLE), ("crm_200k", big_source)):
            work = scratch / f"run-{name}"
            reports[name] = render_cost(dq_run(source, work), work / "home", 5 if name == "demo" else 3)
            print(
                f"render_report {name}: {reports[name]['render_ms']} ms, {reports[name]['report_bytes']:,} bytes",
                flush=True,
            )

        home = scratch / "home"
        token = admin_token(home)
        tokens = token_costs(home, token)
        print(
            f"token validation: valid {tokens['valid_us']} µs/call, rejected {tokens['rejected_us']} µs/call",
            flush=True,
        )

        with served(home) as url:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
                run_ids = upload_runs(client, UPLOADS)
                listed = client.get(f"/api/tenants/{TENANT}/runs").json()
                contracts = client.get(f"/api/tenants/{TENANT}/config/contracts").json()
                result_size = len(client.get(f"/api/tenants/{TENANT}/runs/{run_ids[0]}/result").content)
            if not contracts["items"]:
                raise SystemExit("dq serve --libraries libraries lists no contracts for contoso")
            print(f"dq serve at {url}: {len(run_ids)} upload runs finished", flush=True)
            http = http_load(url, token, run_ids[0], seconds, concurrencies)
        report = {
            "setup": {
                "cpus": os.cpu_count(),
                "seconds_per_point": seconds,
                "runs_recorded": len(listed["runs"]),
                "contracts_listed": len(contracts["items"]),
                "run_result_bytes": result_size,
            },
            "http": http,
            "token_validation": tokens,
            "render_report": reports,
            "wall_s": round(time.perf_counter() - started, 1),
        }
        print(markdown(report), flush=True)
        return report
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def markdown(report: dict[str, Any]) -> str:
    lines = ["| endpoint | concurrency | req/s | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    for name, points in report["http"].items():
        for point in points:
            lines.append(
                f"| {ENDPOINT_LABELS.get(name, name)} | {point['concurrency']} | {point['rps']:,} | {point['p50_ms']} "
                f"| {point['p95_ms']} | {point['p99_ms']} |"
            )
    tokens = report["token_validation"]
    lines += [
        "",
        "| in-process | per call | per second |",
        "|---|---:|---:|",
        f"| `TokenValidator.authenticate`, valid local-key token | {tokens['valid_us']} µs "
        f"| {tokens['valid_per_s']:,} |",
        f"| same, tampered token (`Unauthenticated`) | {tokens['rejected_us']} µs | {tokens['rejected_per_s']:,} |",
        "",
        "| `render_report` on | rows in | rules | columns | render ms (best) | median ms | report bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, figures in report["render_report"].items():
        lines.append(
            f"| {name} | {figures['rows_in']:,} | {figures['rules']} | {figures['profile_columns']} "
            f"| {figures['render_ms']} | {figures['render_median_ms']} | {figures['report_bytes']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="the API benchmark's load generator")
    parser.add_argument("--load", required=True, help="URL to GET")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--expect", type=int, default=200, help="the status every answer should have")
    args = parser.parse_args()
    token = os.environ.get("BENCH_TOKEN", "")  # noqa: TID251 - a bench, not dq_core
    print(json.dumps(load(args.load, token, args.concurrency, args.seconds, args.expect)))


if __name__ == "__main__":
    main()
