"""Failures traced to cleansing or to the source, as a user runs ``dq run``: generated data whose
failing rows are partly made by the cleansing policy (an imputed -1, e-mails that collide once
lower-cased, names trimmed) and partly sent as they are; the expected split computed apart, in polars."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.test_cli import dq

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
    return frame


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
    result = dq("run", str(tmp_path / "orders.csv"), "--contract", "orders", "--chunk-rows", chunk_rows,
                "--out", str(out), "--libraries", str(tmp_path / "libs"), "--tenant", "acme", "--env", "dev",
                "--home", str(tmp_path / "home"))  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    rules = {rule["rule_id"]: rule for rule in json.loads((out / "result.json").read_text())["validation"]["rules"]}
    expected = _expected(orders)
    for rule_id, split in expected.items():
        assert rules[rule_id]["status"] == "failed"
        assert rules[rule_id]["attribution"] == split, rule_id
        assert split["touched"] and split["untouched"]  # the data makes both kinds of failure
        assert rules[rule_id]["unexpected_count"] == int(split["touched"]) + int(split["untouched"])  # type: ignore[call-overload]
    cleansed = pl.read_parquet(out / "cleansed" / "*.parquet")
    assert not [c for c in cleansed.columns if c.startswith("_dq_touched")]  # bookkeeping stays out of outputs
