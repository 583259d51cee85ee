"""``dq run`` as a user runs it: the orchestrator on a laptop, outputs on disk, exit codes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl

from adapters.local.sqlite_lineage import SqliteLineageStore
from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"


def _salt(tmp_path: Path) -> Path:
    path = tmp_path / "salt"
    path.write_text("a-local-test-salt-0123456789")
    return path


def _run(tmp_path: Path, *extra: str, source: tuple[str, ...] = ("--job", "customers_daily")) -> tuple[Path, object]:
    out = tmp_path / "out"
    result = dq(
        "run",
        str(SAMPLE),
        *source,
        "--out",
        str(out),
        "--home",
        str(tmp_path / "home"),
        *extra,
    )
    return out, result


def test_run_goes_through_every_stage_and_writes_the_outputs(tmp_path: Path) -> None:
    before = SAMPLE.read_bytes()
    out, result = _run(tmp_path, "--salt-file", str(_salt(tmp_path)), "--chunk-rows", "100")
    assert result.returncode == 1, result.stderr  # the sample's planted defects fail error rules
    assert "Traceback" not in result.stderr
    assert SAMPLE.read_bytes() == before
    document = json.loads((out / "result.json").read_text())
    assert document["schema_id"] == "dq.run-result/v1" and document["status"] == "failed"
    assert document["job_definition"] == {"id": "customers_daily", "version": "1.0.0"}
    assert document["input"]["rows"] == 20 and len(document["input"]["sha256"]) == 64
    cleansing = document["cleansing"]
    assert cleansing["rows_in"] == cleansing["rows_out"] + cleansing["rows_rejected"] + cleansing["duplicates_removed"]
    parts = sorted((out / "cleansed").glob("part-*.parquet"))
    assert len(parts) == 1  # 13 cleansed rows in one chunk of 100 (the floor of --chunk-rows)
    cleansed = pl.concat([pl.read_parquet(part) for part in parts])
    assert cleansed.height == cleansing["rows_out"]
    assert all(email is None or email.startswith("sha256:") for email in cleansed["email"].to_list())
    rejects = pl.read_parquet(out / "rejects.parquet")
    assert rejects.height == cleansing["rows_rejected"]
    profile = json.loads((out / "profile.json").read_text())
    assert profile["row_count"] == cleansing["rows_out"]
    assert {a["action_id"] for a in document["actions"]} == {"data_team_webhook", "lineage"}
    for stage in ("resolve", "ingest", "cleanse", "profile", "validate", "anomaly_check", "finalise"):
        assert f"  {stage}" in result.stdout
    failing = [rule for rule in document["validation"]["rules"] if rule["status"] in ("failed", "error")]
    assert failing
    for rule in failing:  # the failing rules are printed as dq validate prints them
        assert f"  {rule['status']:<6} {rule['severity']:<7} {rule['rule_id']}: " in result.stdout
    steps = SqliteLineageStore(str(tmp_path / "home" / "lineage.db")).steps("contoso", document["run_id"])
    assert {step.step for step in steps} >= {"ingest", "cleanse", "profile", "validate", "finalise"}


def test_run_without_the_salt_ends_in_error_with_exit_2_and_one_named_line(tmp_path: Path) -> None:
    out, result = _run(tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "config_invalid: cleansing step mask: hashing email needs the tenant salt" in result.stderr
    document = json.loads((out / "result.json").read_text())  # a failed run still records why
    assert document["status"] == "error" and document["error"]["code"] == "config_invalid"


def test_run_with_an_odcs_contract_and_no_masking(tmp_path: Path) -> None:
    contract = tmp_path / "contract.odcs.yaml"
    contract.write_text(
        """apiVersion: v3.0.2
kind: DataContract
id: crm-customers
version: 1.0.0
status: active
schema:
  - name: customers
    properties:
      - {name: customer_id, logicalType: string, required: true, unique: true}
      - {name: email, logicalType: string}
      - {name: country, logicalType: string}
""",
        encoding="utf-8",
    )
    out, result = _run(tmp_path, source=("--odcs", str(contract)))
    assert result.returncode in (0, 1), result.stderr
    document = json.loads((out / "result.json").read_text())
    assert document["environment"] == "local" and document["input"]["rows"] == 20
    checked = {(r["type"], tuple(r["columns"])) for r in document["validation"]["rules"]}
    assert {("not_null", ("customer_id",)), ("unique", ("customer_id",))} <= checked  # the ODCS rules ran


def test_run_refuses_bad_input_and_configuration_with_exit_2(tmp_path: Path) -> None:
    _, missing = _run(tmp_path, source=("--contract", "no_such_contract"))
    _assert_bad_input(missing, "no_such_contract")
    _, zero = _run(tmp_path, "--chunk-rows", "0")
    assert zero.returncode == 2 and "positive whole number" in zero.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    out = tmp_path / "out-empty"
    result = dq("run", str(empty), "--contract", "customers", "--out", str(out), "--home", str(tmp_path / "h"))
    _assert_bad_input(result, "empty_file")
    assert json.loads((out / "result.json").read_text())["error"]["code"] == "empty_file"


def test_an_orchestrated_run_exports_an_evidence_pack_without_unmasked_rows(tmp_path: Path) -> None:
    out, result = _run(tmp_path, "--salt-file", str(_salt(tmp_path)))
    assert result.returncode == 1, result.stderr
    run_id = json.loads((out / "result.json").read_text())["run_id"]
    pack = tmp_path / "evidence.zip"
    home = str(tmp_path / "home")
    exported = dq("lineage", "export", run_id, "--tenant", "contoso", "--home", home, "--out", str(pack))
    assert exported.returncode == 0, exported.stderr
    names = set(zipfile.ZipFile(pack).namelist())
    assert {"outputs/result.json", "outputs/bundle.json", "outputs/rejects.parquet", "lineage/steps.json"} <= names
    assert not [n for n in names if n.startswith(("outputs/work/", "outputs/ingested/"))]
    steps = json.loads(zipfile.ZipFile(pack).read("lineage/steps.json"))
    assert {"ingest", "cleanse", "profile", "validate", "finalise"} <= {s["step"] for s in steps}
    verified = dq("lineage", "verify", str(pack), "--home", home)
    assert verified.returncode == 0, verified.stderr
