"""What a run tells about its failing rows, as a user runs ``dq run``.

Attribution: generated data whose failing rows are partly made by the cleansing policy (an imputed
-1, e-mails that collide once lower-cased, names trimmed) and partly sent as they are; the expected
split computed apart, in polars. Failed rows: failed_rows.parquet holds every failing row once with
the ids of the rules it failed, capped by the infra profile, masked on the demo tenant."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.e2e.test_cli import dq
from tests.e2e.test_report_browser import PERSONAL, SAMPLE

POLICY = """\
kind: cleansing_policy
tenant: acme
environment: dev
id: tidy
version: 1.0.0
status: published
steps:
  - {id: trim, type: trim, columns: [name]}
  - {id: lower, type: case, columns: [email], mode: lower}
  - {id: fill, type: impute, columns: [amount], strategy: constant, value: -1}
"""

CONTRACT = """\
kind: contract
tenant: acme
environment: dev
id: orders
version: 1.0.0
status: published
owner: ops@acme.example
cleansing_policy: tidy@1.0.0
infra_profile: small@1.0.0
datasets:
  - name: orders
    columns:
      - {name: id, logical_type: integer}
      - {name: name, logical_type: string}
      - {name: email, logical_type: string}
      - {name: amount, logical_type: number}
    bindings:
      - {id: amount_positive, check: {type: range, params: {min: 0}}, columns: [amount]}
      - {id: email_unique, check: {type: unique}, columns: [email]}
      - {id: name_letters, check: {type: regex, params: {pattern: '^[A-Za-z ]+$'}}, columns: [name]}
"""


INFRA = """\
kind: infra_profile
tenant: acme
environment: dev
id: small
version: 1.0.0
status: published
max_failed_rows: CAP
"""


@pytest.fixture
def orders(tmp_path: Path) -> pl.DataFrame:
    rng = random.Random(19)
    rows = []
    for i in range(3000):
        name = rng.choice(["Ann Lee", "Bo Chan", "Cy Diaz", "Ann 2nd", "R2D2"])
        if rng.random() < 0.3:
            name = f"  {name} "
        email = f"user{i % 2700}@acme.example"  # ids 2700.. repeat earlier e-mails: duplicates from the source
        if rng.random() < 0.1:
            email = email.upper()  # equal to another once lower-cased, when it repeats
        amount = None if rng.random() < 0.1 else rng.choice([-5.0, 3.0, 10.0, 42.5])
        rows.append((i, name, email, amount))
    frame = pl.DataFrame(rows, schema={"id": pl.Int64, "name": pl.String, "email": pl.String, "amount": pl.Float64},
                         orient="row")  # fmt: skip
    frame.write_csv(tmp_path / "orders.csv")
    libs = tmp_path / "libs" / "acme" / "dev"
    (libs / "contracts").mkdir(parents=True)
    (libs / "cleansing").mkdir()
    (libs / "contracts" / "orders.yaml").write_text(CONTRACT, encoding="utf-8")
    (libs / "cleansing" / "tidy.yaml").write_text(POLICY, encoding="utf-8")
    (libs / "infra").mkdir()
    _cap(tmp_path, 100_000)
    return frame


def _cap(folder: Path, cap: int) -> None:
    (folder / "libs" / "acme" / "dev" / "infra" / "small.yaml").write_text(INFRA.replace("CAP", str(cap)))


def _run(folder: Path, out: Path, chunk_rows: str) -> dict[str, Any]:
    result = dq("run", str(folder / "orders.csv"), "--contract", "orders", "--chunk-rows", chunk_rows,
                "--out", str(out), "--libraries", str(folder / "libs"), "--tenant", "acme", "--env", "dev",
                "--home", str(folder / "home"))  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    document: dict[str, Any] = json.loads((out / "result.json").read_text())
    return document


def _expected(frame: pl.DataFrame) -> dict[str, dict[str, object]]:
    """Each rule's failing rows, touched by a step or not, computed from the raw rows."""
    c = pl.col
    data = frame.with_columns(
        trimmed=c("name") != c("name").str.strip_chars(),
        lowered=c("email") != c("email").str.to_lowercase(),
        filled=c("amount").is_null(),
        clean_name=c("name").str.strip_chars(),
        clean_email=c("email").str.to_lowercase(),
        clean_amount=c("amount").fill_null(-1.0),
    )

    def split(failing: pl.Expr, step: str, flag: str) -> dict[str, object]:
        rows = data.filter(failing)
        touched = int(rows[flag].sum())
        return {"touched": touched, "untouched": rows.height - touched, "steps": {step: touched} if touched else {}}

    return {
        "amount_positive": split(c("clean_amount") < 0, "fill", "filled"),
        "email_unique": split(c("clean_email").is_duplicated(), "lower", "lowered"),
        "name_letters": split(~c("clean_name").str.contains("^[A-Za-z ]+$"), "trim", "trimmed"),
    }


@pytest.mark.parametrize("chunk_rows", ["100000", "1000"])
def test_each_failing_rule_says_which_rows_cleansing_touched(orders: pl.DataFrame, tmp_path: Path,
                                                            chunk_rows: str) -> None:  # fmt: skip
    out = tmp_path / f"out-{chunk_rows}"
    rules = {rule["rule_id"]: rule for rule in _run(tmp_path, out, chunk_rows)["validation"]["rules"]}
    expected = _expected(orders)
    for rule_id, split in expected.items():
        assert rules[rule_id]["status"] == "failed"
        assert rules[rule_id]["attribution"] == split, rule_id
        assert split["touched"] and split["untouched"]  # the data makes both kinds of failure
        assert rules[rule_id]["unexpected_count"] == int(split["touched"]) + int(split["untouched"])  # type: ignore[call-overload]
    cleansed = pl.read_parquet(out / "cleansed" / "*.parquet")
    assert not [c for c in cleansed.columns if c.startswith("_dq_touched")]  # bookkeeping stays out of outputs


def _expected_failures(frame: pl.DataFrame, cleansed: bool = True) -> pl.DataFrame:
    """Each failing row (source row number) with the ids of the rules it fails, in the contract's order:
    after the policy (dq run) or as the file has them (dq validate)."""
    c = pl.col
    amount, email, name = c("amount"), c("email"), c("name")
    if cleansed:
        amount, email, name = amount.fill_null(-1.0), email.str.to_lowercase(), name.str.strip_chars()
    clean = frame.with_row_index("row").select(
        c("row").cast(pl.Int64),
        (amount < 0).fill_null(False).alias("amount_positive"),
        email.is_duplicated().alias("email_unique"),
        (~name.str.contains("^[A-Za-z ]+$")).alias("name_letters"),
    )
    ids = ["amount_positive", "email_unique", "name_letters"]
    rules = pl.concat_list([pl.when(c(i)).then(pl.lit(i)) for i in ids]).list.drop_nulls()
    return clean.select("row", rules.alias("rules")).filter(c("rules").list.len() > 0)


@pytest.mark.parametrize("chunk_rows", ["100000", "1000"])
def test_failed_rows_holds_every_failing_row_once_with_its_rules(orders: pl.DataFrame, tmp_path: Path,
                                                                 chunk_rows: str) -> None:  # fmt: skip
    out = tmp_path / "out"
    document = _run(tmp_path, out, chunk_rows)
    written = pl.read_parquet(out / "failed_rows.parquet")
    expected = _expected_failures(orders)
    assert written.columns[:2] == ["_dq_source_row", "_dq_failed_rules"]
    assert written["_dq_source_row"].to_list() == expected["row"].to_list()
    assert written["_dq_failed_rules"].to_list() == expected["rules"].to_list()
    assert {"id", "name", "email", "amount"} <= set(written.columns)
    assert document["failed_rows"] == {"path": document["failed_rows"]["path"], "rows": expected.height,
                                       "cap": 100_000, "capped": False}  # fmt: skip
    by_rule = expected.explode("rules").group_by("rules").len()
    rules = {rule["rule_id"]: rule for rule in document["validation"]["rules"]}
    for rule_id, count in by_rule.iter_rows():
        assert rules[rule_id]["unexpected_count"] == count  # every failing row of every row-level rule


def test_the_infra_profile_caps_the_failed_rows_at_the_first_rows(orders: pl.DataFrame, tmp_path: Path) -> None:
    _cap(tmp_path, 40)
    out = tmp_path / "out"
    document = _run(tmp_path, out, "1000")
    written = pl.read_parquet(out / "failed_rows.parquet")
    assert written["_dq_source_row"].to_list() == _expected_failures(orders)["row"].head(40).to_list()
    assert document["failed_rows"]["rows"] == 40 and document["failed_rows"]["capped"] is True
    _cap(tmp_path, 0)
    none = tmp_path / "none"
    assert _run(tmp_path, none, "1000")["failed_rows"] is None
    assert not (none / "failed_rows.parquet").exists()


def test_failed_rows_of_the_demo_tenant_show_no_personal_value(tmp_path: Path) -> None:
    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    out = tmp_path / "out"
    done = dq("run", str(SAMPLE), "--contract", "customers", "--out", str(out), "--home", str(tmp_path / "home"),
              "--salt-file", str(salt))  # fmt: skip
    assert done.returncode == 1, done.stderr
    rules = json.loads((out / "result.json").read_text())["validation"]["rules"]
    written = pl.read_parquet(out / "failed_rows.parquet")
    listed = written.explode("_dq_failed_rules").group_by("_dq_failed_rules").len()
    failing = {r["rule_id"]: r["unexpected_count"] for r in rules if r["status"] == "failed" and r["columns"] != []}
    assert failing and all(dict(listed.iter_rows()).get(rule_id) == count for rule_id, count in failing.items())
    with SAMPLE.open(encoding="utf-8") as handle:
        raw = {row[name].strip() for row in csv.DictReader(handle) for name in PERSONAL}
    values = {str(v) for column in written.columns[2:] for v in written[column].to_list() if v is not None}
    assert not {v for v in raw if len(v) >= 5} & values
    assert set(written["full_name"].drop_nulls().to_list()) == {"***"}


def test_dq_validate_writes_the_failed_rows_of_the_file_as_it_is(orders: pl.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = dq("validate", str(tmp_path / "orders.csv"), "--contract", "orders", "--out", str(out),
                "--libraries", str(tmp_path / "libs"), "--tenant", "acme", "--env", "dev")  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    written = pl.read_parquet(out / "failed_rows.parquet")
    expected = _expected_failures(orders, cleansed=False)
    assert written["_dq_source_row"].to_list() == expected["row"].to_list()
    assert written["_dq_failed_rules"].to_list() == expected["rules"].to_list()
    document = json.loads((out / "result.json").read_text())
    assert document["failed_rows"] == {"path": "failed_rows.parquet", "rows": expected.height, "cap": 100_000,
                                       "capped": False}  # fmt: skip
    assert all(rule["attribution"] is None for rule in document["validation"]["rules"])  # nothing was cleansed
