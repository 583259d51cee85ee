"""No raw value of a masked column in any output of a run (issue 14, attack 2).

The attack: the demo's customers extract has an invalid e-mail (``carla.diaz@example``)
and an impossible birth date (``1992-02-30``); both columns are pii with masking, yet the
reject reason carried the raw value into rejects.parquet, which the evidence pack a
Reader may download contains. This test runs the job, exports the evidence pack, and
scans every output (rejects, cleansed rows, report, result, GX export, CSV, cleansing
and profile reports, evidence pack, the command's own output and logs) for every raw
value of every column the governance profile masks.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import polars as pl

from tests.conftest import ROOT
from tests.e2e.test_cli import dq

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
GOVERNANCE = ROOT / "libraries" / "contoso" / "dev" / "governance" / "pii.json"


def _masked_columns() -> list[str]:
    profile = json.loads(GOVERNANCE.read_text())
    return [
        item["attribute"].split(".", 1)[1]
        for item in profile["classifications"]
        if item.get("masking", "none") != "none"
    ]


def _raw_values(columns: list[str]) -> set[str]:
    """Every value of those columns as the source sent it, and as cleansing normalises it."""
    values: set[str] = set()
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column in columns:
                raw = (row[column] or "").strip()
                if len(raw) >= 6:  # short fragments ("+1") would match anything
                    values.update({raw, raw.lower(), " ".join(raw.split())})
    return values


def _text_of(name: str, data: bytes) -> str:
    if name.endswith(".parquet"):
        frame = pl.read_parquet(io.BytesIO(data))
        frame = frame.with_columns(pl.col(pl.List(pl.String)).list.join(","))  # failed_rows' rule ids
        return frame.write_csv() + " ".join(frame.columns)
    return data.decode("utf-8", errors="replace")


def test_no_output_of_a_run_holds_a_raw_value_of_a_masked_column(tmp_path: Path) -> None:
    columns = _masked_columns()
    assert {"email", "birth_date", "full_name", "phone"} <= set(columns)
    secrets = _raw_values(columns)
    assert "carla.diaz@example" in secrets and "1992-02-30" in secrets

    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    out, home = tmp_path / "out", tmp_path / "home"
    run = dq(
        "run", str(SAMPLE), "--job", "customers_daily", "--out", str(out), "--home", str(home), "--salt-file", str(salt)
    )
    assert run.returncode == 1, run.stderr
    run_id = json.loads((out / "result.json").read_text())["run_id"]
    pack = tmp_path / "evidence.zip"
    exported = dq("lineage", "export", run_id, "--tenant", "contoso", "--home", str(home), "--out", str(pack))
    assert exported.returncode == 0, exported.stderr

    outputs: dict[str, str] = {"stdout+stderr": run.stdout + run.stderr + exported.stdout + exported.stderr}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            outputs[str(path.relative_to(out))] = _text_of(path.name, path.read_bytes())
    with zipfile.ZipFile(pack) as archive:
        for name in archive.namelist():
            outputs[f"evidence:{name}"] = _text_of(name, archive.read(name))
    assert {"rejects.parquet", "failed_rows.parquet", "report.html", "result.json", "validation.gx.json",
            "result.csv"} <= set(outputs)  # fmt: skip
    assert "evidence:outputs/rejects.parquet" in outputs

    leaks = sorted((name, value) for name, text in outputs.items() for value in secrets if value in text)
    assert leaks == []

    rejects = pl.read_parquet(out / "rejects.parquet")
    reasons = rejects["_dq_reject_reason"].to_list()
    assert "column email: *** is not a valid e-mail address" in reasons
    assert any(reason.startswith("column birth_date: *** is not a date") for reason in reasons)
    assert any("column country: Portugal" in reason for reason in reasons)  # unclassified: shown
