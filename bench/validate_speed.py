"""Whole-process ``dq validate`` against a hand-written polars floor process, on CSV and Parquet.

    .venv/bin/python bench/validate_speed.py                          # 200k and 2M rows, 3 repeats
    .venv/bin/python bench/validate_speed.py --sizes 200000 --repeats 1

For each size it writes the bench customers (bench/generate.py) as CSV and Parquet (kept
under --data, reused when present) and the bench suite (bench/run.py: RULES on the customers
columns, typed by the contract) as an authoring library, then times, each in a fresh process
under ``/usr/bin/time -v`` (interpreter start and imports included):

* ours: ``python -m cli validate FILE --contract customers --libraries LIB`` — the guarded,
  streaming, contract-typed reader and the validation engine (as a user runs it: no --out; one
  more run with --out gives the result.json whose counts are compared);
* the floor: a process that imports polars, reads the same file with the contract's types
  (CSV: ``scan_csv`` with the schema; Parquet: ``scan_parquet``) and computes the same
  failure counts in one fused query (bench/run.py ``floor_validate``).

It checks that every count of ours equals the floor's, and prints a markdown table: median
wall seconds, peak RSS, ours / floor. Targets (issue 17): CSV ≤ 1.5×, Parquet ≤ 1.3×.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import COUNTRIES, STATUSES
from bench.run import EMAIL, NOW, PHONE, RULES

PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGETS = {"csv": 1.5, "parquet": 1.3}
TYPES = {"age": "integer", "balance": "number", "birth_date": "date", "signup_date": "date"}
NAMES = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country_code",
    "status",
    "age",
    "balance",
    "birth_date",
    "signup_date",
)

FLOOR = """
import json, sys
from datetime import date
import polars as pl
EMAIL, PHONE, COUNTRIES, STATUSES, TODAY = {constants}
path = sys.argv[1]
if path.endswith(".csv"):
    types = {{"age": pl.Int64, "balance": pl.Float64, "birth_date": pl.Date, "signup_date": pl.Date}}
    frame = pl.scan_csv(path, schema_overrides=types)
else:
    frame = pl.scan_parquet(path)
c = pl.col
key = pl.struct("first_name", "last_name", "birth_date")
complete = c("first_name").is_not_null() & c("last_name").is_not_null() & c("birth_date").is_not_null()
row = frame.select(
    id_not_null=c("customer_id").is_null().sum(),
    id_unique=c("customer_id").drop_nulls().is_duplicated().sum(),
    email_pattern=(~c("email").str.contains(EMAIL)).sum(),
    country_in_set=(~c("country_code").is_in(COUNTRIES)).sum(),
    age_range=((c("age") < 0) | (c("age") > 120)).sum(),
    balance_not_null=c("balance").is_null().sum(),
    status_in_set=(~c("status").is_in(STATUSES)).sum(),
    signup_not_future=(c("signup_date") > date.fromisoformat(TODAY)).sum(),
    phone_pattern=(~c("phone").str.contains(PHONE)).sum(),
    row_count=pl.len(),
    name_birth_unique=key.filter(complete).is_duplicated().sum(),
).collect().row(0, named=True)
print(json.dumps({{k: int(v) for k, v in row.items()}}))
"""


def contract_yaml() -> str:
    """The bench suite as an authoring file (the same contract as bench/run.py's bundle())."""
    columns = [{"name": name, **({"logical_type": TYPES[name]} if name in TYPES else {})} for name in NAMES]
    bindings = [
        {"id": rule_id, "check": {"type": kind, **({"params": params} if params else {}), **extra}, "columns": cols}
        for rule_id, (kind, cols, params, extra) in RULES.items()
    ]
    document = {
        "kind": "contract",
        "tenant": "bench",
        "environment": "dev",
        "id": "customers",
        "version": "1.0.0",
        "status": "published",
        "datasets": [{"name": "customers", "columns": columns, "bindings": bindings}],
    }
    return json.dumps(document, indent=2) + "\n"  # JSON is YAML


def data_files(rows: int, folder: Path) -> dict[str, Path]:
    from bench.generate import customers

    folder.mkdir(parents=True, exist_ok=True)
    files = {"csv": folder / f"customers_{rows}.csv", "parquet": folder / f"customers_{rows}.parquet"}
    if not all(path.exists() for path in files.values()):
        frame = customers(rows)
        frame.write_csv(files["csv"])
        frame.write_parquet(files["parquet"])
    return files


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (kB) and stdout of one whole process."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False, cwd=ROOT)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if wall is None or rss is None or done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    hours, minutes, seconds = wall.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(rss.group(1)), done.stdout


def ours(path: Path, libraries: Path, out: Path | None) -> tuple[float, int, dict[str, int]]:
    """One ``dq validate``; with ``out``, its result.json's counts (the timed runs write nothing, as
    ``dq validate FILE --contract ID`` does: the report and exports are not the floor's work)."""
    command = [PYTHON, "-m", "cli", "validate", str(path), "--contract", "customers", "--libraries", str(libraries)]
    command += ["--tenant", "bench", "--env", "dev", "--now", NOW.isoformat()]
    wall, rss, _ = timed(command + (["--out", str(out)] if out else []))
    if out is None:
        return wall, rss, {}
    rules = json.loads((out / "result.json").read_text())["validation"]["rules"]
    counts = {}
    for rule in rules:
        count = rule["unexpected_count"]
        counts[rule["rule_id"]] = int(count if count is not None else rule["observed_value"])
    return wall, rss, counts


def floor(path: Path, script: Path) -> tuple[float, int, dict[str, int]]:
    wall, rss, stdout = timed([PYTHON, str(script), str(path)])
    return wall, rss, json.loads(stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,2000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "validate")
    args = parser.parse_args()
    rows_out = ["| rows | format | dq validate s | floor s | ours / floor | target | peak RSS MB (ours / floor) |"]
    rows_out.append("|---:|---|---:|---:|---:|---|---:|")
    ok = True
    with tempfile.TemporaryDirectory(prefix="dq-validate-speed-") as folder:
        work = Path(folder)
        libraries = work / "libraries"
        (libraries / "bench" / "dev" / "contracts").mkdir(parents=True)
        (libraries / "bench" / "dev" / "contracts" / "customers.yaml").write_text(contract_yaml())
        script = work / "floor.py"
        constants = repr((EMAIL, PHONE, COUNTRIES, STATUSES, NOW.date().isoformat()))
        script.write_text(FLOOR.format(constants=constants))
        for rows in (int(size) for size in args.sizes.split(",")):
            for fmt, path in data_files(rows, args.data).items():
                _, _, counts = ours(path, libraries, work / f"out-{rows}-{fmt}")
                _, _, f_counts = floor(path, script)
                if counts != f_counts:
                    print(f"COUNTS DIFFER at {rows} {fmt}: ours {counts} floor {f_counts}", file=sys.stderr)
                    ok = False
                mine, theirs = [], []
                for _ in range(args.repeats):  # alternated, so both see the same machine
                    wall, rss, _ = ours(path, libraries, None)
                    mine.append((wall, rss))
                    f_wall, f_rss, _ = floor(path, script)
                    theirs.append((f_wall, f_rss))
                ours_s = statistics.median(w for w, _ in mine)
                floor_s = statistics.median(w for w, _ in theirs)
                ratio = ours_s / floor_s
                met = ratio <= TARGETS[fmt]
                ok = ok and met
                rows_out.append(
                    f"| {rows:,} | {fmt} | {ours_s:.2f} | {floor_s:.2f} | {ratio:.2f}x | ≤ {TARGETS[fmt]}x "
                    f"{'met' if met else 'MISSED'} | {max(r for _, r in mine) / 1024:.0f} / "
                    f"{max(r for _, r in theirs) / 1024:.0f} |"
                )
                print(rows_out[-1], file=sys.stderr)
    print("\n".join(rows_out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
