"""``dq validate`` and ``dq profile`` on the demo data and on ODCS contracts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import ODCS_EXAMPLES, ROOT
from tests.e2e.test_cli import dq

SAMPLE = "libraries/contoso/samples/customers.csv"


def test_validate_writes_result_json_and_exits_1_on_failed_errors(tmp_path: Path) -> None:
    result = dq("validate", SAMPLE, "--contract", "customers", "--out", str(tmp_path), "--gx", "--now", "2026-11-25")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("FAILED:")
    document = json.loads((tmp_path / "result.json").read_text())
    assert document["schema_id"] == "dq.run-result/v1"
    assert document["status"] == "failed"
    assert document["contract"]["id"] == "customers" and len(document["contract"]["bundle_sha256"]) == 64
    assert document["input"]["rows"] == 20 and document["input"]["format"] == "csv"
    rules = {rule["rule_id"]: rule for rule in document["validation"]["rules"]}
    assert rules["customers.customer_id.unique"]["unexpected_count"] == 4
    assert rules["customers.email.email_format"]["unexpected_samples"][0]["values"]["email"] == "***"
    assert rules["email_completeness"]["odcs_id"] == "email_nulls"
    gx = json.loads((tmp_path / "validation.gx.json").read_text())
    assert gx["success"] is False


def test_validate_exits_0_when_every_error_rule_passes(tmp_path: Path) -> None:
    data = tmp_path / "ok.csv"
    data.write_text("UniqueID\n100001\n100002\n")
    contract = ODCS_EXAMPLES / "quality__column-completeness.odcs.yaml"
    result = dq("validate", str(data), "--odcs", str(contract), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: " in result.stderr  # ODCS constructs DQ carries without interpreting
    assert json.loads((tmp_path / "out" / "result.json").read_text())["status"] == "passed"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["no/such.csv", "--contract", "customers"], "input_invalid: no/such.csv: no such file"),
        (["README.md", "--contract", "customers"], "unsupported file type '.md'"),
        ([SAMPLE, "--contract", "nope"], "not_found: contract 'nope'"),
        ([SAMPLE, "--contract", "customers", "--now", "yesterday"], "is not an ISO 8601 date/time"),
    ],
)
def test_validate_bad_input_exits_2_with_one_line(args: list[str], fragment: str) -> None:
    result = dq("validate", *args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_garbage_parquet_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "data.parquet"
    bad.write_bytes(b"this is not parquet")
    result = dq("validate", str(bad), "--contract", "customers", cwd=ROOT)
    assert result.returncode == 2  # the ingest guard's words, as dq run says them
    assert result.stderr == "format_mismatch: data.parquet: declared parquet, but the bytes are not parquet\n"


def test_profile_writes_json_and_csv(tmp_path: Path) -> None:
    result = dq("profile", SAMPLE, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert profile["schema_id"] == "dq.profile/v1" and profile["row_count"] == 20
    country = next(c for c in profile["columns"] if c["name"] == "country")
    assert country["top_values"][0] == {"value": "GB", "count": 4, "percent": 20.0}
    assert (tmp_path / "profile.csv").read_text().startswith("name,kind,dtype")


ODCS_NAMED = """\
apiVersion: v3.1.0
kind: DataContract
id: flights-contract
version: 1.0.0
status: active
schema:
  - name: flights
    properties:
      - name: dep_delay
        logicalType: integer
        quality:
          - {id: delay_known, metric: nullValues, mustBe: 0}
          - {name: Delay not missing, metric: nullValues, mustBeLessThan: 5}
          - {metric: nullValues, mustBeLessThan: 10}
          - {metric: nullValues, mustBeLessThan: 20}
"""


def test_rule_ids_are_named_as_authored_in_every_output(tmp_path: Path) -> None:
    data = tmp_path / "flights.csv"
    # a blank line is not a record (dq run drops and counts it, and so does dq validate): the null is in a row
    data.write_text("dep_delay,flight\n1,AF1\n,AF2\n\n3,AF3\n")
    contract = tmp_path / "flights.odcs.yaml"
    contract.write_text(ODCS_NAMED)
    out = tmp_path / "out"
    result = dq("validate", str(data), "--odcs", str(contract), "--out", str(out), "--gx")
    assert result.returncode == 1, result.stdout + result.stderr
    ids = ["delay_known", "delay_not_missing", "flights.dep_delay.null_values", "flights.dep_delay.null_values.2"]
    rules = json.loads((out / "result.json").read_text())["validation"]["rules"]
    assert [(rule["rule_id"], rule["odcs_id"]) for rule in rules] == [
        ("delay_known", "delay_known"),
        *((rule_id, None) for rule_id in ids[1:]),
    ]
    with (out / "result.csv").open(encoding="utf-8") as handle:
        rows = {row["rule_id"]: row["odcs_id"] for row in csv.DictReader(handle)}
    assert rows == {"delay_known": "delay_known", **dict.fromkeys(ids[1:], "")}
    gx = json.loads((out / "validation.gx.json").read_text())
    metas = [r["expectation_config"]["kwargs"]["meta"] for r in gx["results"]]
    expected = [(ids[0], "delay_known"), *((rule_id, None) for rule_id in ids[1:])]
    assert [(meta["dq_rule_id"], meta.get("odcs_id")) for meta in metas] == expected
    report = (out / "report.html").read_text()
    assert 'data-odcs-id="delay_known"' in report and "#2" not in report
    assert "delay_known" in result.stdout  # the failing rule is named as authored


def test_odcs_sla_latency_is_checked_as_freshness(tmp_path: Path) -> None:
    data = tmp_path / "flights.csv"
    data.write_text("dep_delay,sched_dep\n1,2026-11-20T06:00:00\n2,2026-11-23T18:00:00\n")
    contract = tmp_path / "flights.odcs.yaml"
    contract.write_text(
        ODCS_NAMED.split("        quality:", maxsplit=1)[0]
        + "      - {name: sched_dep, logicalType: timestamp}\n"
        + "slaProperties:\n"
        + "  - {property: latency, value: 1, unit: d, element: flights.sched_dep}\n"
        + "  - {property: retention, value: 3, unit: y}\n"
    )
    out = tmp_path / "out"
    result = dq("validate", str(data), "--odcs", str(contract), "--out", str(out), "--now", "2026-11-25T06:00:00Z")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "warning: slaProperties[1]: property 'retention' is not checked by DQ" in result.stderr
    (rule,) = json.loads((out / "result.json").read_text())["validation"]["rules"]
    assert (rule["rule_id"], rule["type"], rule["status"]) == ("flights.sched_dep.freshness", "freshness", "failed")
    assert rule["observed_value"]["age_seconds"] == 36 * 3600
