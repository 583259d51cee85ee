"""Benchmark: our validation and profiling engines against hand-written polars floors.

    .venv/bin/python bench/run.py                       # 200k and 2M rows, Parquet
    .venv/bin/python bench/run.py --sizes 200000,2000000,10000000 --repeats 5
    .venv/bin/python bench/run.py --only orchestration  # dq run against the engines (bench/orchestration.py)
    .venv/bin/python bench/run.py --only api            # dq serve under HTTP load, tokens, reports (bench/api.py)
    .venv/bin/python bench/run.py --only scale          # dq run at 200k/2M/10M rows, 1 and 2 workers (bench/scale.py)

For each size it times, on the same Parquet file, each task in a fresh process
(median of --repeats runs; peak RSS of that process, and its growth over the
interpreter's baseline): our validation of the suite below; the same failure
counts from one hand-written fused polars query (the floor); our profiler; a
hand-written polars profile of the same metrics. It checks that our counts equal
the floor's, and prints rows/s and the ratios ours / floor.

Suite: customer_id not null and unique; email pattern; country_code in set; age
between 0 and 120; balance not null (mostly 0.98); status in set; signup_date not in
the future; phone pattern; row count within bounds; compound unique (first_name,
last_name, birth_date).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl

from bench import api, cleansing, orchestration, scale
from bench.generate import COUNTRIES, STATUSES, customers

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CHUNK_ROWS = 250_000  # the infra profile's default chunk size
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
PHONE = r"^\+[1-9][0-9]{7,14}$"
RULES = {
    "id_not_null": ("not_null", ["customer_id"], {}, {}),
    "id_unique": ("unique", ["customer_id"], {}, {}),
    "email_pattern": ("regex", ["email"], {"pattern": EMAIL}, {}),
    "country_in_set": ("in_set", ["country_code"], {"values": COUNTRIES}, {}),
    "age_range": ("range", ["age"], {"min": 0, "max": 120}, {}),
    "balance_not_null": ("not_null", ["balance"], {}, {"mostly": 0.98}),
    "status_in_set": ("in_set", ["status"], {"values": STATUSES}, {}),
    "signup_not_future": ("not_future", ["signup_date"], {}, {}),
    "phone_pattern": ("regex", ["phone"], {"pattern": PHONE}, {}),
    "row_count": ("row_count", [], {"threshold": {"must_be_between": [1, 100_000_000]}}, {}),
    "name_birth_unique": ("compound_unique", ["first_name", "last_name", "birth_date"], {}, {}),
}


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux: clear_refs 5), so the peak is the task's own."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bundle() -> Any:
    from dq_core.bundle.resolve import resolve_bundle
    from dq_core.config.index import InMemoryConfigIndex
    from dq_core.contracts.models import DataContract

    columns = [
        {"name": n} for n in ("customer_id", "first_name", "last_name", "email", "phone", "country_code", "status")
    ]
    columns += [
        {"name": "age", "logical_type": "integer"},
        {"name": "balance", "logical_type": "number"},
        {"name": "birth_date", "logical_type": "date"},
        {"name": "signup_date", "logical_type": "date"},
    ]
    bindings = [
        {"id": rule_id, "check": {"type": kind, **({"params": params} if params else {}), **extra}, "columns": cols}
        for rule_id, (kind, cols, params, extra) in RULES.items()
    ]
    contract = DataContract.model_validate(
        {
            "tenant": "bench",
            "environment": "dev",
            "id": "customers",
            "version": "1.0.0",
            "datasets": [{"name": "customers", "columns": columns, "bindings": bindings}],
        }
    )
    index = InMemoryConfigIndex()
    index.add(contract, "bench")
    return resolve_bundle(index, contract)


# --- the four tasks ---------------------------------------------------------------------


def ours_validate(path: Path) -> dict[str, int]:
    from dq_core.validation.context import ValidationContext
    from dq_core.validation.engine import validate

    result = validate(pl.scan_parquet(path), TASK_STATE["bundle"], ValidationContext(now=NOW))
    return {
        r.rule_id: int(r.unexpected_count if r.unexpected_count is not None else r.observed_value) for r in result.rules
    }


def floor_validate(path: Path) -> dict[str, int]:
    today = NOW.date()
    c = pl.col
    key = pl.struct("first_name", "last_name", "birth_date")
    complete = c("first_name").is_not_null() & c("last_name").is_not_null() & c("birth_date").is_not_null()
    row = (
        pl.scan_parquet(path)
        .select(
            id_not_null=c("customer_id").is_null().sum(),
            id_unique=c("customer_id").drop_nulls().is_duplicated().sum(),
            email_pattern=(~c("email").str.contains(EMAIL)).sum(),
            country_in_set=(~c("country_code").is_in(COUNTRIES)).sum(),
            age_range=((c("age") < 0) | (c("age") > 120)).sum(),
            balance_not_null=c("balance").is_null().sum(),
            status_in_set=(~c("status").is_in(STATUSES)).sum(),
            signup_not_future=(c("signup_date") > today).sum(),
            phone_pattern=(~c("phone").str.contains(PHONE)).sum(),
            row_count=pl.len(),
            name_birth_unique=key.filter(complete).is_duplicated().sum(),
        )
        .collect()
        .row(0, named=True)
    )
    return {k: int(v) for k, v in row.items()}


def ours_profile(path: Path) -> dict[str, int]:
    from dq_core.profiling.finish import finish_profile
    from dq_core.profiling.state import profile_in_chunks

    result = finish_profile(profile_in_chunks(pl.scan_parquet(path), CHUNK_ROWS))
    return {c.name: c.null_count for c in result.columns}


def floor_profile(path: Path) -> dict[str, int]:
    data = pl.read_parquet(path)
    exprs: list[pl.Expr] = []
    for name, dtype in data.schema.items():
        col = pl.col(name)
        exprs += [
            col.null_count().alias(f"{name}:nulls"),
            col.n_unique().alias(f"{name}:distinct"),
            col.value_counts(sort=True).head(10).implode().alias(f"{name}:top"),
        ]
        if dtype.is_numeric() or dtype == pl.Date:
            number = col.cast(pl.Datetime("us")).dt.epoch("us") if dtype == pl.Date else col
            exprs += [
                number.min().alias(f"{name}:min"),
                number.max().alias(f"{name}:max"),
                number.mean().alias(f"{name}:mean"),
                number.std().alias(f"{name}:std"),
            ]
            exprs += [
                number.quantile(q, "nearest").alias(f"{name}:q{q}") for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
            ]
            exprs.append(number.hist(bin_count=20).implode().alias(f"{name}:hist"))
        elif dtype == pl.String:
            length = col.str.len_chars()
            exprs += [
                col.min().alias(f"{name}:min"),
                col.max().alias(f"{name}:max"),
                length.min().alias(f"{name}:lmin"),
                length.max().alias(f"{name}:lmax"),
                length.mean().alias(f"{name}:lmean"),
            ]
    row = data.select(exprs).row(0, named=True)
    return {k.split(":")[0]: int(v) for k, v in row.items() if k.endswith(":nulls")}


def ours_cleanse(path: Path) -> dict[str, int]:
    return cleansing.ours(TASK_STATE["frame"], TASK_STATE["bundle"])


def floor_cleanse(path: Path) -> dict[str, int]:
    return cleansing.floor(TASK_STATE["frame"])


TASKS = {
    "ours_validate": ours_validate,
    "floor_validate": floor_validate,
    "ours_profile": ours_profile,
    "floor_profile": floor_profile,
    "ours_cleanse": ours_cleanse,
    "floor_cleanse": floor_cleanse,
}
ENGINE_TASKS = ("ours_validate", "floor_validate", "ours_profile", "floor_profile")
CLEANSE_TASKS = ("ours_cleanse", "floor_cleanse")
TASK_STATE: dict[str, Any] = {}


def run_task(task: str, path: Path, repeats: int) -> dict[str, Any]:
    if task == "ours_validate":
        TASK_STATE["bundle"] = bundle()
    if task in CLEANSE_TASKS:
        TASK_STATE["bundle"] = cleansing.bundle()
        TASK_STATE["frame"] = cleansing.text_frame(path)
    TASKS[task](path)  # warm-up: imports, first-touch allocations
    baseline = _current_mb()
    _reset_peak()
    times, counts = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        counts = TASKS[task](path)
        times.append(time.perf_counter() - start)
    peak = _peak_mb()
    return {
        "seconds": statistics.median(times),
        "all": times,
        "peak_rss_mb": peak,
        "growth_mb": peak - baseline,
        "counts": counts,
    }


def child(task: str, path: Path, repeats: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--task", task, "--path", str(path), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _data(directory: Path, rows: int, suffix: str) -> Path:
    path = directory / f"customers_{rows}.{suffix}"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        frame = customers(rows)
        frame.write_parquet(directory / f"customers_{rows}.parquet")
        frame.write_csv(directory / f"customers_{rows}.csv")
    return path


def engines(args: argparse.Namespace) -> list[dict[str, Any]]:
    report = []
    for rows in (int(s) for s in args.sizes.split(",")):
        path = _data(args.data, rows, "parquet")
        in_memory_mb = pl.read_parquet(path).estimated_size() / 2**20
        results = {task: child(task, path, args.repeats or 5) for task in ENGINE_TASKS}
        agree = results["ours_validate"]["counts"] == results["floor_validate"]["counts"]
        line = {
            "rows": rows,
            "data_mb": round(in_memory_mb, 1),
            **{f"{task}_s": round(r["seconds"], 3) for task, r in results.items()},
            **{f"{task}_rows_per_s": round(rows / r["seconds"]) for task, r in results.items()},
            **{f"{task}_growth_mb": round(r["growth_mb"], 1) for task, r in results.items()},
            **{f"{task}_peak_mb": round(r["peak_rss_mb"], 1) for task, r in results.items()},
            "validate_ratio": round(results["ours_validate"]["seconds"] / results["floor_validate"]["seconds"], 2),
            "profile_ratio": round(results["ours_profile"]["seconds"] / results["floor_profile"]["seconds"], 2),
            "counts_agree": agree,
            "profile_nulls_agree": results["ours_profile"]["counts"] == results["floor_profile"]["counts"],
        }
        report.append(line)
        print(
            f"{rows:>10,} rows ({line['data_mb']} MB in memory): "
            f"validate {line['ours_validate_s']}s vs floor {line['floor_validate_s']}s (x{line['validate_ratio']}, "
            f"{line['ours_validate_rows_per_s']:,} rows/s, +{line['ours_validate_growth_mb']} MB); "
            f"profile {line['ours_profile_s']}s vs floor {line['floor_profile_s']}s (x{line['profile_ratio']}, "
            f"+{line['ours_profile_growth_mb']} MB); counts agree: {agree}",
            flush=True,
        )
        if not agree:
            print(
                json.dumps({"ours": results["ours_validate"]["counts"], "floor": results["floor_validate"]["counts"]})
            )
    return report


def cleansing_runs(args: argparse.Namespace) -> list[dict[str, Any]]:
    report = []
    for rows in (int(s) for s in args.cleanse_sizes.split(",")):
        path = _data(args.data, rows, "csv")
        results = {task: child(task, path, args.cleanse_repeats) for task in CLEANSE_TASKS}
        ours_s, floor_s = results["ours_cleanse"]["seconds"], results["floor_cleanse"]["seconds"]
        agree = results["ours_cleanse"]["counts"] == results["floor_cleanse"]["counts"]
        line = {
            "rows": rows,
            "ours_cleanse_s": round(ours_s, 3),
            "floor_cleanse_s": round(floor_s, 3),
            "cleanse_ratio": round(ours_s / floor_s, 2),
            "ours_cleanse_growth_mb": round(results["ours_cleanse"]["growth_mb"], 1),
            "counts": results["ours_cleanse"]["counts"],
            "counts_agree": agree,
        }
        report.append(line)
        print(
            f"{rows:>10,} rows cleansing (demo policy): ours {line['ours_cleanse_s']}s vs hand-written polars "
            f"{line['floor_cleanse_s']}s (x{line['cleanse_ratio']}, +{line['ours_cleanse_growth_mb']} MB); "
            f"outcome {line['counts']}; counts agree: {agree}",
            flush=True,
        )
        if not agree:
            print(json.dumps({"ours": results["ours_cleanse"]["counts"], "floor": results["floor_cleanse"]["counts"]}))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="DQ engine benchmark")
    parser.add_argument("--sizes", default="200000,2000000", help="rows for validation and profiling")
    parser.add_argument("--repeats", type=int, help="runs per task (default: 5; orchestration: 3)")
    parser.add_argument("--cleanse-sizes", default="2000000", help="rows for cleansing")
    parser.add_argument("--cleanse-repeats", type=int, default=3)
    parser.add_argument("--orch-sizes", default="200000,2000000", help="rows for dq run against the engines")
    parser.add_argument("--trace", action="store_true", help="orchestration: also trace one dq run in-process")
    parser.add_argument(
        "--api-seconds", type=float, default=5.0, help="api: seconds of load per endpoint and concurrency"
    )
    parser.add_argument("--api-concurrency", default="1,8", help="api: concurrent clients")
    scale.add_options(parser)
    parser.add_argument(
        "--only",
        choices=("engines", "cleansing", "orchestration", "api", "scale"),
        help="run one part (scale runs only when asked: 10M rows)",
    )
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(run_task(args.task, args.path, args.repeats)))
        return
    halves = {args.only} if args.only else {"engines", "cleansing", "orchestration", "api"}
    target = ROOT / "bench" / "results.json"
    results: dict[str, Any] = (
        json.loads(target.read_text()) if target.exists() else {}
    )  # a half run keeps the other halves
    if "engines" in halves:
        results["engines"] = engines(args)
    if "cleansing" in halves:
        results["cleansing"] = cleansing_runs(args)
    if "orchestration" in halves:
        sizes = [int(s) for s in args.orch_sizes.split(",")]
        results["orchestration"] = orchestration.orchestration_runs(sizes, args.repeats or 3, args.data, args.trace)
    if "api" in halves:
        concurrencies = [int(c) for c in args.api_concurrency.split(",")]
        results["api"] = api.api_runs(args.api_seconds, concurrencies, args.data)
    if "scale" in halves:
        results[args.scale_key] = scale.scale_runs(args)
    target.write_text(json.dumps(results, indent=2) + "\n")
    if "orchestration" in halves and not all(line["results_equal"] for line in results["orchestration"]):
        raise SystemExit("dq run and the engines called directly disagree (see above and bench/results.json)")
    if "scale" in halves and not results[args.scale_key]["counts_equal"]:
        raise SystemExit("dq run's counts differ between worker counts or from the engines (see above)")


if __name__ == "__main__":
    main()
